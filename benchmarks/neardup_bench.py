"""Near-duplicate (PDQ, 256-bit, radius 31) search: registry.neardup against its baselines.

Usage::

    python benchmarks/neardup_bench.py --quick [--out FILE]   # 1M hashes, about a minute
    python benchmarks/neardup_bench.py [--out FILE]           # 10M hashes

Data: uniform random 256-bit hashes, plus for half of the queries near-duplicates planted in the
index at distances 0..33 (the other half are fresh random hashes). Every figure is measured in
the same run on the same data beside a baseline: a plain NumPy brute-force scan (column layout,
full popcount), faiss-cpu ``IndexBinaryFlat`` (exhaustive) and ``IndexBinaryMultiHash`` with 16
hash tables of 16 bits and ``nflip = 31 // 16`` (exact at radius 31; what Meta's HMA uses).
The run checks that our answers equal faiss ``IndexBinaryFlat``'s, pair for pair.

Prints a table and, with ``--out``, writes JSON rows
``{name, value, baseline, baseline_value, unit, ratio}``; ``ratio`` is how many times better
ours is (baseline/value for times and bytes, value/baseline for rates): above 1 is better.
Needs numpy and faiss-cpu (the ``bench`` extra).
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

import faiss
import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.neardup import HammingIndex

RADIUS = 31
Rows = list[dict[str, Any]]


def rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def make_data(n: int, queries: int, seed: int = 1) -> tuple[np.ndarray, np.ndarray]:
    """``n`` random hashes (uint64 words) with planted near-duplicates of half the queries."""
    rng = np.random.default_rng(seed)
    hashes = rng.integers(0, 2**64, (n, 4), dtype=np.uint64, endpoint=False)
    q = rng.integers(0, 2**64, (queries, 4), dtype=np.uint64, endpoint=False)
    slots = rng.choice(n, queries // 2, replace=False)
    for i, slot in enumerate(slots):
        row = q[i].copy()
        for bit in rng.choice(256, i % 34, replace=False):
            row[bit // 64] ^= np.uint64(1) << np.uint64(63 - int(bit) % 64)
        hashes[slot] = row
    return hashes, q


def to_bytes(words: np.ndarray) -> np.ndarray:
    """(n, 4) uint64 words -> (n, 32) uint8 in the hash's byte order (faiss's code layout)."""
    return words.astype(">u8").view(np.uint8).reshape(len(words), 32)


def timed(fn: Callable[[], object], repeat: int = 1) -> float:
    """Best wall time of ``repeat`` calls, in seconds."""
    best = float("inf")
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        best = min(best, time.perf_counter() - start)
    return best


def latencies(fn: Callable[[int], object], count: int) -> tuple[float, float]:
    """Median and p99 (ms) of ``fn(i)`` over ``count`` calls."""
    times = []
    for i in range(count):
        start = time.perf_counter()
        fn(i)
        times.append((time.perf_counter() - start) * 1e3)
    times.sort()
    return statistics.median(times), times[min(len(times) - 1, int(len(times) * 0.99))]


class BruteForce:
    """The plain NumPy scan: column layout, full popcount of every row."""

    def __init__(self, hashes: np.ndarray) -> None:
        self.columns = [np.ascontiguousarray(hashes[:, k]) for k in range(4)]

    def search(self, q: np.ndarray) -> np.ndarray:
        total = np.bitwise_count(self.columns[0] ^ q[0]).astype(np.uint16)
        for k in range(1, 4):
            total += np.bitwise_count(self.columns[k] ^ q[k])
        return np.flatnonzero(total <= RADIUS)


def faiss_pairs(index: Any, q: np.ndarray) -> set[tuple[int, int]]:
    # faiss binary range_search keeps distances strictly below the radius.
    lims, _, ids = index.range_search(to_bytes(q), RADIUS + 1)
    return {(i, int(r)) for i in range(len(q)) for r in ids[lims[i] : lims[i + 1]]}


def run(n: int, queries: int) -> Rows:  # noqa: PLR0915 - one linear measurement script
    print(f"data: {n:,} random 256-bit hashes, {queries} queries (half planted), radius {RADIUS}")
    hashes, q = make_data(n, queries)
    rows: Rows = []

    def row(name: str, value: float, baseline: str, base: float, unit: str, *, lower: bool) -> None:
        ratio = (base / value if lower else value / base) if value and base else float("nan")
        rows.append(
            {
                "name": name,
                "value": round(value, 4),
                "baseline": baseline,
                "baseline_value": round(base, 4),
                "unit": unit,
                "ratio": round(ratio, 2),
            }
        )

    # --- build ---------------------------------------------------------------------------
    gc.collect()
    before = rss()
    start = time.perf_counter()
    ours = HammingIndex.from_arrays(hashes, np.arange(n))
    ours_build = time.perf_counter() - start
    ours_rss = rss() - before
    codes = to_bytes(hashes)
    before = rss()
    flat = faiss.IndexBinaryFlat(256)
    start = time.perf_counter()
    flat.add(codes)
    flat_build = time.perf_counter() - start
    flat_bytes = rss() - before
    before = rss()
    multi = faiss.IndexBinaryMultiHash(256, 16, 16)
    multi.nflip = RADIUS // 16  # pigeonhole: exact at radius 31 with 16 x 16-bit tables
    start = time.perf_counter()
    multi.add(codes)
    multi_build = time.perf_counter() - start
    multi_bytes = rss() - before
    del codes
    brute = BruteForce(hashes)
    for name, seconds in [
        ("faiss IndexBinaryMultiHash", multi_build),
        ("faiss IndexBinaryFlat", flat_build),
    ]:
        row("build rate", n / ours_build, name, n / seconds, "hashes/s", lower=False)
    print(f"ours: nbytes {ours.nbytes / n:.1f} B/hash, RSS growth {ours_rss / n:.1f} B/hash")
    row(
        "memory",
        ours.nbytes / n,
        "faiss IndexBinaryMultiHash",
        multi_bytes / n,
        "bytes/hash",
        lower=True,
    )
    row(
        "memory", ours.nbytes / n, "faiss IndexBinaryFlat", flat_bytes / n, "bytes/hash", lower=True
    )

    # --- correctness: the same pairs as faiss IndexBinaryFlat ------------------------------
    check = min(queries, 200)
    found = ours.search_arrays(q[:check])
    mine = set(zip(found.query.tolist(), found.payload.tolist(), strict=True))
    theirs = faiss_pairs(flat, q[:check])
    assert mine == theirs, f"disagreement with IndexBinaryFlat: {len(mine ^ theirs)} pairs"
    assert mine == faiss_pairs(multi, q[:check]), "disagreement with IndexBinaryMultiHash"
    print(f"agreement: {len(mine)} matches over {check} queries, identical to IndexBinaryFlat")

    # --- single-query latency ---------------------------------------------------------------
    single = min(queries, 500)
    slow = 5 if n > 2_000_000 else 20  # the exhaustive baselines take 0.1-1 s per query
    ours_med, ours_p99 = latencies(lambda i: ours.search_arrays(q[i : i + 1]), single)
    multi_med, multi_p99 = latencies(
        lambda i: multi.range_search(to_bytes(q[i : i + 1]), 32), single
    )
    flat_med, flat_p99 = latencies(lambda i: flat.range_search(to_bytes(q[i : i + 1]), 32), slow)
    brute_med, brute_p99 = latencies(lambda i: brute.search(q[i]), slow)
    for name, med, p99 in [
        ("faiss IndexBinaryMultiHash", multi_med, multi_p99),
        ("faiss IndexBinaryFlat", flat_med, flat_p99),
        ("NumPy brute-force scan", brute_med, brute_p99),
    ]:
        row("single query median", ours_med, name, med, "ms", lower=True)
        row("single query p99", ours_p99, name, p99, "ms", lower=True)

    # --- batch throughput ------------------------------------------------------------------
    batch = q[: min(queries, 1000)]
    ours_qps = len(batch) / timed(lambda: ours.search_arrays(batch), repeat=3)
    ours_qps2 = len(batch) / timed(lambda: ours.search_arrays(batch, workers=2), repeat=3)
    multi_qps = len(batch) / timed(lambda: multi.range_search(to_bytes(batch), 32), repeat=2)
    small = batch[: max(slow * 4, 20)]
    flat_qps = len(small) / timed(lambda: flat.range_search(to_bytes(small), 32))
    brute_qps = len(small[:slow]) / timed(lambda: [brute.search(x) for x in small[:slow]])
    for name, qps in [
        ("faiss IndexBinaryMultiHash", multi_qps),
        ("faiss IndexBinaryFlat", flat_qps),
        ("NumPy brute-force scan", brute_qps),
    ]:
        row("batch throughput (1 thread)", ours_qps, name, qps, "queries/s", lower=False)
        row("batch throughput (2 threads)", ours_qps2, name, qps, "queries/s", lower=False)
    return rows


def print_table(rows: Rows) -> None:
    head = f"{'figure':30} {'ours':>12} {'baseline':>30} {'theirs':>12} {'unit':>11} {'x':>8}"
    print(head)
    print("-" * len(head))
    for r in rows:
        print(
            f"{r['name']:30} {r['value']:>12,.3f} {r['baseline']:>30} "
            f"{r['baseline_value']:>12,.3f} {r['unit']:>11} {r['ratio']:>8,.2f}"
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--quick", action="store_true", help="1M hashes instead of 10M")
    parser.add_argument("--size", type=int, help="number of indexed hashes (overrides)")
    parser.add_argument("--queries", type=int, default=1000)
    parser.add_argument("--out", type=Path, help="write the rows as JSON here")
    args = parser.parse_args()
    n = args.size or (1_000_000 if args.quick else 10_000_000)
    started = time.perf_counter()
    rows = run(n, args.queries)
    print(f"machine: {os.cpu_count()} cores; {n:,} hashes; {time.perf_counter() - started:.0f} s")
    print_table(rows)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n")


if __name__ == "__main__":
    main()
