"""Test vectors for spec §5: signed notes, checkpoints, cosignatures and receipts.

``generate()`` returns ``notes.json``, ``checkpoints.json`` and ``receipts.json``, built from
fixed seeds, fixed timestamps and fixed log entries (no randomness, no clock). Ed25519 is
deterministic (RFC 8032), so every signature below is reproducible byte for byte.
"""

from __future__ import annotations

import hashlib

from registry.core.checkpoint import Checkpoint, add_cosignatures, cosign_checkpoint
from registry.core.checkpoint import sign_checkpoint as _sign_checkpoint
from registry.core.encoding import b64encode
from registry.core.merkle import append_leaves, inclusion_proof, leaf_hash
from registry.core.note import ALG_COSIGNATURE_V1, ALG_ED25519, NoteSigner, sign_note
from registry.core.proof import build_receipt

LOG_NAME = "log.example.org/test"
WITNESS_NAME = "witness.example.org/w1"
WITNESS2_NAME = "witness.example.org/w2"
OTHER_NAME = "other.example.org/key"
TIMESTAMP = 1_767_225_600  # 2026-01-01T00:00:00Z
TIMESTAMP2 = 1_767_225_601
ENTRIES = [f"consent-registry test entry {i}".encode() for i in range(7)]


def _seed(label: str) -> bytes:
    return hashlib.sha256(f"consent-registry vector seed: {label}".encode()).digest()


def _signers() -> dict[str, NoteSigner]:
    return {
        "log": NoteSigner.from_seed(LOG_NAME, _seed("log")),
        "other": NoteSigner.from_seed(OTHER_NAME, _seed("other")),
        "witness": NoteSigner.from_seed(WITNESS_NAME, _seed("witness"), alg=ALG_COSIGNATURE_V1),
        "witness2": NoteSigner.from_seed(WITNESS2_NAME, _seed("witness2"), alg=ALG_COSIGNATURE_V1),
    }


def _invalid(name: str, error: str, **fields: object) -> dict[str, object]:
    return {"name": name, **fields, "result": "invalid", "error": error}


