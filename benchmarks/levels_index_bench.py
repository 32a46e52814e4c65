"""Levels rows from the persistent index (spec §8.10.1, ADR 0024 amended) against the snapshot
builder's in-memory resolution of the own log, on the same entries.

Usage::

    python benchmarks/levels_index_bench.py [--works N] [--attested FRACTION] [--database URL]

Data: ``benchmarks/levels_bench.py``'s (``N`` works reserved by strangers, a fraction also
declared ``y`` by owners a trusted platform attested). The entries are indexed into a fresh
database (SQLite in a temporary directory unless ``--database`` names an empty PostgreSQL
database) as the node's own log, then:

- **index**: :meth:`registry.storage.index.ConsentStore.level_rows`, what the node now runs
  for every levels file (pages of marked subjects read and resolved from the index, in one
  read snapshot);
- **baseline**: the in-memory path of :class:`SnapshotBuilder` (``_level_rows``), what the
  builder ran before, measured in the same run on a builder that has absorbed the same log.

Both must give the same rows (checked). Prints a table.

Then the size of a delta's levels file (spec §8.10.1 item 4): 1,000 more of the works are
attested to a new owner who says ``y`` and the builder publishes a delta; its levels file
(the rows that changed) is compared with a file holding every row at the delta's size, what
each levels file held before deltas held only changes, measured on the same rows.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

import sqlalchemy as sa
from levels_bench import NODE, PLATFORM, Source, _key, attested_to, entries

from registry.core.levels import encode_levels_body, open_levels
from registry.core.records import (
    record_id,
)
from registry.core.snapshot import open_snapshot
from registry.indexes.snapshots import SnapshotBuilder
from registry.storage import schema
from registry.storage.engine import create_engine
from registry.storage.index import ConsentStore, apply_in
from registry.storage.migrate import upgrade
from registry.storage.trustconfig import TrustConfig

PAGE = 2000


async def _indexed(url: str, log: list[bytes]) -> ConsentStore:
    await upgrade(url)
    engine = create_engine(url)
    for start in range(0, len(log), PAGE):
        async with engine.begin() as conn:
            page = list(enumerate(log[start : start + PAGE], start))
            rows = [{"idx": i, "id": record_id(e), "data": e} for i, e in page]
            await conn.execute(sa.insert(schema.entries), rows)  # the log's entries ...
            await apply_in(conn, NODE.name, page, own=True)  # ... and their index rows
    return ConsentStore(engine)


async def run(url: str, works: int, attested: float) -> None:
    log = entries(works, attested)
    config = TrustConfig(platforms={PLATFORM.public_key.did: "bench"}, nodes=frozenset())
    store = await _indexed(url, log)
    builder = SnapshotBuilder(NODE, trust=lambda: config)
    await builder.refresh(Source(log))
    started = time.perf_counter()
    memory_rows = builder._level_rows(config)
    memory_s = time.perf_counter() - started
    started = time.perf_counter()
    mirrors, index_rows = await store.level_rows(config, "train-ai", lambda _r, _o: True)
    index_s = time.perf_counter() - started
    await store.engine.dispose()
    assert mirrors == ()
    assert sorted(index_rows, key=lambda r: r.key) == sorted(memory_rows, key=lambda r: r.key)
    rows = len(index_rows)
    print(f"{works} reserved works, {attested:.0%} attested; {len(log)} entries; {rows} rows")
    print("| figure | from the index | in memory (baseline) |")
    print("| --- | --- | --- |")
    print(f"| levels rows | {index_s:.2f} s | {memory_s:.2f} s |")
    print(f"| per row | {index_s / rows * 1e6:.0f} µs | {memory_s / rows * 1e6:.0f} µs |")


def _late_owner(works: int) -> list[bytes]:
    """1,000 of the last works, declared y by a new owner a platform attests them to."""
    late = range(works - 1000, works)
    digests = [hashlib.sha256(b"bench work %d" % i).hexdigest() for i in late]
    return attested_to(_key("late owner", 0), digests, "@late")


async def delta_sizes(works: int, attested: float) -> None:
    log = entries(works, attested)
    config = TrustConfig(platforms={PLATFORM.public_key.did: "bench"}, nodes=frozenset())
    builder = SnapshotBuilder(NODE, trust=lambda: config)
    full = await builder.refresh(Source(log))
    delta = await builder.refresh(Source([*log, *_late_owner(works)]))
    assert full is not None
    assert delta is not None
    assert delta.header.kind == "delta"
    snapshot = open_snapshot(delta.data, NODE.verifier)
    changed = open_levels(delta.levels, NODE.verifier, snapshot).rows
    every = builder._level_rows(config)
    complete = len(delta.levels) - len(encode_levels_body(changed)) + len(encode_levels_body(every))
    print()
    print("| levels file | rows | bytes |")
    print("| --- | --- | --- |")
    print(f"| full snapshot | {len(every) - 1000} | {len(full.levels)} |")
    print(f"| delta (what changed) | {len(changed)} | {len(delta.levels)} |")
    print(f"| delta holding every row (before) | {len(every)} | {complete} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--attested", type=float, default=0.1)
    parser.add_argument("--database", default="", help="an empty PostgreSQL database URL")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        url = args.database or f"sqlite+aiosqlite:///{tmp}/bench.db"
        asyncio.run(run(url, args.works, args.attested))
    asyncio.run(delta_sizes(args.works, args.attested))


if __name__ == "__main__":
    main()
