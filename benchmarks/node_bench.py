"""Node benchmark (a script, not a test): ingestion and checking throughput over HTTP.

Runs a real node (``registry serve``, granian) on a fresh database and measures, in one run:

* declarations ingested per second through ``POST /v1/declarations:batch`` (1,000 per request)
  and through ``POST /v1/declarations`` (one per request, many concurrent clients), beside a
  naive baseline: verify each declaration and INSERT + COMMIT it alone (one SQL transaction per
  item) into a scratch table of the same database;
* hashes checked per second through ``POST /v1/check`` (10,000 per request), beside two naive
  baselines: one ``GET /v1/works/sha256/{hash}`` per hash, and one SQL ``SELECT`` per hash
  against a scratch table of the same database holding every declared hash.

Usage::

    .venv/bin/python benchmarks/node_bench.py                  # SQLite in a temp dir
    .venv/bin/python benchmarks/node_bench.py --database-url postgresql+asyncpg://postgres@127.0.0.1/bench

(the PostgreSQL database must exist and be empty). Numbers are machine-dependent; DESIGN.md
gives orders of magnitude for this machine. The load generator (aiohttp) runs on the same
machine as the node and takes part of its CPU.
"""

from __future__ import annotations

import argparse
import asyncio
import hashlib
import os
import random
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.core.keys import PrivateKey
from registry.core.records import (
    encode_record,
    load_record,
    new_declaration,
    new_work,
    sign_declaration,
)
from registry.storage.engine import create_engine

REGISTRY = shutil.which("registry", path=str(Path(sys.executable).parent)) or "registry"


@dataclass(frozen=True)
class Result:
    """One measured line of the table."""

    what: str
    how: str
    items: int
    seconds: float

    @property
    def rate(self) -> float:
        return self.items / self.seconds if self.seconds else 0.0


def make_declarations(count: int, *, salt: str, creators: int = 50) -> list[tuple[str, bytes]]:
    """``count`` signed declarations, one work each: (work sha256, entry bytes)."""
    keys = [
        PrivateKey.from_seed(hashlib.sha256(f"bench-creator-{i}".encode()).digest())
        for i in range(creators)
    ]
    out = []
    for i in range(count):
        key = keys[i % creators]
        sha = hashlib.sha256(f"{salt}-work-{i}".encode()).hexdigest()
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=[new_work(sha, urls=[f"https://example.com/{salt}/{i}.png"])],
            prefs={"train-ai": "n"},
        )
        out.append((sha, encode_record(sign_declaration(record, key))))
    return out


def make_work_declarations(
    count: int, *, works: int, salt: str, creators: int = 50, seed: int = 11
) -> tuple[list[bytes], list[str], list[str], list[str]]:
    """``count`` signed declarations of ``works`` works each, every work with a URL and a PDQ
    hash (quality 90): (entries, work SHA-256s, URLs, PDQ hashes), works in declaration order."""
    rng = random.Random(seed)  # noqa: S311 - reproducible test data, not crypto
    keys = [
        PrivateKey.from_seed(hashlib.sha256(f"bench-creator-{i}".encode()).digest())
        for i in range(creators)
    ]
    entries, shas, urls, pdqs = [], [], [], []
    for i in range(count):
        items = []
        for j in range(works):
            sha = hashlib.sha256(f"{salt}-work-{i}-{j}".encode()).hexdigest()
            url = f"https://example.com/{salt}/{i}/{j}.png"
            pdq = f"{rng.getrandbits(256):064x}"
            items.append(new_work(sha, pdq=pdq, pdq_quality=90, urls=[url]))
            shas.append(sha)
            urls.append(url)
            pdqs.append(pdq)
        key = keys[i % creators]
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=sorted(items, key=lambda w: w.sha256),
            prefs={"train-ai": "n"},
        )
        entries.append(encode_record(sign_declaration(record, key)))
    return entries, shas, urls, pdqs


