"""Binary fuse filter construction (spec §8.4.3): the core's pure Python against the node's NumPy.

Usage::

    python benchmarks/fuse_build.py [--keys N] [--bits 8|16]

Data: ``N`` random 64-bit keys (fixed seed) as a uint64 array, as the snapshot builder holds
them, and 32 bytes of seed material. Both builders run in this process on the same keys, one
after the other, each twice: once for the seconds (no tracing), once under tracemalloc for the
peak of Python allocations during the build (NumPy's arrays are traced too), per key. The core
is given the keys as an ``array('Q')`` (what ``SnapshotBuilder._publish_full`` has), the NumPy
builder a zero-copy view of it; the keys themselves are not counted.

Prints a table and whether both built the same filter (seed and bytes).
"""

from __future__ import annotations

import argparse
import array
import gc
import os
import sys
import time
import tracemalloc
from collections.abc import Callable
from pathlib import Path

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from registry.core.snapshot import BinaryFuseFilter, build_filter
from registry.indexes.fusebuild import build_filter_numpy


def measure(build: Callable[[], BinaryFuseFilter]) -> tuple[float, int, BinaryFuseFilter]:
    """(seconds, tracemalloc peak bytes, filter) of one build."""
    gc.collect()
    started = time.perf_counter()
    fuse = build()
    seconds = time.perf_counter() - started
    del fuse
    gc.collect()
    tracemalloc.start()
    fuse = build()
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return seconds, peak, fuse


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").splitlines()[0])
    parser.add_argument("--keys", type=int, default=1_000_000)
    parser.add_argument("--bits", type=int, choices=(8, 16), default=16)
    args = parser.parse_args()
    rng = np.random.default_rng(15)
    keys = array.array("Q", rng.integers(0, 2**64, size=args.keys, dtype=np.uint64).tobytes())
    material = bytes(range(32))
    bits = args.bits
    print(
        f"keys: {args.keys:,}, fingerprint bits: {bits}, "
        f"load average: {' '.join(f'{x:.2f}' for x in os.getloadavg())}"
    )
    print(f"{'builder':<34}{'s':>8}{'keys/s':>12}{'peak B/key':>12}")
    results = []
    for label, build in (
        (
            "core build_filter (pure Python)",
            lambda: build_filter(keys, fingerprint_bits=bits, seed_material=material),
        ),
        (
            "fusebuild.build_filter_numpy",
            lambda: build_filter_numpy(keys, fingerprint_bits=bits, seed_material=material),
        ),
    ):
        seconds, peak, fuse = measure(build)
        results.append((fuse.seed, fuse.data))
        print(f"{label:<34}{seconds:>8.2f}{args.keys / seconds:>12,.0f}{peak / args.keys:>12.1f}")
        del fuse
    print(f"same filter: {results[0] == results[1]}")


if __name__ == "__main__":
    main()