def _notes(s: dict[str, NoteSigner]) -> dict[str, object]:
    log, other, witness = s["log"], s["other"], s["witness"]
    text = "Ognuno sta solo sul cuor della terra\ntrafitto da un raggio di sole:\n\ned\u00e8\n"
    signed = sign_note(text, [log, other]).decode()
    good_line = signed.split("\n\n")[-1].split("\n")[0]
    bad_sig = good_line[:-8] + ("AAAAAAA=" if not good_line.endswith("AAAAAAA=") else "BBBBBBA=")
    cases: list[dict[str, object]] = [
        {
            "name": f"key-{label}",
            "kind": "key",
            "key_name": signer.name,
            "seed": _seed(label).hex(),
            "alg": signer.alg,
            "key_id": signer.key_id.hex(),
            "skey": signer.skey,
            "vkey": signer.verifier.vkey,
            "result": "valid",
        }
        for label, signer in s.items()
    ]
    cases += [
        {
            "name": "sign-two-keys",
            "kind": "sign",
            "text": text,
            "skeys": [log.skey, other.skey],
            "note": signed,
            "result": "valid",
        },
        {
            "name": "open-one-known-one-unknown",
            "kind": "open",
            "note": signed,
            "vkeys": [log.verifier.vkey],
            "text": text,
            "verified": [LOG_NAME],
            "unverified": [OTHER_NAME],
            "result": "valid",
        },
        {
            "name": "open-cosignature",
            "kind": "open",
            "note": sign_note("hello\n", [witness], timestamp=TIMESTAMP).decode(),
            "vkeys": [witness.verifier.vkey],
            "text": "hello\n",
            "verified": [WITNESS_NAME],
            "timestamps": [TIMESTAMP],
            "unverified": [],
            "result": "valid",
        },
        _invalid(
            "open-no-known-key",
            "UnverifiedNoteError",
            kind="open",
            note=signed,
            vkeys=[witness.verifier.vkey],
        ),
        _invalid(
            "open-known-key-bad-signature",
            "UnverifiedNoteError",
            kind="open",
            note=f"{text}\n{bad_sig}\n",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-no-blank-line",
            "NoteError",
            kind="open",
            note=f"{text}{good_line}\n",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-no-final-newline",
            "NoteError",
            kind="open",
            note=f"{text}\n{good_line}",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-control-character",
            "NoteError",
            kind="open",
            note=f"a\tb\n\n{good_line}\n",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-hyphen-not-em-dash",
            "NoteError",
            kind="open",
            note=f"{text}\n-{good_line[1:]}\n",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-trailing-text",
            "NoteError",
            kind="open",
            note=f"{signed}Unexpected line.\n",
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "open-too-many-signatures",
            "NoteError",
            kind="open",
            note=f"{text}\n" + f"{good_line}\n" * 101,
            vkeys=[log.verifier.vkey],
        ),
        _invalid(
            "vkey-uppercase-hex",
            "KeyFormatError",
            kind="vkey",
            vkey=log.verifier.vkey.replace(log.key_id.hex(), log.key_id.hex().upper()),
        ),
        _invalid(
            "vkey-wrong-key-id",
            "KeyFormatError",
            kind="vkey",
            vkey=log.verifier.vkey.replace(log.key_id.hex(), "00000000"),
        ),
        _invalid(
            "vkey-wrong-alg",
            "KeyFormatError",
            kind="vkey",
            vkey=f"{LOG_NAME}+{log.key_id.hex()}+"
            + b64encode(bytes([0x02]) + log.verifier.public_key),
        ),
        _invalid(
            "vkey-short-key",
            "KeyFormatError",
            kind="vkey",
            vkey=f"{LOG_NAME}+{log.key_id.hex()}+"
            + b64encode(bytes([ALG_ED25519]) + log.verifier.public_key[:31]),
        ),
        _invalid(
            "vkey-name-with-space",
            "KeyFormatError",
            kind="vkey",
            vkey=log.verifier.vkey.replace("log.example", "log example"),
        ),
        _invalid(
            "skey-wrong-key-id",
            "KeyFormatError",
            kind="skey",
            skey=log.skey.replace(log.key_id.hex(), "00000000"),
        ),
        _invalid(
            "skey-missing-prefix",
            "KeyFormatError",
            kind="skey",
            skey=log.skey.removeprefix("PRIVATE+"),
        ),
    ]
    return {
        "description": "C2SP signed-note (spec §5.1-§5.4): keys, signing, opening",
        "cases": cases,
    }


