"""C2SP checkpoints and cosignature/v1 (spec §5.5-§5.7): strict bodies, log signatures,
witness cosignatures and quorum; the C2SP example; our vectors; fuzzing."""

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

from registry.core import checkpoint as checkpoint_module
from registry.core.checkpoint import (
    MAX_TREE_SIZE,
    Checkpoint,
    Cosignature,
    add_cosignatures,
    cosign_checkpoint,
    open_checkpoint,
    sign_checkpoint,
)
from registry.core.errors import (
    CheckpointError,
    KeyFormatError,
    NoteError,
    ProtocolError,
    UnverifiedNoteError,
)
from registry.core.merkle import EMPTY_ROOT
from registry.core.note import (
    ALG_COSIGNATURE_V1,
    NoteSigner,
    NoteVerifier,
    parse_note,
    sign_note,
)

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "example.org/log"
HASH = bytes(range(32))
HASH_B64 = "AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8="

# The example in C2SP tlog-checkpoint and tlog-cosignature (its keys are not published).
C2SP_CHECKPOINT = (
    "example.com/behind-the-sofa\n20852163\nCsUYapGGPo4dkMgIAUqom/Xajj7h2fB2MPA3j2jxq2I=\n\n"
    "\u2014 example.com/behind-the-sofa Az3grlgtzPICa5OS8npVmf1Myq/5IZniMp+ZJurmRDeOoRDe4URY"
    "N7u5/Zhcyv2q1gGzGku9nTo+zyWE+xeMcTOAYQ8=\n"
    "\u2014 witness.example.com/w1 jWbPPwAAAABkGFDLEZMHwSRaJNiIDoe9DYn/zXcrtPHeolMI5OWXEhZCB9dl"
    "rDJsX3b2oyin1nPZqhf5nNo0xUe+mbIUBkBIfZ+qnA==\n"
)

