"""The benchmark suite: every figure of issue 6 beside its baseline, in one run, one table.

Usage::

    .venv/bin/python benchmarks/run.py --quick --out benchmarks/results/latest.json  # < 3 min
    .venv/bin/python benchmarks/run.py --out benchmarks/results/full.json            # 10M hashes

Sections (each reuses its benchmark module; sizes in :data:`SIZES`):

- **node** (:mod:`node_bench`): a real ``registry serve`` (granian, one worker, SQLite) on a
  fresh data dir. Registration ingest over HTTP (declarations/s and works/s through
  ``POST /v1/declarations:batch``) vs one HTTP request per declaration and vs verify + one SQL
  commit per declaration; exact batch check (``POST /v1/check``, hashes/s) and URL batch check
  (URLs/s) vs one HTTP GET per item and vs one plain indexed SQL ``SELECT`` per item on the same
  database; near-duplicate batch check over HTTP (``POST /v1/check/pdq``) vs one GET per query.
- **index build**: the node's in-memory index (consent state, PDQ and ISCC indexes) rebuilt
  from that log, vs merely reading the same entries from the database.
- **near-duplicates** (:mod:`neardup_bench`): 256-bit PDQ index at 1M (quick) or 1M and 10M
  hashes: median and p99 single-query latency, batch queries/s, build rate and memory vs
  faiss-cpu ``IndexBinaryFlat`` and ``IndexBinaryMultiHash`` (answers checked identical).
- **offline snapshots** (:mod:`snapshot_bench`): filter checks/s (NumPy batch) and bytes per
  entry vs a Python set of the digests; the measured false-positive rate vs the stated one.
- **federation** (:mod:`federation_bench`): an empty node backfilling a peer's log (entries
  verified and stored per second) vs the source's own batch ingest of the same entries.

Every JSON row is ``{section, name, value, baseline, baseline_value, unit, ratio}``; ``ratio``
> 1 means ours is better (value/baseline for rates, baseline/value for times and sizes).
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import random
import sys
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import federation_bench
import neardup_bench
import node_bench
import snapshot_bench

from registry.indexes.memory import LogIndex
from registry.log import NodeLog
from registry.storage.engine import create_engine

Row = dict[str, Any]


@dataclass(frozen=True)
class Sizes:
    """Data set sizes of one mode."""

    declarations: int
    works_per_declaration: int
    singles: int
    naive: int
    check_rounds: int
    per_item: int
    pdq_queries: int
    neardup: tuple[int, ...]
    neardup_queries: int
    snapshot: tuple[int, int]
    backfill: int


SIZES = {
    "quick": Sizes(
        declarations=4_000,
        works_per_declaration=10,
        singles=800,
        naive=800,
        check_rounds=2,
        per_item=1_500,
        pdq_queries=2_000,
        neardup=(1_000_000,),
        neardup_queries=300,
        snapshot=(200_000, 1_000_000),
        backfill=3_000,
    ),
    "full": Sizes(
        declarations=20_000,
        works_per_declaration=10,
        singles=2_000,
        naive=2_000,
        check_rounds=5,
        per_item=3_000,
        pdq_queries=10_000,
        neardup=(1_000_000, 10_000_000),
        neardup_queries=1000,
        snapshot=(2_000_000, 4_000_000),
        backfill=20_000,
    ),
}


def row(  # noqa: PLR0917 - the six columns of a table row, in order
    section: str,
    name: str,
    value: float,
    baseline: str,
    baseline_value: float,
    unit: str,
    *,
    lower_is_better: bool = False,
) -> Row:
    """One result row; ``ratio`` > 1 means ours is better."""
    if lower_is_better:
        ratio = baseline_value / value if value else float("inf")
    else:
        ratio = value / baseline_value if baseline_value else float("inf")
    return {
        "section": section,
        "name": name,
        "value": round(value, 6),
        "baseline": baseline,
        "baseline_value": round(baseline_value, 6),
        "unit": unit,
        "ratio": round(ratio, 3),
    }


# --- node over HTTP ---------------------------------------------------------------------------


async def node_section(sizes: Sizes, tmp: Path) -> list[Row]:
    """Ingest and batch checks over HTTP against a real node; then the index rebuild."""
    data_dir = tmp / "node"
    data_dir.mkdir()
    database_url = f"sqlite+aiosqlite:///{data_dir / 'registry.db'}"
    log(f"node: signing {sizes.declarations:,} declarations x {sizes.works_per_declaration} works")
    entries, shas, urls, pdqs = node_bench.make_work_declarations(
        sizes.declarations, works=sizes.works_per_declaration, salt="batch"
    )
    # the baselines ingest declarations of the same shape (works, URLs, PDQ hashes)
    works = sizes.works_per_declaration
    singles = node_bench.make_work_declarations(sizes.singles, works=works, salt="single")[0]
    naive = node_bench.make_work_declarations(sizes.naive, works=works, salt="naive")[0]
    port = node_bench.free_port()
    process = node_bench.start_node(database_url, data_dir, port, 1)
    rows: list[Row] = []
    try:
        async with aiohttp.ClientSession(
            f"http://127.0.0.1:{port}",
            connector=aiohttp.TCPConnector(limit=128),
            timeout=aiohttp.ClientTimeout(total=600),
        ) as client:
            await node_bench.wait_ready(client, process)
            rows += await _ingest(client, database_url, entries, singles, naive, works)
            await asyncio.sleep(0.5)  # the index follows the log
            rows += await _checks(client, database_url, sizes, shas, urls)
            rows += await _near_http(client, sizes, pdqs)
    finally:
        node_bench.stop_node(process)
    rows += await _index_build(database_url)
    return rows


async def _ingest(  # noqa: PLR0917 - one call site
    client: aiohttp.ClientSession,
    database_url: str,
    entries: list[bytes],
    singles: list[bytes],
    naive: list[bytes],
    works: int,
) -> list[Row]:
    """Declarations (of ``works`` works each) per second: batch vs per item vs SQL."""
    log("node: ingest")
    batch = await node_bench.bench_batch_ingest(client, entries)
    single = await node_bench.bench_single_ingest(client, singles)
    engine = create_engine(database_url)
    try:
        sql = await node_bench.bench_naive_sql_ingest(engine, naive)
    finally:
        await engine.dispose()
    per = f"{works} works each"
    return [
        row("node", f"ingest over HTTP batch ({per})", batch.rate,
            "one HTTP request per declaration", single.rate, "declarations/s"),
        row("node", f"ingest over HTTP batch ({per})", batch.rate,
            "verify + one SQL commit per declaration", sql.rate, "declarations/s"),
        row("node", "ingest over HTTP batch (works)", batch.rate * works,
            "one HTTP request per declaration", single.rate * works, "works/s"),
    ]  # fmt: skip


async def _checks(
    client: aiohttp.ClientSession,
    database_url: str,
    sizes: Sizes,
    shas: list[str],
    urls: list[str],
) -> list[Row]:
    rng = random.Random(7)  # noqa: S311 - a reproducible sample
    unknown = [f"{rng.getrandbits(256):064x}" for _ in range(10_000)]
    hashes = rng.sample(shas, min(10_000, len(shas))) + unknown
    rng.shuffle(hashes)
    url_sample = rng.sample(urls, min(5_000, len(urls)))
    url_sample += [f"https://example.org/unknown/{i}.png" for i in range(5_000)]
    rng.shuffle(url_sample)
    log("node: exact and URL batch checks")
    rounds = sizes.check_rounds
    exact = await node_bench.bench_batch_query(
        client, "/v1/check", "sha256s", hashes, per_request=10_000, rounds=rounds
    )
    by_url = await node_bench.bench_batch_query(
        client, "/v1/check", "urls", url_sample, per_request=10_000, rounds=rounds
    )
    few = hashes[: sizes.per_item]
    exact_get = await node_bench.bench_get_per_item(client, [f"/v1/works/sha256/{h}" for h in few])
    few_urls = url_sample[: sizes.per_item]
    url_get = await node_bench.bench_get_per_item(
        client, [f"/v1/works/url?url={u}" for u in few_urls]
    )
    engine = create_engine(database_url)
    try:
        exact_sql = await node_bench.bench_naive_sql_lookup(engine, "naive_works", shas, few)
        url_sql = await node_bench.bench_naive_sql_lookup(engine, "naive_urls", urls, few_urls)
    finally:
        await engine.dispose()
    return [
        row("node", "exact batch check (/v1/check)", exact.rate, "one HTTP GET per hash",
            exact_get.rate, "hashes/s"),
        row("node", "exact batch check (/v1/check)", exact.rate,
            "plain SQL SELECT per hash (indexed)", exact_sql.rate, "hashes/s"),
        row("node", "URL batch check (/v1/check)", by_url.rate, "one HTTP GET per URL",
            url_get.rate, "URLs/s"),
        row("node", "URL batch check (/v1/check)", by_url.rate,
            "plain SQL SELECT per URL (indexed)", url_sql.rate, "URLs/s"),
    ]  # fmt: skip


def _flip(pdq: str, bits: int, rng: random.Random) -> str:
    value = int(pdq, 16)
    for bit in rng.sample(range(256), bits):
        value ^= 1 << bit
    return f"{value:064x}"


async def _near_http(client: aiohttp.ClientSession, sizes: Sizes, pdqs: list[str]) -> list[Row]:
    log("node: near-duplicate batch check over HTTP")
    rng = random.Random(9)  # noqa: S311 - reproducible queries
    queries = [_flip(rng.choice(pdqs), rng.randrange(0, 32), rng) for _ in range(sizes.pdq_queries)]
    batch = await node_bench.bench_batch_query(
        client, "/v1/check/pdq", "hashes", queries, per_request=1_000, rounds=1
    )
    single = await node_bench.bench_get_per_item(
        client, [f"/v1/works/pdq/{q}" for q in queries[: sizes.per_item // 2]]
    )
    return [
        row("node", f"PDQ batch check (/v1/check/pdq, {len(pdqs):,} indexed)", batch.rate,
            "one HTTP GET per query", single.rate, "queries/s"),
    ]  # fmt: skip


async def _index_build(database_url: str) -> list[Row]:
    """Rebuild the node's in-memory index from its log vs merely reading the log."""
    log("index: rebuild from the log")
    node_log = await NodeLog.open(database_url)
    try:
        size = await node_log.size()
        started = time.perf_counter()
        async for _ in node_log.entries(0, size):
            pass
        read_s = time.perf_counter() - started
        index = LogIndex(node_log.origin)
        stats = await index.rebuild(node_log)
        works = len(index.near.pdq)
    finally:
        await node_log.close()
    return [
        row("index", "index build from the log", stats.entries / stats.seconds,
            "reading the same entries only", size / read_s, "declarations/s"),
        row("index", "index build from the log (works)", works / stats.seconds,
            "reading the same entries only", works / read_s, "works/s"),
    ]  # fmt: skip


