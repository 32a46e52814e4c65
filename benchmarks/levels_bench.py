"""Levels files (spec §8.10): what they cost the snapshot builder and the download.

Usage::

    python benchmarks/levels_bench.py [--works N] [--attested FRACTION]

Data: ``N`` works reserved by strangers (``train-ai=n``, 100 works per declaration); a fraction
of them is also declared ``y`` by their owners and attested to the owners by a trusted platform
(1,000 digests per attestation), so under ``verified`` those are not reserved and get a row.
The log is written through a real :class:`registry.log.NodeLog` into an SQLite file (its
persistent index included), which a real :class:`SnapshotBuilder` reads.

Baseline, measured in the same run on the same entries: the builder without levels (what it did
before). Rows: the time of a full snapshot (build + sign), the peak of Python allocations during
it (tracemalloc, a second run), the snapshot file's bytes, the levels file's bytes and bytes per
row. Prints a table, then a second one: the levels file of a delta (1,000 more works attested
to a new owner) against a file holding every row at the delta's size, what every levels file
held before a delta's held only the rows that changed (spec §8.10.1 item 4).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path
from types import SimpleNamespace

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.core.keys import PrivateKey
from registry.core.levels import encode_levels_body, merge_levels, open_levels
from registry.core.note import NoteSigner
from registry.core.records import (
    PlatformAttestation,
    encode_record,
    new_declaration,
    new_work,
    pack_hashes,
    sign_declaration,
    sign_record,
)
from registry.core.snapshot import open_snapshot
from registry.indexes.snapshots import PublishedSnapshot, SnapshotBuilder
from registry.log import NodeLog, upgrade
from registry.log.custody import KeyFile
from registry.storage.engine import create_engine
from registry.storage.trustconfig import TrustConfig

ORIGIN = "bench.example/log"
NODE = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"levels bench node").digest())
PLATFORM = PrivateKey.from_seed(hashlib.sha256(b"levels bench platform").digest())
AT = 1_700_000_000


class Source:
    """The log in an SQLite file in a temporary directory, written through a real NodeLog
    signed by :data:`NODE` (so the persistent index is the node's)."""

    def __init__(self, entries: list[bytes]) -> None:
        self.entries_: list[bytes] = []
        self.url = f"sqlite+aiosqlite:///{tempfile.mkdtemp(prefix='levels-bench-')}/registry.db"
        asyncio.run(upgrade(self.url))
        self.append(entries)

    def append(self, entries: list[bytes]) -> None:
        """Log ``entries`` after those already logged."""
        asyncio.run(self._write(entries))
        self.entries_ += entries

    async def _write(self, entries: list[bytes]) -> None:
        key = KeyFile(Path(self.url.removeprefix("sqlite+aiosqlite:///")).with_name("node.key"))
        log = await NodeLog.open(self.url, origin=ORIGIN, signing_key=NODE.skey, custody=key)
        try:
            for start in range(0, len(entries), 1000):
                await log.submit_many(entries[start : start + 1000])
        finally:
            await log.close()

    async def refresh(self, builder: SnapshotBuilder) -> PublishedSnapshot | None:
        """One refresh of ``builder`` over the database (an engine of this event loop)."""
        engine = create_engine(self.url)
        try:
            return await builder.refresh(SimpleNamespace(engine=engine))
        finally:
            await engine.dispose()


def _key(label: str, n: int) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(f"{label} {n}".encode()).digest())


