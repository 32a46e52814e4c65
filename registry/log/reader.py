"""Reads of the log: checkpoint, hash tiles, entry bundles, entries and fresh receipts.

Everything is read from the database, so a reader sees what every writer committed. Reads need
no snapshot across queries: a stored tile only ever grows by appending hashes (a full tile never
changes) and entries never change, so data read after the checkpoint is a superset of what that
checkpoint covers, and is cut to the checkpoint's widths (C2SP tlog-tiles).
"""

from __future__ import annotations

from collections.abc import AsyncIterator

from registry.core.errors import TileError
from registry.core.merkle import HASH_SIZE
from registry.core.tiles import TILE_WIDTH, TileCoord, encode_entry_bundle
from registry.log.errors import LogCorruptError, UnknownEntryError
from registry.log.receipts import make_receipts
from registry.log.tilestore import FullTileCache
from registry.storage.repository import Head, LogStore

__all__ = ["ENTRY_PAGE", "LogReader"]

ENTRY_PAGE = 1000
"""Entries fetched per query by :meth:`LogReader.entries`."""


class LogReader:
    """Read operations on one log's database."""

    def __init__(self, store: LogStore, cache: FullTileCache) -> None:
        self._store = store
        self._cache = cache
        self.entries_read = 0  # entries streamed by entries(): start-up must read none (ADR 0010)

    async def head(self) -> Head:
        """Return the checkpoint row. Raises LogCorruptError if there is none."""
        head = await self._store.head()
        if head is None:
            raise LogCorruptError("the database has no checkpoint row; was the log initialised?")
        return head

    async def read_tile(self, level: int, index: int, width: int | None) -> bytes | None:
        """Return hash tile (``level``, ``index``): full when ``width`` is None, else the partial
        tile of ``width`` hashes (C2SP tlog-tiles ``.p/<W>``). None if it does not exist (yet)
        or the coordinates are invalid."""
        coord = _coord(level, index, width)
        if coord is None:
            return None
        data = self._cache.get(level, index) if coord.is_full else None
        if data is None:
            data = await self._store.tile(level, index)
        if data is None or len(data) < coord.width * HASH_SIZE:
            return None
        self._cache.put(level, index, data)
        return data[: coord.width * HASH_SIZE]

    async def read_entry_bundle(self, index: int, width: int | None) -> bytes | None:
        """Return entry bundle ``index`` (full when ``width`` is None, else its first ``width``
        entries), built from the stored entries; None if not (yet) available or invalid."""
        coord = _coord(0, index, width)
        if coord is None:
            return None
        start = index * TILE_WIDTH
        rows = await self._store.entries(start, start + coord.width)
        if len(rows) != coord.width:
            return None
        return encode_entry_bundle([data for _, _, data in rows])

    async def find(self, declaration_id: str) -> tuple[int, bytes] | None:
        """Return (index, entry) of the entry with record id ``declaration_id``, or None."""
        return await self._store.find(declaration_id)

    async def receipt(self, index: int) -> str:
        """Return a fresh C2SP tlog-proof for entry ``index`` against the latest checkpoint.

        Raises UnknownEntryError if the log has no entry ``index``; LogCorruptError if a tile
        it needs is missing.
        """
        head = await self.head()
        if not 0 <= index < head.size:
            raise UnknownEntryError(f"the log has no entry {index} (its size is {head.size})")
        receipts = await make_receipts(
            self._store, [index], head.size, head.note, cache=self._cache
        )
        return receipts[index]

    async def entries(
        self, start: int, stop: int, *, page: int = ENTRY_PAGE
    ) -> AsyncIterator[tuple[int, bytes]]:
        """Yield (index, entry) for start <= index < stop, fetching ``page`` entries per query.

        Stops early at the end of the log.
        """
        position = max(start, 0)
        while position < stop:
            rows = await self._store.entries(position, min(position + page, stop))
            for index, _, data in rows:
                self.entries_read += 1
                yield index, data
            if len(rows) < min(page, stop - position):
                return
            position += page


def _coord(level: int, index: int, width: int | None) -> TileCoord | None:
    """The tile coordinate asked for, or None if it is invalid."""
    try:
        return TileCoord(level, index, TILE_WIDTH if width is None else width)
    except TileError:
        return None
