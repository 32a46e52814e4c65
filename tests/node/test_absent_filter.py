"""The "certainly absent" bitmap in front of the binary batch check (spec §6.8.4, ADR 0010),
on SQLite and PostgreSQL: it never hides a declared work (it grows as the node does), it keeps
most unknown digests away from the database, and the answers equal the database's."""

from __future__ import annotations

import hashlib
from pathlib import Path

import numpy as np
import pytest

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.http.runtime import Node
from registry.indexes import absent
from registry.indexes.absent import filter_name
from registry.indexes.nearfile import DIRECTORY, NearFiles
from registry.indexes.rebuild import check_near_files
from registry.services import queries
from registry.wire import CheckRequest
from tests.node.api_support import make_settings

KEY = PrivateKey.from_seed(hashlib.sha256(b"absent filter creator").digest())


def _sha(n: int) -> str:
    return hashlib.sha256(b"absent filter work %d" % n).hexdigest()


def _entries(first: int, count: int) -> list[bytes]:
    """Declarations of 4 works each (works first*4 ..), without PDQ hashes."""
    out = []
    for n in range(first, first + count):
        works = sorted((new_work(_sha(4 * n + j)) for j in range(4)), key=lambda w: w.sha256)
        record = new_declaration(
            creator=KEY.public_key.did,
            issued_at=1_700_000_000 + n,
            works=works,
            prefs={"train-ai": "n"},
        )
        out.append(encode_record(sign_declaration(record, KEY)))
    return out


async def test_the_bitmap_grows_never_hides_a_work_and_filters_unknown_digests(
    database_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr("registry.indexes.persistent.MIN_BITS", 8)  # 256 bits: grows soon
    settings = make_settings(database_url, tmp_path)
    files = NearFiles(tmp_path / DIRECTORY)
    node = await Node.start(settings)
    try:
        await node.log.submit_many(_entries(0, 5))  # before the first bitmap: built from the db
        await node.index.catch_up(node.log)
        first = files.read_state()
        assert first is not None
        assert first.filter_bits == 11  # 20 keys, room for twice as many: 40 * 32 <= 2**11
        for start in range(5, 200, 15):  # then from the entries, doubling as it fills
            await node.log.submit_many(_entries(start, 15))
            await node.index.catch_up(node.log)
        state = files.read_state()
        assert state is not None
        assert state.filter_bits > first.filter_bits
        assert state.filter_keys * 32 <= 1 << state.filter_bits
        assert [p.name for p in files.directory.glob("sha256-*")] == [
            filter_name(state.filter_bits)
        ]
        known = [_sha(n) for n in range(0, 800, 7)]
        unknown = [hashlib.sha256(b"never declared %d" % n).hexdigest() for n in range(3000)]
        hashes = known + unknown
        blob = b"".join(bytes.fromhex(h) for h in hashes)
        maybe = node.index.near.absent.maybe_present(blob)
        assert maybe is not None
        assert set(range(len(known))) <= set(maybe.tolist())  # no declared work hidden
        assert len(maybe) - len(known) < 0.05 * len(unknown)  # most unknowns stopped
        assert await node.index.lookup_digests(blob) == await node.index.consent.lookup_digests(
            blob
        )
        answer = await queries.check_binary(node.index, blob)
        assert answer[: len(known)] == bytes(answer[0] for _ in known)
        assert answer[0] != 0
        assert answer[len(known) : len(hashes)] == bytes(len(unknown))
        # the rebuild check proves the bitmap misses no key, and finds one that was lost
        directory = files.directory
        assert (await check_near_files(node.log.engine, directory, node.log.origin, repair=False))[
            0
        ] == []
        bitmap = directory / filter_name(state.filter_bits)
        data = bytearray(bitmap.read_bytes())
        first_key = bytes.fromhex(_sha(0))
        position = int.from_bytes(first_key[:8], "big") >> (64 - state.filter_bits)
        data[position // 8] &= 0xFF ^ (1 << (position % 8))
        bitmap.write_bytes(bytes(data))
        differences, _ = await check_near_files(
            node.log.engine, directory, node.log.origin, repair=False
        )
        assert f"near files: sha256 {_sha(0)} is missing from the bitmap" in differences
        # and exactly what the JSON check says
        as_json = await queries.check(node.index, CheckRequest(sha256s=hashes[:50]))
        assert all(item.prefs == {"train-ai": "n"} for item in as_json.sha256s[:50])
    finally:
        await node.stop()


def test_positions_are_the_top_bits_of_the_digest(tmp_path: Path) -> None:
    path = tmp_path / filter_name(8)
    digest = bytes([0b10110011]) + bytes(31)  # top 8 bits: 179
    absent.set_keys(path, 8, [digest, b"damaged text key"])
    bitmap = np.fromfile(path, dtype=np.uint8)
    assert bitmap.nonzero()[0].tolist() == [179 // 8]
    assert int(bitmap[179 // 8]) == 1 << (179 % 8)
    reader = absent.AbsentFilter()
    reader.attach(tmp_path, 8)
    other = bytes([0b10110010]) + bytes(31)
    assert absent.AbsentFilter().maybe_present(digest) is None  # no bitmap: ask the database
    maybe = reader.maybe_present(digest + other + digest)
    assert maybe is not None
    assert maybe.tolist() == [0, 2]
