"""Submitting to the log: indexes, batching, duplicates, overload, receipts (real databases)."""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable

import pytest

from registry.core.checkpoint import open_checkpoint
from registry.core.merkle import leaf_hash, root, root_from_tiles, tiles_for_root
from registry.core.note import NoteVerifier
from registry.core.proof import parse_receipt, verify_receipt
from registry.core.records import record_id
from registry.core.tiles import decode_entry_bundle
from registry.log import LogClosedError, NodeLog, Overloaded, Submitted, UnknownEntryError
from registry.log.reader import LogReader
from registry.log.tilestore import FullTileCache
from registry.storage import LogStore, create_engine

OpenLog = Callable[..., Awaitable[NodeLog]]
MakeEntries = Callable[..., list[bytes]]


def verifier(log: NodeLog) -> NoteVerifier:
    return NoteVerifier.from_vkey(log.verifier_key)


async def test_append_and_read_back(node_log: NodeLog, entry_maker: MakeEntries) -> None:
    entries = entry_maker(3)
    first = await node_log.submit(entries[0])
    assert first == Submitted(record_id(entries[0]), 0, first.receipt, False)
    rest = await node_log.submit_many(entries[1:])
    assert [r.index for r in rest] == [1, 2]
    assert await node_log.size() == 3
    for i, entry in enumerate(entries):
        assert await node_log.find(record_id(entry)) == (i, entry)
    assert await node_log.find("00" * 32) is None
    assert [e async for e in node_log.entries(0, 10)] == list(enumerate(entries))
    assert [e async for e in node_log.entries(1, 2)] == [(1, entries[1])]
    signed = open_checkpoint(await node_log.checkpoint(), verifier(node_log))
    assert signed.checkpoint.origin == "test.example/log"
    assert signed.checkpoint.size == 3
    assert signed.checkpoint.root_hash == root([leaf_hash(e) for e in entries])


async def test_concurrent_submissions_are_batched(
    open_log: OpenLog, entry_maker: MakeEntries
) -> None:
    log = await open_log(max_batch=50, batch_interval=0.2)
    entries = entry_maker(200)
    results = await asyncio.gather(*(log.submit(e) for e in entries))
    # Contiguous indexes, in submission order (the pool is FIFO).
    assert [r.index for r in results] == list(range(200))
    # One checkpoint per batch: the 200 receipts share exactly four checkpoints.
    sizes = {parse_receipt(r.receipt).checkpoint.size for r in results}
    assert sizes == {50, 100, 150, 200}
    for entry, result in zip(entries, results, strict=True):
        verify_receipt(result.receipt, entry, verifier(log))


async def test_duplicate_resubmission_returns_existing_entry(
    node_log: NodeLog, entry_maker: MakeEntries
) -> None:
    entries = entry_maker(4)
    original = await node_log.submit_many(entries[:3])
    again = await node_log.submit(entries[1])
    assert again.duplicate
    assert (again.id, again.index) == (original[1].id, 1)
    assert await node_log.size() == 3
    verify_receipt(again.receipt, entries[1], verifier(node_log))
    # Within one batch: the first occurrence is new, the second a duplicate of it.
    mixed = await node_log.submit_many([entries[3], entries[0], entries[3]])
    assert [(r.index, r.duplicate) for r in mixed] == [(3, False), (0, True), (3, True)]
    assert await node_log.size() == 4


async def test_full_pool_raises_overloaded(open_log: OpenLog, entry_maker: MakeEntries) -> None:
    log = await open_log(max_pending=5, batch_interval=0.2)
    entries = entry_maker(7)
    waiting = [asyncio.ensure_future(log.submit(e)) for e in entries[:5]]
    await asyncio.sleep(0)  # let them enter the pool
    with pytest.raises(Overloaded) as refused:
        await log.submit(entries[5])
    assert refused.value.retry_after > 0
    with pytest.raises(Overloaded):
        await log.submit_many(entries[5:7])
    assert [r.index for r in await asyncio.gather(*waiting)] == list(range(5))
    assert (await log.submit(entries[5])).index == 5


async def test_receipts_verify_and_are_fresh(node_log: NodeLog, entry_maker: MakeEntries) -> None:
    entries = entry_maker(300)
    await node_log.submit_many(entries[:260])
    await node_log.submit_many(entries[260:])
    for index in (0, 1, 255, 256, 259, 260, 299):
        receipt = await node_log.receipt(index)
        verified = verify_receipt(receipt, entries[index], verifier(node_log))
        assert verified.index == index
        assert verified.signed_checkpoint.checkpoint.size == 300
    for bad in (300, -1):
        with pytest.raises(UnknownEntryError):
            await node_log.receipt(bad)


