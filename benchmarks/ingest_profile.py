"""Where the time of an HTTP batch ingest goes: the node in process, every thread sampled.

Usage::

    .venv/bin/python benchmarks/ingest_profile.py --declarations 20000
    .venv/bin/python benchmarks/ingest_profile.py --database-url postgresql+asyncpg://...

It starts the real app (its lifespan: migrations, log, index, follower, snapshot builder) on a
fresh SQLite file (or an EMPTY database), posts ``POST /v1/declarations:batch`` requests of
1,000 declarations of 10 works (each with a URL and a PDQ hash, as ``benchmarks/scale.py``),
4 at a time, through httpx's ASGI transport, and samples the Python stacks of every thread
(the event loop, the validation thread, the SQLite driver's thread) every few milliseconds,
counting a thread only while the kernel has it running or ready to run (state R). It
prints, per thread, where the samples fall: by phase (the ``PHASES`` table, innermost match
wins), then the functions with the most samples, inclusive and exclusive. A thread waiting
for the GIL, a lock or I/O is not counted; one running C code without the GIL is. The HTTP
server (granian) is not in the picture; ``scale.py`` measures the whole.
"""

from __future__ import annotations

import argparse
import asyncio
import os
import sys
import tempfile
import threading
from collections import Counter
from collections.abc import Awaitable, Callable
from pathlib import Path
from types import FrameType

import httpx

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(1, str(Path(__file__).resolve().parent.parent))

import node_bench

from registry.app import create_app
from registry.config.settings import Settings

PER_REQUEST = 1000

PHASES: list[tuple[str, str]] = [
    # (phase, "module:function" prefix or "module:" for a whole module); the innermost frame
    # that matches decides the phase of a sample.
    ("request body / JSON decode", "registry/services/submissions.py:parse_batch"),
    ("validate (canonical + schema)", "registry/core/records.py:load_record"),
    ("validate (canonical + schema)", "registry/core/encoding.py:"),
    ("signature verify", "registry/core/keys.py:verify"),
    ("admission / quota", "registry/services/submissions.py:_admit"),
    ("admission / quota", "registry/services/quota.py:"),
    ("verified-key look-up", "registry/storage/trust.py:verified_keys"),
    ("sequencer record ids", "registry/log/sequencer.py:submit_many"),
    ("integrate: dedup look-up", "registry/storage/repository.py:indexes_of"),
    ("integrate: tree hashing", "registry/core/merkle.py:"),
    ("integrate: checkpoint sign", "registry/log/integrator.py:sign_tree_head"),
    ("append: entries + tiles + checkpoint", "registry/storage/repository.py:append"),
    ("append: index (apply_entries)", "registry/storage/index.py:apply_entries"),
    ("append: trust (apply_trust)", "registry/storage/trust.py:apply_trust"),
    ("append: commit", "sqlalchemy/engine/base.py:commit"),
    ("receipts", "registry/log/receipts.py:"),
    ("response encoding", "litestar/response/"),
    ("response encoding", "msgspec"),
    ("near files catch-up", "registry/indexes/persistent.py:catch_up"),
    ("near files catch-up", "registry/indexes/nearfile.py:"),
    ("near files catch-up", "registry/indexes/absent.py:"),
    ("snapshot builder", "registry/indexes/snapshots.py:"),
    ("sqlite driver thread", "aiosqlite/core.py:run"),
    ("asyncpg driver", "asyncpg/"),
]


def _where(frame: FrameType) -> str:
    code = frame.f_code
    return f"{code.co_filename}:{code.co_name}"


class Sampler:
    """Samples the stacks of every thread of this process every ``interval`` seconds."""

    def __init__(self, interval: float) -> None:
        self.interval = interval
        self.samples = 0
        self.phases: dict[str, Counter[str]] = {}
        self.inclusive: dict[str, Counter[str]] = {}
        self.exclusive: dict[str, Counter[str]] = {}
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, name="sampler", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._thread.join()

    def _run(self) -> None:
        me = threading.get_ident()
        while not self._stop.wait(self.interval):
            threads = {t.ident: t for t in threading.enumerate()}
            for ident, frame in sys._current_frames().items():
                thread = threads.get(ident)
                if ident == me or thread is None or not _running(thread.native_id):
                    continue
                self._sample(_thread_kind(thread.name), frame)
            self.samples += 1

    def _sample(self, thread: str, frame: FrameType) -> None:
        stack: list[str] = []
        walk: FrameType | None = frame
        while walk is not None:
            stack.append(_where(walk))
            walk = walk.f_back
        phase = "other"
        for where in stack:  # innermost first
            hit = next((p for p, prefix in PHASES if _matches(where, prefix)), None)
            if hit is not None:
                phase = hit
                break
        self.phases.setdefault(thread, Counter())[phase] += 1
        top = f"{_short(stack[0])}:{frame.f_lineno}"
        self.exclusive.setdefault(thread, Counter())[top] += 1
        inclusive = self.inclusive.setdefault(thread, Counter())
        for where in set(stack):
            inclusive[_short(where)] += 1


