"""C2SP tlog-proof receipts (spec §5.8): exact format, strict parsing, verification against a
real log built with registry.core.merkle, tampering, our vectors and fuzzing."""

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

from registry.core import proof as proof_module
from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.encoding import b64encode
from registry.core.errors import (
    InclusionProofError,
    ReceiptError,
    UnverifiedNoteError,
)
from registry.core.merkle import append_leaves, inclusion_proof, leaf_hash
from registry.core.note import ALG_COSIGNATURE_V1, NoteSigner, NoteVerifier
from registry.core.proof import (
    MAX_PROOF_HASHES,
    RECEIPT_HEADER,
    build_receipt,
    build_receipts,
    parse_receipt,
    verify_receipt,
)

ROOT = Path(__file__).resolve().parents[2]
ORIGIN = "example.org/log"
ENTRIES = [f"entry {i}".encode() for i in range(13)]
LOG = NoteSigner.from_seed(ORIGIN, b"\x22" * 32)
WITNESS = NoteSigner.from_seed("w.example", b"\x33" * 32, alg=ALG_COSIGNATURE_V1)
TREE = append_leaves(0, {}, [leaf_hash(e) for e in ENTRIES])
NOTE = sign_checkpoint(
    Checkpoint(ORIGIN, TREE.size, TREE.root), LOG, cosigners=[WITNESS], timestamp=1234
)


def receipt(index: int, extra: bytes | None = None) -> str:
    return build_receipt(index, inclusion_proof(index, TREE.size, TREE.tiles), NOTE, extra)


def vector_files(name: str) -> list[dict[str, Any]]:
    """The §5 vectors from generate(), and from the committed JSON file once it exists."""
    sys.path.insert(0, str(ROOT / "spec" / "vectors"))
    generated = importlib.import_module("gen_notes").generate()
    files: list[dict[str, Any]] = [json.loads(json.dumps(generated[name]))]
    committed = ROOT / "spec" / "vectors" / name
    if committed.exists():
        files.append(json.loads(committed.read_text(encoding="utf-8")))
    return files


def test_exact_format() -> None:
    proof = inclusion_proof(5, TREE.size, TREE.tiles)
    text = build_receipt(5, proof, NOTE, b"hello")
    expected = (
        "c2sp.org/tlog-proof@v1\n"
        f"extra {b64encode(b'hello')}\n"
        "index 5\n" + "".join(f"{b64encode(h)}\n" for h in proof) + "\n" + NOTE.decode()
    )
    assert text == expected
    assert not receipt(5).split("\n")[1].startswith("extra")


def test_every_entry_verifies_with_and_without_witnesses() -> None:
    for index, entry in enumerate(ENTRIES):
        text = receipt(index)
        verified = verify_receipt(text, entry, LOG.verifier, [WITNESS.verifier], 1)
        assert verified.index == index
        assert verified.leaf_hash == leaf_hash(entry)
        assert verified.signed_checkpoint.checkpoint.size == TREE.size
        assert [c.timestamp for c in verified.signed_checkpoint.cosignatures] == [1234]
        assert verify_receipt(text.encode(), entry, LOG.verifier).extra is None


def test_parse_round_trip() -> None:
    text = receipt(7, b"\x00\xff")
    parsed = parse_receipt(text)
    assert parsed.index == 7
    assert parsed.extra == b"\x00\xff"
    assert parsed.checkpoint_note == NOTE
    assert parsed.checkpoint.size == TREE.size
    assert build_receipt(parsed.index, parsed.proof, parsed.checkpoint_note, parsed.extra) == text
    assert verify_receipt(text, ENTRIES[7], LOG.verifier).extra == b"\x00\xff"


def test_single_entry_log_has_empty_proof() -> None:
    one = append_leaves(0, {}, [leaf_hash(b"only")])
    note = sign_checkpoint(Checkpoint(ORIGIN, 1, one.root), LOG)
    text = build_receipt(0, [], note)
    assert text == f"{RECEIPT_HEADER}\nindex 0\n\n{note.decode()}"
    verify_receipt(text, b"only", LOG.verifier)