# --- near-duplicates, snapshots, federation ---------------------------------------------------

NEARDUP_KEEP = {
    "single query median",
    "single query p99",
    "batch throughput (1 thread)",
    "batch throughput (2 threads)",
    "build rate",
    "memory",
}


def neardup_section(sizes: Sizes) -> list[Row]:
    """The PDQ index against faiss (and a NumPy scan) at each size."""
    rows: list[Row] = []
    for n in sizes.neardup:
        log(f"near-duplicates: {n:,} hashes")
        label = f"{n // 1_000_000}M" if n >= 1_000_000 else f"{n:,}"
        for r in neardup_bench.run(n, sizes.neardup_queries):
            if r["name"] not in NEARDUP_KEEP:
                continue
            if r["baseline"] == "NumPy brute-force scan" and "2 threads" in r["name"]:
                continue
            lower = r["unit"] in ("ms", "bytes/hash")
            rows.append(row("neardup", f"PDQ {r['name']} ({label})", r["value"], r["baseline"],
                            r["baseline_value"], r["unit"], lower_is_better=lower))  # fmt: skip
    return rows


def snapshot_section(sizes: Sizes) -> list[Row]:
    """Offline filter: checks/s, bytes per entry, measured FPR."""
    n, queries = sizes.snapshot
    log(f"offline snapshots: {n:,} reserved, {queries:,} checks")
    rows = []
    for r in snapshot_bench.run(n, queries, 16):
        if "pure Python" in r["name"]:
            continue
        lower = r["unit"] in ("bytes/entry", "fraction")
        rows.append(row("snapshot", r["name"], r["value"], r["baseline"], r["baseline_value"],
                        r["unit"], lower_is_better=lower))  # fmt: skip
    return rows


