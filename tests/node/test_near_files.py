"""The near-duplicate files (ADR 0010, issue 15) on SQLite and PostgreSQL: a restarted node maps
them instead of reloading ``index_near``; workers share them; a torn tail is cut off; files of
another database are rebuilt; ``check_near_files`` (``registry index rebuild``) proves them equal
to the rows, finds damage and repairs it."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import numpy as np
import pytest
import sqlalchemy as sa

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.http.runtime import Node
from registry.indexes import nearfile
from registry.indexes.nearfile import DIRECTORY, NearFiles
from registry.indexes.persistent import NodeIndex
from registry.indexes.rebuild import check_near_files
from registry.neardup import parse_hashes
from registry.storage import schema
from tests.node.api_support import make_settings

KEY = PrivateKey.from_seed(hashlib.sha256(b"near files creator").digest())


def _sha(n: int) -> str:
    return hashlib.sha256(b"near files work %d" % n).hexdigest()


def _pdq(n: int) -> str:
    return hashlib.sha256(b"near files pdq %d" % n).hexdigest()


def _entries(first: int, count: int, *, iscc: bool = False) -> list[bytes]:
    """Declarations of one work each, with a PDQ hash (and an ISCC code if asked)."""
    out = []
    for n in range(first, first + count):
        code = "ISCC:EAAW4BQTJSTJSHAI" if iscc and n == first else None
        work = new_work(_sha(n), pdq=_pdq(n), pdq_quality=90, iscc=code)
        record = new_declaration(
            creator=KEY.public_key.did,
            issued_at=1_700_000_000 + n,
            works=[work],
            prefs={"train-ai": "n"},
        )
        out.append(encode_record(sign_declaration(record, KEY)))
    return out


async def _hits(index: NodeIndex, n: int) -> list[str]:
    (found,) = await index.near.search_pdq([_pdq(n)], 0)
    return [hit.sha256 for hit in found]


async def test_restart_maps_the_files_without_reading_index_near(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    node = await Node.start(settings)
    try:
        await node.log.submit_many(_entries(0, 40, iscc=True))
        await node.index.catch_up(node.log)
        assert await _hits(node.index, 7) == [_sha(7)]
    finally:
        await node.stop()
    state = NearFiles(tmp_path / DIRECTORY).read_state()
    assert state is not None
    assert state.rows == 40
    assert state.sizes[""] == 40

    # Remove the rows the files were fed from: a restart that reloaded them would find nothing.
    node = await Node.start(settings)
    try:
        async with node.log.engine.begin() as conn:
            await conn.execute(sa.delete(schema.index_near))
        restarted = NodeIndex(node.log.engine, node.log.origin, tmp_path / DIRECTORY)
        await restarted.start(node.log)
        assert await _hits(restarted, 7) == [_sha(7)]
        assert await _hits(restarted, 39) == [_sha(39)]
        (iscc,) = await restarted.near.search_iscc(["ISCC:EAAW4BQTJSTJSHAI"], 0)
        assert [hit.sha256 for hit in iscc] == [_sha(0)]
        # ... and the check sees that the files hold rows the table no longer has.
        differences, repaired = await check_near_files(
            node.log.engine, tmp_path / DIRECTORY, node.log.origin, repair=False
        )
        assert not repaired
        assert any("unexpected (pdq" in line for line in differences)
    finally:
        await node.stop()


async def test_workers_share_the_files_and_new_entries_reach_both(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    node = await Node.start(settings)
    try:
        await node.log.submit_many(_entries(0, 10))
        await node.index.catch_up(node.log)
        other = NodeIndex(node.log.engine, node.log.origin, tmp_path / DIRECTORY)  # a 2nd worker
        await other.start(node.log)
        assert await _hits(other, 3) == [_sha(3)]
        await node.log.submit_many(_entries(10, 5))
        await other.catch_up(node.log)  # the second worker appends the new rows
        await node.index.catch_up(node.log)  # the first maps them
        state = NearFiles(tmp_path / DIRECTORY).read_state()
        assert state is not None
        assert state.rows == 15
        assert await _hits(node.index, 12) == [_sha(12)]
        assert await _hits(other, 12) == [_sha(12)]
        differences, _ = await check_near_files(
            node.log.engine, tmp_path / DIRECTORY, node.log.origin, repair=False
        )
        assert differences == []
    finally:
        await node.stop()


async def test_a_torn_tail_is_cut_off_and_segments_are_checked(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    settings = make_settings(database_url, tmp_path)
    directory = tmp_path / DIRECTORY
    monkeypatch.setattr(nearfile, "TAIL_SIZE", 8)  # seal segments at test sizes
    node = await Node.start(settings)
    try:
        await node.log.submit_many(_entries(0, 50))
        await node.index.catch_up(node.log)
        state = NearFiles(directory).read_state()
        assert state is not None
        assert state.segments
        assert state.segments[-1][1] <= 50
        # a crash after rows were written but before the state was replaced
        with (directory / "pdq-hashes.u64").open("ab") as out:
            out.write(b"\xff" * 70)
        with (directory / "pdq-works.bin").open("ab") as out:
            out.write(b"\xee" * 45)
        await node.log.submit_many(_entries(50, 3))
        await node.index.catch_up(node.log)
        assert (directory / "pdq-hashes.u64").stat().st_size == 32 * 53
        assert (directory / "pdq-works.bin").stat().st_size == 32 * 53
        assert await _hits(node.index, 51) == [_sha(51)]
        assert await _hits(node.index, 5) == [_sha(5)]  # in a segment
        # every hash within radius 31 of a query, like a scan of the rows would find
        hashes = parse_hashes([_pdq(n) for n in range(53)])
        query = hashes[4:5]
        radius = 120
        expected = {
            _sha(n)
            for n in range(53)
            if int(np.bitwise_count(hashes[n] ^ query[0]).sum()) <= radius
        }
        (found,) = await node.index.near.search_pdq([_pdq(4)], radius)
        assert {hit.sha256 for hit in found} == expected
        differences, _ = await check_near_files(
            node.log.engine, directory, node.log.origin, repair=False
        )
        assert differences == []
        # a damaged segment is found, and the repair discards the files
        first = NearFiles(directory).read_state()
        assert first is not None
        start, stop = first.segments[0]
        postings = directory / f"seg-{start}-{stop}.postings.npy"
        data = bytearray(postings.read_bytes())
        data[-4:] = b"\x00\x00\x00\x00" if data[-4:] != b"\x00" * 4 else b"\x01\x00\x00\x00"
        postings.write_bytes(bytes(data))
        differences, repaired = await check_near_files(
            node.log.engine, directory, node.log.origin, repair=True
        )
        assert any("segment" in line for line in differences)
        assert repaired
        assert NearFiles(directory).read_state() is None
        await node.log.submit_many(_entries(53, 1))
        await node.index.catch_up(node.log)  # rebuilt from the rows
        assert await _hits(node.index, 5) == [_sha(5)]
        assert await _hits(node.index, 53) == [_sha(53)]
        differences, _ = await check_near_files(
            node.log.engine, directory, node.log.origin, repair=False
        )
        assert differences == []
    finally:
        await node.stop()


async def test_files_of_another_database_are_rebuilt(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path)
    node = await Node.start(settings)
    try:
        await node.log.submit_many(_entries(0, 5))
        await node.index.catch_up(node.log)
    finally:
        await node.stop()
    # Another database (a fresh SQLite file) with the same origin, over the same files.
    other_url = f"sqlite+aiosqlite:///{tmp_path / 'other.db'}"
    node = await Node.start(make_settings(other_url, tmp_path))
    try:
        await node.log.submit_many(_entries(100, 2))
        await node.index.catch_up(node.log)
        assert await _hits(node.index, 1) == []  # the first database's works are gone
        assert await _hits(node.index, 101) == [_sha(101)]
    finally:
        await node.stop()


async def test_quiet_files_are_compacted_into_one_segment(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(nearfile, "TAIL_SIZE", 8)
    monkeypatch.setattr("registry.indexes.persistent.COMPACT_AFTER", 3600.0)
    settings = make_settings(database_url, tmp_path)
    files = NearFiles(tmp_path / DIRECTORY)
    node = await Node.start(settings)
    try:
        for first, count in ((0, 48), (48, 9), (57, 3)):  # segments 0..48, 48..57, a tail
            await node.log.submit_many(_entries(first, count))
            await node.index.catch_up(node.log)
        state = files.read_state()
        assert state is not None
        assert len(state.segments) >= 2
        monkeypatch.setattr("registry.indexes.persistent.COMPACT_AFTER", 0.0)
        for _ in range(200):  # the follower compacts once the files are quiet
            await asyncio.sleep(0.05)
            state = files.read_state()
            assert state is not None
            if state.segments == ((0, 60),) and node.index.near.state == state:
                break
        assert state.segments == ((0, 60),)
        assert sorted(p.name for p in files.directory.glob("seg-*")) == [
            "seg-0-60.postings.npy",
            "seg-0-60.table.npy",
        ]
        for n in (0, 31, 59):
            assert await _hits(node.index, n) == [_sha(n)]
        differences, _ = await check_near_files(
            node.log.engine, files.directory, node.log.origin, repair=False
        )
        assert differences == []
    finally:
        await node.stop()
