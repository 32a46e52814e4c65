"""The snapshot builder's memory per work (issue 15): what it holds, and what a full build costs.

Usage::

    python benchmarks/builder_memory.py [--works N] [--variants K] [--baseline-tree PATH]
                                        [--data DIR]

Data: ``N`` works reserved by one creator per 10 works (declarations of 10 works), each with a
URL, a PDQ hash, ``K`` ``pdq_variants`` (the CLI and the web app declare up to 16) and a media
type, submitted to a real :class:`registry.log.NodeLog` over an SQLite file (so its persistent
index is written as the node writes it). ``--data`` keeps the database for later runs.

Each builder runs in a process of its own over that database: this tree's, and with
``--baseline-tree`` the tree at that path (e.g. ``git worktree add --detach /tmp/builder-base
main``: the builder that keeps a ConsentState of the log), measured in the same run on the
same database. Per builder, one full snapshot:

- **held**: Python allocations the builder still holds after publishing it (tracemalloc,
  after a full collection), per work;
- **peak**: the peak of Python allocations during the refresh (transient), per work;
- **anon held / anon peak**: the process's anonymous resident memory (``RssAnon``: its heap,
  not the database pages SQLite maps, which the OS shares between processes and may drop)
  after the refresh (after a collection) and the highest sampled during it (every 5 ms),
  minus the same before it (the log open), per work, in a second run without tracemalloc;
  and the refresh's seconds in that run.

Prints a table, and whether every builder published the same snapshot file.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
ORIGIN = "bench.example/log"


def _hex(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def entries(works: int, variants: int) -> list[bytes]:
    from registry.core.keys import PrivateKey  # noqa: PLC0415
    from registry.core.records import (  # noqa: PLC0415
        encode_record,
        new_declaration,
        new_work,
        sign_declaration,
    )

    out = []
    for start in range(0, works, 10):
        key = PrivateKey.from_seed(hashlib.sha256(b"creator %d" % start).digest())
        items = [
            new_work(
                _hex(f"work {i}"),
                pdq=_hex(f"pdq {i}"),
                pdq_quality=90,
                pdq_variants=[_hex(f"crop {i} {j}") for j in range(variants)],
                urls=[f"https://example.com/{i}.png"],
                media_type="image/png",
            )
            for i in range(start, min(start + 10, works))
        ]
        record = new_declaration(
            creator=key.public_key.did, issued_at=1_700_000_000, works=items,
            prefs={"train-ai": "n"},
        )  # fmt: skip
        out.append(encode_record(sign_declaration(record, key)))
    return out


async def _write(url: str, key: Path, log_entries: list[bytes]) -> None:
    from registry.log import NodeLog, upgrade  # noqa: PLC0415
    from registry.log.custody import KeyFile  # noqa: PLC0415

    await upgrade(url)
    log = await NodeLog.open(url, origin=ORIGIN, custody=KeyFile(key))
    try:
        for start in range(0, len(log_entries), 1000):
            await log.submit_many(log_entries[start : start + 1000])
    finally:
        await log.close()


def _anon() -> int:
    """This process's anonymous resident memory (RssAnon), in bytes: its heap, without the
    database pages SQLite maps (file-backed, shared with every process reading the file)."""
    for line in Path("/proc/self/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name == "RssAnon":
            return int(value.split()[0]) * 1024
    raise RuntimeError("no RssAnon in /proc/self/status")


class _Sampler:
    """The highest :func:`_anon` seen, sampled every 5 ms in a thread."""

    def __init__(self) -> None:
        import threading  # noqa: PLC0415

        self.top = _anon()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()

    def _run(self) -> None:
        while not self._stop.wait(0.005):
            self.top = max(self.top, _anon())

    def stop(self) -> int:
        self._stop.set()
        self._thread.join()
        return max(self.top, _anon())


async def _child(url: str, key: Path, trace: bool) -> dict[str, float | str]:
    """One full snapshot by the builder of the tree first on ``sys.path``."""
    import tracemalloc  # noqa: PLC0415

    from registry.indexes.snapshots import SnapshotBuilder  # noqa: PLC0415
    from registry.log import NodeLog  # noqa: PLC0415
    from registry.log.custody import KeyFile  # noqa: PLC0415

    log = await NodeLog.open(url, custody=KeyFile(key))
    try:
        gc.collect()
        before = _anon()
        sampler = _Sampler()
        if trace:
            tracemalloc.start()
        builder = SnapshotBuilder(log.signer)
        started = time.perf_counter()
        published = await builder.refresh(log)
        seconds = time.perf_counter() - started
        top = sampler.stop()
        assert published is not None
        gc.collect()
        out: dict[str, float | str] = {
            "items": published.header.items,
            "seconds": seconds,
            "sha256": published.sha256,
        }
        if trace:
            held, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            out |= {"held": held, "peak": peak}
        else:
            out |= {"rss_held": _anon() - before, "rss_peak": top - before}
        del builder, published
        return out
    finally:
        await log.close()


def _measure(tree: Path, url: str, key: Path, trace: bool) -> dict[str, float | str]:
    command = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        str(tree),
        "--url",
        url,
        "--key",
        str(key),
    ]
    if trace:
        command.append("--trace")
    done = subprocess.run(command, check=True, capture_output=True, text=True)  # noqa: S603
    result: dict[str, float | str] = json.loads(done.stdout.strip().splitlines()[-1])
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=16)
    parser.add_argument("--baseline-tree", type=Path, default=None)
    parser.add_argument("--data", type=Path, default=None)
    parser.add_argument("--child", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--url", default="", help=argparse.SUPPRESS)
    parser.add_argument("--key", type=Path, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--trace", action="store_true", help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.child is not None:
        sys.path.insert(0, str(args.child.resolve()))
        print(json.dumps(asyncio.run(_child(args.url, args.key, args.trace))))
        return

    sys.path.insert(0, str(HERE.parent))
    import tempfile  # noqa: PLC0415

    data = args.data or Path(tempfile.mkdtemp(prefix="builder-memory-"))
    name = f"works-{args.works}-variants-{args.variants}"
    database, key = data / f"{name}.db", data / f"{name}.key"
    url = f"sqlite+aiosqlite:///{database}"
    if not database.exists():
        started = time.perf_counter()
        asyncio.run(_write(url, key, entries(args.works, args.variants)))
        print(f"wrote {database} in {time.perf_counter() - started:.0f} s", file=sys.stderr)
    trees = [("this tree (index)", HERE.parent)]
    if args.baseline_tree is not None:
        trees.append(("baseline tree", args.baseline_tree))
    print(
        f"works: {args.works:,}, pdq_variants per work: {args.variants}, "
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    header = ("builder", "items", "held B/w", "peak B/w", "anon held B/w", "anon peak B/w", "s")
    print(f"{header[0]:<20}{header[1]:>9}" + "".join(f"{h:>14}" for h in header[2:]))
    files = set()
    for label, tree in trees:
        traced = _measure(tree, url, key, trace=True)
        plain = _measure(tree, url, key, trace=False)
        per = [float(traced[k]) for k in ("held", "peak")]
        per += [float(plain[k]) for k in ("rss_held", "rss_peak")]
        files |= {traced["sha256"], plain["sha256"]}
        print(
            f"{label:<20}{int(traced['items']):>9,}"
            + "".join(f"{value / args.works:>14,.0f}" for value in per)
            + f"{float(plain['seconds']):>14.1f}"
        )
    # every builder published the same file (spec §8.6: its name determines its bytes)
    print(f"snapshot files identical: {len(files) == 1}")


if __name__ == "__main__":
    main()