async def test_stored_tiles_rebuild_the_checkpoint_root(
    node_log: NodeLog, entry_maker: MakeEntries
) -> None:
    entries = entry_maker(700)
    for start in range(0, 700, 170):  # several batches, crossing tile boundaries
        await node_log.submit_many(entries[start : start + 170])
    size = await node_log.size()
    expected = root([leaf_hash(e) for e in entries])
    tiles = {}
    for coord in tiles_for_root(size):
        width = None if coord.is_full else coord.width
        data = await node_log.read_tile(coord.level, coord.index, width)
        assert data is not None
        tiles[coord] = data
    assert root_from_tiles(size, tiles) == expected
    # Level-0 tiles hold the leaf hashes; full tiles are served whole, partial ones by width.
    full = await node_log.read_tile(0, 1, None)
    assert full == b"".join(leaf_hash(e) for e in entries[256:512])
    assert await node_log.read_tile(0, 2, 10) == b"".join(leaf_hash(e) for e in entries[512:522])
    assert await node_log.read_tile(0, 2, None) is None  # not full yet
    assert await node_log.read_tile(0, 2, 189) is None  # wider than the log
    assert await node_log.read_tile(0, 3, 1) is None
    assert await node_log.read_tile(0, 0, 0) is None  # invalid width
    assert await node_log.read_tile(-1, 0, None) is None
    # Level 1 holds the hashes of the two full level-0 tiles.
    assert await node_log.read_tile(1, 0, 2) == b"".join(
        root([leaf_hash(e) for e in entries[i : i + 256]]) for i in (0, 256)
    )


async def test_entry_bundles(node_log: NodeLog, entry_maker: MakeEntries) -> None:
    entries = entry_maker(300)
    await node_log.submit_many(entries)
    full = await node_log.read_entry_bundle(0, None)
    assert full is not None
    assert decode_entry_bundle(full, 256) == entries[:256]
    partial = await node_log.read_entry_bundle(1, 44)
    assert partial is not None
    assert decode_entry_bundle(partial, 44) == entries[256:]
    assert decode_entry_bundle(await node_log.read_entry_bundle(1, 3) or b"", 3) == entries[256:259]
    assert await node_log.read_entry_bundle(1, None) is None
    assert await node_log.read_entry_bundle(1, 45) is None
    assert await node_log.read_entry_bundle(2, 1) is None


async def test_reopen_keeps_everything(
    open_log: OpenLog, migrated_url: str, entry_maker: MakeEntries
) -> None:
    entries = entry_maker(20)
    log = await open_log()
    await log.submit_many(entries[:10])
    checkpoint, vkey = await log.checkpoint(), log.verifier_key
    await log.close()
    with pytest.raises(LogClosedError):
        await log.submit(entries[10])
    reopened = await open_log(origin=None)
    assert (reopened.origin, reopened.verifier_key) == ("test.example/log", vkey)
    assert await reopened.checkpoint() == checkpoint
    more = await reopened.submit_many(entries[10:])
    assert [r.index for r in more] == list(range(10, 20))
    assert [e async for e in reopened.entries(0, 20)] == list(enumerate(entries))


async def test_empty_log(node_log: NodeLog) -> None:
    assert await node_log.size() == 0
    assert await node_log.submit_many([]) == []
    assert await node_log.read_tile(0, 0, 1) is None
    assert await node_log.read_entry_bundle(0, 1) is None
    signed = open_checkpoint(await node_log.checkpoint(), verifier(node_log))
    assert signed.checkpoint.size == 0


async def test_entries_are_paged(
    node_log: NodeLog, migrated_url: str, entry_maker: MakeEntries
) -> None:
    entries = entry_maker(23)
    await node_log.submit_many(entries)
    engine = create_engine(migrated_url)
    try:
        reader = LogReader(LogStore(engine), FullTileCache())
        expected = list(enumerate(entries))
        assert [e async for e in reader.entries(2, 21, page=5)] == expected[2:21]
        assert [e async for e in reader.entries(20, 100, page=5)] == expected[20:]
        assert [e async for e in reader.entries(30, 40, page=5)] == []
    finally:
        await engine.dispose()
