"""C2SP signed notes (spec §5.1-§5.4): Go's sumdb/note vectors, the C2SP example, our vectors,
strict key parsing and the verification rules; fuzzing shows only NoteError escapes."""

from __future__ import annotations

import contextlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import note as note_module
from registry.core.errors import (
    KeyFormatError,
    NoteError,
    ProtocolError,
    SignatureError,
    UnverifiedNoteError,
)
from registry.core.note import (
    ALG_COSIGNATURE_V1,
    ALG_ED25519,
    MAX_NOTE_BYTES,
    MAX_SIGNATURES,
    MAX_TIMESTAMP,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    append_signature_lines,
    check_key_name,
    cosignature_message,
    key_id,
    open_note,
    parse_note,
    parse_signature_lines,
    sign_note,
)

ROOT = Path(__file__).resolve().parents[2]
GO = json.loads((ROOT.parent / "shared" / "vectors" / "signed-note-go.json").read_text())
GO_TEXT = GO["notes"][0]["text"]
PETER_VKEY = GO["notes"][0]["vkey"]
PETER_SKEY = GO["notes"][0]["skey"]
PETER_SIG = GO["notes"][0]["signature_line"]
ENOCH_VKEY = GO["notes"][1]["vkey"]
ENOCH_SIG = GO["notes"][1]["signature_line"]

C2SP_VKEY = "example.com/foo+530d903a+AekyeRrm56hApGFkyQR4ZCbV54Id2LKaANYcrnKv3U2k"
C2SP_NOTE = (
    "This is an example message.\n\n"
    "\u2014 example.com/foo Uw2QOkn8srV1yJGh2VYRlL1Tnagv1YEq6TfXppzi2ONncAlTgK7Ztg1ERYNZXsYjOBH3"
    "mFXmRKuwHjG1Yu72IneyaQM=\n"
)

ERRORS: dict[str, type[ProtocolError]] = {
    "NoteError": NoteError,
    "UnverifiedNoteError": UnverifiedNoteError,
    "KeyFormatError": KeyFormatError,
}


def vector_files(name: str) -> list[dict[str, Any]]:
    """The §5 vectors from generate(), and from the committed JSON file once it exists."""
    sys.path.insert(0, str(ROOT / "spec" / "vectors"))
    generated = importlib.import_module("gen_notes").generate()
    files: list[dict[str, Any]] = [json.loads(json.dumps(generated[name]))]
    committed = ROOT / "spec" / "vectors" / name
    if committed.exists():
        files.append(json.loads(committed.read_text(encoding="utf-8")))
    return files


def peter() -> NoteVerifier:
    return NoteVerifier.from_vkey(PETER_VKEY)


def enoch() -> NoteVerifier:
    return NoteVerifier.from_vkey(ENOCH_VKEY)


def witness_signer() -> NoteSigner:
    return NoteSigner.from_seed("witness.example/w", bytes(range(32)), alg=ALG_COSIGNATURE_V1)


# --- Go sumdb/note vectors ---------------------------------------------------------------------


def test_go_signer_key_signs_exactly_like_go() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    assert signer.skey == PETER_SKEY
    assert signer.verifier.vkey == PETER_VKEY
    assert signer.key_id.hex() == "c74f20a3"
    assert sign_note(GO_TEXT, [signer]).decode() == GO_TEXT + "\n" + PETER_SIG


@pytest.mark.parametrize("case", GO["notes"], ids=lambda c: c["vkey"].split("+")[0])
def test_go_vectors_verify(case: dict[str, str]) -> None:
    verifier = NoteVerifier.from_vkey(case["vkey"])
    assert verifier.vkey == case["vkey"]
    opened = open_note((case["text"] + "\n" + case["signature_line"]).encode(), [verifier])
    assert opened.text == case["text"]
    assert [s.line + "\n" for s in opened.signatures] == [case["signature_line"]]
    assert opened.unverified == ()