def _checkpoints(s: dict[str, NoteSigner]) -> dict[str, object]:
    log, witness, witness2 = s["log"], s["witness"], s["witness2"]
    root = hashlib.sha256(b"root").digest()
    cp = Checkpoint(LOG_NAME, 5, root)
    plain = _sign_checkpoint(cp, log)
    line = cosign_checkpoint(plain, log.verifier, witness, timestamp=TIMESTAMP)
    cosigned = add_cosignatures(plain, f"{line}\n", log.verifier, [witness.verifier])
    root_b64 = b64encode(root)
    body = f"{LOG_NAME}\n5\n{root_b64}\n"
    log_v, w_v, w2_v = log.verifier.vkey, witness.verifier.vkey, witness2.verifier.vkey
    cases: list[dict[str, object]] = [
        {
            "name": "body-plain",
            "kind": "body",
            "text": body,
            "origin": LOG_NAME,
            "size": 5,
            "root_hash": root_b64,
            "extensions": [],
            "result": "valid",
        },
        {
            "name": "body-empty-tree",
            "kind": "body",
            "text": f"{LOG_NAME}\n0\n47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=\n",
            "origin": LOG_NAME,
            "size": 0,
            "root_hash": "47DEQpj8HBSa+/TImW+5JCeuQeRkm5NMpJWZG3hSuFU=",
            "extensions": [],
            "result": "valid",
        },
        {
            "name": "body-extension",
            "kind": "body",
            "text": f"{body}ext one\n",
            "origin": LOG_NAME,
            "size": 5,
            "root_hash": root_b64,
            "extensions": ["ext one"],
            "result": "valid",
        },
        _invalid(
            "body-leading-zero",
            "CheckpointError",
            kind="body",
            text=f"{LOG_NAME}\n05\n{root_b64}\n",
        ),
        _invalid(
            "body-plus-sign", "CheckpointError", kind="body", text=f"{LOG_NAME}\n+5\n{root_b64}\n"
        ),
        _invalid(
            "body-short-hash",
            "CheckpointError",
            kind="body",
            text=f"{LOG_NAME}\n5\n{b64encode(root[:31])}\n",
        ),
        _invalid(
            "body-unpadded-hash",
            "CheckpointError",
            kind="body",
            text=f"{LOG_NAME}\n5\n{root_b64.rstrip('=')}\n",
        ),
        _invalid("body-two-lines", "CheckpointError", kind="body", text=f"{LOG_NAME}\n5\n"),
        _invalid("body-empty-extension", "CheckpointError", kind="body", text=f"{body}\n"),
        _invalid("body-no-final-newline", "CheckpointError", kind="body", text=body[:-1]),
        _invalid(
            "body-size-too-large",
            "CheckpointError",
            kind="body",
            text=f"{LOG_NAME}\n9223372036854775808\n{root_b64}\n",
        ),
        {
            "name": "signed",
            "kind": "signed",
            "note": plain.decode(),
            "log_vkey": log_v,
            "witness_vkeys": [],
            "min_witnesses": 0,
            "cosignatures": [],
            "result": "valid",
        },
        {
            "name": "cosigned",
            "kind": "signed",
            "note": cosigned.decode(),
            "log_vkey": log_v,
            "witness_vkeys": [w_v, w2_v],
            "min_witnesses": 1,
            "cosignatures": [
                {"name": WITNESS_NAME, "key_id": witness.key_id.hex(), "timestamp": TIMESTAMP}
            ],
            "cosignature_line": line,
            "result": "valid",
        },
        _invalid(
            "cosigned-too-few-witnesses",
            "UnverifiedNoteError",
            kind="signed",
            note=cosigned.decode(),
            log_vkey=log_v,
            witness_vkeys=[w_v, w2_v],
            min_witnesses=2,
        ),
        _invalid(
            "cosigned-tampered-timestamp",
            "UnverifiedNoteError",
            kind="signed",
            note=_retime(cosigned.decode(), line),
            log_vkey=log_v,
            witness_vkeys=[w_v],
            min_witnesses=0,
        ),
        _invalid(
            "signed-by-other-key-only",
            "UnverifiedNoteError",
            kind="signed",
            note=cosigned.decode(),
            log_vkey=s["other"].verifier.vkey,
            witness_vkeys=[w_v],
            min_witnesses=0,
        ),
        _invalid(
            "origin-differs-from-key-name",
            "CheckpointError",
            kind="signed",
            note=sign_note(f"other.example.org/log\n5\n{root_b64}\n", [log]).decode(),
            log_vkey=log_v,
            witness_vkeys=[],
            min_witnesses=0,
        ),
    ]
    return {
        "description": "C2SP tlog-checkpoint and tlog-cosignature cosignature/v1 (spec §5.5-§5.7)",
        "cases": cases,
    }


def _retime(note: str, line: str) -> str:
    """Change the cosignature's timestamp (bytes 4..12 of the signature) without re-signing."""
    from registry.core.encoding import b64decode  # noqa: PLC0415

    name, b64 = line[2:].split(" ")
    raw = bytearray(b64decode(b64))
    raw[11] ^= 1
    return note.replace(line, f"\u2014 {name} {b64encode(bytes(raw))}")


