"""Receipts (C2SP tlog-proof) for log entries, from stored tiles fetched in one query."""

from __future__ import annotations

import asyncio
from collections.abc import Iterable, Mapping

from registry.core.merkle import inclusion_proofs, tiles_for_inclusions
from registry.core.proof import build_receipts
from registry.core.tiles import TileCoord
from registry.log.tilestore import FullTileCache, fetch_tiles
from registry.storage.repository import LogStore

__all__ = ["THREAD_THRESHOLD", "make_receipts"]

THREAD_THRESHOLD = 16
"""From this many receipts on, they are computed in a worker thread."""


async def make_receipts(
    store: LogStore,
    indexes: Iterable[int],
    size: int,
    checkpoint_note: bytes,
    *,
    known: Mapping[TileCoord, bytes] | None = None,
    cache: FullTileCache | None = None,
) -> dict[int, str]:
    """Return {index: receipt} proving each of ``indexes`` in the tree of ``size`` entries.

    ``checkpoint_note`` is the signed checkpoint at ``size``. Tiles in ``known`` (e.g. those the
    integrator just wrote) are used as they are; all others are fetched in one query. Raises
    LogCorruptError if a needed tile is missing, and the core's InclusionProofError /
    ReceiptError if an index is not below ``size``.
    """
    wanted = sorted(set(indexes))
    needed = tiles_for_inclusions(wanted, size)
    have = dict(known or {})
    tiles = {c: have[c] for c in needed if c in have}
    tiles.update(await fetch_tiles(store, (c for c in needed if c not in have), cache))
    if len(wanted) < THREAD_THRESHOLD:
        return _build(wanted, size, tiles, checkpoint_note)
    # Proofs are rehashed from tiles: for a large batch, do it off the event loop so that the
    # node keeps answering requests meanwhile.
    return await asyncio.to_thread(_build, wanted, size, tiles, checkpoint_note)


def _build(
    indexes: list[int], size: int, tiles: Mapping[TileCoord, bytes], checkpoint_note: bytes
) -> dict[int, str]:
    """Compute the receipts (pure CPU work)."""
    return build_receipts(inclusion_proofs(indexes, size, tiles), checkpoint_note)