@pytest.mark.parametrize("vkey", GO["bad_vkeys"])
def test_go_bad_vkeys_are_rejected(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        NoteVerifier.from_vkey(vkey)


def test_go_open_one_known_one_unknown() -> None:
    data = (GO_TEXT + "\n" + PETER_SIG + ENOCH_SIG).encode()
    opened = open_note(data, [peter()])
    assert [s.name for s in opened.signatures] == ["PeterNeumann"]
    assert [s.name for s in opened.unverified] == ["EnochRoot"]
    both = open_note(data, [peter(), enoch()])
    assert [s.name for s in both.signatures] == ["PeterNeumann", "EnochRoot"]
    assert both.unverified == ()
    with pytest.raises(UnverifiedNoteError):
        open_note(data, [])


def test_go_duplicates_are_counted_once() -> None:
    bad_enoch = ENOCH_SIG[:60] + "ABCD" + ENOCH_SIG[60:]
    data = GO_TEXT + "\n" + PETER_SIG * 2 + ENOCH_SIG * 2 + bad_enoch
    opened = open_note(data.encode(), [peter()])
    assert len(opened.signatures) == 1
    assert [s.line + "\n" for s in opened.unverified] == [ENOCH_SIG, bad_enoch]


def test_go_invalid_signature_from_known_key_rejects_note() -> None:
    data = GO_TEXT + "\n" + PETER_SIG[:60] + "ABCD" + PETER_SIG[60:]
    with pytest.raises(UnverifiedNoteError, match="PeterNeumann"):
        open_note(data.encode(), [peter()])


@pytest.mark.parametrize(
    "message",
    [
        GO_TEXT,
        GO_TEXT + "\n",
        GO_TEXT + "\n" + PETER_SIG[:-1],
        "\x01" + GO_TEXT + "\n" + PETER_SIG,
        GO_TEXT + "\n\u2014 Bad Name x08go/ZJkuBS9UG/SffcvIAQxVBtiFupLLr8pAcElZInNIuGUgYN1FFYC2pZ"
        "SNXgKvqfqdngotpRZb6KE6RyyBwJnAM=",
        GO_TEXT + "\n" + PETER_SIG + "Unexpected line.\n",
        GO_TEXT + "\n" + PETER_SIG * (MAX_SIGNATURES + 1),
    ],
)
def test_go_malformed_notes(message: str) -> None:
    with pytest.raises(NoteError) as info:
        open_note(message.encode(), [peter()])
    assert type(info.value) is NoteError


def test_invalid_utf8_is_malformed() -> None:
    with pytest.raises(NoteError, match="UTF-8"):
        open_note(b"\xff" + (GO_TEXT + "\n" + PETER_SIG).encode(), [peter()])


def test_go_key_manglings_are_rejected() -> None:
    """Every proper substring and every single-byte change of a key is rejected (Go's test)."""
    for key, parse in ((PETER_VKEY, NoteVerifier.from_vkey), (PETER_SKEY, NoteSigner.from_skey)):
        for i in range(len(key)):
            for j in range(i + 1, len(key) + 1):
                if (i, j) != (0, len(key)):
                    with pytest.raises(KeyFormatError):
                        parse(key[i:j])
            changed = key[:i] + chr(ord(key[i]) + 1) + key[i + 1 :]
            with pytest.raises(KeyFormatError):
                parse(changed)


# --- C2SP example and our vectors ----------------------------------------------------------------


def test_c2sp_signed_note_example() -> None:
    verifier = NoteVerifier.from_vkey(C2SP_VKEY)
    opened = open_note(C2SP_NOTE.encode(), [verifier])
    assert opened.text == "This is an example message.\n"
    assert opened.signatures[0].key_id == bytes.fromhex("530d903a")


def _run_note_case(case: dict[str, Any]) -> None:
    kind = case["kind"]
    if kind == "key":
        signer = NoteSigner.from_seed(
            case["key_name"], bytes.fromhex(case["seed"]), alg=case["alg"]
        )
        assert signer.skey == case["skey"]
        assert signer.verifier.vkey == case["vkey"]
        assert NoteSigner.from_skey(case["skey"]).verifier == NoteVerifier.from_vkey(case["vkey"])
        assert signer.key_id.hex() == case["key_id"]
    elif kind == "sign":
        signers = [NoteSigner.from_skey(k) for k in case["skeys"]]
        assert sign_note(case["text"], signers).decode() == case["note"]
    elif kind == "open":
        opened = open_note(
            case["note"].encode(), [NoteVerifier.from_vkey(k) for k in case["vkeys"]]
        )
        assert opened.text == case["text"]
        assert [s.name for s in opened.signatures] == case["verified"]
        assert [s.name for s in opened.unverified] == case["unverified"]
        if "timestamps" in case:
            assert [s.timestamp for s in opened.signatures] == case["timestamps"]
    elif kind == "vkey":
        NoteVerifier.from_vkey(case["vkey"])
    else:
        assert kind == "skey"
        NoteSigner.from_skey(case["skey"])


@pytest.mark.parametrize("vectors", vector_files("notes.json"))
def test_note_vectors(vectors: dict[str, Any]) -> None:
    assert vectors["cases"]
    for case in vectors["cases"]:
        if case["result"] == "valid":
            _run_note_case(case)
        else:
            with pytest.raises(ERRORS[case["error"]]) as info:
                _run_note_case(case)
            assert type(info.value).__name__ == case["error"], case["name"]


# --- keys --------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "name",
    ["", "a+b", "a b", "a\u00a0b", "a\u3000b", "a\tb", "a\x01b", "a\ud800b", "a\u2028b"],
)
def test_invalid_key_names(name: str) -> None:
    with pytest.raises(KeyFormatError):
        check_key_name(name)
    with pytest.raises(KeyFormatError):
        NoteSigner.from_seed(name, bytes(32))


