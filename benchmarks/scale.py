"""Scale benchmark (issue 15): a fresh node filled to N works through the public API.

Usage::

    .venv/bin/python benchmarks/scale.py --works 100000            # about 2 minutes
    .venv/bin/python benchmarks/scale.py --works 1000000 --workers 2
    .venv/bin/python benchmarks/scale.py --works 100000 --baseline-tree /tmp/base
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
  (``/v1/check/sha256``, without and with ``?identity=1``, interleaved, best of three each),
  hashes/s;
- PDQ: single-query p50 over HTTP and batch queries/s (``/v1/check/pdq``, 100 per request);
- disk per work (SQLite file or ``pg_database_size``).

Baselines, in the same run: the former in-memory ``LogIndex`` (ADR 0009) that every worker
rebuilt at start-up, built in this process from the same database (its rebuild time, the floor
of its restart, and its RSS growth per work); and with ``--baseline-tree DIR`` (a checkout of
the former code, ``git worktree add /tmp/base <commit>``), the whole measurement repeated with a
node of that code on the same declarations (it has no binary check).
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import statistics
import subprocess
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


async def post_binary(
    client: aiohttp.ClientSession, batch: list[str], *, identity: bool = False
) -> None:
    body = b"".join(bytes.fromhex(h) for h in batch)
    headers = {"Content-Type": "application/octet-stream"}
    path = "/v1/check/sha256?identity=1" if identity else "/v1/check/sha256"
    async with client.post(path, data=body, headers=headers) as response:
        assert response.status == 200, await response.text()
        assert (response.headers.get("Consent-Identity") == "1") == identity
        await response.read()


async def bench_binary(
    client: aiohttp.ClientSession, hashes: list[str], rounds: int, *, identity: bool = False
) -> float:
    """Binary check hashes/s; ``identity``: with each claim's identity (spec §6.8.4)."""
    batches = [hashes[i : i + CHECK_BATCH] for i in range(0, len(hashes), CHECK_BATCH)] * rounds

    def job(batch: list[str]) -> Any:
        async def run() -> None:
            await post_binary(client, batch, identity=identity)

        return run

    seconds = await node_bench.run_concurrently([job(b) for b in batches], concurrency=4)
    return sum(map(len, batches)) / seconds


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