def _running(native_id: int | None) -> bool:
    """Whether the thread is on a CPU or ready to run (state R), not waiting (for the GIL,
    a lock, I/O)."""
    try:
        stat = Path(f"/proc/self/task/{native_id}/stat").read_text()
    except OSError:
        return False
    return stat.rsplit(")", 1)[1].split()[0] == "R"


def _cpu_by_kind() -> Counter[str]:
    """CPU time (user + system, in clock ticks) of this process's live threads, by kind."""
    ticks: Counter[str] = Counter()
    for thread in threading.enumerate():
        try:
            stat = Path(f"/proc/self/task/{thread.native_id}/stat").read_text()
        except OSError:
            continue
        fields = stat.rsplit(")", 1)[1].split()
        ticks[_thread_kind(thread.name)] += int(fields[11]) + int(fields[12])
    return ticks


def _thread_kind(name: str) -> str:
    if name.startswith("asyncio_"):
        return "to_thread pool"
    if name.startswith("Thread-"):
        return "driver thread (aiosqlite)"
    return name


def _matches(where: str, prefix: str) -> bool:
    file, _, function = where.rpartition(":")
    want_file, _, want_function = prefix.rpartition(":")
    if not want_file:  # a bare module fragment
        return prefix in file
    return want_file in file and function.startswith(want_function)


def _short(where: str) -> str:
    file, _, function = where.rpartition(":")
    for marker in ("/site-packages/", "/registry/", "/lib/python3"):
        if marker in file:
            file = file.split(marker, 1)[1]
            break
    return f"{file}:{function}"


async def run(args: argparse.Namespace) -> None:
    print(f"generating {args.declarations:,} declarations of 10 works ...")
    entries, _shas, _urls, _pdqs = node_bench.make_work_declarations(
        args.declarations, works=10, salt="profile", creators=200
    )
    tmp = Path(tempfile.mkdtemp(prefix="ingest-profile-"))
    settings = Settings(
        database_url=args.database_url or f"sqlite+aiosqlite:///{tmp / 'registry.db'}",
        data_dir=tmp,
        rate_limit=0,
        address_hourly_limit=0,
        max_pending=100_000,
    )
    app = create_app(settings)
    sampler = Sampler(args.interval)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(
            transport=transport, base_url="http://node.test", timeout=600
        ) as client:
            chunks = [entries[i : i + PER_REQUEST] for i in range(0, len(entries), PER_REQUEST)]

            def job(chunk: list[bytes]) -> Callable[[], Awaitable[None]]:
                async def post() -> None:
                    body = b'{"declarations":[' + b",".join(chunk) + b"]}"
                    response = await client.post("/v1/declarations:batch", content=body)
                    assert response.status_code == 200, response.text
                    assert response.json()["rejected"] == 0

                return post

            cpu_before = _cpu_by_kind()
            sampler.start()
            seconds = await node_bench.run_concurrently([job(c) for c in chunks], concurrency=4)
            sampler.stop()
            cpu = _cpu_by_kind()
            cpu.subtract(cpu_before)
    print(
        f"{len(entries):,} declarations in {seconds:.2f} s: {len(entries) / seconds:,.0f} decl/s; "
        f"{sampler.samples:,} samples every {args.interval * 1000:.0f} ms"
    )
    print("CPU per declaration by thread (threads alive at the end):")
    tick = os.sysconf("SC_CLK_TCK")
    for kind, spent in cpu.most_common():
        print(f"  {spent / tick / len(entries) * 1e6:8.0f} us  {kind}")
    for thread, phases in sorted(sampler.phases.items(), key=lambda kv: -kv[1].total()):
        total = phases.total()
        print(f"\n== thread {thread}: {total:,} busy samples ({total / sampler.samples:.0%})")
        for phase, count in phases.most_common():
            print(f"  {count / sampler.samples:6.1%}  {phase}")
        print("  -- top inclusive")
        for where, count in sampler.inclusive[thread].most_common(args.top):
            print(f"  {count / sampler.samples:6.1%}  {where}")
        print("  -- top exclusive")
        for where, count in sampler.exclusive[thread].most_common(args.top):
            print(f"  {count / sampler.samples:6.1%}  {where}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--declarations", type=int, default=20_000)
    parser.add_argument("--interval", type=float, default=0.002, help="seconds between samples")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--database-url", default=None, help="an EMPTY database (default: SQLite)")
    asyncio.run(run(parser.parse_args()))


if __name__ == "__main__":
    main()