def test_valid_key_names() -> None:
    for name in ["example.com/log", "oid/1.3.6.1.4.1", "\u00e9\u2014x", "a=b"]:
        check_key_name(name)


def test_key_id_matches_spec_formula() -> None:
    import hashlib  # noqa: PLC0415

    pub = peter().public_key
    expected = hashlib.sha256(b"PeterNeumann\n\x01" + pub).digest()[:4]
    assert key_id("PeterNeumann", ALG_ED25519, pub) == expected
    assert key_id("PeterNeumann", ALG_COSIGNATURE_V1, pub) != expected
    with pytest.raises(KeyFormatError):
        key_id("x", 256, pub)


def test_verifier_constructor_checks() -> None:
    with pytest.raises(KeyFormatError, match="not supported"):
        NoteVerifier("x", bytes(32), alg=0x02)
    with pytest.raises(KeyFormatError, match="32 bytes"):
        NoteVerifier("x", bytes(31))
    with pytest.raises(KeyFormatError, match="32 bytes"):
        NoteSigner("x", bytes(31))
    verifier = NoteVerifier.from_public_key("PeterNeumann", peter().public_key)
    assert verifier == peter()
    assert hash(verifier) == hash(peter())
    assert verifier != enoch()
    assert verifier != "PeterNeumann"
    assert PETER_VKEY in repr(verifier)
    assert "PRIVATE" not in repr(NoteSigner.from_skey(PETER_SKEY))


@pytest.mark.parametrize(
    "vkey",
    [
        "PeterNeumann+c74f20a3",
        "PeterNeumann+C74F20A3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW\n",
        "PeterNeumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TX",
        "PeterNeumann+c74f20a4+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
        "Peter Neumann+c74f20a3+ARpc2QcUPDhMQegwxbzhKqiBfsVkmqq/LDE4izWy10TW",
    ],
)
def test_strict_vkey_parsing(vkey: str) -> None:
    with pytest.raises(KeyFormatError):
        NoteVerifier.from_vkey(vkey)


def test_skey_round_trip_and_prefix() -> None:
    witness = witness_signer()
    again = NoteSigner.from_skey(witness.skey)
    assert again.verifier == witness.verifier
    assert again.alg == ALG_COSIGNATURE_V1
    with pytest.raises(KeyFormatError, match="PRIVATE"):
        NoteSigner.from_skey("PUBLIC" + witness.skey[len("PRIVATE") :])
    with pytest.raises(KeyFormatError, match="does not match"):
        NoteSigner.from_skey(witness.skey.replace(witness.key_id.hex(), "00000000"))


# --- signing and opening -------------------------------------------------------------------------


def test_sign_and_open_round_trip_with_empty_lines_in_text() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    for text in ["\n", "a\n\n", "a\n\nb\n", "\n\n\n", "x\n\n\u2014 fake line\n"]:
        opened = open_note(sign_note(text, [signer]), [signer.verifier])
        assert opened.text == text


@pytest.mark.parametrize("text", ["", "no newline", "tab\there\n", "lone \ud800\n"])
def test_sign_rejects_bad_text(text: str) -> None:
    with pytest.raises(NoteError):
        sign_note(text, [NoteSigner.from_skey(PETER_SKEY)])