def test_wrong_entry_or_index_fails_with_chained_inclusion_error() -> None:
    with pytest.raises(ReceiptError, match="not at index 3") as info:
        verify_receipt(receipt(3), ENTRIES[4], LOG.verifier)
    assert isinstance(info.value.__cause__, InclusionProofError)
    moved = receipt(3).replace("index 3\n", "index 4\n")
    with pytest.raises(ReceiptError):
        verify_receipt(moved, ENTRIES[3], LOG.verifier)


def test_wrong_log_key_or_missing_witness() -> None:
    other = NoteSigner.from_seed(ORIGIN, b"\x44" * 32)
    with pytest.raises(ReceiptError, match=f"checkpoint not signed by log key {ORIGIN}") as info:
        verify_receipt(receipt(1), ENTRIES[1], other.verifier)
    assert isinstance(info.value.__cause__, UnverifiedNoteError)
    other_witness = NoteSigner.from_seed("w2.example", b"\x55" * 32, alg=ALG_COSIGNATURE_V1)
    with pytest.raises(ReceiptError, match="witness"):
        verify_receipt(receipt(1), ENTRIES[1], LOG.verifier, [other_witness.verifier], 1)
    with pytest.raises(ReceiptError, match="origin"):
        verify_receipt(receipt(1), ENTRIES[1], LOG.verifier, origin="elsewhere.example")
    with pytest.raises(ReceiptError, match="cosignature/v1"):
        verify_receipt(receipt(1), ENTRIES[1], LOG.verifier, [LOG.verifier])


def test_build_receipt_checks_inputs() -> None:
    proof = inclusion_proof(2, TREE.size, TREE.tiles)
    with pytest.raises(ReceiptError, match="negative"):
        build_receipt(-1, proof, NOTE)
    with pytest.raises(ReceiptError, match="32 bytes"):
        build_receipt(2, [*proof[:-1], b"x"], NOTE)
    with pytest.raises(ReceiptError, match="more than"):
        build_receipt(2, [bytes(32)] * (MAX_PROOF_HASHES + 1), NOTE)
    with pytest.raises(ReceiptError, match="empty"):
        build_receipt(2, proof, NOTE, b"")
    with pytest.raises(ReceiptError, match="not below"):
        build_receipt(TREE.size, proof, NOTE)
    with pytest.raises(ReceiptError, match="malformed checkpoint"):
        build_receipt(2, proof, b"not a note")


def test_batch_receipts_equal_single_receipts() -> None:
    # A node answers a batch of submissions: the note is parsed once, every receipt must still
    # be exactly the single-entry one, and every input is checked as for one receipt.
    proofs = {i: inclusion_proof(i, TREE.size, TREE.tiles) for i in (0, 5, TREE.size - 1)}
    assert build_receipts(proofs, NOTE) == {i: receipt(i) for i in proofs}
    assert build_receipts({}, NOTE) == {}
    with pytest.raises(ReceiptError, match="not below"):
        build_receipts({**proofs, TREE.size: proofs[0]}, NOTE)
    with pytest.raises(ReceiptError, match="32 bytes"):
        build_receipts({1: [b"x"]}, NOTE)
    with pytest.raises(ReceiptError, match="malformed checkpoint"):
        build_receipts(proofs, b"not a note")


GOOD = receipt(2)
HEAD, _, TAIL = GOOD.partition("\n\n")


