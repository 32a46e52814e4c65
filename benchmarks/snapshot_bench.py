"""Offline snapshots (spec §8): the signed binary fuse filter against a plain Python set.

Usage::

    python benchmarks/snapshot_bench.py --quick [--out FILE]   # 200k reserved works, < 30 s
    python benchmarks/snapshot_bench.py [--out FILE]           # 2M reserved works

Data: ``n`` random 32-byte SHA-256 values are the reserved works; queries are half members (at
most ``n``), the rest fresh random digests; a separate set of non-members gives the measured
false-positive rate. Every figure is measured
in the same run on the same data beside its baseline: a Python ``set`` of the raw 32-byte
digests, which is what a crawler would otherwise download and hold (no signature, 32 bytes of
payload per entry plus the set's own overhead).

Rows: build rate (items/s, filter construction + signing vs building the set), bytes per entry
(snapshot file vs the set's resident memory), single checks/s in pure Python (core lookup vs
``in set``), batch checks/s with NumPy (including key extraction) vs ``in set``, and the
measured false-positive rate against the rate the header states.

Prints a table and, with ``--out``, writes JSON rows
``{name, value, baseline, baseline_value, unit, ratio}``; ``ratio`` is how many times better
ours is (baseline/value for bytes and rates of error, value/baseline for rates): above 1 is
better. Needs numpy.
"""

from __future__ import annotations

import argparse
import gc
import hashlib
import json
import os
import sys
import time
from pathlib import Path
from typing import Any

import numpy as np

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from consent.snapshot_numpy import contains_keys, sha256_keys

from registry.core.note import NoteSigner
from registry.core.snapshot import build_filter, make_snapshot, open_snapshot, sha256_key

Rows = list[dict[str, Any]]


def rss() -> int:
    """Resident set size of this process in bytes (Linux)."""
    with open("/proc/self/statm") as f:
        return int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE")


def row(name: str, value: float, baseline: str, baseline_value: float, unit: str) -> dict[str, Any]:
    """One result row; ratio > 1 means ours is better."""
    lower_is_better = unit in ("bytes/entry", "fraction")
    if lower_is_better:
        ratio = baseline_value / value if value else float("inf")
    else:
        ratio = value / baseline_value if baseline_value else float("inf")
    return {
        "name": name,
        "value": value,
        "baseline": baseline,
        "baseline_value": baseline_value,
        "unit": unit,
        "ratio": round(ratio, 3),
    }


def run(n: int, queries: int, bits: int) -> Rows:
    """Measure everything for ``n`` reserved works and ``queries`` lookups."""
    rng = np.random.default_rng(7)
    members = rng.integers(0, 256, (n, 32), dtype=np.uint8).tobytes()
    strangers = rng.integers(0, 256, (queries, 32), dtype=np.uint8).tobytes()
    member_digests = [members[i : i + 32] for i in range(0, len(members), 32)]
    stranger_digests = [strangers[i : i + 32] for i in range(0, len(strangers), 32)]
    half = min(queries // 2, n)
    query_digests = member_digests[:half] + stranger_digests[: queries - half]
    signer = NoteSigner.from_seed("bench.example/log", hashlib.sha256(b"bench").digest())
    rows: Rows = []

    # build: keys -> filter -> signed file; baseline: a set of the raw digests
    started = time.perf_counter()
    fuse = build_filter(
        (sha256_key(d) for d in member_digests), fingerprint_bits=bits, seed_material=b"bench"
    )
    data = make_snapshot(
        origin="bench.example/log", size=n, root_hash=bytes(32), fuse=fuse, signers=[signer]
    )
    build_s = time.perf_counter() - started
    gc.collect()
    before = rss()
    started = time.perf_counter()
    baseline_set = set(member_digests)
    set_s = time.perf_counter() - started
    gc.collect()
    set_bytes = rss() - before + 33 * n  # the set plus the bytes objects it holds (~33+ B each)
    rows.append(row(f"snapshot build ({bits}-bit, n={n})", n / build_s,
                    "python set of 32-byte digests", n / set_s, "items/s"))  # fmt: skip
    rows.append(row(f"snapshot bytes per entry ({bits}-bit)", len(data) / n,
                    "python set of 32-byte digests (RSS)", set_bytes / n,
                    "bytes/entry"))  # fmt: skip
    rows.append(row(f"snapshot download per entry ({bits}-bit)", len(data) / n,
                    "raw 32-byte digest list", 32.0, "bytes/entry"))  # fmt: skip

    snapshot = open_snapshot(data, signer.verifier)
    contains = snapshot.contains_sha256
    started = time.perf_counter()
    single_hits = sum(1 for d in query_digests if contains(d))
    single_s = time.perf_counter() - started
    started = time.perf_counter()
    set_hits = sum(1 for d in query_digests if d in baseline_set)
    set_check_s = time.perf_counter() - started
    assert single_hits >= set_hits == half  # no false negatives
    rows.append(row("offline check, pure Python (checks/s)", queries / single_s,
                    "python set lookup", queries / set_check_s, "checks/s"))  # fmt: skip

    query_bytes = b"".join(query_digests)
    started = time.perf_counter()
    hits = contains_keys(snapshot.filter, sha256_keys(query_bytes))
    batch_s = time.perf_counter() - started
    assert bool(hits[:half].all())
    rows.append(row("offline check, NumPy batch (checks/s)", queries / batch_s,
                    "python set lookup", queries / set_check_s, "checks/s"))  # fmt: skip

    stranger_hits = contains_keys(snapshot.filter, sha256_keys(strangers))
    measured = float(stranger_hits.sum()) / queries
    rows.append(row(f"false-positive rate ({queries} non-members)", measured,
                    "stated in the header", snapshot.header.fpr, "fraction"))  # fmt: skip
    return rows


def print_table(rows: Rows) -> None:
    """Print rows as an aligned table."""
    print(f"{'figure':48} {'ours':>14} {'baseline':>14} {'unit':>12} {'ratio':>8}  baseline")
    for r in rows:
        print(
            f"{r['name']:48} {r['value']:>14.6g} {r['baseline_value']:>14.6g} "
            f"{r['unit']:>12} {r['ratio']:>8.3g}  {r['baseline']}"
        )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--quick", action="store_true", help="200k entries, under 30 s")
    parser.add_argument("--out", type=Path, help="write the rows as JSON to this file")
    parser.add_argument("--bits", type=int, choices=(8, 16), default=16)
    args = parser.parse_args(argv)
    n, queries = (200_000, 1_000_000) if args.quick else (2_000_000, 4_000_000)
    rows = run(n, queries, args.bits)
    print_table(rows)
    if args.out:
        args.out.write_text(json.dumps(rows, indent=2) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
