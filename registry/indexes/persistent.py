"""One worker's view of the persistent index (ADR 0010): what ``node.index`` is.

Consent answers (works, URLs, creators, batch checks) come straight from the shared tables
through :class:`registry.storage.index.ConsentStore`: nothing is rebuilt at start-up, and every
worker and every node process over the database answers alike. Those tables are written in the
transactions that commit log entries, so they are always exactly as current as the logs.

The near-duplicate search (spec §6.8.3) needs an in-memory Hamming index (ADR 0006); each worker
loads it from the ``index_near`` rows (fixed-width PDQ hashes and ISCC codes, never the log)
and follows new rows by log position: up to the own log's checkpoint size and each mirror's
committed size, which are committed with the rows. Loading is a bulk read, not a decode of the
log (ADR 0010 measures it).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.indexes.memory import IndexStats, MirrorHeadLike
from registry.indexes.near import NearIndex
from registry.storage import schema
from registry.storage.index import OWN, ConsentStore

__all__ = ["NodeIndex"]

_log = logging.getLogger("registry.index")

NEAR_PAGE = 50_000
"""``index_near`` rows read per query."""


class SizeSource(Protocol):
    """The own log's committed size (:class:`registry.log.NodeLog` provides it)."""

    async def size(self) -> int: ...


class HeadSource(Protocol):
    """Mirror heads and flagged origins (:class:`registry.storage.federation.FederationStore`)."""

    async def mirror_heads(self) -> Mapping[str, MirrorHeadLike]: ...

    async def flagged_origins(self) -> set[str]: ...


class NodeIndex:
    """The persistent consent index plus this worker's near-duplicate index."""

    def __init__(self, engine: AsyncEngine, origin: str, *, poll_interval: float = 0.2) -> None:
        self.origin = origin
        self.engine = engine
        self.poll_interval = poll_interval
        self.consent = ConsentStore(engine)
        self.near = NearIndex()
        self.size = 0  # own log entries whose near items are loaded
        self.mirrored: dict[str, int] = {}  # per peer origin: committed entries loaded
        self.flagged: frozenset[str] = frozenset()
        self.ready = False
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()

    async def _load(self, origin: str, start: int, stop: int) -> None:
        """Load the ``index_near`` rows of entries ``start..stop`` of ``origin``: PDQ hashes in
        bulk as raw bytes (straight into the Hamming index), ISCC codes one by one. Callers
        hold ``self._lock``; pending ISCC items are applied by the caller's flush."""
        t = schema.index_near
        position = start
        while position < stop:
            end = min(stop, position + NEAR_PAGE)
            async with self.engine.connect() as conn:
                result = await conn.execute(
                    sa.select(t.c.kind, t.c.sha256, t.c.key, t.c.quality)
                    .where(t.c.origin == origin, t.c.idx >= position, t.c.idx < end)
                    .order_by(t.c.idx, t.c.item)
                )
                rows = result.all()
            others = []
            if all(row[0] == 0 for row in rows):
                pdq = rows
            else:  # keep the order: PDQ items in bulk, then the rest
                pdq = [row for row in rows if row[0] == 0]
                others = [row for row in rows if row[0] != 0]
            if pdq:
                await self.near.flush_locked()  # keep payload ids in order
                async with self.near.lock:
                    self.near.add_stored_pdq(
                        b"".join(bytes(r[1]) for r in pdq),
                        b"".join(bytes(r[2]) for r in pdq),
                        [int(r[3]) for r in pdq],
                    )
            self.near.add_stored(
                [(int(k), bytes(sha), bytes(key), int(q)) for k, sha, key, q in others]
            )
            position = end

    async def catch_up(self, source: SizeSource, *, until: int | None = None) -> int:
        """Load the near items of own entries up to the log's size; return that size.

        ``until``: return at once if that many entries are covered already (the consent tables
        need no catching up: they are written with the entries).
        """
        if until is not None and self.size >= until:
            return self.size
        async with self._lock:
            stop = await source.size()
            if stop > self.size:
                await self._load(OWN, self.size, stop)
                self.size = stop
                await self.near.flush_locked()
            self.ready = True
            return self.size

    async def catch_up_mirrors(self, source: HeadSource) -> None:
        """Load the near items of newly committed mirrored entries; refresh flagged origins."""
        async with self._lock:
            self.flagged = frozenset(await source.flagged_origins())
            for origin, head in sorted((await source.mirror_heads()).items()):
                position = self.mirrored.get(origin, 0)
                if head.size > position:
                    await self._load(origin, position, head.size)
                self.mirrored[origin] = max(position, head.size)
            await self.near.flush_locked()

    def poke(self) -> None:
        """Ask :meth:`follow` to catch up now rather than at the next poll."""
        self._poke.set()

    async def follow(
        self,
        source: SizeSource,
        *,
        mirrors: HeadSource | None = None,
        on_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Catch up forever: every ``poll_interval`` seconds, or when poked. Never returns."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=self.poll_interval)
            self._poke.clear()
            try:
                await self.catch_up(source)
                if mirrors is not None:
                    await self.catch_up_mirrors(mirrors)
            except Exception as exc:
                _log.warning("index catch-up failed: %s", exc)
                if on_error is not None:
                    await on_error(exc)

    async def start(self, source: SizeSource) -> IndexStats:
        """Load the near-duplicate items of the own log (the consent tables are ready as
        they are); report what was loaded and how long it took."""
        started = time.perf_counter()
        await self.catch_up(source)
        return IndexStats(
            entries=self.size, declarations=0, skipped=0, seconds=time.perf_counter() - started
        )
