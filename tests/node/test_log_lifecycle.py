"""The sequencer's lifecycle: closing drains the pool, cancelled submitters, failed batches."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from registry.log import BatchError, LogClosedError, LogCorruptError, NodeLog
from registry.storage import create_engine, schema

OpenLog = Callable[..., Awaitable[NodeLog]]
MakeEntries = Callable[..., list[bytes]]


async def test_close_integrates_what_is_pooled(open_log: OpenLog, entry_maker: MakeEntries) -> None:
    log = await open_log(batch_interval=5.0)
    entries = entry_maker(10)
    waiting = [asyncio.ensure_future(log.submit(e)) for e in entries]
    await asyncio.sleep(0)
    await asyncio.wait_for(log.close(), timeout=10)  # does not wait out the batch interval
    assert [r.index for r in await asyncio.gather(*waiting)] == list(range(10))
    with pytest.raises(LogClosedError):
        await log.submit_many(entries)
    await log.close()  # idempotent


async def test_cancelled_submitter_does_not_disturb_the_batch(
    open_log: OpenLog, entry_maker: MakeEntries
) -> None:
    log = await open_log(batch_interval=0.1)
    entries = entry_maker(3)
    given_up = asyncio.ensure_future(log.submit(entries[0]))
    others = [asyncio.ensure_future(log.submit(e)) for e in entries[1:]]
    await asyncio.sleep(0)
    given_up.cancel()
    assert [r.index for r in await asyncio.gather(*others)] == [1, 2]
    # The cancelled submission was still logged; resubmitting it is a duplicate.
    again = await log.submit(entries[0])
    assert (again.index, again.duplicate) == (0, True)


async def test_failed_batch_fails_its_waiters_clearly(
    open_log: OpenLog, migrated_url: str, entry_maker: MakeEntries
) -> None:
    log = await open_log()
    entries = entry_maker(3)
    await log.submit(entries[0])
    # Someone moves the checkpoint behind the node's back: the compare-and-swap fails, the
    # reload finds the checkpoint no longer verifies, and the batch is failed, not hung.
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(sa.update(schema.checkpoint).values(size=7))
    finally:
        await engine.dispose()
    results = await asyncio.gather(*(log.submit(e) for e in entries[1:]), return_exceptions=True)
    for result in results:
        assert isinstance(result, BatchError)
        assert isinstance(result.__cause__, LogCorruptError)
        assert "integrating a batch of 2 entries failed" in str(result)
    assert [item async for item in log.entries(0, 10)] == [(0, entries[0])]