def _receipts(s: dict[str, NoteSigner]) -> dict[str, object]:
    log, witness = s["log"], s["witness"]
    appended = append_leaves(0, {}, [leaf_hash(e) for e in ENTRIES])
    size = appended.size
    plain = _sign_checkpoint(Checkpoint(LOG_NAME, size, appended.root), log)
    line = cosign_checkpoint(plain, log.verifier, witness, timestamp=TIMESTAMP2)
    note = add_cosignatures(plain, f"{line}\n", log.verifier, [witness.verifier])
    log_v, w_v = log.verifier.vkey, witness.verifier.vkey
    cases: list[dict[str, object]] = []
    for index, entry in enumerate(ENTRIES):
        proof = inclusion_proof(index, size, appended.tiles)
        extra = b"extra data" if index == 3 else None
        cases.append(
            {
                "name": f"receipt-{index}",
                "receipt": build_receipt(index, proof, note, extra),
                "entry": b64encode(entry),
                "index": index,
                "log_vkey": log_v,
                "witness_vkeys": [w_v],
                "min_witnesses": 1,
                "result": "valid",
            }
        )
    good = str(cases[2]["receipt"])
    proof_lines = good.split("\n")[2:5]
    cases += [
        _invalid(
            "wrong-entry",
            "ReceiptError",
            receipt=good,
            entry=b64encode(ENTRIES[3]),
            log_vkey=log_v,
            witness_vkeys=[w_v],
            min_witnesses=1,
        ),
        _invalid(
            "wrong-index",
            "ReceiptError",
            receipt=good.replace("index 2\n", "index 3\n"),
            entry=b64encode(ENTRIES[2]),
            log_vkey=log_v,
            witness_vkeys=[w_v],
            min_witnesses=1,
        ),
        _invalid(
            "swapped-proof-hashes",
            "ReceiptError",
            receipt=good.replace(
                "\n".join(proof_lines), "\n".join([proof_lines[1], proof_lines[0], proof_lines[2]])
            ),
            entry=b64encode(ENTRIES[2]),
            log_vkey=log_v,
            witness_vkeys=[w_v],
            min_witnesses=1,
        ),
        _invalid(
            "missing-witness",
            "ReceiptError",
            receipt=good.replace(f"{line}\n", ""),
            entry=b64encode(ENTRIES[2]),
            log_vkey=log_v,
            witness_vkeys=[w_v],
            min_witnesses=1,
        ),
        _invalid(
            "other-log-key",
            "ReceiptError",
            receipt=good,
            entry=b64encode(ENTRIES[2]),
            log_vkey=s["other"].verifier.vkey,
            witness_vkeys=[],
            min_witnesses=0,
        ),
        _invalid(
            "bad-header",
            "ReceiptError",
            receipt=good.replace("tlog-proof@v1", "tlog-proof@v2"),
            entry=b64encode(ENTRIES[2]),
            log_vkey=log_v,
            witness_vkeys=[],
            min_witnesses=0,
        ),
        _invalid(
            "index-beyond-size",
            "ReceiptError",
            receipt=good.replace("index 2\n", f"index {size}\n"),
            entry=b64encode(ENTRIES[2]),
            log_vkey=log_v,
            witness_vkeys=[],
            min_witnesses=0,
        ),
    ]
    return {
        "description": "C2SP tlog-proof receipts over a 7-entry log (spec §5.8)",
        "log_size": size,
        "root_hash": b64encode(appended.root),
        "cases": cases,
    }


def generate() -> dict[str, object]:
    """Return the §5 vector files: file name -> JSON content."""
    signers = _signers()
    return {
        "notes.json": _notes(signers),
        "checkpoints.json": _checkpoints(signers),
        "receipts.json": _receipts(signers),
    }