@pytest.mark.parametrize(
    ("text", "message"),
    [
        (b"\xff" + GOOD.encode(), "UTF-8"),
        ("", "first line"),
        (RECEIPT_HEADER, "first line"),
        (GOOD.replace(RECEIPT_HEADER, "c2sp.org/tlog-proof@v2"), "first line"),
        (GOOD.replace(RECEIPT_HEADER, RECEIPT_HEADER + " "), "first line"),
        (GOOD.replace("index 2\n", "extra \nindex 2\n"), "empty"),
        (GOOD.replace("index 2\n", "extra AA\nindex 2\n"), "base64"),
        (GOOD.replace("index 2\n", "extra AA==\nextra AA==\nindex 2\n"), "index"),
        (GOOD.replace("index 2\n", "index: 2\n"), "index"),
        (GOOD.replace("index 2\n", "index 02\n"), "decimal"),
        (GOOD.replace("index 2\n", "index +2\n"), "decimal"),
        (GOOD.replace("index 2\n", "index 2 \n"), "decimal"),
        (GOOD.replace("index 2\n", f"index {'9' * 30}\n"), "decimal"),
        (GOOD.replace("index 2\n", f"index {TREE.size}\n"), "not below"),
        (HEAD.replace("index 2\n", "index 2\nAAAA\n") + "\n\n" + TAIL, "32 bytes"),
        (HEAD.replace("index 2\n", "index 2\n AAAA\n") + "\n\n" + TAIL, "base64"),
        (HEAD, "no blank line"),
        (
            HEAD.replace("index 2\n", "index 2\n" + f"{b64encode(bytes(32))}\n" * 64)
            + "\n\n"
            + TAIL,
            "more than 63",
        ),
        (HEAD + "\n\n" + TAIL.replace("\n\n", "\n"), "malformed checkpoint"),
        (HEAD + "\n\nx\n" + TAIL, "malformed checkpoint"),
        (HEAD + "\n\n" + TAIL + "trailing\n", "malformed checkpoint"),
        (GOOD.replace("\n", "\r\n"), "first line"),
        (GOOD + "\ud800", "UTF-8"),
    ],
)
def test_malformed_receipts(text: str | bytes, message: str) -> None:
    with pytest.raises(ReceiptError, match=message):
        parse_receipt(text)
    with pytest.raises(ReceiptError):
        verify_receipt(text, ENTRIES[2], LOG.verifier)


def _run_case(case: dict[str, Any]) -> None:
    from registry.core.encoding import b64decode  # noqa: PLC0415

    verified = verify_receipt(
        case["receipt"],
        b64decode(case["entry"]),
        NoteVerifier.from_vkey(case["log_vkey"]),
        [NoteVerifier.from_vkey(v) for v in case["witness_vkeys"]],
        case["min_witnesses"],
    )
    assert verified.index == case["index"]


@pytest.mark.parametrize("vectors", vector_files("receipts.json"))
def test_receipt_vectors(vectors: dict[str, Any]) -> None:
    assert vectors["cases"]
    for case in vectors["cases"]:
        if case["result"] == "valid":
            _run_case(case)
        else:
            assert case["error"] == "ReceiptError"
            with pytest.raises(ReceiptError):
                _run_case(case)


def test_module_exports_exist() -> None:
    for name in proof_module.__all__:
        assert hasattr(proof_module, name)


@given(st.text(max_size=300))
def test_parse_receipt_fuzz_text(text: str) -> None:
    with contextlib.suppress(ReceiptError):
        parse_receipt(text)


@given(st.binary(max_size=300))
def test_verify_receipt_fuzz_bytes(data: bytes) -> None:
    with contextlib.suppress(ReceiptError):
        verify_receipt(data, b"x", LOG.verifier)


@given(st.integers(min_value=0, max_value=len(GOOD) - 1), st.characters())
def test_any_single_character_change_is_caught(position: int, char: str) -> None:
    """Changing any one character of a valid receipt either leaves it equal or fails."""
    changed = GOOD[:position] + char + GOOD[position + 1 :]
    try:
        verify_receipt(changed, ENTRIES[2], LOG.verifier, [WITNESS.verifier], 1)
    except ReceiptError:
        return
    assert changed == GOOD
