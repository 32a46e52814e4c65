"""Load test (a script, not a test): sustained throughput, then twice that load (issue 7).

Starts a real node (``registry serve`` on 127.0.0.1, fresh SQLite in a temp dir, or
``--database-url``), or targets a running one (``--url``, loopback only), and runs two timed
phases:

1. **sustained**: closed-loop clients for ``--duration`` seconds: single submissions
   (``POST /v1/declarations``), batch submissions of ``--batch-size``
   (``POST /v1/declarations:batch``), batch checks of 100 hashes (``POST /v1/check``) and
   single work lookups (``GET /v1/works/sha256/{hash}``). Each kind's request rate, entry
   rate, error rate and latency are reported.
2. **overload**: open-loop, requests launched at twice the sustained request rate of each kind
   whatever the node answers, for ``--duration`` seconds, while ``/healthz`` is probed every
   100 ms. A node started by the script has a small pool (``--max-pending``), so it must shed
   submissions with 503 + ``Retry-After``; the report gives how many, any other error, and the
   health check's latency under overload.

Usage::

    .venv/bin/python benchmarks/load.py                    # SQLite, 10 s per phase
    .venv/bin/python benchmarks/load.py --duration 3       # quicker
    .venv/bin/python benchmarks/load.py --database-url postgresql+asyncpg://postgres@127.0.0.1/load

Numbers depend on the machine; the load generator shares the CPU with the node (on 2 cores the
client's signing and HTTP take a large part of it).
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
from collections.abc import Callable, Coroutine
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

import aiohttp

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration

REGISTRY = shutil.which("registry", path=str(Path(sys.executable).parent)) or "registry"
JSON = {"Content-Type": "application/json"}


@dataclass
class Stats:
    """What one kind of request did during one phase."""

    kind: str
    entries_per_request: int = 1
    latencies: list[float] = field(default_factory=list)
    ok: int = 0
    shed: int = 0  # 503 with Retry-After
    shed_without_retry_after: int = 0
    errors: dict[str, int] = field(default_factory=dict)

    def record(self, status: int | str, latency: float, retry_after: bool = False) -> None:
        self.latencies.append(latency)
        if isinstance(status, int) and 200 <= status < 300:
            self.ok += 1
        elif status == 503:
            self.shed += 1
            self.shed_without_retry_after += not retry_after
        else:
            self.errors[str(status)] = self.errors.get(str(status), 0) + 1

    @property
    def requests(self) -> int:
        return len(self.latencies)

    def percentile(self, q: float) -> float:
        if not self.latencies:
            return 0.0
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def make_entries(count: int, seed: str) -> list[bytes]:
    """``count`` signed declarations (one work each) by 64 creators."""
    keys = [
        PrivateKey.from_seed(hashlib.sha256(f"{seed} {i}".encode()).digest()) for i in range(64)
    ]
    entries = []
    for i in range(count):
        key = keys[i % len(keys)]
        work = hashlib.sha256(f"{seed} work {i}".encode()).hexdigest()
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=[new_work(work, urls=[f"https://example.com/{seed}/{i}.png"])],
            prefs={"train-ai": "n"},
        )
        entries.append(encode_record(sign_declaration(record, key)))
    return entries


def work_hash(seed: str, i: int) -> str:
    return hashlib.sha256(f"{seed} work {i}".encode()).hexdigest()


class Source:
    """Entries to submit, handed out once each."""

    def __init__(self, entries: list[bytes]) -> None:
        self._entries = entries
        self._next = 0

    def take(self, n: int) -> list[bytes]:
        chunk = self._entries[self._next : self._next + n]
        self._next += len(chunk)
        return chunk

    @property
    def taken(self) -> int:
        return self._next


async def timed(
    session: aiohttp.ClientSession, method: str, url: str, stats: Stats, data: bytes | None = None
) -> None:
    started = time.perf_counter()
    try:
        async with session.request(method, url, data=data, headers=JSON) as response:
            await response.read()
            status: int | str = response.status
            retry_after = "Retry-After" in response.headers
    except (TimeoutError, aiohttp.ClientError) as exc:
        status, retry_after = type(exc).__name__, False
    stats.record(status, time.perf_counter() - started, retry_after)


@dataclass
class Workload:
    """The four request kinds, bound to a node, its entries and hashes to read."""

    base: str
    source: Source
    batch_size: int
    known: list[str]
    rng: random.Random = field(default_factory=lambda: random.Random(7))  # noqa: S311 - sampling

    def kinds(
        self,
    ) -> dict[str, Callable[[aiohttp.ClientSession, Stats], Coroutine[Any, Any, None]]]:
        return {
            "submit 1": self.submit_one,
            f"submit batch {self.batch_size}": self.submit_batch,
            "check 100": self.check,
            "work GET": self.work,
        }

    def entries_per_request(self, kind: str) -> int:
        return {"check 100": 100, f"submit batch {self.batch_size}": self.batch_size}.get(kind, 1)

    async def submit_one(self, session: aiohttp.ClientSession, stats: Stats) -> None:
        (entry,) = self.source.take(1) or [b""]
        if entry:
            await timed(session, "POST", self.base + "/v1/declarations", stats, entry)

    async def submit_batch(self, session: aiohttp.ClientSession, stats: Stats) -> None:
        chunk = self.source.take(self.batch_size)
        if chunk:
            body = b'{"declarations":[' + b",".join(chunk) + b"]}"
            await timed(session, "POST", self.base + "/v1/declarations:batch", stats, body)

    async def check(self, session: aiohttp.ClientSession, stats: Stats) -> None:
        hashes = [self.rng.choice(self.known) for _ in range(100)]
        body = ('{"sha256s":["' + '","'.join(hashes) + '"]}').encode()
        await timed(session, "POST", self.base + "/v1/check", stats, body)

    async def work(self, session: aiohttp.ClientSession, stats: Stats) -> None:
        url = f"{self.base}/v1/works/sha256/{self.rng.choice(self.known)}"
        await timed(session, "GET", url, stats)


async def sustained(
    session: aiohttp.ClientSession, load: Workload, clients: dict[str, int], duration: float
) -> dict[str, Stats]:
    """Closed loop: ``clients[kind]`` clients each send one request after the other."""
    stats = {kind: Stats(kind, load.entries_per_request(kind)) for kind in clients}
    kinds = load.kinds()
    deadline = time.monotonic() + duration

    async def client(kind: str) -> None:
        while time.monotonic() < deadline:
            before = stats[kind].requests
            await kinds[kind](session, stats[kind])
            if stats[kind].requests == before:  # out of entries
                return

    await asyncio.gather(*(client(k) for k, n in clients.items() for _ in range(n)))
    return stats


async def overload(
    session: aiohttp.ClientSession, load: Workload, rates: dict[str, float], duration: float
) -> tuple[dict[str, Stats], Stats]:
    """Open loop: launch ``rates[kind]`` requests a second of each kind, whatever the answers;
    probe /healthz every 100 ms meanwhile."""
    stats = {kind: Stats(kind, load.entries_per_request(kind)) for kind in rates}
    health = Stats("healthz")
    kinds = load.kinds()
    deadline = time.monotonic() + duration
    tasks: set[asyncio.Task[None]] = set()

    async def launcher(kind: str, rate: float) -> None:
        start = time.monotonic()
        sent = 0
        while time.monotonic() < deadline:
            due = start + sent / rate
            await asyncio.sleep(max(0.0, due - time.monotonic()))
            task = asyncio.create_task(kinds[kind](session, stats[kind]))
            tasks.add(task)
            task.add_done_callback(tasks.discard)
            sent += 1

    async def prober() -> None:
        while time.monotonic() < deadline:
            await timed(session, "GET", load.base + "/healthz", health)
            await asyncio.sleep(0.1)

    await asyncio.gather(*(launcher(k, r) for k, r in rates.items() if r > 0), prober())
    if tasks:
        await asyncio.wait(tasks, timeout=60)
    return stats, health


def print_table(title: str, stats: dict[str, Stats], duration: float) -> None:
    print(f"\n{title}")
    header = (
        f"{'kind':<18}{'requests':>9}{'req/s':>9}{'items/s':>10}{'ok':>8}{'503':>7}"
        f"{'other err':>10}{'err %':>7}{'p50 ms':>9}{'p99 ms':>9}"
    )
    print(header)
    print("-" * len(header))
    for s in stats.values():
        errors = sum(s.errors.values())
        print(
            f"{s.kind:<18}{s.requests:>9}{s.requests / duration:>9.0f}"
            f"{s.ok * s.entries_per_request / duration:>10.0f}{s.ok:>8}{s.shed:>7}{errors:>10}"
            f"{100 * (errors + s.shed) / max(s.requests, 1):>7.1f}"
            f"{1000 * s.percentile(0.5):>9.1f}{1000 * s.percentile(0.99):>9.1f}"
        )
        if s.errors:
            print(f"{'':<18}other errors: {s.errors}")


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_node(args: argparse.Namespace, data_dir: Path) -> tuple[subprocess.Popen[bytes], str]:
    port = free_port()
    db = ["--database-url", args.database_url] if args.database_url else []
    argv = [REGISTRY, "serve", "--host", "127.0.0.1", "--port", str(port), "--data-dir"]
    argv += [str(data_dir), *db, "--rate-limit", "0", "--max-pending", str(args.max_pending)]
    argv += ["--workers", str(args.workers), "--log-level", "warning"]
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    # the load comes from one client address: the hourly admission caps would refuse it
    env["REGISTRY_ADDRESS_HOURLY_LIMIT"] = "0"
    env["REGISTRY_CREATOR_HOURLY_LIMIT"] = "0"
    log = (data_dir.parent / "node.log").open("wb")
    # fixed argv, our own executable
    process = subprocess.Popen(argv, env=env, stdout=log, stderr=subprocess.STDOUT)  # noqa: S603
    return process, f"http://127.0.0.1:{port}"


async def wait_ready(session: aiohttp.ClientSession, base: str) -> None:
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        try:
            async with session.get(base + "/readyz") as response:
                if response.status == 200:
                    return
        except aiohttp.ClientError:
            pass
        await asyncio.sleep(0.1)
    raise SystemExit(f"the node at {base} did not become ready")


async def run(args: argparse.Namespace, base: str) -> int:
    connector = aiohttp.TCPConnector(limit=args.connections)
    timeout = aiohttp.ClientTimeout(total=30)
    async with aiohttp.ClientSession(connector=connector, timeout=timeout) as session:
        await wait_ready(session, base)
        seed = f"load-{time.time_ns()}"
        print(f"signing {args.entries} declarations...", file=sys.stderr)
        source = Source(make_entries(args.entries, seed))
        known = [work_hash(seed, i) for i in range(args.entries)]
        load = Workload(base, source, args.batch_size, known)
        clients = {"submit 1": 16, f"submit batch {args.batch_size}": 4, "check 100": 4}
        clients["work GET"] = 4
        print(f"sustained phase: {args.duration:.0f} s, clients {clients}", file=sys.stderr)
        steady = await sustained(session, load, clients, args.duration)
        print_table(f"sustained ({args.duration:.0f} s, closed loop)", steady, args.duration)
        rates = {kind: 2 * s.requests / args.duration for kind, s in steady.items()}
        print(f"overload phase: {args.duration:.0f} s at 2x the request rates", file=sys.stderr)
        shed, health = await overload(session, load, rates, args.duration)
        print_table(f"overload (2x, open loop, {args.duration:.0f} s)", shed, args.duration)
        print(
            f"\n/healthz under overload: {health.requests} probes, {health.ok} ok, "
            f"p50 {1000 * health.percentile(0.5):.1f} ms, "
            f"p99 {1000 * health.percentile(0.99):.1f} ms, "
            f"max {1000 * max(health.latencies, default=0):.1f} ms"
        )
        async with session.get(base + "/checkpoint") as response:
            size = (await response.text()).splitlines()[1]
        print(f"log size: {size}; entries handed to writers: {source.taken}")
        submitted = [s for kind, s in shed.items() if kind.startswith("submit")]
        total_shed = sum(s.shed for s in submitted)
        bad = sum(s.shed_without_retry_after for s in submitted)
        other = sum(sum(s.errors.values()) for s in [*steady.values(), *shed.values()])
        print(f"503 shed: {total_shed} (without Retry-After: {bad}); other errors: {other}")
        return 0 if (health.ok == health.requests and not bad and not other) else 1


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--url", help="a running node on loopback (default: start one)")
    parser.add_argument("--database-url", help="empty PostgreSQL database (default: SQLite)")
    parser.add_argument("--duration", type=float, default=10.0, help="seconds per phase")
    parser.add_argument("--entries", type=int, default=60_000, help="declarations to sign")
    parser.add_argument("--batch-size", type=int, default=50)
    parser.add_argument("--max-pending", type=int, default=256, help="pool of a started node")
    parser.add_argument("--workers", type=int, default=1)
    parser.add_argument("--connections", type=int, default=512)
    args = parser.parse_args()
    if args.url:
        host = urlsplit(args.url).hostname
        if host not in ("127.0.0.1", "localhost", "::1"):
            raise SystemExit("--url must be a loopback address: this tool loads a node hard")
        raise SystemExit(asyncio.run(run(args, args.url.rstrip("/"))))
    with tempfile.TemporaryDirectory(prefix="registry-load-") as tmp:
        process, base = start_node(args, Path(tmp) / "data")
        try:
            status = asyncio.run(run(args, base))
        finally:
            process.send_signal(signal.SIGINT)
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
        if status == 0 and not args.database_url:
            verified = subprocess.run(  # noqa: S603 - fixed argv, our own executable
                [REGISTRY, "log", "verify", "--data-dir", str(Path(tmp) / "data")],
                capture_output=True,
                text=True,
                check=False,
            )
            print(
                verified.stdout.strip().splitlines()[-1]
                if verified.returncode == 0
                else f"log verify FAILED: {verified.stderr.strip()}"
            )
            status = verified.returncode
    raise SystemExit(status)


if __name__ == "__main__":
    main()