def entries(works: int, attested: float) -> list[bytes]:
    digests = [hashlib.sha256(b"bench work %d" % i).hexdigest() for i in range(works)]
    out: list[bytes] = []
    for start in range(0, works, 100):
        key = _key("stranger", start // 100)
        chunk = [new_work(d) for d in sorted(digests[start : start + 100])]
        record = new_declaration(
            creator=key.public_key.did, issued_at=AT + 60, works=chunk, prefs={"train-ai": "n"}
        )
        out.append(encode_record(sign_declaration(record, key)))
    owned = digests[: int(works * attested)]
    for start in range(0, len(owned), 1000):
        owner = _key("owner", start // 1000)
        out += attested_to(owner, owned[start : start + 1000], f"@owner{start}")
    return out


def attested_to(owner: PrivateKey, digests: list[str], account: str) -> list[bytes]:
    """``owner``'s ``y`` for ``digests`` (100 works a declaration) and the platform's
    attestation that ``account``, ``owner``, uploaded them."""
    out = []
    for first in range(0, len(digests), 100):
        chunk = [new_work(d) for d in sorted(digests[first : first + 100])]
        record = new_declaration(
            creator=owner.public_key.did, issued_at=AT, works=chunk, prefs={"train-ai": "y"}
        )
        out.append(encode_record(sign_declaration(record, owner)))
    proof = PlatformAttestation(
        v=1,
        platform=PLATFORM.public_key.did,
        account=account,
        creator=owner.public_key.did,
        issued_at=AT,
        hashes=pack_hashes(digests),
    )
    return [*out, encode_record(sign_record(proof, PLATFORM))]


def build(source: Source, *, levels: bool) -> tuple[float, int, int, int]:
    """(seconds, snapshot bytes, levels bytes, rows) of a full snapshot."""
    config = TrustConfig(platforms={PLATFORM.public_key.did: "bench"}, nodes=frozenset())
    builder = SnapshotBuilder(NODE, trust=(lambda: config) if levels else None)
    gc.collect()
    started = time.perf_counter()
    published = asyncio.run(source.refresh(builder))
    elapsed = time.perf_counter() - started
    assert published is not None
    rows = 0
    if levels:
        snapshot = open_snapshot(published.data, NODE.verifier)
        rows = len(open_levels(published.levels, NODE.verifier, snapshot).rows)
    return elapsed, len(published.data), len(published.levels), rows


def peak(source: Source, *, levels: bool) -> int:
    gc.collect()
    tracemalloc.start()
    build(source, levels=levels)
    _, top = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return top


def delta_sizes(works: int, attested: float) -> None:
    """The levels file of a delta (spec §8.10.1 item 4) against one holding every row at the
    delta's size (what each levels file held before), on the same rows: 1,000 more works are
    attested to a new owner who says ``y``, and the builder publishes a delta."""
    source = Source(entries(works, attested))
    config = TrustConfig(platforms={PLATFORM.public_key.did: "bench"}, nodes=frozenset())
    builder = SnapshotBuilder(NODE, trust=lambda: config)
    full = asyncio.run(source.refresh(builder))
    late = [hashlib.sha256(b"bench work %d" % i).hexdigest() for i in range(works - 1000, works)]
    source.append(attested_to(_key("late owner", 0), late, "@late"))
    delta = asyncio.run(source.refresh(builder))
    assert full is not None
    assert delta is not None
    assert delta.header.kind == "delta"
    changed = open_levels(delta.levels, NODE.verifier, open_snapshot(delta.data, NODE.verifier))
    every = full_levels = open_levels(
        full.levels, NODE.verifier, open_snapshot(full.data, NODE.verifier)
    )
    merged = merge_levels([full_levels, changed])
    complete = len(delta.levels) - len(encode_levels_body(changed.rows))
    complete += len(encode_levels_body(merged.rows))
    print()
    print("| levels file | rows | bytes |")
    print("| --- | --- | --- |")
    print(f"| full snapshot | {len(every.rows)} | {len(full.levels)} |")
    print(f"| delta, what changed (now) | {len(changed.rows)} | {len(delta.levels)} |")
    print(f"| delta holding every row at its size (before) | {len(merged.rows)} | {complete} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--attested", type=float, default=0.1)
    args = parser.parse_args()
    source = Source(entries(args.works, args.attested))
    base_s, snap_bytes, _, _ = build(source, levels=False)
    lev_s, _, lev_bytes, rows = build(source, levels=True)
    base_peak, lev_peak = peak(source, levels=False), peak(source, levels=True)
    print(f"{args.works} reserved works, {args.attested:.0%} attested to owners who say y; "
          f"{len(source.entries_)} log entries")  # fmt: skip
    print("| figure | with levels | without (baseline) |")
    print("| --- | --- | --- |")
    print(f"| full snapshot build + sign | {lev_s:.2f} s | {base_s:.2f} s |")
    print(f"| peak Python allocations (tracemalloc) | {lev_peak / 2**20:.1f} MiB "
          f"| {base_peak / 2**20:.1f} MiB |")  # fmt: skip
    print(f"| snapshot file | {snap_bytes} bytes | {snap_bytes} bytes |")
    per_row = lev_bytes / rows if rows else 0.0
    print(f"| levels file | {lev_bytes} bytes, {rows} rows, {per_row:.1f} bytes/row | none |")
    delta_sizes(args.works, args.attested)


if __name__ == "__main__":
    main()
