"""The C2SP tlog-witness ``add-checkpoint`` endpoint: cosigning peers' checkpoints (spec §7.5).

Followed to the letter (c2sp.org/tlog-witness): the request body is an ``old <size>`` line,
zero to 63 base64 consistency-proof lines, an empty line, then the signed checkpoint.

=====  ======================================================================================
code   when
=====  ======================================================================================
200    cosigned: the body is our cosignature/v1 line (spec §5.6), newline-terminated
400    malformed body, a proof with ``old 0``, or an old size above the checkpoint's
403    no signature from the origin's key verifies (or the origin is flagged, spec §7.6.4)
404    the origin is not one of our peers
409    the old size is not the size we last cosigned (body: that size, ``text/x.tlog.size``),
       or the same size with another root hash, or a fork from the log we mirror
422    the consistency proof does not verify
=====  ======================================================================================

Checking the old size and recording the new checkpoint are one compare-and-swap on
``witness_heads`` (C2SP tlog-witness: otherwise two requests could roll the state back).
"""

from __future__ import annotations

import re
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Final

from registry.core.checkpoint import Checkpoint, open_checkpoint
from registry.core.encoding import b64decode
from registry.core.errors import EncodingError, ProtocolError
from registry.core.merkle import verify_consistency
from registry.core.note import NoteSigner, NoteVerifier, parse_note
from registry.federation.errors import EquivocationError, PeerMisbehavingError
from registry.federation.evidence import KnownCheckpoint, check_consistent, tiles_to_compare
from registry.federation.mirror import known_checkpoint, load_mirror_tiles, store_evidence
from registry.storage.federation import FederationStore, WitnessHead

__all__ = [
    "MAX_PROOF_LINES",
    "SIZE_CONTENT_TYPE",
    "Witness",
    "WitnessRequest",
    "WitnessResult",
    "parse_add_checkpoint",
]

MAX_PROOF_LINES: Final = 63
"""C2SP tlog-witness: a client MUST NOT send more than 63 consistency proof lines."""

SIZE_CONTENT_TYPE: Final = "text/x.tlog.size"
"""C2SP tlog-witness: the media type of a 409 answer's body (the latest cosigned size)."""

_DECIMAL = re.compile(r"0|[1-9][0-9]{0,18}")


@dataclass(frozen=True, slots=True)
class WitnessRequest:
    """A parsed ``add-checkpoint`` body: old size, consistency proof, checkpoint note."""

    old_size: int
    proof: tuple[bytes, ...]
    note: bytes


@dataclass(frozen=True, slots=True)
class WitnessResult:
    """The answer to one request: status, a short reason, and (200 / 409) its exact body."""

    status: int
    reason: str
    body: bytes = b""

    @property
    def content_type(self) -> str:
        """``text/x.tlog.size`` for a conflict, else plain text."""
        return SIZE_CONTENT_TYPE if self.status == 409 else "text/plain; charset=utf-8"


class WitnessRequestError(ValueError):
    """The body is not a well-formed add-checkpoint request (answered 400)."""


def parse_add_checkpoint(body: bytes) -> WitnessRequest:
    """Parse an ``add-checkpoint`` request body strictly (C2SP tlog-witness).

    Raises:
        WitnessRequestError: no ``old`` line, a size with leading zeros or a sign, a proof line
            that is not base64 of a 32-byte hash, more than 63 proof lines, a proof with
            ``old 0``, or no empty line before the checkpoint.
    """
    head, sep, note = body.partition(b"\n\n")
    if not sep:
        raise WitnessRequestError("no empty line between the proof and the checkpoint")
    try:
        lines = head.decode("ascii").split("\n")
    except UnicodeDecodeError:
        raise WitnessRequestError("the old size and proof lines must be ASCII") from None
    first = lines[0]
    if not first.startswith("old ") or not _DECIMAL.fullmatch(first[4:]):
        raise WitnessRequestError("the first line must be 'old <size>' (decimal, no leading zeros)")
    old_size = int(first[4:])
    proof_lines = lines[1:]
    if len(proof_lines) > MAX_PROOF_LINES:
        raise WitnessRequestError(f"more than {MAX_PROOF_LINES} consistency proof lines")
    proof = []
    for line in proof_lines:
        try:
            value = b64decode(line)
        except EncodingError:
            raise WitnessRequestError("a proof line is not canonical base64") from None
        if len(value) != 32:
            raise WitnessRequestError("a proof line is not a 32-byte hash")
        proof.append(value)
    if old_size == 0 and proof:
        raise WitnessRequestError("the proof MUST be empty when the old size is zero")
    return WitnessRequest(old_size, tuple(proof), note)


