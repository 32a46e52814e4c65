"""verify_log and the start-up check catch a damaged log (tampering through raw SQL)."""

from __future__ import annotations

from collections.abc import Awaitable, Callable

import pytest
import sqlalchemy as sa

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.merkle import append_leaves, leaf_hash
from registry.core.note import NoteSigner
from registry.core.records import record_id
from registry.log import LogCorruptError, NodeLog, verify_log
from registry.log.custody import KeyFile
from registry.storage import create_engine, schema
from registry.storage.federation import FederationStore, PeerRow

OpenLog = Callable[..., Awaitable[NodeLog]]
MakeEntries = Callable[..., list[bytes]]


async def execute(database_url: str, statement: sa.Executable) -> None:
    """Run one statement in its own transaction, behind the log's back."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.execute(statement)
    finally:
        await engine.dispose()


@pytest.fixture
async def filled(open_log: OpenLog, migrated_url: str, entry_maker: MakeEntries) -> list[bytes]:
    """A closed log of 300 entries (two batches) in ``migrated_url``."""
    entries = entry_maker(300)
    log = await open_log()
    await log.submit_many(entries[:200])
    await log.submit_many(entries[200:])
    await log.close()
    return entries


async def test_clean_log_verifies(filled: list[bytes], migrated_url: str) -> None:
    report = await verify_log(migrated_url)
    assert report.size == 300
    assert report.origin == "test.example/log"
    assert report.entries_checked == 300
    assert report.tiles_checked == 3  # tile 0/0 full, 0/1.p/44, 1/0.p/1


async def test_empty_log_verifies(open_log: OpenLog, migrated_url: str) -> None:
    await (await open_log()).close()
    assert (await verify_log(migrated_url)).size == 0


async def test_tampered_entry(filled: list[bytes], migrated_url: str) -> None:
    e = schema.entries
    forged = filled[7].replace(b'"n"', b'"y"')
    await execute(migrated_url, sa.update(e).where(e.c.idx == 7).values(data=forged))
    with pytest.raises(LogCorruptError, match="entry 7"):
        await verify_log(migrated_url)


async def test_tampered_entry_with_matching_id(filled: list[bytes], migrated_url: str) -> None:
    # Swapping two entries (ids follow) keeps every id right but changes the tree.
    e = schema.entries
    await execute(migrated_url, sa.delete(e).where(e.c.idx.in_([3, 4])))
    for idx, entry in ((3, filled[4]), (4, filled[3])):
        await execute(migrated_url, sa.insert(e).values(idx=idx, id=record_id(entry), data=entry))
    with pytest.raises(LogCorruptError, match=r"root|tile"):
        await verify_log(migrated_url)


async def test_invalid_record_entry(filled: list[bytes], migrated_url: str) -> None:
    e = schema.entries
    junk = b'{"not":"a record"}'
    await execute(
        migrated_url, sa.update(e).where(e.c.idx == 9).values(data=junk, id=record_id(junk))
    )
    with pytest.raises(LogCorruptError, match="entry 9 is not a valid record"):
        await verify_log(migrated_url)


async def test_missing_entry(filled: list[bytes], migrated_url: str) -> None:
    await execute(migrated_url, sa.delete(schema.entries).where(schema.entries.c.idx == 100))
    with pytest.raises(LogCorruptError, match="entry 100 is missing"):
        await verify_log(migrated_url)


async def test_tampered_tile(filled: list[bytes], migrated_url: str) -> None:
    t = schema.tiles
    await execute(
        migrated_url,
        sa.update(t).where(t.c.level == 0, t.c.idx == 0).values(data=b"\x00" * 8192),
    )
    with pytest.raises(LogCorruptError, match="tile level 0 index 0"):
        await verify_log(migrated_url)


async def test_extra_tile(filled: list[bytes], migrated_url: str) -> None:
    await execute(migrated_url, sa.insert(schema.tiles).values(level=5, idx=0, data=b"\x00" * 32))
    with pytest.raises(LogCorruptError, match="hash tiles are stored"):
        await verify_log(migrated_url)


async def test_tampered_checkpoint(filled: list[bytes], migrated_url: str) -> None:
    c = schema.checkpoint
    await execute(migrated_url, sa.update(c).values(note=b"test.example/log\n300\nAAAA\n\n"))
    with pytest.raises(LogCorruptError, match="checkpoint does not verify"):
        await verify_log(migrated_url)


async def test_checkpoint_row_disagreeing_with_note(filled: list[bytes], migrated_url: str) -> None:
    await execute(migrated_url, sa.update(schema.checkpoint).values(size=299))
    with pytest.raises(LogCorruptError, match="disagrees"):
        await verify_log(migrated_url)


async def test_entries_beyond_checkpoint(
    filled: list[bytes], migrated_url: str, entry_maker: MakeEntries, key_file: KeyFile
) -> None:
    (extra,) = entry_maker(1, seed=99)
    await execute(
        migrated_url,
        sa.insert(schema.entries).values(idx=300, id=record_id(extra), data=extra),
    )
    with pytest.raises(LogCorruptError, match="ends at index 300"):
        await verify_log(migrated_url)
    # The node refuses to start on it too (cheap start-up check).
    with pytest.raises(LogCorruptError, match="refusing to start"):
        await NodeLog.open(migrated_url, custody=key_file)


async def test_start_refuses_a_damaged_edge_tile(
    filled: list[bytes], migrated_url: str, key_file: KeyFile
) -> None:
    t = schema.tiles
    await execute(
        migrated_url,
        sa.update(t).where(t.c.level == 0, t.c.idx == 1).values(data=b"\x01" * 32 * 44),
    )
    with pytest.raises(LogCorruptError, match="root hash computed from the stored tiles"):
        await NodeLog.open(migrated_url, custody=key_file)


async def test_start_refuses_a_forged_checkpoint(
    filled: list[bytes], migrated_url: str, key_file: KeyFile
) -> None:
    other = filled[0]  # any bytes: the note is replaced by one the node key never signed
    await execute(migrated_url, sa.update(schema.checkpoint).values(note=other))
    with pytest.raises(LogCorruptError, match="checkpoint does not verify"):
        await NodeLog.open(migrated_url, custody=key_file)


# --- mirrored peer logs (spec §7.2): checked up to their committed checkpoint ---------------

PEER = NoteSigner.from_seed("peer.test/log", bytes(range(32)))


async def mirror(database_url: str, entries: list[bytes], *, vkey: str | None = None) -> bytes:
    """Store ``entries`` as the committed mirror of PEER's log; return the signed note."""
    grown = append_leaves(0, {}, [leaf_hash(e) for e in entries])
    note = sign_checkpoint(Checkpoint(PEER.name, len(entries), grown.root), PEER)
    engine = create_engine(database_url)
    store = FederationStore(engine)
    try:
        await store.put_peer(
            PeerRow(PEER.name, "http://127.0.0.1:9", vkey or PEER.verifier.vkey, None, "file")
        )
        await store.init_mirror(PEER.name, append_leaves(0, {}, []).root)
        rows = [(i, record_id(e), e) for i, e in enumerate(entries)]
        tiles = [(c.level, c.index, data) for c, data in grown.tiles.items()]
        assert await store.write_chunk(PEER.name, 0, len(entries), rows, tiles)
        assert await store.commit_mirror(PEER.name, 0, len(entries), grown.root, note)
    finally:
        await engine.dispose()
    return note


