"""Mirroring one peer's log: pull, verify, store, in a task of its own (spec §7.3).

One :class:`PeerMirror` per peer. :meth:`PeerMirror.sync_once` does one round:

1. ``GET /checkpoint`` and open it with the peer's verifier key (spec §5.7);
2. compare it with every checkpoint of that origin this node already holds (the mirrored one,
   the one it last cosigned as witness): a consistency proof from the peer's tiles, or from our
   own mirror when the peer shows an older size; a fork is stored as evidence and flags the
   peer (spec §7.6);
3. fetch the new entry bundles (concurrently), verify every record and signature, append their
   leaf hashes to the mirrored tree (the core's append step), writing entries and tiles in
   chunks ahead of the committed head;
4. require the rebuilt root to equal the checkpoint's, then commit the checkpoint as the
   mirror's new head with a compare-and-swap.

Nothing a peer serves is kept unless all of it verified. :meth:`PeerMirror.run` repeats rounds
every ``poll_interval`` seconds, or at once when poked (a push, spec §7.4), and backs off
exponentially from a failing peer. A mirror never waits on another peer.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Final

from registry.core.checkpoint import Checkpoint, open_checkpoint
from registry.core.errors import ProtocolError, TileError
from registry.core.merkle import EMPTY_ROOT, HASH_SIZE, append_leaves, tiles_for_append
from registry.core.note import parse_note
from registry.core.records import DEFAULT_CLOCK_SKEW
from registry.core.tiles import TILE_WIDTH, TileCoord
from registry.federation.client import PeerClient
from registry.federation.config import PeerSpec
from registry.federation.errors import EquivocationError, FederationError, PeerMisbehavingError
from registry.federation.evidence import (
    ForkEvidence,
    KnownCheckpoint,
    check_consistent,
    tiles_to_compare,
)
from registry.federation.fetch import fetch_entries, verify_entries
from registry.storage.federation import EvidenceRow, FederationStore, MirrorHead

__all__ = [
    "CHUNK_BUNDLES",
    "MirrorOutcome",
    "PeerMirror",
    "known_checkpoint",
    "load_mirror_tiles",
    "store_evidence",
]

_log = logging.getLogger("registry.federation.mirror")

CHUNK_BUNDLES: Final = 32
"""Entry bundles fetched, verified and written per chunk of a large backfill (8192 entries)."""

MAX_PEER_LOG_SIZE: Final = 1 << 40
"""Largest tree size a peer's checkpoint may claim (spec §7.3.1): beyond any real log, so a
checkpoint claiming 2^63 entries is refused before anything is fetched."""

MIN_INTERVAL: Final = 0.05
"""Shortest pause between two rounds, however often the mirror is poked."""


@dataclass(frozen=True, slots=True)
class MirrorOutcome:
    """What one round did: the size the peer showed and the size now mirrored."""

    seen_size: int
    mirrored_size: int
    appended: int


async def store_evidence(store: FederationStore, evidence: ForkEvidence, at: int) -> bool:
    """Keep equivocation evidence (spec §7.6); True if it was not stored before."""
    proof = "\n".join(h.hex() for h in evidence.proof)
    return await store.add_evidence(
        EvidenceRow(
            digest=evidence.digest,
            origin=evidence.origin,
            kind=evidence.kind,
            note_a=evidence.note_a,
            note_b=evidence.note_b,
            proof=proof,
            root_in_b=evidence.root_in_b,
            detected_at=at,
        )
    )


async def load_mirror_tiles(
    store: FederationStore, origin: str, coords: set[TileCoord]
) -> dict[TileCoord, bytes]:
    """Our stored tiles of ``origin``'s mirrored tree, each cut to the width ``coords`` names.

    Raises:
        RuntimeError: a tile is missing or too narrow (the mirror's storage is damaged).
    """
    stored = await store.mirror_tiles(origin, ((c.level, c.index) for c in coords))
    tiles: dict[TileCoord, bytes] = {}
    for coord in coords:
        data = stored.get((coord.level, coord.index), b"")
        if len(data) < coord.width * HASH_SIZE:
            raise RuntimeError(f"mirror of {origin}: tile {coord} is missing")
        tiles[coord] = data[: coord.width * HASH_SIZE]
    return tiles


class PeerMirror:
    """The mirror of one peer's log: rounds of :meth:`sync_once`, looped by :meth:`run`."""

    def __init__(
        self,
        peer: PeerSpec,
        store: FederationStore,
        client: PeerClient,
        *,
        poll_interval: float = 5.0,
        max_backoff: float = 60.0,
        round_timeout: float = 900.0,
        clock: Callable[[], float] = time.time,
        on_commit: Callable[[str], None] = lambda _origin: None,
        clock_skew: int = DEFAULT_CLOCK_SKEW,
    ) -> None:
        self.peer = peer
        self.store = store
        self.client = client
        self.poll_interval = poll_interval
        self.max_backoff = max_backoff
        self.round_timeout = round_timeout
        self.clock = clock
        self.on_commit = on_commit
        self.clock_skew = clock_skew
        self.failures = 0
        self.flagged = False
        self.last_seen: int | None = None
        self._poke = asyncio.Event()

    @property
    def origin(self) -> str:
        """The peer's log origin."""
        return self.peer.origin

    def poke(self) -> None:
        """Start a round now (the peer pushed a new checkpoint, spec §7.4)."""
        self._poke.set()

    # -- the loop ----------------------------------------------------------------------------

    async def run(self) -> None:
        """Mirror forever: a round, then wait for a poke or the (backed-off) interval."""
        while True:
            await self._round()
            delay = self.poll_interval
            if self.failures:
                delay = min(self.poll_interval * 2**self.failures, self.max_backoff)
            self._poke.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=delay)
            await asyncio.sleep(MIN_INTERVAL)

    async def _flagged(self) -> set[str]:
        try:
            return await self.store.flagged_origins()
        except Exception:  # the database is briefly unreachable: try again next round
            return set()

    async def _round(self) -> None:
        """One round, with its outcome recorded in the peer's status (never raises)."""
        # Evidence may also come from the witness endpoint (spec §7.5.2): check every round.
        self.flagged = self.flagged or self.origin in await self._flagged()
        if self.flagged:
            # spec §7.6.4: an equivocating log is not mirrored further; what was verified
            # before stays served, marked.
            await self._record(None, "flagged: equivocation evidence is stored")
            return
        error: str | None = None
        self.last_seen = None
        try:
            async with asyncio.timeout(self.round_timeout):  # spec §7.3.1: bounded in time
                await self.sync_once()
            self.failures = 0
        except TimeoutError:
            error = f"round abandoned after {self.round_timeout:g} s (peer_round_timeout)"
            self.failures += 1
        except EquivocationError as exc:
            self.flagged = True
            error = str(exc)
            self.failures += 1
        except FederationError as exc:
            error = str(exc)
            self.failures += 1
        except Exception as exc:  # database trouble: report it, keep the task alive
            _log.exception("mirror of %s failed", self.origin)
            error = f"internal error: {type(exc).__name__}"
            self.failures += 1
        if error is not None:
            _log.warning("mirror of %s: %s", self.origin, error)
        await self._record(self.last_seen, error)

    async def _record(self, seen: int | None, error: str | None) -> None:
        with contextlib.suppress(Exception):
            await self.store.record_attempt(
                self.origin, at=int(self.clock()), seen_size=seen, error=error
            )

    # -- one round -----------------------------------------------------------------------------

    async def sync_once(self) -> MirrorOutcome:
        """Pull the peer's checkpoint and everything new up to it; verify, store, commit.

        Raises:
            PeerUnavailableError: the peer did not answer.
            PeerMisbehavingError: something it served does not verify (nothing was committed).
            EquivocationError: its checkpoint forks from one we hold; evidence was stored.
        """
        note = await self.client.checkpoint()
        try:
            signed = open_checkpoint(note, self.peer.verifier)  # spec §5.7
        except ProtocolError as exc:
            raise PeerMisbehavingError(f"checkpoint does not verify: {exc}") from exc
        seen = KnownCheckpoint(signed.checkpoint, note)
        if seen.size > MAX_PEER_LOG_SIZE:
            raise PeerMisbehavingError(
                f"checkpoint claims {seen.size} entries, more than the {MAX_PEER_LOG_SIZE} a "
                "mirrored log may have"
            )
        self.last_seen = seen.size
        head = await self.store.init_mirror(self.origin, EMPTY_ROOT)
        try:
            await self._compare(seen, head)
        except EquivocationError as exc:
            await store_evidence(self.store, exc.evidence, int(self.clock()))
            self.on_commit(self.origin)  # the index marks the origin's claims (spec §7.6.4)
            raise
        if seen.size <= head.size:
            return MirrorOutcome(seen.size, head.size, 0)
        appended = await self._append(seen, head)
        return MirrorOutcome(seen.size, seen.size, appended)

    async def _compare(self, seen: KnownCheckpoint, head: MirrorHead) -> None:
        """Check ``seen`` against every checkpoint of this origin we hold (spec §7.6.1)."""
        known: list[KnownCheckpoint] = []
        mirrored = _known(head.note)
        if mirrored is not None:
            known.append(mirrored)
        witnessed = await self.store.witness_head(self.origin)
        if witnessed is not None:
            known.append(known_checkpoint(witnessed.note))
        smaller = [k for k in known if k.size <= seen.size]
        wanted: set[TileCoord] = set()
        for k in smaller:
            wanted |= tiles_to_compare(k.size, seen.size)
        peer_tiles = await self.client.tiles(wanted) if wanted else {}
        for k in smaller:
            check_consistent(k, seen, peer_tiles)
        if mirrored is not None and mirrored.size > seen.size:
            # The peer shows an older checkpoint: compare it with our copy of its tree.
            ours = await self._our_tiles(tiles_to_compare(seen.size, mirrored.size))
            check_consistent(seen, mirrored, ours)

    def _fetch(
        self, chunks: Iterator[tuple[int, int]], tree_size: int
    ) -> asyncio.Task[tuple[int, list[bytes]]] | None:
        """Start fetching the next chunk, if any; the task yields (its stop, its entries)."""
        chunk = next(chunks, None)
        if chunk is None:
            return None

        async def fetch(start: int, stop: int) -> tuple[int, list[bytes]]:
            return stop, await fetch_entries(self.client, start, stop, tree_size)

        return asyncio.create_task(fetch(*chunk), name=f"fetch {self.origin} {chunk}")

    async def _our_tiles(self, coords: set[TileCoord]) -> dict[TileCoord, bytes]:
        return await load_mirror_tiles(self.store, self.origin, coords)

    async def _append(self, seen: KnownCheckpoint, head: MirrorHead) -> int:
        """Fetch, verify and store entries ``head.size .. seen.size``; commit ``seen``."""
        if not await self.store.reset_pending(self.origin, head.size):
            return 0  # another process is mirroring this peer right now
        size, root = head.size, head.root
        edge: Mapping[TileCoord, bytes] = await self._our_tiles(tiles_for_append(head.size))
        pending = head.size
        # Fetch the next chunk while the current one is verified and written (a pipeline).
        chunks = _chunks(size, seen.size)
        fetching = self._fetch(chunks, seen.size)
        try:
            while size < seen.size:
                if fetching is None:  # pragma: no cover - the chunks cover the whole range
                    raise RuntimeError(f"mirror of {self.origin}: ran out of chunks at {size}")
                stop, raw = await fetching
                fetching = self._fetch(chunks, seen.size)
                verified = await verify_entries(raw, size)
                try:
                    grown = append_leaves(size, edge, [v.leaf_hash for v in verified])
                except TileError as exc:  # pragma: no cover - our own edge tiles are complete
                    raise RuntimeError(f"mirror of {self.origin}: {exc}") from exc
                rows = [(v.index, v.id, v.data) for v in verified]
                tiles = [(c.level, c.index, data) for c, data in grown.tiles.items()]
                if not await self.store.write_chunk(self.origin, pending, stop, rows, tiles):
                    return 0  # another process moved the mirror: it will finish the job
                merged = {**edge, **grown.tiles}
                edge = {c: merged[c] for c in tiles_for_append(grown.size)}
                size, root, pending = grown.size, grown.root, stop
        finally:
            if fetching is not None:
                fetching.cancel()
                with contextlib.suppress(BaseException):
                    await fetching
        # spec §7.3 item 5: the verified entries must rebuild exactly the signed root.
        if root != seen.root:
            raise PeerMisbehavingError(
                f"entries {head.size}..{seen.size - 1} do not reproduce the root of the "
                f"checkpoint of size {seen.size}"
            )
        # spec §2.11, §7.3: a mirrored record dated beyond the time this node first saw a
        # checkpoint covering it, plus the clock skew, is kept in the mirror but never counts
        accept_until = int(self.clock()) + self.clock_skew
        if not await self.store.commit_mirror(
            self.origin, head.size, seen.size, root, seen.note, accept_until=accept_until
        ):
            return 0
        # Invariant: mirror_heads now names a signed checkpoint whose every entry verified.
        self.on_commit(self.origin)
        return seen.size - head.size


def _chunks(start: int, stop: int) -> Iterator[tuple[int, int]]:
    """Ranges of at most CHUNK_BUNDLES bundles, ending on bundle boundaries (but the last)."""
    while start < stop:
        end = min(((start // TILE_WIDTH) + CHUNK_BUNDLES) * TILE_WIDTH, stop)
        yield start, end
        start = end


def known_checkpoint(note: bytes) -> KnownCheckpoint:
    """A checkpoint note this node verified before storing it."""
    return KnownCheckpoint(Checkpoint.from_text(parse_note(note)[0]), note)


def _known(note: bytes | None) -> KnownCheckpoint | None:
    return None if note is None else known_checkpoint(note)
