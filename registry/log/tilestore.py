"""Fetching the hash tiles a computation needs, in one query, cut to the widths it needs.

The core's proof and root functions take a ``Mapping[TileCoord, bytes]``. The database keeps
only the latest contents of each tile, which for a partial tile may be wider than a tree size
needs (another batch may have been committed meanwhile); because tiles only grow by appending,
the first ``width`` hashes are exactly the narrower tile (C2SP tlog-tiles).
"""

from __future__ import annotations

from collections.abc import Iterable

from registry.core.merkle import HASH_SIZE
from registry.core.tiles import TILE_WIDTH, TileCoord
from registry.log.errors import LogCorruptError
from registry.storage.repository import LogStore

__all__ = ["FullTileCache", "fetch_tiles"]


class FullTileCache:
    """A bounded cache of full tiles. Full tiles never change, so a cached one is never stale."""

    def __init__(self, capacity: int = 1024) -> None:
        self._capacity = capacity
        self._tiles: dict[tuple[int, int], bytes] = {}

    def get(self, level: int, index: int) -> bytes | None:
        """Return the cached full tile (``level``, ``index``), or None."""
        return self._tiles.get((level, index))

    def put(self, level: int, index: int, data: bytes) -> None:
        """Remember ``data`` if it is a full tile (partial tiles change and are not cached)."""
        if len(data) != TILE_WIDTH * HASH_SIZE:
            return
        if len(self._tiles) >= self._capacity:
            # Oldest first: dicts keep insertion order.
            del self._tiles[next(iter(self._tiles))]
        self._tiles[(level, index)] = data


async def fetch_tiles(
    store: LogStore, coords: Iterable[TileCoord], cache: FullTileCache | None = None
) -> dict[TileCoord, bytes]:
    """Return the tiles ``coords``, each exactly ``coord.width`` hashes, with one query.

    Full tiles come from ``cache`` when present there. Raises LogCorruptError if a tile is
    missing or shorter than a tree the checkpoint covers requires.
    """
    wanted = set(coords)
    result: dict[TileCoord, bytes] = {}
    missing: list[TileCoord] = []
    for coord in wanted:
        cached = cache.get(coord.level, coord.index) if cache and coord.is_full else None
        if cached is None:
            missing.append(coord)
        else:
            result[coord] = cached
    stored = await store.tiles((c.level, c.index) for c in missing)
    for coord in missing:
        data = stored.get((coord.level, coord.index))
        need = coord.width * HASH_SIZE
        if data is None or len(data) < need:
            have = "missing" if data is None else f"{len(data) // HASH_SIZE} hashes wide"
            raise LogCorruptError(
                f"tile level {coord.level} index {coord.index} is {have}, but the log's "
                f"checkpoint needs it {coord.width} hashes wide"
            )
        result[coord] = data[:need]
        if cache is not None:
            cache.put(coord.level, coord.index, data)
    return result
