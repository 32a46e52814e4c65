"""Two writers on one database never fork the log: the checkpoint compare-and-swap."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from registry.core.checkpoint import open_checkpoint
from registry.core.note import NoteVerifier
from registry.core.proof import verify_receipt
from registry.log import NodeLog, Submitted, verify_log

OpenLog = Callable[..., Awaitable[NodeLog]]
MakeEntries = Callable[..., list[bytes]]


async def submit_in_rounds(log: NodeLog, entries: list[bytes], round_size: int) -> list[Submitted]:
    """Submit ``entries`` concurrently, ``round_size`` at a time."""
    results: list[Submitted] = []
    for start in range(0, len(entries), round_size):
        chunk = entries[start : start + round_size]
        results += await asyncio.gather(*(log.submit(e) for e in chunk))
    return results


@pytest.mark.slow
async def test_two_writers_never_fork(
    open_log: OpenLog, migrated_url: str, entry_maker: MakeEntries
) -> None:
    first = await open_log(batch_interval=0.01, max_batch=16)
    second = await open_log(batch_interval=0.01, max_batch=16)
    assert first.verifier_key == second.verifier_key
    shared = entry_maker(40, seed=3)  # submitted to both writers
    a = entry_maker(150, seed=1) + shared
    b = entry_maker(150, seed=2) + shared
    results_a, results_b = await asyncio.gather(
        submit_in_rounds(first, a, 10), submit_in_rounds(second, b, 10)
    )
    size = await first.size()
    assert size == await second.size() == 340  # 150 + 150 + 40 shared, each logged once
    # Every acknowledged entry is in the log, at the index it was acknowledged with.
    logged = dict([item async for item in first.entries(0, size)])
    assert sorted(logged) == list(range(size))
    verifier = NoteVerifier.from_vkey(first.verifier_key)
    for entries, results in ((a, results_a), (b, results_b)):
        for entry, result in zip(entries, results, strict=True):
            assert logged[result.index] == entry
            verify_receipt(result.receipt, entry, verifier)
    # A shared entry has one index, whichever writer logged it.
    for ra, rb in zip(results_a[150:], results_b[150:], strict=True):
        assert ra.index == rb.index
        assert ra.duplicate or rb.duplicate
    signed = open_checkpoint(await second.checkpoint(), verifier)
    assert signed.checkpoint.size == 340
    await first.close()
    await second.close()
    report = await verify_log(migrated_url)
    assert report.size == 340