async def test_mirrored_logs_are_verified(
    filled: list[bytes], migrated_url: str, entry_maker: MakeEntries
) -> None:
    theirs = entry_maker(50, seed=7)
    await mirror(migrated_url, theirs)
    report = await verify_log(migrated_url)
    (checked,) = report.mirrors
    assert (checked.origin, checked.size, checked.entries_checked, checked.signed) == (
        PEER.name,
        50,
        50,
        True,
    )

    # The peer is removed from the configuration: the root is still recomputed.
    await execute(migrated_url, sa.delete(schema.peers))
    assert [m.signed for m in (await verify_log(migrated_url)).mirrors] == [False]

    # A mirrored entry altered at rest (still a valid record, so only the root can tell).
    other = entry_maker(1, seed=8)[0]
    await execute(
        migrated_url,
        sa.update(schema.mirror_entries).where(schema.mirror_entries.c.idx == 7).values(data=other),
    )
    with pytest.raises(LogCorruptError, match=r"mirrored log peer\.test/log: the root recomputed"):
        await verify_log(migrated_url)
    # ... or no longer a valid record.
    await execute(
        migrated_url,
        sa.update(schema.mirror_entries)
        .where(schema.mirror_entries.c.idx == 7)
        .values(data=theirs[7].replace(b'"train-ai":"n"', b'"train-ai":"x"')),
    )
    with pytest.raises(LogCorruptError, match="entry 7 is not a valid record"):
        await verify_log(migrated_url)
    # ... or gone.
    await execute(
        migrated_url, sa.delete(schema.mirror_entries).where(schema.mirror_entries.c.idx == 7)
    )
    with pytest.raises(LogCorruptError, match="entry 7 is missing"):
        await verify_log(migrated_url)


async def test_mirrored_checkpoint_must_verify_under_the_peer_key(
    filled: list[bytes], migrated_url: str, entry_maker: MakeEntries
) -> None:
    stranger = NoteSigner.from_seed(PEER.name, bytes(32))
    await mirror(migrated_url, entry_maker(5, seed=7), vkey=stranger.verifier.vkey)
    with pytest.raises(LogCorruptError, match="the stored checkpoint does not verify"):
        await verify_log(migrated_url)


async def test_mirrored_head_must_match_its_note(
    filled: list[bytes], migrated_url: str, entry_maker: MakeEntries
) -> None:
    await mirror(migrated_url, entry_maker(5, seed=7))
    await execute(migrated_url, sa.update(schema.mirror_heads).values(root=bytes(32)))
    with pytest.raises(LogCorruptError, match="disagrees with the stored head"):
        await verify_log(migrated_url)
