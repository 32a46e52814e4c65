"""The snapshot builder's memory per work (issue 15): what it keeps of each declaration.

Usage::

    python benchmarks/builder_memory.py [--works N] [--variants K]

Data: ``N`` works reserved by one creator per 10 works (declarations of 10 works), each with a
URL, a PDQ hash, ``K`` ``pdq_variants`` (the CLI and the web app declare up to 16) and a media
type. The log is held in memory (``levels_bench.Source``) and fed to a real
:class:`SnapshotBuilder`, which publishes a full snapshot; then the Python allocations it still
holds are measured (tracemalloc, after a full collection), per work.

Baseline, measured in the same run on the same entries: the builder keeping each declaration
whole (``_slim`` replaced by the identity), as it did before it dropped the works' fingerprints.
Prints a table.
"""

from __future__ import annotations

import argparse
import asyncio
import gc
import hashlib
import sys
import tracemalloc
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from levels_bench import NODE, Source

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.indexes import snapshots
from registry.indexes.snapshots import SnapshotBuilder


def _hex(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def entries(works: int, variants: int) -> list[bytes]:
    from registry.core.keys import PrivateKey  # noqa: PLC0415

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


def retained(log: list[bytes], *, whole: bool) -> tuple[float, int]:
    """(bytes the builder still holds per work, snapshot items) after one full snapshot."""
    original = snapshots._slim
    if whole:
        snapshots._slim = lambda record: record
    try:
        gc.collect()
        tracemalloc.start()
        builder = SnapshotBuilder(NODE)
        published = asyncio.run(builder.refresh(Source(log)))
        assert published is not None
        gc.collect()
        held, _ = tracemalloc.get_traced_memory()
        tracemalloc.stop()
    finally:
        snapshots._slim = original
    return held, published.header.items


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--works", type=int, default=100_000)
    parser.add_argument("--variants", type=int, default=16)
    args = parser.parse_args()
    log = entries(args.works, args.variants)
    slim, items = retained(log, whole=False)
    whole, whole_items = retained(log, whole=True)
    assert items == whole_items, "the reserved set must not depend on what is kept"
    print(
        f"works: {args.works:,}, pdq_variants per work: {args.variants}, snapshot items: {items:,}"
    )
    print(f"{'builder keeps':<36}{'bytes held per work':>22}")
    print(f"{'SHA-256 and URLs of works (now)':<36}{slim / args.works:>22,.0f}")
    print(f"{'whole declarations (baseline)':<36}{whole / args.works:>22,.0f}")


if __name__ == "__main__":
    main()