ERRORS: dict[str, type[ProtocolError]] = {
    "CheckpointError": CheckpointError,
    "UnverifiedNoteError": UnverifiedNoteError,
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


def log_signer(name: str = ORIGIN) -> NoteSigner:
    return NoteSigner.from_seed(name, b"\x11" * 32)


def witness(n: int) -> NoteSigner:
    return NoteSigner.from_seed(f"witness{n}.example", bytes([n]) * 32, alg=ALG_COSIGNATURE_V1)


def signed(size: int = 5, *extensions: str) -> bytes:
    return sign_checkpoint(Checkpoint(ORIGIN, size, HASH, extensions), log_signer())


# --- bodies --------------------------------------------------------------------------------------


def test_c2sp_example_body_parses_and_round_trips() -> None:
    text = C2SP_CHECKPOINT.split("\n\n", maxsplit=1)[0] + "\n"
    cp = Checkpoint.from_text(text)
    assert (cp.origin, cp.size, cp.extensions) == ("example.com/behind-the-sofa", 20852163, ())
    assert cp.to_text() == text


def test_c2sp_example_signatures_are_unknown_without_keys() -> None:
    # We do not have the example's keys: its signatures are ignored, so the note is rejected.
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(
            C2SP_CHECKPOINT.encode(), log_signer("example.com/behind-the-sofa").verifier
        )


def test_body_with_extensions() -> None:
    cp = Checkpoint.from_text(f"{ORIGIN}\n0\n{HASH_B64}\nfoo\nbar baz\n")
    assert cp.extensions == ("foo", "bar baz")
    assert cp.size == 0
    assert cp.to_text() == f"{ORIGIN}\n0\n{HASH_B64}\nfoo\nbar baz\n"
    assert Checkpoint(ORIGIN, 1, HASH, ["x"]).extensions == ("x",)  # type: ignore[arg-type]


@pytest.mark.parametrize(
    "text",
    [
        f"{ORIGIN}\n5\n{HASH_B64}",
        f"{ORIGIN}\n5\n",
        f"\n5\n{HASH_B64}\n",
        f"{ORIGIN}\n05\n{HASH_B64}\n",
        f"{ORIGIN}\n-5\n{HASH_B64}\n",
        f"{ORIGIN}\n 5\n{HASH_B64}\n",
        f"{ORIGIN}\n5_0\n{HASH_B64}\n",
        f"{ORIGIN}\n\u0665\n{HASH_B64}\n",
        f"{ORIGIN}\n{MAX_TREE_SIZE + 1}\n{HASH_B64}\n",
        f"{ORIGIN}\n{'9' * 5000}\n{HASH_B64}\n",
        f"{ORIGIN}\n5\n{HASH_B64[:-1]}\n",
        f"{ORIGIN}\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh9=\n",
        f"{ORIGIN}\n5\nAAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd\n",
        f"{ORIGIN}\n5\n{HASH_B64}\n\n",
        f"{ORIGIN}\n5\n{HASH_B64}\nok\n\nx\n",
        f"{ORIGIN}\n5\n{HASH_B64}\na\tb\n",
        f"or\x00igin\n5\n{HASH_B64}\n",
        f"or\ud800igin\n5\n{HASH_B64}\n",
    ],
)
def test_malformed_bodies(text: str) -> None:
    with pytest.raises(CheckpointError):
        Checkpoint.from_text(text)


def test_constructor_validates() -> None:
    for args in [
        ("", 1, HASH),
        ("a\nb", 1, HASH),
        (ORIGIN, -1, HASH),
        (ORIGIN, MAX_TREE_SIZE + 1, HASH),
        (ORIGIN, True, HASH),
        (ORIGIN, 1, HASH[:31]),
    ]:
        with pytest.raises(CheckpointError):
            Checkpoint(*args)
    with pytest.raises(CheckpointError):
        Checkpoint(ORIGIN, 1, HASH, ("",))
    Checkpoint(ORIGIN, MAX_TREE_SIZE, HASH)


# --- signing and opening -------------------------------------------------------------------------


def test_sign_and_open() -> None:
    data = signed(7, "ext")
    result = open_checkpoint(data, log_signer().verifier)
    assert result.checkpoint == Checkpoint(ORIGIN, 7, HASH, ("ext",))
    assert result.note == data
    assert result.cosignatures == ()
    assert result.text == f"{ORIGIN}\n7\n{HASH_B64}\next\n"


def test_log_key_name_must_be_origin() -> None:
    with pytest.raises(CheckpointError, match="origin"):
        sign_checkpoint(Checkpoint("other.example", 1, HASH), log_signer())
    # A note signed by the right key whose origin differs is refused on opening.
    data = sign_note(f"other.example\n1\n{HASH_B64}\n", [log_signer()])
    with pytest.raises(CheckpointError, match="origin"):
        open_checkpoint(data, log_signer().verifier)
    # ... unless the caller says which origin that key signs for (tlog-proof step 2).
    assert open_checkpoint(data, log_signer().verifier, origin="other.example").checkpoint.size == 1


def test_log_must_sign_with_note_key_and_witnesses_with_cosignature_keys() -> None:
    cp = Checkpoint(ORIGIN, 1, HASH)
    cosigning_log = NoteSigner.from_seed(ORIGIN, bytes(32), alg=ALG_COSIGNATURE_V1)
    with pytest.raises(KeyFormatError):
        sign_checkpoint(cp, cosigning_log, timestamp=1)
    with pytest.raises(KeyFormatError):
        sign_checkpoint(cp, log_signer(), cosigners=[NoteSigner.from_seed("w", bytes(32))])
    with pytest.raises(KeyFormatError):
        open_checkpoint(signed(), log_signer().verifier, [log_signer("w").verifier])
    with pytest.raises(KeyFormatError):
        cosign_checkpoint(signed(), log_signer().verifier, log_signer("w"), timestamp=1)


def test_not_signed_by_log_key() -> None:
    data = sign_note(f"{ORIGIN}\n1\n{HASH_B64}\n", [witness(1)], timestamp=3)
    with pytest.raises(UnverifiedNoteError, match="not signed by log key"):
        open_checkpoint(data, log_signer().verifier, [witness(1).verifier])
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(signed(), log_signer("x.example").verifier)


def test_sign_with_cosigners_and_quorum() -> None:
    cp = Checkpoint(ORIGIN, 3, HASH)
    data = sign_checkpoint(cp, log_signer(), cosigners=[witness(1), witness(2)], timestamp=99)
    verifiers = [witness(1).verifier, witness(2).verifier, witness(3).verifier]
    result = open_checkpoint(data, log_signer().verifier, verifiers, 2)
    assert result.cosignatures == (
        Cosignature("witness1.example", witness(1).key_id, 99),
        Cosignature("witness2.example", witness(2).key_id, 99),
    )
    with pytest.raises(UnverifiedNoteError, match="2 trusted witness cosignatures, 3 required"):
        open_checkpoint(data, log_signer().verifier, verifiers, 3)
    # Untrusted witnesses count for nothing.
    with pytest.raises(UnverifiedNoteError, match="0 trusted"):
        open_checkpoint(data, log_signer().verifier, [witness(3).verifier], 1)


def test_cosign_and_add_cosignatures() -> None:
    data = signed()
    log = log_signer().verifier
    line1 = cosign_checkpoint(data, log, witness(1), timestamp=10)
    line2 = cosign_checkpoint(data, log, witness(2), timestamp=20)
    both = add_cosignatures(
        data, f"{line1}\n{line2}\n", log, [witness(1).verifier, witness(2).verifier]
    )
    result = open_checkpoint(both, log, [witness(1).verifier, witness(2).verifier], 2)
    assert [c.timestamp for c in result.cosignatures] == [10, 20]
    # A newer cosignature by the same witness replaces the old one.
    newer = cosign_checkpoint(data, log, witness(1), timestamp=11)
    again = add_cosignatures(both, f"{newer}\n", log, [witness(1).verifier])
    result = open_checkpoint(again, log, [witness(1).verifier, witness(2).verifier], 2)
    assert sorted(c.timestamp for c in result.cosignatures) == [11, 20]
    assert again.count(b"witness1.example") == 1


def test_add_cosignatures_rejects_bad_lines() -> None:
    data = signed()
    log = log_signer().verifier
    line = cosign_checkpoint(data, log, witness(1), timestamp=10)
    with pytest.raises(NoteError, match="not from a given witness"):
        add_cosignatures(data, f"{line}\n", log, [witness(2).verifier])
    with pytest.raises(NoteError):
        add_cosignatures(data, line, log, [witness(1).verifier])
    other = cosign_checkpoint(signed(6), log, witness(1), timestamp=10)
    with pytest.raises(UnverifiedNoteError):
        add_cosignatures(data, f"{other}\n", log, [witness(1).verifier])


def test_cosign_refuses_checkpoint_not_signed_by_log() -> None:
    forged = sign_checkpoint(Checkpoint(ORIGIN, 5, HASH), NoteSigner.from_seed(ORIGIN, bytes(32)))
    with pytest.raises(UnverifiedNoteError):
        cosign_checkpoint(forged, log_signer().verifier, witness(1), timestamp=1)


def test_bad_cosignature_from_trusted_witness_rejects_checkpoint() -> None:
    data = signed()
    log = log_signer().verifier
    line = cosign_checkpoint(signed(6), log, witness(1), timestamp=10)
    tampered = data + f"{line}\n".encode()
    with pytest.raises(UnverifiedNoteError):
        open_checkpoint(tampered, log, [witness(1).verifier])
    # An untrusted reader ignores it.
    assert open_checkpoint(tampered, log).checkpoint.size == 5


def test_empty_tree_checkpoint() -> None:
    data = sign_checkpoint(Checkpoint(ORIGIN, 0, EMPTY_ROOT), log_signer())
    assert open_checkpoint(data, log_signer().verifier).checkpoint.root_hash == EMPTY_ROOT


def _run_case(case: dict[str, Any]) -> None:
    if case["kind"] == "body":
        cp = Checkpoint.from_text(case["text"])
        assert (cp.origin, cp.size, cp.extensions) == (
            case["origin"],
            case["size"],
            tuple(case["extensions"]),
        )
        assert cp.to_text() == case["text"]
        return
    log = NoteVerifier.from_vkey(case["log_vkey"])
    witnesses = [NoteVerifier.from_vkey(v) for v in case["witness_vkeys"]]
    result = open_checkpoint(case["note"].encode(), log, witnesses, case["min_witnesses"])
    got = [
        {"name": c.name, "key_id": c.key_id.hex(), "timestamp": c.timestamp}
        for c in result.cosignatures
    ]
    assert got == case["cosignatures"]


@pytest.mark.parametrize("vectors", vector_files("checkpoints.json"))
def test_checkpoint_vectors(vectors: dict[str, Any]) -> None:
    assert vectors["cases"]
    for case in vectors["cases"]:
        if case["result"] == "valid":
            _run_case(case)
        else:
            with pytest.raises(ERRORS[case["error"]]) as info:
                _run_case(case)
            assert type(info.value).__name__ == case["error"], case["name"]


def test_module_exports_exist() -> None:
    for name in checkpoint_module.__all__:
        assert hasattr(checkpoint_module, name)


# --- fuzzing -------------------------------------------------------------------------------------


@given(st.text(max_size=200))
def test_from_text_fuzz(text: str) -> None:
    with contextlib.suppress(CheckpointError):
        cp = Checkpoint.from_text(text)
        assert cp.to_text() == text


@given(
    st.sampled_from([ORIGIN, "", "x y", "a\u00e9"]),
    st.one_of(st.integers(min_value=0, max_value=MAX_TREE_SIZE), st.text(max_size=5)),
    st.sampled_from([HASH_B64, "", "AAAA", HASH_B64 + "A"]),
    st.lists(st.text(max_size=5), max_size=3),
)
def test_from_text_structured_fuzz(origin: str, size: object, root: str, ext: list[str]) -> None:
    text = "".join(f"{line}\n" for line in [origin, str(size), root, *ext])
    try:
        cp = Checkpoint.from_text(text)
    except CheckpointError:
        return
    assert cp.to_text() == text


@given(st.binary(max_size=300))
def test_open_checkpoint_fuzz(data: bytes) -> None:
    with contextlib.suppress(NoteError, CheckpointError):
        open_checkpoint(data, log_signer().verifier, [witness(1).verifier], 0)


def test_c2sp_cosignature_example_carries_its_timestamp() -> None:
    # tlog-cosignature's example cosignature: key ID, then the big-endian u64 timestamp that the
    # spec's example signed message shows ("time 1679315147"), then 64 signature bytes.
    _, sigs = parse_note(C2SP_CHECKPOINT.encode())
    cosig = sigs[1]
    assert cosig.name == "witness.example.com/w1"
    assert len(cosig.signature) == 72
    assert int.from_bytes(cosig.signature[:8], "big") == 1679315147
