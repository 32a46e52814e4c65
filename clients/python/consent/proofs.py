"""Checking what a node says, offline: a declaration's signature and its inclusion in the
origin log's signed checkpoint (spec §2.8, §5.8), and that it really covers the work asked about.

Everything here is pure (bytes and keys in, a verified value out or an exception): the clients
fetch, these functions judge. Failures raise :class:`~consent.errors.VerificationError`
chained to the core's :class:`~registry.core.errors.ProtocolError`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from consent.errors import VerificationError
from registry.core.errors import ProtocolError
from registry.core.note import NoteVerifier
from registry.core.proof import verify_receipt
from registry.core.records import AnyRecord, Declaration, load_entry, load_record, record_id
from registry.core.urls import normalize_url
from registry.wire import DeclarationView

__all__ = [
    "VerifiedDeclaration",
    "VerifiedRecord",
    "covers",
    "verifier_from_key",
    "verify_entry",
    "verify_record_entry",
    "verify_record_view",
    "verify_view",
]


@dataclass(frozen=True)
class VerifiedDeclaration:
    """A declaration whose signature verified and that a signed checkpoint includes.

    ``tree_size`` is the size of the checkpoint the inclusion was proven against; ``witnesses``
    the names of the witnesses whose cosignatures verified.
    """

    id: str
    index: int
    origin: str
    record: Declaration
    entry: bytes
    tree_size: int
    witnesses: tuple[str, ...] = ()


@dataclass(frozen=True)
class VerifiedRecord:
    """A log entry of any kind (a declaration or a trust record, spec §9.3) whose signature
    verified and that a signed checkpoint includes (spec §5.8)."""

    id: str
    index: int
    origin: str
    record: AnyRecord
    entry: bytes
    tree_size: int


def verify_record_entry(
    entry: bytes, receipt: str, log_verifier: NoteVerifier, *, expected_id: str | None = None
) -> VerifiedRecord:
    """Verify an entry of any kind and its receipt against the log's key: the record decodes
    and its signer's signature verifies (``load_entry``, spec §2.7, §9.3), its id is
    ``expected_id`` if given, and the receipt proves its inclusion (spec §5.8.2).

    Raises:
        VerificationError: any check fails; the message says which.
    """
    entry_id = record_id(entry)
    if expected_id is not None and entry_id != expected_id:
        raise VerificationError(f"the entry's id is {entry_id}, not the record {expected_id}")
    try:
        record = load_entry(entry)
    except ProtocolError as exc:
        raise VerificationError(f"record {entry_id[:16]}: {exc}") from exc
    try:
        verified = verify_receipt(receipt, entry, log_verifier, (), 0)
    except ProtocolError as exc:
        raise VerificationError(f"record {entry_id[:16]}: {exc}") from exc
    checkpoint = verified.signed_checkpoint.checkpoint
    return VerifiedRecord(
        id=entry_id,
        index=verified.index,
        origin=checkpoint.origin,
        record=record,
        entry=entry,
        tree_size=checkpoint.size,
    )


def verify_record_view(view: DeclarationView, log_verifier: NoteVerifier) -> VerifiedRecord:
    """Verify a node's ``GET /v1/records/{id}`` answer (see :func:`verify_record_entry`).

    Raises:
        VerificationError: the record, id, receipt or origin does not check out.
    """
    verified = verify_record_entry(
        bytes(view.record), view.receipt, log_verifier, expected_id=view.id
    )
    if verified.origin != view.origin:
        raise VerificationError(
            f"answer claims origin {view.origin!r}, the checkpoint is {verified.origin!r}"
        )
    return verified


def verifier_from_key(vkey: str) -> NoteVerifier:
    """A C2SP note verifier from a verifier key string (``origin+hex8+base64``).

    Raises:
        VerificationError: the key string is malformed.
    """
    try:
        return NoteVerifier.from_vkey(vkey.strip())
    except ProtocolError as exc:
        raise VerificationError(f"malformed verifier key: {exc}") from exc


def verify_entry(
    entry: bytes,
    receipt: str,
    log_verifier: NoteVerifier,
    *,
    expected_id: str | None = None,
    witnesses: Sequence[NoteVerifier] = (),
    min_witnesses: int = 0,
) -> VerifiedDeclaration:
    """Verify a declaration entry and its receipt (C2SP tlog-proof) against the log's key.

    Checks, in order: the entry is a well-formed record signed by its creator (spec §2.7,
    §2.8); its id is ``expected_id`` if given (spec §2.9); the receipt's checkpoint is signed by
    ``log_verifier`` (and at least ``min_witnesses`` of ``witnesses``) and its inclusion proof
    leads from the entry to the checkpoint's root (spec §5.8.2).

    Raises:
        VerificationError: any check fails; the message says which.
    """
    declaration_id = record_id(entry)
    if expected_id is not None and declaration_id != expected_id:
        raise VerificationError(
            f"the entry's id is {declaration_id}, not the declaration {expected_id} asked for"
        )
    try:
        record = load_record(entry)
    except ProtocolError as exc:
        raise VerificationError(f"declaration {declaration_id[:16]}: {exc}") from exc
    try:
        verified = verify_receipt(receipt, entry, log_verifier, witnesses, min_witnesses)
    except ProtocolError as exc:
        raise VerificationError(str(exc)) from exc
    checkpoint = verified.signed_checkpoint
    return VerifiedDeclaration(
        id=declaration_id,
        index=verified.index,
        origin=checkpoint.checkpoint.origin,
        record=record,
        entry=entry,
        tree_size=checkpoint.checkpoint.size,
        witnesses=tuple(sorted({c.name for c in checkpoint.cosignatures})),
    )


def verify_view(view: DeclarationView, log_verifier: NoteVerifier) -> VerifiedDeclaration:
    """Verify a node's ``GET /v1/declarations/{id}`` answer (see :func:`verify_entry`).

    Raises:
        VerificationError: the record, id, receipt or origin does not check out.
    """
    verified = verify_entry(bytes(view.record), view.receipt, log_verifier, expected_id=view.id)
    if verified.origin != view.origin:
        raise VerificationError(
            f"answer claims origin {view.origin!r}, the checkpoint is {verified.origin!r}"
        )
    return verified


def covers(record: Declaration, *, sha256: str | None = None, url: str | None = None) -> bool:
    """True if the declaration speaks about the work with ``sha256`` or published at ``url``.

    A URL is compared in normal form (spec §2.5); one that does not normalise is not covered.
    """
    if sha256 is not None and any(work.sha256 == sha256 for work in record.works):
        return True
    if url is None:
        return False
    try:
        normal = normalize_url(url)
    except ProtocolError:
        return False
    return any(normal in work.urls for work in record.works)
