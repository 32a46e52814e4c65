"""C2SP transparency-log checkpoints and witness cosignatures (spec §5.5, §5.6).

A checkpoint (c2sp.org/tlog-checkpoint@v1.0.0) is a signed note whose text is the log's origin,
tree size and root hash, optionally followed by extension lines. Witnesses cosign it with
timestamped Ed25519 ``cosignature/v1`` signatures (c2sp.org/tlog-cosignature@v1.0.1).

Errors: :class:`CheckpointError` for a malformed checkpoint body or a checkpoint whose origin
is not the expected one; the note errors of :mod:`registry.core.note` (:class:`NoteError`,
:class:`UnverifiedNoteError`, :class:`KeyFormatError`) for the signatures.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from registry.core.encoding import b64decode, b64encode
from registry.core.errors import (
    CheckpointError,
    EncodingError,
    KeyFormatError,
    NoteError,
    UnverifiedNoteError,
)
from registry.core.note import (
    ALG_COSIGNATURE_V1,
    NoteSignature,
    NoteSigner,
    NoteVerifier,
    append_signature_lines,
    open_note,
    parse_note,
    parse_signature_lines,
    sign_note,
)

__all__ = [
    "MAX_TREE_SIZE",
    "Checkpoint",
    "Cosignature",
    "SignedCheckpoint",
    "add_cosignatures",
    "cosign_checkpoint",
    "open_checkpoint",
    "sign_checkpoint",
]

MAX_TREE_SIZE = (1 << 63) - 1
"""Largest tree size a checkpoint may state (spec §5.5; a signed 64-bit integer)."""

_HASH_SIZE = 32
_DECIMAL = re.compile(r"0|[1-9][0-9]*")


def _check_line(value: str, what: str) -> None:
    if not value:
        raise CheckpointError(f"checkpoint {what} is empty")
    for char in value:
        code = ord(char)
        if code < 0x20 or 0xD800 <= code <= 0xDFFF:
            raise CheckpointError(f"checkpoint {what} contains a control character or newline")


@dataclass(frozen=True)
class Checkpoint:
    """The body of a checkpoint: a log's tree head at one size (spec §5.5).

    Construction validates every field, so a :class:`Checkpoint` always has a text form.

    Raises:
        CheckpointError: an empty origin or extension line, a line with a control character,
            a size outside 0..2^63-1, or a root hash that is not 32 bytes.
    """

    origin: str
    size: int
    root_hash: bytes
    extensions: tuple[str, ...] = ()

    def __post_init__(self) -> None:
        _check_line(self.origin, "origin")
        if isinstance(self.size, bool) or not 0 <= self.size <= MAX_TREE_SIZE:
            raise CheckpointError(f"checkpoint size {self.size} is out of range 0..2^63-1")
        if len(self.root_hash) != _HASH_SIZE:
            raise CheckpointError("checkpoint root hash must be 32 bytes")
        object.__setattr__(self, "extensions", tuple(self.extensions))
        for line in self.extensions:
            _check_line(line, "extension line")

    def to_text(self) -> str:
        """The note text: origin, size, base64 root hash, extension lines, each + newline."""
        root = b64encode(self.root_hash)
        lines = [self.origin, str(self.size), root, *self.extensions]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> Checkpoint:
        """Parse a checkpoint note text strictly (spec §5.5).

        At least three non-empty newline-terminated lines: origin, decimal size without
        leading zeros, canonical base64 of a 32-byte root hash; then non-empty extension lines.

        Raises:
            CheckpointError: the text is not exactly such a checkpoint body.
        """
        if not text.endswith("\n"):
            raise CheckpointError("checkpoint text must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 3:
            raise CheckpointError("checkpoint text needs origin, size and root hash lines")
        origin, size, root, *extensions = lines
        if len(size) > len(str(MAX_TREE_SIZE)) or not _DECIMAL.fullmatch(size):
            raise CheckpointError(f"checkpoint size {size!r} is not a canonical decimal")
        try:
            root_hash = b64decode(root)
        except EncodingError as exc:
            raise CheckpointError(f"checkpoint root hash {root!r} is not canonical base64") from exc
        return cls(origin, int(size), root_hash, tuple(extensions))


@dataclass(frozen=True)
class Cosignature:
    """A verified witness cosignature: who cosigned, with which key, and when (spec §5.6)."""

    name: str
    key_id: bytes
    timestamp: int


@dataclass(frozen=True)
class SignedCheckpoint:
    """A checkpoint whose log signature (and required cosignatures) verified (spec §5.7).

    ``note`` is the signed note exactly as given; ``cosignatures`` lists each trusted witness
    whose cosignature verified, once, in note order.
    """

    checkpoint: Checkpoint
    note: bytes
    cosignatures: tuple[Cosignature, ...]

    @property
    def text(self) -> str:
        """The checkpoint's note text."""
        return self.checkpoint.to_text()