def start(
    args: argparse.Namespace, database_url: str, data_dir: Path, port: int, tree: Path | None
) -> Any:
    """``registry serve`` of this tree, or of ``tree`` (another checkout: the baseline)."""
    if tree is None:
        return node_bench.start_node(database_url, data_dir, port, args.workers)
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        {
            "PYTHONPATH": str(tree),
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_DATA_DIR": str(data_dir),
            "REGISTRY_RATE_LIMIT": "0",
            "REGISTRY_ADDRESS_HOURLY_LIMIT": "0",
            "REGISTRY_LOG_LEVEL": "warning",
            "REGISTRY_MAX_PENDING": "100000",
        }
    )
    command = [sys.executable, "-m", "registry", "serve", "--port", str(port)]
    return subprocess.Popen(  # noqa: S603 - fixed argv, our own executable
        [*command, "--workers", str(args.workers)],
        env=env,
        cwd=str(tree),
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


async def measure(  # noqa: PLR0915
    args: argparse.Namespace,
    entries: list[bytes],
    shas: list[str],
    pdqs: list[str],
    tree: Path | None,
) -> dict[str, float]:
    """Fill a fresh node, restart it, check; the figures by name."""
    declarations = len(entries)
    works = declarations * WORKS_PER_DECLARATION
    tmp = Path(tempfile.mkdtemp(prefix="scale-"))
    database_url = args.database_url or f"sqlite+aiosqlite:///{tmp / 'registry.db'}"
    if tree is not None and args.database_url:
        raise SystemExit("--baseline-tree needs the default SQLite database")
    port = node_bench.free_port()
    out: dict[str, float] = {}
    process = start(args, database_url, tmp, port, tree)
    timeout = aiohttp.ClientTimeout(total=600)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", timeout=timeout) as client:
            await node_bench.wait_ready(client, process)
            empty_rss = tree_rss(process.pid)
            print(f"filling to {works:,} works ({'this tree' if tree is None else tree}) ...")
            started = time.perf_counter()
            chunks = [entries[i : i + PER_REQUEST] for i in range(0, len(entries), PER_REQUEST)]
            done = 0
            for first in range(0, len(chunks), 20):
                group = chunks[first : first + 20]

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
            out["ingest"] = declarations / (time.perf_counter() - started)
            # Let background work after the burst finish (the snapshot builder; this tree's
            # near-file compaction), so that the figures after the restart are not its cost.
            await asyncio.sleep(args.settle)
            out["filled_rss"] = tree_rss(process.pid)
            out["growth"] = (out["filled_rss"] - empty_rss) / works
    finally:
        node_bench.stop_node(process)
    process = start(args, database_url, tmp, port, tree)
    try:
        async with aiohttp.ClientSession(f"http://127.0.0.1:{port}", timeout=timeout) as client:
            started = time.perf_counter()
            await node_bench.wait_ready(client, process)
            out["ready"] = time.perf_counter() - started
            out["restarted_rss"] = tree_rss(process.pid)
            # Background work after a restart (the snapshot builder's rebuild, ADR 0008) would
            # otherwise run inside the measurements below in a tree that is ready sooner.
            await asyncio.sleep(args.settle)
            out["settled_rss"] = tree_rss(process.pid) / works
            known = shas[:: max(1, len(shas) // (CHECK_BATCH // 100))][: CHECK_BATCH // 100]
            unknown = [hashlib.sha256(b"absent %d" % i).hexdigest() for i in range(CHECK_BATCH)]
            query = known + unknown[: CHECK_BATCH - len(known)]
            json_result = await node_bench.bench_batch_query(
                client, "/v1/check", "sha256s", query, per_request=CHECK_BATCH, rounds=args.rounds
            )
            out["json"] = json_result.rate
            if tree is None:
                # without and with identity interleaved, the best of three each: on a shared
                # machine one measurement of either can fall into another process's burst
                plain, identity = [], []
                for _ in range(3):
                    plain.append(await bench_binary(client, query, args.rounds))
                    identity.append(await bench_binary(client, query, args.rounds, identity=True))
                out["binary"], out["binary_identity"] = max(plain), max(identity)
            out["p50"], out["pdq"] = await bench_pdq(client, pdqs)
    finally:
        node_bench.stop_node(process)
    out["disk"] = await disk_bytes(database_url, tmp) / works
    near = tmp / "near"  # this machine's near-duplicate files and bitmap (ADR 0010), if any
    if near.is_dir():
        out["files"] = sum(p.stat().st_size for p in near.iterdir() if p.is_file()) / works
    if tree is None and works <= args.baseline_limit:
        out["rebuild"], out["rebuild_rss"] = await baseline_memory_index(database_url, works)
    return out


async def main_async(args: argparse.Namespace) -> list[tuple[str, str, str]]:
    declarations = max(1, args.works // WORKS_PER_DECLARATION)
    works = declarations * WORKS_PER_DECLARATION
    print(f"generating {declarations:,} declarations of {WORKS_PER_DECLARATION} works ...")
    started = time.perf_counter()
    entries, shas, _urls, pdqs = node_bench.make_work_declarations(
        declarations, works=WORKS_PER_DECLARATION, salt="scale", creators=200
    )
    print(f"  generated in {time.perf_counter() - started:.1f} s")
    floor = verify_floor()
    ours = await measure(args, entries, shas, pdqs, None)
    old = await measure(args, entries, shas, pdqs, args.baseline_tree) if args.baseline_tree else {}

    def show(key: str, fmt: str) -> tuple[str, str]:
        mine = fmt.format(ours[key]) if key in ours else "-"
        theirs = fmt.format(old[key]) if key in old else "-"
        return mine, theirs

    table = [
        ("ingest, declarations of 10 works (HTTP batch), decl/s", "ingest", "{:,.0f}"),
        ("RSS growth per work while filling, whole node, B", "growth", "{:,.0f}"),
        ("restart to /readyz, s", "ready", "{:.2f}"),
        ("RSS after restart per work, whole node, B", "restarted_rss", "{:,.0f}"),
        ("RSS per work, whole node, --settle s after the restart, B", "settled_rss", "{:,.0f}"),
        ("exact check 10,000/request 1% hits, JSON, hashes/s", "json", "{:,.0f}"),
        ("exact check 10,000/request 1% hits, binary, hashes/s", "binary", "{:,.0f}"),
        ("the same binary check with ?identity=1, hashes/s", "binary_identity", "{:,.0f}"),
        ("PDQ single query p50 over HTTP (radius 31), ms", "p50", "{:.2f}"),
        ("PDQ batch, 100 per request, queries/s", "pdq", "{:,.0f}"),
        ("disk per work, B", "disk", "{:,.0f}"),
        ("near-duplicate files and bitmap per work (data dir), B", "files", "{:,.0f}"),
        ("former in-memory index: rebuild from the log (in process), s", "rebuild", "{:.2f}"),
        (
            "former in-memory index: RSS per work, one worker (in process), B",
            "rebuild_rss",
            "{:,.0f}",
        ),
    ]
    for key in ("restarted_rss",):
        ours[key] = ours[key] / works
        if key in old:
            old[key] = old[key] / works
    rows = [(f"N = {works:,} works, {args.workers} worker(s)", "this branch",
             f"baseline: {args.baseline_tree}" if old else "")]  # fmt: skip
    rows += [(label, *show(key, fmt)) for label, key, fmt in table]
    rows.append(("bare Ed25519 verify loop (same run), verifies/s", f"{floor:,.0f}", ""))
    rows.append(("ingest / verify floor", f"{ours['ingest'] / floor:.0%}",
                 f"{old['ingest'] / floor:.0%}" if old else ""))  # fmt: skip
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--rounds", type=int, default=5, help="repetitions of the check batch")
    parser.add_argument(
        "--settle",
        type=float,
        default=10.0,
        help="seconds idle after the fill and after the restart, before measuring",
    )
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    parser.add_argument("--baseline-limit", type=int, default=2_000_000)
    parser.add_argument("--out", type=Path, default=None, help="also write the rows as JSON")
    parser.add_argument(
        "--baseline-tree",
        type=Path,
        default=None,
        help="a checkout of the former design (git worktree add /tmp/base main): measured too",
    )
    args = parser.parse_args()
    rows = asyncio.run(main_async(args))
    width = max(len(r[0]) for r in rows)
    for what, value, note in rows:
        print(f"{what:<{width}}  {value:>14}  {note:>14}")
    if args.out:
        args.out.parent.mkdir(parents=True, exist_ok=True)
        args.out.write_text(json.dumps(rows, indent=1))


if __name__ == "__main__":
    main()