def federation_section(sizes: Sizes, tmp: Path) -> list[Row]:
    """Backfill of an empty follower from a peer."""
    log(f"federation: backfill of {sizes.backfill:,} entries")
    result = federation_bench.backfill(tmp, sizes.backfill, 0.2)
    return [
        row("federation", "federation backfill (verify + store)", result.mirror_rate,
            "the source's own HTTP batch ingest", result.ingest_rate, "entries/s"),
    ]  # fmt: skip


# --- output -----------------------------------------------------------------------------------


def log(message: str) -> None:
    """Progress on stderr (the table goes to stdout)."""
    print(f"[{time.strftime('%H:%M:%S')}] {message}", file=sys.stderr, flush=True)


def machine() -> dict[str, Any]:
    """What the run ran on."""
    memory = 0
    with open("/proc/meminfo") as f:  # Linux
        for line in f:
            if line.startswith("MemTotal:"):
                memory = int(line.split()[1]) * 1024
    cpu = platform.processor() or platform.machine()
    with open("/proc/cpuinfo") as f:
        for line in f:
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
    return {
        "cpus": os.cpu_count(),
        "cpu": cpu,
        "memory_gb": round(memory / 2**30, 1),
        "python": platform.python_version(),
        "system": platform.platform(),
    }


def _fmt(value: float) -> str:
    if value == 0 or abs(value) >= 100:
        return f"{value:,.0f}"
    if abs(value) >= 1:
        return f"{value:,.2f}"
    return f"{value:.3g}"


