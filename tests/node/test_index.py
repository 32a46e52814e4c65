"""registry.indexes.memory.LogIndex over a real log (SQLite and PostgreSQL): a rebuild answers
like the consent state built record by record, and bulk catch-ups pause the cyclic garbage collector
(and only bulk ones)."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator, Awaitable, Callable

from registry.core.records import load_record, record_id
from registry.core.state import ConsentState
from registry.indexes.memory import BULK_ENTRIES, LogIndex
from registry.log import NodeLog

OpenLog = Callable[..., Awaitable[NodeLog]]
MakeEntries = Callable[..., list[bytes]]


class Watched:
    """The real log, noting whether the collector was enabled while each entry was read."""

    def __init__(self, log: NodeLog) -> None:
        self.log = log
        self.collector: list[bool] = []

    async def size(self) -> int:
        return await self.log.size()

    async def entries(self, start: int, stop: int) -> AsyncIterator[tuple[int, bytes]]:
        async for item in self.log.entries(start, stop):
            self.collector.append(gc.isenabled())
            yield item


async def test_rebuild_matches_record_by_record_state(
    open_log: OpenLog, entry_maker: MakeEntries
) -> None:
    log = await open_log()
    entries = entry_maker(BULK_ENTRIES + 50, works_per_entry=2)
    entries += entry_maker(10, seed=1)  # a second creator
    await log.submit_many(entries)

    watched = Watched(log)
    index = LogIndex(log.origin)
    assert gc.isenabled()
    stats = await index.rebuild(watched)
    assert gc.isenabled()  # resumed afterwards
    assert watched.collector == [False] * len(entries)  # paused for the whole bulk read
    assert (stats.entries, stats.declarations, stats.skipped) == (len(entries), len(entries), 0)

    reference = ConsentState()
    for entry in entries:
        reference.add(record_id(entry), load_record(entry), origin=log.origin)
    assert sorted(index.state.subjects()) == sorted(reference.subjects())
    for subject in reference.subjects():
        assert index.state.resolve(subject) == reference.resolve(subject)

    # A follow-up catch-up of a few entries leaves the collector alone.
    more = entry_maker(3, seed=2)
    await log.submit_many(more)
    assert await index.catch_up(watched) == len(entries) + 3
    assert watched.collector[-3:] == [True, True, True]


async def test_a_paused_collector_stays_paused(open_log: OpenLog, entry_maker: MakeEntries) -> None:
    log = await open_log()
    await log.submit_many(entry_maker(BULK_ENTRIES + 1))
    watched = Watched(log)
    gc.disable()
    try:
        await LogIndex(log.origin).rebuild(watched)
        assert not gc.isenabled()  # not re-enabled behind the caller's back
    finally:
        gc.enable()
    assert not any(watched.collector)
