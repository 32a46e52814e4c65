"""The one exception hierarchy of the protocol core.

Every function in :mod:`registry.core` that rejects its input raises a subclass of
:class:`ProtocolError`; none returns a boolean for "invalid", and none lets an exception from a
library it uses (msgspec, cryptography, binascii) escape. The layer above decides what is
recoverable and how to report it (the node maps ``slug`` to an RFC 9457 problem type).

::

    ProtocolError
    ├── EncodingError              bytes are not valid JSON / base64 / hex / base58
    │   └── NonCanonicalError      valid, but not the one canonical form (spec §1.2)
    ├── KeyFormatError             malformed public or private key, did:key or verifier key
    ├── SignatureError             malformed signature, or one that does not verify
    ├── RecordError                a record breaks the schema (unknown field, bad value)
    │   ├── LimitError             a record or field exceeds a size limit (spec §2.6)
    │   └── FutureRecordError      issued later than the receiver's clock allows (spec §2.11)
    ├── PreferenceError            a preference category or value is malformed
    │   └── StructuredFieldError   a Content-Usage header is not a valid RFC 9651 dictionary
    ├── ProofError
    │   ├── InclusionProofError    an inclusion proof does not lead to the root
    │   └── ConsistencyProofError  a consistency proof does not link the two roots
    ├── TileError                  malformed tile coordinates, path, tile or entry bundle
    ├── NoteError                  malformed signed note
    │   └── UnverifiedNoteError    no trusted signature verifies, or a trusted one fails
    ├── CheckpointError            malformed checkpoint body
    ├── ReceiptError               malformed receipt, or one that does not verify
    └── SnapshotError              malformed snapshot, filter or chain (spec §8)
"""

from __future__ import annotations

__all__ = [
    "CheckpointError",
    "ConsistencyProofError",
    "EncodingError",
    "FutureRecordError",
    "InclusionProofError",
    "KeyFormatError",
    "LimitError",
    "NonCanonicalError",
    "NoteError",
    "PreferenceError",
    "ProofError",
    "ProtocolError",
    "ReceiptError",
    "RecordError",
    "SignatureError",
    "SnapshotError",
    "StructuredFieldError",
    "TileError",
    "UnverifiedNoteError",
]


class ProtocolError(Exception):
    """Base of every error the protocol core raises.

    ``slug`` names the kind of error in a stable, machine-readable way; the node uses it as the
    last path segment of the RFC 9457 problem ``type`` URI.
    """

    slug = "protocol-error"


class EncodingError(ProtocolError):
    """Bytes or text are not a valid encoding (JSON, base64, hex, base58, UTF-8)."""

    slug = "bad-encoding"


class NonCanonicalError(EncodingError):
    """A signed record is valid JSON but not byte-identical to its canonical form."""

    slug = "non-canonical"


class KeyFormatError(ProtocolError):
    """A key, ``did:key`` identifier or C2SP verifier/signer key string is malformed."""

    slug = "bad-key"


class SignatureError(ProtocolError):
    """A signature is malformed or does not verify under the given key."""

    slug = "bad-signature"


class RecordError(ProtocolError):
    """A record does not conform to its schema."""

    slug = "bad-record"


class LimitError(RecordError):
    """A record or one of its fields exceeds a limit set by the specification."""

    slug = "limit-exceeded"


class FutureRecordError(RecordError):
    """A record's ``issued_at`` is further ahead of the receiver's clock than it allows."""

    slug = "future-dated"


class PreferenceError(ProtocolError):
    """A preference category or value is malformed."""

    slug = "bad-preference"


class StructuredFieldError(PreferenceError):
    """A ``Content-Usage`` field value is not a valid RFC 9651 dictionary."""

    slug = "bad-structured-field"


class ProofError(ProtocolError):
    """A Merkle proof is malformed or does not verify."""

    slug = "bad-proof"


class InclusionProofError(ProofError):
    """An inclusion proof does not lead from the leaf to the expected root."""

    slug = "bad-inclusion-proof"


class ConsistencyProofError(ProofError):
    """A consistency proof does not show the larger tree extends the smaller one."""

    slug = "bad-consistency-proof"


class TileError(ProtocolError):
    """A tile coordinate, tile path, hash tile or entry bundle is malformed."""

    slug = "bad-tile"


class NoteError(ProtocolError):
    """A signed note is malformed."""

    slug = "bad-note"


class UnverifiedNoteError(NoteError):
    """A signed note carries no verifying signature from a trusted key, or a trusted key's
    signature fails to verify."""

    slug = "unverified-note"


class CheckpointError(ProtocolError):
    """A checkpoint body is malformed."""

    slug = "bad-checkpoint"


class ReceiptError(ProtocolError):
    """A receipt (C2SP tlog-proof) is malformed or does not verify."""

    slug = "bad-receipt"


class SnapshotError(ProtocolError):
    """An offline snapshot (spec §8) is malformed: its container, header, filter parameters or
    bytes, its binding to a checkpoint, or the order of a chain of snapshots."""

    slug = "bad-snapshot"