def test_sign_rejects_bad_signer_sets() -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    with pytest.raises(NoteError, match="at least one"):
        sign_note("a\n", [])
    with pytest.raises(NoteError, match="share"):
        sign_note("a\n", [signer, NoteSigner.from_skey(PETER_SKEY)])
    with pytest.raises(NoteError, match="larger"):
        sign_note("a" * MAX_NOTE_BYTES + "\n", [signer])
    many = [NoteSigner.from_seed(f"k{i}", bytes([i]) * 32) for i in range(MAX_SIGNATURES + 1)]
    with pytest.raises(NoteError, match="at most"):
        sign_note("a\n", many)


def test_cosignature_sign_and_verify() -> None:
    witness = witness_signer()
    data = sign_note("checkpoint\n", [witness], timestamp=1_700_000_000)
    opened = open_note(data, [witness.verifier])
    sig = opened.signatures[0]
    assert sig.timestamp == 1_700_000_000
    assert sig.signature[:8] == (1_700_000_000).to_bytes(8, "big")
    witness.verifier.verify("checkpoint\n", sig.signature)
    # The signed message is the one tlog-cosignature specifies.
    from cryptography.hazmat.primitives.asymmetric.ed25519 import (  # noqa: PLC0415
        Ed25519PublicKey,
    )

    Ed25519PublicKey.from_public_bytes(witness.verifier.public_key).verify(
        sig.signature[8:], b"cosignature/v1\ntime 1700000000\ncheckpoint\n"
    )
    assert cosignature_message("x\n", 0) == b"cosignature/v1\ntime 0\nx\n"


def test_cosignature_timestamp_rules() -> None:
    witness = witness_signer()
    with pytest.raises(NoteError, match="needs a timestamp"):
        witness.sign("a\n")
    with pytest.raises(NoteError, match="takes no timestamp"):
        NoteSigner.from_skey(PETER_SKEY).sign("a\n", timestamp=1)
    for bad in (-1, MAX_TIMESTAMP + 1):
        with pytest.raises(SignatureError):
            witness.sign("a\n", timestamp=bad)
    witness.sign("a\n", timestamp=MAX_TIMESTAMP)
    # A timestamp above 2^63-1 in a received cosignature fails verification.
    sig = witness.sign("a\n", timestamp=5).signature
    forged = (MAX_TIMESTAMP + 1).to_bytes(8, "big") + sig[8:]
    with pytest.raises(SignatureError):
        witness.verifier.verify("a\n", forged)


def test_verify_rejects_wrong_lengths_and_messages() -> None:
    witness = witness_signer()
    with pytest.raises(SignatureError, match="72 bytes"):
        witness.verifier.verify("a\n", bytes(71))
    with pytest.raises(SignatureError, match="64 bytes"):
        peter().verify("a\n", bytes(65))
    good = witness.sign("a\n", timestamp=5).signature
    with pytest.raises(SignatureError):
        witness.verifier.verify("b\n", good)
    retimed = (6).to_bytes(8, "big") + good[8:]
    with pytest.raises(SignatureError):
        witness.verifier.verify("a\n", retimed)


def test_mixed_signers_and_cosigners() -> None:
    log = NoteSigner.from_skey(PETER_SKEY)
    witness = witness_signer()
    data = sign_note("a\n", [log, witness], timestamp=42)
    opened = open_note(data, [log.verifier, witness.verifier])
    assert [s.timestamp for s in opened.signatures] == [None, 42]


def test_ambiguous_verifiers() -> None:
    data = (GO_TEXT + "\n" + PETER_SIG).encode()
    assert open_note(data, [peter(), peter()]).signatures
    impostor = NoteVerifier("PeterNeumann", bytes(range(32)))
    object.__setattr__(impostor, "key_id", peter().key_id)
    with pytest.raises(KeyFormatError, match="ambiguous"):
        open_note(data, [peter(), impostor])


def test_signature_with_same_name_other_id_is_ignored() -> None:
    other = NoteSigner.from_seed("PeterNeumann", bytes(32))
    data = sign_note(GO_TEXT, [other, NoteSigner.from_skey(PETER_SKEY)])
    opened = open_note(data, [peter()])
    assert [s.key_id for s in opened.unverified] == [other.key_id]


