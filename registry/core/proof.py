"""Receipts: C2SP tlog-proof (``c2sp.org/tlog-proof@v1``) offline inclusion proofs (spec §5.8).

A receipt is self-contained text: a header line, an optional ``extra`` line, the entry's
``index``, its RFC 6962 inclusion proof (one base64 hash per line), a blank line, and the log's
signed checkpoint verbatim (with any witness cosignatures). Anyone holding the entry and the
log's (and witnesses') public keys can check it, offline, forever.

Every failure raises :class:`~registry.core.errors.ReceiptError`, chained to the underlying
note, checkpoint or proof error.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from registry.core.checkpoint import Checkpoint, SignedCheckpoint, open_checkpoint
from registry.core.encoding import b64decode, b64encode
from registry.core.errors import (
    CheckpointError,
    EncodingError,
    InclusionProofError,
    KeyFormatError,
    NoteError,
    ReceiptError,
)
from registry.core.merkle import leaf_hash, verify_inclusion
from registry.core.note import NoteVerifier, parse_note

__all__ = [
    "MAX_PROOF_HASHES",
    "RECEIPT_HEADER",
    "Receipt",
    "VerifiedReceipt",
    "build_receipt",
    "build_receipts",
    "parse_receipt",
    "verify_receipt",
]

RECEIPT_HEADER = "c2sp.org/tlog-proof@v1"
"""The first line of every receipt (C2SP tlog-proof)."""

MAX_PROOF_HASHES = 63
"""Longest inclusion proof: a tree of at most 2^63 - 1 entries has at most 63 levels."""

_HASH_SIZE = 32
_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_MAX_INDEX_DIGITS = 19


@dataclass(frozen=True)
class Receipt:
    """A parsed, not yet verified, receipt (spec §5.8.1).

    ``checkpoint_note`` is the signed checkpoint exactly as it appears in the receipt;
    ``checkpoint`` its (unverified) body. ``extra`` is opaque and unauthenticated.
    """

    index: int
    proof: tuple[bytes, ...]
    checkpoint_note: bytes
    checkpoint: Checkpoint
    extra: bytes | None = None


@dataclass(frozen=True)
class VerifiedReceipt:
    """A receipt whose checkpoint signatures and inclusion proof verified (spec §5.8.2).

    ``extra`` is still unauthenticated: the verification says nothing about it.
    """

    index: int
    leaf_hash: bytes
    signed_checkpoint: SignedCheckpoint
    extra: bytes | None


def build_receipt(
    index: int,
    inclusion_proof: Sequence[bytes],
    checkpoint_note: bytes,
    extra: bytes | None = None,
) -> str:
    """Write a receipt in the exact C2SP tlog-proof text format (spec §5.8.1).

    The checkpoint note is copied verbatim; it is parsed (not verified) so that a receipt
    this function returns always parses.

    Raises:
        ReceiptError: a negative index or one not below the checkpoint's size, a proof hash
            that is not 32 bytes, a proof over 63 hashes, empty ``extra``, or a checkpoint
            note that is not a well-formed signed checkpoint.
    """
    _check_receipt_parts(index, inclusion_proof, extra)
    checkpoint = _parse_checkpoint_note(checkpoint_note)
    _check_index(index, checkpoint)
    return _format_receipt(index, inclusion_proof, checkpoint_note.decode("utf-8"), extra)


def build_receipts(proofs: Mapping[int, Sequence[bytes]], checkpoint_note: bytes) -> dict[int, str]:
    """:func:`build_receipt` (without ``extra``) for many entries of one checkpoint: ``{index:
    receipt}``, the note parsed once (what a node does to answer a batch of submissions).

    Raises:
        ReceiptError: as :func:`build_receipt`, for the first index that fails.
    """
    checkpoint = _parse_checkpoint_note(checkpoint_note)
    note = checkpoint_note.decode("utf-8")
    receipts: dict[int, str] = {}
    for index, proof in proofs.items():
        _check_receipt_parts(index, proof, None)
        _check_index(index, checkpoint)
        receipts[index] = _format_receipt(index, proof, note, None)
    return receipts


def _check_receipt_parts(index: int, inclusion_proof: Sequence[bytes], extra: bytes | None) -> None:
    if isinstance(index, bool) or index < 0:
        raise ReceiptError(f"receipt: index {index} is negative")
    if len(inclusion_proof) > MAX_PROOF_HASHES:
        raise ReceiptError(f"receipt: inclusion proof has more than {MAX_PROOF_HASHES} hashes")
    if any(len(h) != _HASH_SIZE for h in inclusion_proof):
        raise ReceiptError("receipt: every inclusion proof hash must be 32 bytes")
    if extra is not None and not extra:
        raise ReceiptError("receipt: extra data, when present, must not be empty")


def _format_receipt(
    index: int, inclusion_proof: Sequence[bytes], note: str, extra: bytes | None
) -> str:
    lines = [RECEIPT_HEADER]
    if extra is not None:
        lines.append(f"extra {b64encode(extra)}")
    lines.append(f"index {index}")
    lines.extend(b64encode(h) for h in inclusion_proof)
    head = "".join(f"{line}\n" for line in lines)
    return head + "\n" + note


def _check_index(index: int, checkpoint: Checkpoint) -> None:
    if index >= checkpoint.size:
        raise ReceiptError(
            f"receipt: index {index} is not below the checkpoint tree size {checkpoint.size}"
        )


def _parse_checkpoint_note(data: bytes) -> Checkpoint:
    try:
        text, _ = parse_note(data)
        return Checkpoint.from_text(text)
    except (NoteError, CheckpointError) as exc:
        raise ReceiptError(f"receipt: malformed checkpoint: {exc}") from exc


def _parse_decimal(value: str, what: str) -> int:
    if len(value) > _MAX_INDEX_DIGITS or not _DECIMAL.fullmatch(value):
        raise ReceiptError(f"receipt: {what} {value!r} is not a canonical decimal")
    return int(value)


def _b64(value: str, what: str) -> bytes:
    try:
        return b64decode(value)
    except EncodingError as exc:
        raise ReceiptError(f"receipt: {what} is not canonical base64") from exc


def parse_receipt(text: str | bytes) -> Receipt:
    """Parse a receipt strictly, verifying nothing (spec §5.8.1).

    Raises:
        ReceiptError: not UTF-8, wrong header, malformed ``extra`` or ``index`` line, a proof
            line that is not base64 of a 32-byte hash, more than 63 proof lines, no blank line
            before the checkpoint, or a checkpoint that is not a well-formed signed note with a
            checkpoint body whose size exceeds the index.
    """
    if isinstance(text, bytes):
        try:
            text = text.decode("utf-8")
        except UnicodeDecodeError as exc:
            raise ReceiptError("receipt: not valid UTF-8") from exc
    header, sep, rest = text.partition("\n")
    if header != RECEIPT_HEADER or not sep:
        raise ReceiptError(f"receipt: first line must be {RECEIPT_HEADER!r}")
    line, _, rest = rest.partition("\n")
    extra: bytes | None = None
    if line.startswith("extra "):
        extra = _b64(line[len("extra ") :], "extra data")
        if not extra:
            raise ReceiptError("receipt: extra line present but empty")
        line, _, rest = rest.partition("\n")
    if not line.startswith("index "):
        raise ReceiptError("receipt: missing 'index' line")
    index = _parse_decimal(line[len("index ") :], "index")
    proof: list[bytes] = []
    while True:
        line, sep, rest = rest.partition("\n")
        if not sep:
            raise ReceiptError("receipt: no blank line before the checkpoint")
        if not line:
            break
        if len(proof) == MAX_PROOF_HASHES:
            raise ReceiptError(f"receipt: more than {MAX_PROOF_HASHES} inclusion proof hashes")
        proof_hash = _b64(line, "inclusion proof hash")
        if len(proof_hash) != _HASH_SIZE:
            raise ReceiptError("receipt: inclusion proof hash is not 32 bytes")
        proof.append(proof_hash)
    try:
        note = rest.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise ReceiptError("receipt: not valid UTF-8 (lone surrogate)") from exc
    checkpoint = _parse_checkpoint_note(note)
    _check_index(index, checkpoint)
    return Receipt(index, tuple(proof), note, checkpoint, extra)


def verify_receipt(
    text: str | bytes,
    entry: bytes,
    log_verifier: NoteVerifier,
    witness_verifiers: Sequence[NoteVerifier] = (),
    min_witnesses: int = 0,
    *,
    origin: str | None = None,
) -> VerifiedReceipt:
    """Verify a receipt for ``entry`` (spec §5.8.2, C2SP tlog-proof "Verifying a tlog proof").

    1. the leaf hash is the RFC 6962 leaf hash of ``entry``;
    2. the checkpoint's origin is ``origin`` (default: the log key's name) and it is signed by
       ``log_verifier``;
    3. every cosignature from ``witness_verifiers`` verifies and at least ``min_witnesses``
       distinct witnesses cosigned;
    4. the inclusion proof leads from the leaf hash at ``index`` to the checkpoint's root.

    Raises:
        ReceiptError: on any failure, chained to the underlying error.
    """
    receipt = parse_receipt(text)
    leaf = leaf_hash(entry)  # step 1
    try:  # steps 2 and 3
        signed = open_checkpoint(
            receipt.checkpoint_note,
            log_verifier,
            witness_verifiers,
            min_witnesses,
            origin=origin,
        )
    except (NoteError, CheckpointError, KeyFormatError) as exc:
        raise ReceiptError(f"receipt: {exc}") from exc
    checkpoint = signed.checkpoint
    try:  # step 4
        verify_inclusion(leaf, receipt.index, checkpoint.size, receipt.proof, checkpoint.root_hash)
    except InclusionProofError as exc:
        raise ReceiptError(
            f"receipt: entry is not at index {receipt.index} of {checkpoint.origin} "
            f"at size {checkpoint.size}: {exc}"
        ) from exc
    return VerifiedReceipt(receipt.index, leaf, signed, receipt.extra)
