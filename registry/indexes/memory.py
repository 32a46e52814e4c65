"""In-memory indexes following the node's log (DESIGN "Indexes": derived, rebuildable).

A :class:`LogIndex` owns a :class:`registry.core.state.ConsentState` and the number of log
entries it has absorbed. :meth:`LogIndex.catch_up` streams the entries it has not seen yet from
the log and adds them, in order; :meth:`LogIndex.follow` does so forever, every
``poll_interval`` seconds or as soon as :meth:`LogIndex.poke` is called. Several worker
processes sharing one database each keep their own index and all stay current by following the
log's size. Nothing is stored: ``registry index rebuild`` and every start-up rebuild it from the
log.

Beside the state, :attr:`LogIndex.near` (:class:`registry.indexes.near.NearIndex`) indexes every
newly seen work's PDQ hash (quality 50 or more) and ISCC Content-Code for near-duplicate search
(spec §6.8.3); its adds are applied in bulk at the end of each catch-up.

Entries of the node's own log were decoded and verified (:func:`registry.core.records.load_record`)
before they were appended, so indexing decodes them by shape alone
(:func:`registry.core.records.decode_stored`, spec §6.11 item 3) and re-checks neither field rules
nor signatures; ``registry log verify`` does.

Federation (spec §7.7): the index also follows every mirrored peer log (:class:`MirrorSource`),
adding each committed mirrored entry under its peer's origin; those entries were verified by the
mirror before they were committed. The set of flagged origins (spec §7.6.4) is kept beside the
state so that answers can mark claims that only flagged logs attest.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import AsyncIterator, Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Protocol

from registry.core.errors import ProtocolError
from registry.core.records import decode_stored, record_id
from registry.core.state import ConsentState
from registry.indexes.collector import collector_paused
from registry.indexes.near import NearIndex

__all__ = ["EntrySource", "IndexStats", "LogIndex", "MirrorSource"]

_log = logging.getLogger("registry.index")


class EntrySource(Protocol):
    """What the index needs from a log (:class:`registry.log.NodeLog` provides it)."""

    async def size(self) -> int: ...

    def entries(self, start: int, stop: int) -> AsyncIterator[tuple[int, bytes]]: ...


class MirrorHeadLike(Protocol):
    """What the index reads of a mirror head: its committed size."""

    @property
    def size(self) -> int: ...


class MirrorSource(Protocol):
    """What the index needs from the mirrored logs (:class:`registry.storage.federation.
    FederationStore` provides it)."""

    async def mirror_heads(self) -> Mapping[str, MirrorHeadLike]: ...

    async def mirror_entries(
        self, origin: str, start: int, stop: int
    ) -> list[tuple[int, bytes]]: ...

    async def flagged_origins(self) -> set[str]: ...


MIRROR_PAGE = 1000
"""Mirrored entries read per query while catching up."""

BULK_ENTRIES = 1000
"""Catch-ups of more entries than this run with the cyclic garbage collector paused."""


@dataclass(frozen=True, kw_only=True)
class IndexStats:
    """Counts describing an index, for ``registry index rebuild`` and ``/readyz``."""

    entries: int
    declarations: int
    skipped: int
    seconds: float


class LogIndex:
    """The consent state of one log, kept current by following the log's size."""

    def __init__(self, origin: str, *, poll_interval: float = 0.2) -> None:
        self.origin = origin
        self.poll_interval = poll_interval
        self.state = ConsentState()
        self.near = NearIndex()  # PDQ and ISCC indexes of the works (spec §6.8.3)
        self.size = 0  # entries absorbed: indexes 0..size-1
        self.declarations = 0
        self.skipped = 0
        self.ready = False  # set once the first catch-up has finished
        self.mirrored: dict[str, int] = {}  # per peer origin: mirrored entries absorbed
        self.flagged: frozenset[str] = frozenset()
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()

    async def catch_up(self, source: EntrySource, *, until: int | None = None) -> int:
        """Absorb every entry up to the log's current size; return the index's size after.

        ``until``: return at once if the index already covers that many entries (callers pass
        ``index + 1`` after a submission to read their own write without a database round trip).
        Entries that do not decode are counted in ``skipped`` and logged, not indexed: a damaged
        entry must not stop the node answering about the others (``registry log verify`` finds
        it).
        """
        if until is not None and self.size >= until:
            return self.size
        async with self._lock:
            if until is not None and self.size >= until:
                return self.size
            stop = await source.size()
            if stop > self.size:
                with collector_paused(stop - self.size > BULK_ENTRIES):
                    async for index, entry in source.entries(self.size, stop):
                        self._add(index, entry)
                        self.size = index + 1
                    await self.near.flush_locked()
            self.ready = True
            return self.size

    def _add(self, index: int, entry: bytes, origin: str | None = None) -> None:
        try:
            record = decode_stored(entry)
            if self.state.add(record_id(entry), record, origin=origin or self.origin):
                self.near.add(record)
        except ProtocolError as exc:
            self.skipped += 1
            _log.error("entry %d of %s not indexed: %s", index, origin or self.origin, exc)
            return
        self.declarations += 1

    async def catch_up_mirrors(self, source: MirrorSource) -> None:
        """Absorb every committed mirrored entry not seen yet, log by log (spec §7.7.1)."""
        async with self._lock:
            self.flagged = frozenset(await source.flagged_origins())
            heads = sorted((await source.mirror_heads()).items())
            behind = sum(max(0, head.size - self.mirrored.get(origin, 0)) for origin, head in heads)
            with collector_paused(behind > BULK_ENTRIES):
                for origin, head in heads:
                    position = self.mirrored.get(origin, 0)
                    while position < head.size:
                        stop = min(position + MIRROR_PAGE, head.size)
                        rows = await source.mirror_entries(origin, position, stop)
                        for index, entry in rows:
                            self._add(index, entry, origin)
                        if len(rows) != stop - position:  # pragma: no cover - rows exist
                            break
                        position = stop
                    self.mirrored[origin] = position
                await self.near.flush_locked()

    def poke(self) -> None:
        """Ask :meth:`follow` to catch up now rather than at the next poll."""
        self._poke.set()

    async def follow(
        self,
        source: EntrySource,
        *,
        mirrors: MirrorSource | None = None,
        on_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Catch up forever: every ``poll_interval`` seconds, or when poked. Never returns.

        With ``mirrors``, the mirrored logs are followed too. A failing catch-up (database
        briefly unreachable) is logged and retried at the next poll; cancellation ends the loop.
        """
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

    async def rebuild(self, source: EntrySource) -> IndexStats:
        """Index the whole log from scratch (into this, presumably empty, index); report counts."""
        started = time.perf_counter()
        await self.catch_up(source)
        return self.stats(time.perf_counter() - started)

    def stats(self, seconds: float = 0.0) -> IndexStats:
        """The current counts."""
        return IndexStats(
            entries=self.size,
            declarations=self.declarations,
            skipped=self.skipped,
            seconds=seconds,
        )
