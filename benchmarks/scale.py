"""Scale benchmark (issue 15): a fresh node filled to N works through the public API.

Usage::

    .venv/bin/python benchmarks/scale.py --works 100000            # about 2 minutes
    .venv/bin/python benchmarks/scale.py --works 1000000 --workers 2
    .venv/bin/python benchmarks/scale.py --works 100000 \\
        --database-url postgresql+asyncpg://postgres@127.0.0.1:5432/scale   # an EMPTY database

It starts a real ``registry serve`` (granian) on a fresh data dir, submits N works in
declarations of 10 (every work with a URL and a PDQ hash, quality 90) through
``POST /v1/declarations:batch``, and reports, as one table:

- ingest: declarations/s and works/s over HTTP, beside a bare Ed25519 verify loop (one verify
  per declaration, the floor of any ingest) measured in the same run;
- memory: RSS of the whole node (the server process and all its workers, from /proc) after the
  fill and after a restart, per work;
- restart to ready: SIGINT, start again, time until ``/readyz`` answers 200;
- exact batch check at 1% hits: 10,000 SHA-256s per request, JSON (``/v1/check``) and binary
  (``/v1/check/sha256``), hashes/s;
- PDQ: single-query p50 over HTTP and batch queries/s (``/v1/check/pdq``, 100 per request);
- disk per work (SQLite file or ``pg_database_size``).

Baseline, in the same run: today's former design, the in-memory ``LogIndex`` (ADR 0009) that
every worker rebuilt at start-up, built in this process from the same database: its rebuild
time (its restart-to-ready floor) and its RSS growth per work (one worker).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import platform
import statistics
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import aiohttp

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import node_bench

from registry.core.keys import PrivateKey
from registry.indexes.memory import LogIndex
from registry.log import NodeLog
from registry.storage.engine import create_engine

WORKS_PER_DECLARATION = 10
PER_REQUEST = 1000  # declarations per batch request (10,000 works)
CHECK_BATCH = 10_000


def _rss(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        return 0
    return 0


def tree_rss(root: int) -> int:
    """RSS of ``root`` and all its descendants (bytes)."""
    children: dict[int, list[int]] = {}
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        children.setdefault(int(fields[1]), []).append(int(entry.name))
    total, stack = 0, [root]
    while stack:
        pid = stack.pop()
        total += _rss(pid)
        stack.extend(children.get(pid, []))
    return total


def self_rss() -> int:
    return _rss(os.getpid())


def verify_floor(seconds: float = 3.0) -> float:
    """Bare Ed25519 verifications per second (a declaration-sized message), one core."""
    key = PrivateKey.from_seed(b"\x01" * 32)
    message = b"x" * 2500
    signature = key.sign(message)
    public = key.public_key
    count, started = 0, time.perf_counter()
    while time.perf_counter() - started < seconds:
        for _ in range(200):
            public.verify(signature, message)
        count += 200
    return count / (time.perf_counter() - started)


async def disk_bytes(database_url: str, data_dir: Path) -> int:
    if database_url.startswith("sqlite"):
        return sum(p.stat().st_size for p in data_dir.rglob("registry.db*"))
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            from sqlalchemy import text  # noqa: PLC0415

            return int(await conn.scalar(text("SELECT pg_database_size(current_database())")))
    finally:
        await engine.dispose()


async def post_binary(client: aiohttp.ClientSession, batch: list[str]) -> None:
    body = b"".join(bytes.fromhex(h) for h in batch)
    headers = {"Content-Type": "application/octet-stream"}
    async with client.post("/v1/check/sha256", data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        await response.read()


async def bench_checks(
    client: aiohttp.ClientSession, hashes: list[str], rounds: int
) -> tuple[float, float]:
    batches = [hashes[i : i + CHECK_BATCH] for i in range(0, len(hashes), CHECK_BATCH)] * rounds
    json_result = await node_bench.bench_batch_query(
        client, "/v1/check", "sha256s", hashes, per_request=CHECK_BATCH, rounds=rounds
    )

    def job(batch: list[str]) -> Any:
        async def run() -> None:
            await post_binary(client, batch)

        return run

    seconds = await node_bench.run_concurrently([job(b) for b in batches], concurrency=4)
    return json_result.rate, sum(map(len, batches)) / seconds


async def bench_pdq(client: aiohttp.ClientSession, pdqs: list[str]) -> tuple[float, float]:
    latencies = []
    for pdq in pdqs[:200]:
        started = time.perf_counter()
        async with client.post(
            "/v1/check/pdq", json={"hashes": [pdq], "max_distance": 31}
        ) as response:
            assert response.status == 200, await response.text()
            await response.read()
        latencies.append(time.perf_counter() - started)
    batch = await node_bench.bench_batch_query(
        client, "/v1/check/pdq", "hashes", pdqs[:2000], per_request=100, rounds=1
    )
    return statistics.median(latencies) * 1000, batch.rate


async def baseline_memory_index(database_url: str, works: int) -> tuple[float, float]:
    """The former design: rebuild the in-memory LogIndex from the log (seconds, RSS/work)."""
    gc.collect()
    before = self_rss()
    log = await NodeLog.open(database_url)
    try:
        index = LogIndex(log.origin)
        stats = await index.rebuild(log)
        gc.collect()
        grown = self_rss() - before
    finally:
        await log.close()
    del index
    return stats.seconds, grown / works


async def main_async(args: argparse.Namespace) -> list[tuple[str, str, str]]:  # noqa: PLR0915
    declarations = max(1, args.works // WORKS_PER_DECLARATION)
    works = declarations * WORKS_PER_DECLARATION
    print(f"generating {declarations:,} declarations of {WORKS_PER_DECLARATION} works ...")
    started = time.perf_counter()
    entries, shas, _urls, pdqs = node_bench.make_work_declarations(
        declarations, works=WORKS_PER_DECLARATION, salt="scale", creators=200
    )
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    floor = verify_floor()
    tmp = Path(tempfile.mkdtemp(prefix="scale-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
    port = node_bench.free_port()
    rows: list[tuple[str, str, str]] = []
    process = node_bench.start_node(database_url, tmp, port, args.workers)
    timeout = aiohttp.ClientTimeout(total=600)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", timeout=timeout) as client:
            await node_bench.wait_ready(client, process)
            empty_rss = tree_rss(process.pid)
            print(f"filling to {works:,} works ...")
            started = time.perf_counter()
            chunks = [entries[i : i + PER_REQUEST] for i in range(0, len(entries), PER_REQUEST)]
            done = 0
            for start in range(0, len(chunks), 20):
                group = chunks[start : start + 20]

                def job(chunk: list[bytes]) -> Any:
                    async def post() -> None:
                        body = b'{"declarations":[' + b",".join(chunk) + b"]}"
                        async with client.post("/v1/declarations:batch", data=body) as response:
                            assert response.status == 200, await response.text()
                            assert (await response.json())["rejected"] == 0

                    return post

                await node_bench.run_concurrently([job(c) for c in group], concurrency=4)
                done += sum(map(len, group))
                rate = done / (time.perf_counter() - started)
                print(f"  {done * WORKS_PER_DECLARATION:,} works, {rate:,.0f} declarations/s")
            ingest_seconds = time.perf_counter() - started
            filled_rss = tree_rss(process.pid)
    finally:
        node_bench.stop_node(process)
    ingest = declarations / ingest_seconds
    floor_note = f"{ingest / floor:.0%} of a bare Ed25519 verify loop ({floor:,.0f}/s)"
    rows.append(("ingest, declarations of 10 works (HTTP batch)", f"{ingest:,.0f} decl/s",
                 floor_note))  # fmt: skip
    rows.append(("ingest, works/s", f"{ingest * WORKS_PER_DECLARATION:,.0f}", ""))
    rows.append(("RSS growth per work while filling (whole node)",
                 f"{(filled_rss - empty_rss) / works:,.0f} B",
                 f"{args.workers} worker(s); {filled_rss / 2**20:,.0f} MiB in all"))  # fmt: skip

    process = node_bench.start_node(database_url, tmp, port, args.workers)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", timeout=timeout) as client:
            started = time.perf_counter()
            await node_bench.wait_ready(client, process)
            ready = time.perf_counter() - started
            restarted_rss = tree_rss(process.pid)
            known = shas[:: max(1, len(shas) // (CHECK_BATCH // 100))][: CHECK_BATCH // 100]
            unknown = [hashlib.sha256(b"absent %d" % i).hexdigest() for i in range(CHECK_BATCH)]
            query = known + unknown[: CHECK_BATCH - len(known)]
            json_rate, binary_rate = await bench_checks(client, query, rounds=args.rounds)
            p50, pdq_rate = await bench_pdq(client, pdqs)
    finally:
        node_bench.stop_node(process)
    rows.append(("restart to /readyz", f"{ready:.2f} s", ""))
    total = f"{restarted_rss / 2**20:,.0f} MiB"
    rows.append(("RSS after restart, whole node, per work",
                 f"{restarted_rss / works:,.0f} B", total))  # fmt: skip
    rows.append(
        ("exact check, 10,000 per request, 1% hits: binary", f"{binary_rate:,.0f} hashes/s", "")
    )
    rows.append(
        ("exact check, 10,000 per request, 1% hits: JSON", f"{json_rate:,.0f} hashes/s", "")
    )
    rows.append(("PDQ single query p50 (HTTP, radius 31)", f"{p50:.2f} ms", ""))
    rows.append(("PDQ batch (100 per request)", f"{pdq_rate:,.0f} queries/s", ""))
    disk = await disk_bytes(database_url, tmp)
    rows.append(("disk per work", f"{disk / works:,.0f} B", f"{disk / 2**20:,.0f} MiB"))
    if works <= args.baseline_limit:
        seconds, per_work = await baseline_memory_index(database_url, works)
        note = "one worker; every worker did this at start-up"
        rows.append(("BASELINE former design: in-memory rebuild (restart floor)",
                     f"{seconds:.2f} s", note))  # fmt: skip
        rows.append(("BASELINE former design: RSS per work, one worker",
                     f"{per_work:,.0f} B", "x workers"))  # fmt: skip
    else:
        rows.append(
            ("BASELINE former design", "not run", f"above --baseline-limit {args.baseline_limit:,}")
        )
    return [(f"N = {works:,} works", platform.node(), ""), *rows]


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of the check batch")
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    parser.add_argument("--baseline-limit", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    width = max(len(r[0]) for r in rows)
    for what, value, note in rows:
        print(f"{what:<{width}}  {value:>18}  {note}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