def table(rows: list[Row]) -> str:
    """The one table: figure, ours, unit, baseline, theirs, ratio."""
    lines = [
        f"{'figure':52} {'ours':>12} {'unit':>14}  {'baseline':44} {'theirs':>12} {'x':>8}",
    ]
    lines.append("-" * len(lines[0]))
    for r in rows:
        lines.append(
            f"{r['name'][:52]:52} {_fmt(r['value']):>12} {r['unit']:>14}  "
            f"{r['baseline'][:44]:44} {_fmt(r['baseline_value']):>12} {r['ratio']:>8.3g}"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    """Run every section, print the table, write the JSON."""
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="small data sets, < 3 minutes")
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    parser.add_argument(
        "--only",
        choices=("node", "neardup", "snapshot", "federation"),
        action="append",
        help="run only these sections (repeatable)",
    )
    args = parser.parse_args(argv)
    mode = "quick" if args.quick else "full"
    sizes = SIZES[mode]
    wanted = set(args.only or ("node", "neardup", "snapshot", "federation"))
    started = time.perf_counter()
    rows: list[Row] = []
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        sections: list[tuple[str, Callable[[], list[Row]]]] = [
            ("node", lambda: asyncio.run(node_section(sizes, Path(tmp)))),
            ("neardup", lambda: neardup_section(sizes)),
            ("snapshot", lambda: snapshot_section(sizes)),
            ("federation", lambda: federation_section(sizes, Path(tmp))),
        ]
        for name, section in sections:
            if name in wanted:
                rows += section()
    seconds = time.perf_counter() - started
    info = machine()
    print()
    print(
        f"consent-registry benchmarks ({mode}; {info['cpus']} CPUs, {info['cpu']}, "
        f"{info['memory_gb']} GB; {seconds:.0f} s). x: ratio vs the baseline, > 1 = ours better"
    )
    print(table(rows))
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        document = {"mode": mode, "seconds": round(seconds, 1), "machine": info, "rows": rows}
        args.out.write_text(json.dumps(document, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