@pytest.mark.parametrize(
    "block",
    [
        "\u2014 a\n",  # no signature field
        "\u2014 a \n",  # empty signature
        "\u2014 a AAAA\n",  # only 3 bytes
        "\u2014 a AAAAAA==\n",  # only the key ID
        "\u2014 a AAAAAAA\n",  # unpadded
        "\u2014  AAAAAAA=\n",  # empty name
        "\u2014 a+b AAAAAAA=\n",  # plus in name
    ],
)
def test_malformed_signature_lines(block: str) -> None:
    with pytest.raises(NoteError):
        parse_note(f"text\n\n{block}".encode())


def test_parse_signature_lines() -> None:
    sigs = parse_signature_lines(PETER_SIG + ENOCH_SIG)
    assert [s.name for s in sigs] == ["PeterNeumann", "EnochRoot"]
    with pytest.raises(NoteError, match="newline"):
        parse_signature_lines(PETER_SIG[:-1])
    with pytest.raises(NoteError, match="control"):
        parse_signature_lines("\x00" + PETER_SIG)


def test_size_limit_on_open() -> None:
    with pytest.raises(NoteError, match="larger"):
        parse_note(b"a" * (MAX_NOTE_BYTES + 1))


def test_append_signature_lines_replaces_same_key() -> None:
    log = NoteSigner.from_skey(PETER_SKEY)
    witness = witness_signer()
    data = sign_note("a\n", [log, witness], timestamp=1)
    newer = witness.sign("a\n", timestamp=2)
    other = NoteSignature("x.example", b"\x00\x00\x00\x01", b"\x01")
    updated = append_signature_lines(data, [newer, other, newer])
    text, sigs = parse_note(updated)
    assert text == "a\n"
    assert [s.name for s in sigs] == [log.name, witness.name, "x.example"]
    opened = open_note(updated, [log.verifier, witness.verifier])
    assert [s.timestamp for s in opened.signatures] == [None, 2]


def test_module_exports_exist() -> None:
    for name in note_module.__all__:
        assert hasattr(note_module, name)


# --- fuzzing -------------------------------------------------------------------------------------


@given(st.binary(max_size=400))
def test_open_note_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(NoteError):
        open_note(data, [peter()])


@given(
    st.text(max_size=200),
    st.lists(
        st.sampled_from([PETER_SIG, ENOCH_SIG, "\u2014 x AAAAAAA=\n", "\n", "\u2014 "]),
        max_size=4,
    ),
)
def test_open_note_fuzz_structured(text: str, lines: list[str]) -> None:
    try:
        data = (text + "\n" + "".join(lines)).encode("utf-8", "surrogatepass")
        opened = open_note(data, [peter(), enoch()])
    except NoteError:
        return
    assert opened.signatures
    assert opened.text.endswith("\n")


@given(st.text(max_size=120))
def test_key_parsers_fuzz(text: str) -> None:
    for parse in (NoteVerifier.from_vkey, NoteSigner.from_skey):
        with contextlib.suppress(KeyFormatError):
            parse(text)


@given(st.text(min_size=0, max_size=100))
def test_sign_open_round_trip_property(body: str) -> None:
    signer = NoteSigner.from_skey(PETER_SKEY)
    text = body + "\n"
    try:
        data = sign_note(text, [signer])
    except NoteError:
        assert any((ord(c) < 0x20 and c != "\n") or 0xD800 <= ord(c) <= 0xDFFF for c in text)
        return
    assert open_note(data, [signer.verifier]).text == text


def test_vector_generation_is_deterministic() -> None:
    sys.path.insert(0, str(ROOT / "spec" / "vectors"))
    module = importlib.import_module("gen_notes")
    first, second = module.generate(), module.generate()
    assert json.dumps(first, sort_keys=True) == json.dumps(second, sort_keys=True)
    assert set(first) == {"notes.json", "checkpoints.json", "receipts.json"}
    for content in first.values():
        assert content["description"]
        for case in content["cases"]:
            assert case["name"]
            assert case["result"] in {"valid", "invalid"}
            assert (case["result"] == "invalid") == ("error" in case)


def test_a_signers_key_is_the_verifiers_and_signs_records() -> None:
    """spec §9.3.1: a node signs its bindings with its log key; the record's ``did:key`` is the
    key of the verifier that checks its notes."""
    signer = NoteSigner.from_seed("node.example/log", bytes(range(32)))
    assert signer.key.public_key.raw == signer.verifier.public_key
    assert signer.key.public_key.did.startswith("did:key:z6Mk")