def sign_checkpoint(
    checkpoint: Checkpoint,
    signer: NoteSigner,
    *,
    cosigners: Sequence[NoteSigner] = (),
    timestamp: int | None = None,
) -> bytes:
    """Sign a checkpoint as its log, optionally adding cosignatures (spec §5.5, §5.6).

    The log key name MUST equal the origin (spec §5.5) and the log key MUST be an Ed25519 note
    key; each cosigner MUST be a ``cosignature/v1`` key and needs ``timestamp``.

    Raises:
        CheckpointError: the signer's name is not the origin.
        KeyFormatError: wrong key types.
        NoteError, SignatureError: as :func:`registry.core.note.sign_note`.
    """
    if signer.name != checkpoint.origin:
        raise CheckpointError(
            f"log key name {signer.name!r} must equal the checkpoint origin {checkpoint.origin!r}"
        )
    if signer.alg == ALG_COSIGNATURE_V1:
        raise KeyFormatError("a log signs its checkpoints with an Ed25519 note key")
    for cosigner in cosigners:
        _require_cosigner(cosigner.name, cosigner.alg)
    return sign_note(checkpoint.to_text(), [signer, *cosigners], timestamp=timestamp)


def _require_cosigner(name: str, alg: int) -> None:
    if alg != ALG_COSIGNATURE_V1:
        raise KeyFormatError(f"witness key {name} is not a cosignature/v1 key")


def open_checkpoint(
    data: bytes,
    log_verifier: NoteVerifier,
    witness_verifiers: Sequence[NoteVerifier] = (),
    min_witnesses: int = 0,
    *,
    origin: str | None = None,
) -> SignedCheckpoint:
    """Verify a signed checkpoint and its witness cosignatures (spec §5.7).

    The checkpoint MUST carry a verifying signature by ``log_verifier`` and its origin MUST be
    ``origin`` (default: the log key's name). Every signature by a supplied key MUST verify;
    signatures by other keys are ignored. At least ``min_witnesses`` distinct witnesses from
    ``witness_verifiers`` (``cosignature/v1`` keys) MUST have cosigned.

    Raises:
        NoteError: the note is malformed.
        KeyFormatError: a witness key is not a cosignature/v1 key, or keys are ambiguous.
        UnverifiedNoteError: no log signature, a known signature fails, or too few witnesses.
        CheckpointError: malformed body or wrong origin.
    """
    for witness in witness_verifiers:
        _require_cosigner(witness.name, witness.alg)
    _, lines = parse_note(data)
    if not any(_signed_by(sig, log_verifier) for sig in lines):
        raise UnverifiedNoteError(
            f"checkpoint not signed by log key {log_verifier.name}+{log_verifier.key_id.hex()}"
        )
    # open_note verifies every line by a given key, so the log's signature verified below.
    note = open_note(data, [log_verifier, *witness_verifiers])
    checkpoint = Checkpoint.from_text(note.text)
    expected = log_verifier.name if origin is None else origin
    if checkpoint.origin != expected:
        raise CheckpointError(f"checkpoint origin {checkpoint.origin!r} is not {expected!r}")
    cosignatures: dict[tuple[str, bytes], Cosignature] = {}
    for sig in note.signatures:
        if sig.timestamp is not None and any(_signed_by(sig, w) for w in witness_verifiers):
            cosignatures.setdefault(
                (sig.name, sig.key_id), Cosignature(sig.name, sig.key_id, sig.timestamp)
            )
    if len(cosignatures) < min_witnesses:
        raise UnverifiedNoteError(
            f"checkpoint has {len(cosignatures)} trusted witness cosignatures, "
            f"{min_witnesses} required"
        )
    return SignedCheckpoint(checkpoint, bytes(data), tuple(cosignatures.values()))


def _signed_by(sig: NoteSignature, verifier: NoteVerifier) -> bool:
    return (sig.name, sig.key_id) == (verifier.name, verifier.key_id)


def cosign_checkpoint(
    data: bytes,
    log_verifier: NoteVerifier,
    cosigner: NoteSigner,
    *,
    timestamp: int,
    origin: str | None = None,
) -> str:
    """Verify a log's signed checkpoint and return our cosignature line for it (spec §5.6).

    This is what a witness does: it cosigns only a checkpoint whose log signature verifies.
    (Consistency with the previously cosigned checkpoint is the caller's business.) The line
    has no final newline; see :func:`add_cosignatures` to attach it.

    Raises:
        KeyFormatError: ``cosigner`` is not a cosignature/v1 key.
        NoteError, UnverifiedNoteError, CheckpointError: as :func:`open_checkpoint`.
        SignatureError: the timestamp is out of range.
    """
    _require_cosigner(cosigner.name, cosigner.alg)
    signed = open_checkpoint(data, log_verifier, origin=origin)
    return cosigner.sign(signed.text, timestamp=timestamp).line


def add_cosignatures(
    data: bytes,
    lines: str,
    log_verifier: NoteVerifier,
    witness_verifiers: Sequence[NoteVerifier],
    *,
    origin: str | None = None,
) -> bytes:
    """Attach witness cosignature lines (e.g. a tlog-witness response body) to a checkpoint.

    ``lines`` holds one or more signature lines, each ending in a newline. Each MUST come from
    one of ``witness_verifiers`` and verify over the checkpoint; the log signature is checked
    too. A line replaces an earlier one by the same witness key.

    Raises:
        NoteError: malformed lines, or a line from a key that is not a given witness.
        UnverifiedNoteError: a cosignature or the log signature does not verify.
        CheckpointError, KeyFormatError: as :func:`open_checkpoint`.
    """
    new = parse_signature_lines(lines)
    for sig in new:
        if not any(_signed_by(sig, w) for w in witness_verifiers):
            raise NoteError(f"cosignature from {sig.name} is not from a given witness key")
    combined = append_signature_lines(data, new)
    # Every new line is from a supplied (known) key, so open_note verifies each one.
    open_checkpoint(combined, log_verifier, witness_verifiers, origin=origin)
    return combined
