"""Detecting equivocation and keeping transferable proof of it (spec §7.6).

Two signed checkpoints ``A`` (size ``a``) and ``B`` (size ``b >= a``) of one origin cannot both be
true when ``B``'s tree does not start with ``A``'s. The proof this module builds lets anyone
check that, offline, with only the log's verifier key:

- ``root_in_b``: the root hash of the first ``a`` entries of ``B``'s tree, and
- ``proof``: the RFC 6962 consistency proof from ``(a, root_in_b)`` to ``(b, B's root)``.

The evidence holds when both notes verify, the proof verifies (RFC 9162 §2.1.4.2), and
``root_in_b`` differs from ``A``'s root: ``B`` commits to a different prefix than ``A``. For
``a == b`` the proof is empty and ``root_in_b`` is ``B``'s root (same size, different root).

The hashes come from the tiles of ``B``'s tree (served by the peer, or our own mirror of it).
Tiles that do not reproduce ``B``'s root through a consistency proof are merely bad tiles, not
evidence: the peer is misbehaving or broken, but nothing is proven (spec §7.6.2).
"""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal

from registry.core.checkpoint import Checkpoint, open_checkpoint
from registry.core.errors import ConsistencyProofError, ProtocolError, TileError
from registry.core.merkle import (
    consistency_proof,
    root_from_tiles,
    tiles_for_consistency,
    tiles_for_root,
    verify_consistency,
)
from registry.core.note import NoteVerifier, parse_note
from registry.core.tiles import TileCoord, tile_at
from registry.federation.errors import EquivocationError, InvalidEvidenceError, PeerMisbehavingError

__all__ = [
    "ForkEvidence",
    "KnownCheckpoint",
    "check_consistent",
    "evidence_digest",
    "tiles_to_compare",
    "verify_evidence",
]

EvidenceKind = Literal["same-size", "inconsistent"]


@dataclass(frozen=True, slots=True)
class KnownCheckpoint:
    """A signed checkpoint whose signature already verified: its body and its note."""

    checkpoint: Checkpoint
    note: bytes

    @property
    def size(self) -> int:
        """The tree size."""
        return self.checkpoint.size

    @property
    def root(self) -> bytes:
        """The root hash."""
        return self.checkpoint.root_hash


@dataclass(frozen=True, slots=True)
class ForkEvidence:
    """Proof that two signed checkpoints of ``origin`` cannot both be true (module docstring).

    ``note_a`` is the checkpoint of the smaller (or equal) size.
    """

    origin: str
    kind: EvidenceKind
    note_a: bytes
    note_b: bytes
    size_a: int
    size_b: int
    proof: tuple[bytes, ...]
    root_in_b: bytes

    @property
    def digest(self) -> str:
        """Identifies the pair of checkpoints (whatever cosignatures the notes carry)."""
        return evidence_digest(self.note_a, self.note_b)


def _text(note: bytes) -> str:
    try:
        return parse_note(note)[0]
    except ProtocolError:
        return note.decode("utf-8", "replace")


def evidence_digest(note_a: bytes, note_b: bytes) -> str:
    """Hex SHA-256 of the two checkpoint texts (signature lines excluded)."""
    return hashlib.sha256(_text(note_a).encode() + b"\x00" + _text(note_b).encode()).hexdigest()


def tiles_to_compare(size_a: int, size_b: int) -> set[TileCoord]:
    """The tiles of ``B``'s tree (each at its width at ``size_b``) :func:`check_consistent`
    needs to compare checkpoints of sizes ``size_a <= size_b``; empty when nothing is needed."""
    if size_a in (0, size_b):
        return set()
    wanted = tiles_for_consistency(size_a, size_b) | tiles_for_root(size_a)
    return {tile_at(c.level, c.index, size_b) for c in wanted}


def check_consistent(
    a: KnownCheckpoint, b: KnownCheckpoint, tiles_b: Mapping[TileCoord, bytes]
) -> None:
    """Check that ``b``'s tree (``b.size >= a.size``) extends ``a``'s (spec §7.6.1).

    ``tiles_b`` holds (at least) :func:`tiles_to_compare` of ``B``'s tree.

    Raises:
        EquivocationError: ``B`` commits to a different first ``a.size`` entries; carries the
            evidence.
        PeerMisbehavingError: the tiles are missing, malformed, or do not reproduce ``B``'s root.
    """
    if a.size > b.size:
        raise ValueError("check_consistent needs a.size <= b.size")
    if a.size == 0:
        return  # every tree extends the empty tree
    if a.size == b.size:
        if a.root != b.root:
            raise EquivocationError(_evidence(a, b, "same-size", (), b.root))
        return
    try:
        proof = consistency_proof(a.size, b.size, tiles_b)
    except TileError as exc:
        raise PeerMisbehavingError(f"tiles for a consistency proof: {exc}") from exc
    try:
        verify_consistency(a.size, b.size, proof, a.root, b.root)  # RFC 9162 §2.1.4.2
    except ConsistencyProofError:
        pass
    else:
        return
    # The proof failed. Either B forks from A, or the tiles are wrong: tell them apart by
    # checking whether the tiles prove *some* prefix root of B (spec §7.6.2).
    try:
        root_in_b = root_from_tiles(a.size, tiles_b)
        verify_consistency(a.size, b.size, proof, root_in_b, b.root)
    except (TileError, ConsistencyProofError) as exc:
        raise PeerMisbehavingError(
            f"tiles do not reproduce the root of the checkpoint of size {b.size}: {exc}"
        ) from exc
    raise EquivocationError(_evidence(a, b, "inconsistent", tuple(proof), root_in_b))


def _evidence(
    a: KnownCheckpoint,
    b: KnownCheckpoint,
    kind: EvidenceKind,
    proof: Sequence[bytes],
    root_in_b: bytes,
) -> ForkEvidence:
    return ForkEvidence(
        origin=a.checkpoint.origin,
        kind=kind,
        note_a=a.note,
        note_b=b.note,
        size_a=a.size,
        size_b=b.size,
        proof=tuple(proof),
        root_in_b=root_in_b,
    )


def verify_evidence(evidence: ForkEvidence, verifier: NoteVerifier) -> None:
    """Check equivocation evidence offline with the log's verifier key (spec §7.6.3).

    Raises:
        InvalidEvidenceError: a note does not verify, the sizes or origin disagree with the
            notes, the proof does not verify, or the two prefix roots are equal.
    """
    try:
        a = open_checkpoint(evidence.note_a, verifier).checkpoint
        b = open_checkpoint(evidence.note_b, verifier).checkpoint
    except ProtocolError as exc:
        raise InvalidEvidenceError(f"a checkpoint does not verify: {exc}") from exc
    if (a.size, b.size) != (evidence.size_a, evidence.size_b) or a.size > b.size:
        raise InvalidEvidenceError("checkpoint sizes do not match the evidence")
    if a.origin != evidence.origin:
        raise InvalidEvidenceError("checkpoint origin does not match the evidence")
    if a.size == 0:
        raise InvalidEvidenceError("every tree extends the empty tree")
    try:
        verify_consistency(a.size, b.size, evidence.proof, evidence.root_in_b, b.root_hash)
    except ConsistencyProofError as exc:
        raise InvalidEvidenceError(f"the consistency proof does not verify: {exc}") from exc
    if evidence.root_in_b == a.root_hash:
        raise InvalidEvidenceError("the two checkpoints are consistent")