class Witness:
    """Cosigns checkpoints of this node's peers (the ``peers`` table names the logs it trusts)."""

    def __init__(
        self,
        signer: NoteSigner,
        store: FederationStore,
        *,
        clock: Callable[[], float] = time.time,
        on_checkpoint: Callable[[str], None] = lambda _origin: None,
    ) -> None:
        self.signer = signer
        self.store = store
        self.clock = clock
        self.on_checkpoint = on_checkpoint

    async def add_checkpoint(self, body: bytes) -> WitnessResult:
        """Handle one ``POST /add-checkpoint`` body; never raises for bad input."""
        try:
            request = parse_add_checkpoint(body)
            origin = Checkpoint.from_text(parse_note(request.note)[0]).origin
        except (WitnessRequestError, ProtocolError) as exc:
            return WitnessResult(400, f"malformed request: {exc}")
        peer = await self.store.peer(origin)
        if peer is None:
            return WitnessResult(404, f"unknown log origin {origin!r}")
        try:
            verifier = NoteVerifier.from_vkey(peer.vkey)
            # Only the origin's key is trusted; other signatures are ignored (C2SP).
            signed = open_checkpoint(request.note, verifier)
        except ProtocolError as exc:
            return WitnessResult(403, f"checkpoint signature does not verify: {exc}")
        new = KnownCheckpoint(signed.checkpoint, request.note)
        if request.old_size > new.size:
            return WitnessResult(400, f"old size {request.old_size} exceeds {new.size}")
        if origin in await self.store.flagged_origins():
            return WitnessResult(403, f"{origin} is flagged for equivocation; not cosigning")
        return await self._check_and_cosign(request, new)

    async def _check_and_cosign(
        self, request: WitnessRequest, new: KnownCheckpoint
    ) -> WitnessResult:
        origin = new.checkpoint.origin
        current = await self.store.witness_head(origin)
        cosigned = 0 if current is None else current.size
        if request.old_size != cosigned:
            return _conflict(cosigned, f"old size {request.old_size} is not {cosigned}")
        if current is not None and new.size == current.size and new.root != current.root:
            # Same size, another root: both are signed by the log (spec §7.6).
            await self._fork(known_checkpoint(current.note), new)
            return _conflict(cosigned, "same size, different root hash: equivocation")
        if current is not None:
            try:  # RFC 9162 §2.1.4.2 from the checkpoint we cosigned (equal sizes: empty proof)
                verify_consistency(current.size, new.size, request.proof, current.root, new.root)
            except ProtocolError as exc:
                return WitnessResult(422, f"consistency proof does not verify: {exc}")
        try:
            await self._check_mirror(new)
        except EquivocationError as exc:
            await store_evidence(self.store, exc.evidence, int(self.clock()))
            return _conflict(cosigned, str(exc))
        except PeerMisbehavingError as exc:  # pragma: no cover - our own mirror tiles are sound
            return WitnessResult(500, str(exc))
        head = WitnessHead(origin, new.size, new.root, new.note)
        if not await self.store.advance_witness(cosigned, head):
            latest = await self.store.witness_head(origin)
            size = 0 if latest is None else latest.size
            return _conflict(size, "another request moved the witness state")
        timestamp = int(self.clock())
        line = self.signer.sign(new.checkpoint.to_text(), timestamp=timestamp).line
        self.on_checkpoint(origin)
        return WitnessResult(200, "cosigned", (line + "\n").encode())

    async def _fork(self, a: KnownCheckpoint, b: KnownCheckpoint) -> None:
        try:
            check_consistent(a, b, {})
        except EquivocationError as exc:
            await store_evidence(self.store, exc.evidence, int(self.clock()))

    async def _check_mirror(self, new: KnownCheckpoint) -> None:
        """Compare with our mirror of the log where we can: at or below the mirrored size."""
        head = await self.store.mirror_head(new.checkpoint.origin)
        if head is None or head.note is None or new.size > head.size:
            return
        mirrored = known_checkpoint(head.note)
        tiles = await load_mirror_tiles(
            self.store, new.checkpoint.origin, tiles_to_compare(new.size, mirrored.size)
        )
        check_consistent(new, mirrored, tiles)


def _conflict(size: int, reason: str) -> WitnessResult:
    # C2SP tlog-witness: 409 with the latest cosigned size, decimal, newline-terminated.
    return WitnessResult(409, reason, f"{size}\n".encode())