async def run_concurrently(
    jobs: Sequence[Callable[[], Awaitable[None]]], concurrency: int
) -> float:
    """Run ``jobs`` with at most ``concurrency`` at a time; return the elapsed seconds."""
    queue = list(reversed(jobs))

    async def worker() -> None:
        while queue:
            await queue.pop()()

    started = time.perf_counter()
    await asyncio.gather(*(worker() for _ in range(concurrency)))
    return time.perf_counter() - started


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_node(
    database_url: str, data_dir: Path, port: int, workers: int
) -> subprocess.Popen[bytes]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env.update(
        {
            "REGISTRY_DATABASE_URL": database_url,
            "REGISTRY_DATA_DIR": str(data_dir),
            "REGISTRY_RATE_LIMIT": "0",
            "REGISTRY_ADDRESS_HOURLY_LIMIT": "0",
            "REGISTRY_LOG_LEVEL": "warning",
            "REGISTRY_MAX_PENDING": "100000",
        }
    )
    return subprocess.Popen(  # noqa: S603 - fixed argv, our own executable
        [REGISTRY, "serve", "--port", str(port), "--workers", str(workers)],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def stop_node(process: subprocess.Popen[bytes]) -> None:
    """Stop a node started by :func:`start_node` (SIGINT, then SIGKILL after 30 s)."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


async def wait_ready(client: aiohttp.ClientSession, process: subprocess.Popen[bytes]) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit("registry serve exited during start-up")
        try:
            async with client.get("/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit("registry serve did not become ready")


async def bench_batch_ingest(client: aiohttp.ClientSession, entries: list[bytes]) -> Result:
    chunks = [entries[i : i + 1000] for i in range(0, len(entries), 1000)]

    def job(chunk: list[bytes]) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            body = b'{"declarations":[' + b",".join(chunk) + b"]}"
            async with client.post("/v1/declarations:batch", data=body) as response:
                assert response.status == 200, await response.text()
                assert (await response.json())["rejected"] == 0

        return post

    seconds = await run_concurrently([job(c) for c in chunks], concurrency=4)
    return Result("ingest", "HTTP batch, 1,000 per request", len(entries), seconds)


async def bench_single_ingest(client: aiohttp.ClientSession, entries: list[bytes]) -> Result:
    def job(entry: bytes) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            async with client.post("/v1/declarations", data=entry) as response:
                assert response.status == 201, await response.text()

        return post

    seconds = await run_concurrently([job(e) for e in entries], concurrency=64)
    return Result("ingest", "HTTP, one request per item (baseline)", len(entries), seconds)


async def bench_naive_sql_ingest(engine: AsyncEngine, entries: list[bytes]) -> Result:
    """Verify, INSERT and COMMIT each declaration alone (one connection, one temp table)."""
    async with engine.connect() as conn:
        await conn.execute(
            sa.text(
                "CREATE TEMPORARY TABLE naive_declarations (id VARCHAR(64) PRIMARY KEY, "
                "data BYTEA)".replace("BYTEA", _blob(engine))
            )
        )
        await conn.commit()
        started = time.perf_counter()
        for entry in entries:
            load_record(entry)
            await conn.execute(
                sa.text("INSERT INTO naive_declarations (id, data) VALUES (:id, :data)"),
                {"id": hashlib.sha256(entry).hexdigest(), "data": entry},
            )
            await conn.commit()
        seconds = time.perf_counter() - started
    return Result("ingest", "SQL, verify + one commit per item (baseline)", len(entries), seconds)


def _blob(engine: AsyncEngine) -> str:
    return "BLOB" if engine.dialect.name == "sqlite" else "BYTEA"


async def bench_check(client: aiohttp.ClientSession, hashes: list[str], rounds: int) -> Result:
    return await bench_batch_query(
        client, "/v1/check", "sha256s", hashes, per_request=10_000, rounds=rounds
    )


async def bench_batch_query(
    client: aiohttp.ClientSession,
    path: str,
    field: str,
    items: list[str],
    *,
    per_request: int,
    rounds: int,
    concurrency: int = 4,
) -> Result:
    """POST ``items`` to a batch endpoint as ``{field: [...]}``, ``per_request`` at a time."""
    batches = [items[i : i + per_request] for i in range(0, len(items), per_request)] * rounds

    def job(batch: list[str]) -> Callable[[], Awaitable[None]]:
        async def post() -> None:
            async with client.post(path, json={field: batch}) as response:
                assert response.status == 200, await response.text()
                await response.read()

        return post

    seconds = await run_concurrently([job(b) for b in batches], concurrency=concurrency)
    how = f"HTTP {path}, {per_request:,} per request"
    return Result("check", how, sum(map(len, batches)), seconds)


async def bench_check_per_item(client: aiohttp.ClientSession, hashes: list[str]) -> Result:
    return await bench_get_per_item(client, [f"/v1/works/sha256/{sha}" for sha in hashes])


async def bench_get_per_item(
    client: aiohttp.ClientSession, paths: list[str], concurrency: int = 32
) -> Result:
    """One GET per item (the per-item HTTP baseline of a batch endpoint)."""

    def job(path: str) -> Callable[[], Awaitable[None]]:
        async def get() -> None:
            async with client.get(path) as response:
                assert response.status == 200, await response.text()
                await response.read()

        return get

    seconds = await run_concurrently([job(p) for p in paths], concurrency=concurrency)
    return Result("check", "HTTP, one GET per item (baseline)", len(paths), seconds)


async def bench_naive_sql_check(
    engine: AsyncEngine, declared: list[str], hashes: list[str]
) -> Result:
    """One SELECT per hash against a table of every declared hash (same database)."""
    return await bench_naive_sql_lookup(engine, "naive_works", declared, hashes)


async def bench_naive_sql_lookup(
    engine: AsyncEngine, table: str, declared: list[str], keys: list[str]
) -> Result:
    """One SELECT per key against a fresh temporary ``table`` of every declared key (a plain
    indexed SQL lookup, the same database as the node)."""
    async with engine.connect() as conn:
        await conn.execute(
            sa.text(
                f"CREATE TEMPORARY TABLE {table} (k VARCHAR(2048) PRIMARY KEY, prefs VARCHAR(64))"
            )
        )
        await conn.execute(
            sa.text(f"INSERT INTO {table} (k, prefs) VALUES (:k, 'train-ai=n')"),  # noqa: S608
            [{"k": k} for k in declared],
        )
        await conn.commit()
        query = sa.text(f"SELECT prefs FROM {table} WHERE k = :k")  # noqa: S608 - our table name
        started = time.perf_counter()
        for key in keys:
            (await conn.execute(query, {"k": key})).first()
        seconds = time.perf_counter() - started
    return Result("check", "SQL, one SELECT per item (baseline)", len(keys), seconds)


async def main_async(args: argparse.Namespace) -> list[Result]:
    with tempfile.TemporaryDirectory(prefix="registry-bench-") as tmp:
        data_dir = Path(tmp)
        database_url = args.database_url or f"sqlite+aiosqlite:///{data_dir / 'registry.db'}"
        print(
            f"preparing {args.declarations + args.singles + args.naive:,} declarations...",
            file=sys.stderr,
        )
        batch = make_declarations(args.declarations, salt="batch")
        singles = make_declarations(args.singles, salt="single")
        naive = make_declarations(args.naive, salt="naive")
        port = free_port()
        process = start_node(database_url, data_dir, port, args.workers)
        try:
            async with aiohttp.ClientSession(
                f"http://127.0.0.1:{port}",
                connector=aiohttp.TCPConnector(limit=128),
                timeout=aiohttp.ClientTimeout(total=300),
            ) as client:
                await wait_ready(client, process)
                print("measuring ingestion...", file=sys.stderr)
                results = [await bench_batch_ingest(client, [e for _, e in batch])]
                results.append(await bench_single_ingest(client, [e for _, e in singles]))
                engine = create_engine(database_url)
                try:
                    results.append(await bench_naive_sql_ingest(engine, [e for _, e in naive]))
                    declared = [s for s, _ in batch + singles]
                    rng = random.Random(7)  # noqa: S311 - a reproducible sample, not crypto
                    unknown = [hashlib.sha256(b"unknown %d" % i).hexdigest() for i in range(10_000)]
                    mixed = rng.sample(declared, min(10_000, len(declared))) + unknown
                    rng.shuffle(mixed)
                    await asyncio.sleep(0.5)  # let every worker's index catch up
                    print("measuring checks...", file=sys.stderr)
                    results.append(await bench_check(client, mixed, args.check_rounds))
                    results.append(await bench_check_per_item(client, mixed[: args.per_item]))
                    results.append(
                        await bench_naive_sql_check(engine, declared, mixed[: args.per_item])
                    )
                finally:
                    await engine.dispose()
        finally:
            stop_node(process)
    return results


def print_table(results: list[Result], database_url: str | None, workers: int) -> None:
    backend = "PostgreSQL" if database_url and "postgres" in database_url else "SQLite"
    print(
        f"\nconsent-registry node benchmark ({backend}, {workers} worker(s), "
        f"{os.cpu_count()} CPUs)\n"
    )
    header = f"{'what':<8} {'how':<46} {'items':>9} {'seconds':>8} {'items/s':>11}"
    print(header)
    print("-" * len(header))
    for r in results:
        print(f"{r.what:<8} {r.how:<46} {r.items:>9,} {r.seconds:>8.2f} {r.rate:>11,.0f}")
    batch_ingest = results[0].rate
    print()
    print(f"batch ingest vs one HTTP request per item: {batch_ingest / results[1].rate:,.1f}x")
    print(f"batch ingest vs one SQL commit per item:   {batch_ingest / results[2].rate:,.1f}x")
    print(f"/v1/check vs one HTTP GET per item:        {results[3].rate / results[4].rate:,.0f}x")
    print(f"/v1/check vs one SQL SELECT per item:      {results[3].rate / results[5].rate:,.0f}x")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--database-url", help="empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument(
        "--declarations",
        type=int,
        default=20_000,
        help="declarations ingested through the batch endpoint",
    )
    parser.add_argument(
        "--singles", type=int, default=2_000, help="declarations ingested one request each"
    )
    parser.add_argument(
        "--naive", type=int, default=2_000, help="declarations for the SQL commit-per-item baseline"
    )
    parser.add_argument(
        "--check-rounds", type=int, default=5, help="times the 20,000-hash check set is sent"
    )
    parser.add_argument(
        "--per-item", type=int, default=3_000, help="hashes for the per-item baselines"
    )
    args = parser.parse_args()
    results = asyncio.run(main_async(args))
    print_table(results, args.database_url, args.workers)


if __name__ == "__main__":
    main()
