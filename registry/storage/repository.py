"""The log's storage operations: every SQL statement the log engine issues lives here.

:class:`LogStore` is a thin, stateless layer over an ``AsyncEngine``: it knows the tables of
:mod:`registry.storage.schema` and nothing of Merkle trees or signatures. The one write path,
:meth:`LogStore.append`, is a single transaction guarded by a compare-and-swap on the
checkpoint's tree size, so two writers (tasks or processes) can never both extend the log.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registry.storage import schema
from registry.storage.index import apply_in, insert_rows

__all__ = ["Head", "LogStore", "StoredEntry"]


@dataclass(frozen=True, slots=True)
class Head:
    """The checkpoint row: the tree size, its root hash and the signed checkpoint note."""

    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class StoredEntry:
    """A new log entry to insert: its index, record id (hex SHA-256) and bytes."""

    index: int
    id: str
    data: bytes


# SQLite limits a statement to 32766 bound parameters; PostgreSQL to 65535.
_IN_CHUNK = 2000


class LogStore:
    """Reads and writes the log tables through ``engine`` (which the caller owns)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- checkpoint ------------------------------------------------------------------------

    async def head(self) -> Head | None:
        """Return the checkpoint row, or None before the log was initialised."""
        async with self.engine.connect() as conn:
            return await self._head(conn)

    @staticmethod
    async def _head(conn: AsyncConnection) -> Head | None:
        t = schema.checkpoint
        row = (
            await conn.execute(
                sa.select(t.c.size, t.c.root, t.c.note).where(t.c.id == schema.SINGLETON_ID)
            )
        ).one_or_none()
        if row is None:
            return None
        return Head(size=int(row.size), root=bytes(row.root), note=bytes(row.note))

    async def init_head(self, head: Head) -> bool:
        """Create the checkpoint row if there is none yet; return True if this call created it.

        Used once, for the empty log; a concurrent creator loses the primary-key race.
        """
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    sa.insert(schema.checkpoint).values(
                        id=schema.SINGLETON_ID, size=head.size, root=head.root, note=head.note
                    )
                )
        except IntegrityError:
            return False
        return True

    async def append(
        self,
        old_size: int,
        head: Head,
        new_entries: Sequence[StoredEntry],
        tiles: Iterable[tuple[int, int, bytes]],
        *,
        index_origin: str | None = None,
    ) -> bool:
        """Append ``new_entries``, store ``tiles`` and move the checkpoint, in ONE transaction.

        With ``index_origin`` (the log's origin; the integrator always passes it), the
        persistent index is updated with the new entries in the same transaction (ADR 0010).

        The checkpoint row is moved first, by compare-and-swap from ``old_size`` to
        ``head.size``: on PostgreSQL this takes the row lock, on SQLite the database write lock,
        so a concurrent writer waits and then finds the size changed. Returns False, having
        written nothing, if the log is no longer at ``old_size`` (or an entry index or id was
        taken meanwhile); the caller reloads and retries. Returns True once committed.
        """
        t = schema.checkpoint
        try:
            async with self.engine.begin() as conn:
                moved = await conn.execute(
                    sa.update(t)
                    .where(t.c.id == schema.SINGLETON_ID, t.c.size == old_size)
                    .values(size=head.size, root=head.root, note=head.note)
                )
                if moved.rowcount != 1:
                    await conn.rollback()
                    return False
                if new_entries:
                    await conn.run_sync(
                        insert_rows, schema.entries, [(e.index, e.id, e.data) for e in new_entries]
                    )
                await self._put_tiles(conn, list(tiles))
                if index_origin is not None and new_entries:
                    await apply_in(
                        conn, index_origin, [(e.index, e.data) for e in new_entries], own=True
                    )
        except IntegrityError:
            return False
        return True

    @staticmethod
    async def _put_tiles(conn: AsyncConnection, tiles: list[tuple[int, int, bytes]]) -> None:
        """Insert or overwrite ``tiles`` (portable upsert: delete the keys, then insert)."""
        if not tiles:
            return
        t = schema.tiles
        await conn.execute(sa.delete(t).where(_tile_keys(t, [(lv, ix) for lv, ix, _ in tiles])))
        await conn.execute(
            sa.insert(t), [{"level": lv, "idx": ix, "data": data} for lv, ix, data in tiles]
        )

    # -- tiles -----------------------------------------------------------------------------

    async def tile(self, level: int, index: int) -> bytes | None:
        """Return the stored contents of hash tile (``level``, ``index``), or None."""
        t = schema.tiles
        async with self.engine.connect() as conn:
            data = await conn.scalar(
                sa.select(t.c.data).where(t.c.level == level, t.c.idx == index)
            )
        return None if data is None else bytes(data)

    async def tiles(self, keys: Iterable[tuple[int, int]]) -> dict[tuple[int, int], bytes]:
        """Return the stored contents of the hash tiles ``keys`` (level, index), in one query.

        Missing tiles are absent from the result.
        """
        wanted = sorted(set(keys))
        if not wanted:
            return {}
        t = schema.tiles
        found: dict[tuple[int, int], bytes] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = await conn.execute(
                    sa.select(t.c.level, t.c.idx, t.c.data).where(_tile_keys(t, chunk))
                )
                for row in rows:
                    found[(int(row.level), int(row.idx))] = bytes(row.data)
        return found

    async def tile_count(self) -> int:
        """Return the number of stored hash tiles (all levels)."""
        async with self.engine.connect() as conn:
            return int(await conn.scalar(sa.select(sa.func.count()).select_from(schema.tiles)) or 0)

    # -- entries ---------------------------------------------------------------------------

    async def max_index(self) -> int | None:
        """Return the largest stored entry index, or None if there are no entries."""
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(sa.func.max(schema.entries.c.idx)))
        return None if value is None else int(value)

    async def entry_count(self) -> int:
        """Return the number of stored entries (a full scan on PostgreSQL)."""
        async with self.engine.connect() as conn:
            count = await conn.scalar(sa.select(sa.func.count()).select_from(schema.entries))
        return int(count or 0)

    async def indexes_of(self, ids: Iterable[str]) -> dict[str, int]:
        """Return {record id: index} for those of ``ids`` already in the log (batched query)."""
        wanted = sorted(set(ids))
        t = schema.entries
        found: dict[str, int] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = await conn.execute(sa.select(t.c.id, t.c.idx).where(t.c.id.in_(chunk)))
                for row in rows:
                    found[str(row.id)] = int(row.idx)
        return found

    async def find(self, record_id: str) -> tuple[int, bytes] | None:
        """Return (index, entry bytes) of the entry whose record id is ``record_id``, or None."""
        t = schema.entries
        async with self.engine.connect() as conn:
            row = (
                await conn.execute(sa.select(t.c.idx, t.c.data).where(t.c.id == record_id))
            ).one_or_none()
        return None if row is None else (int(row.idx), bytes(row.data))

    async def entries(self, start: int, stop: int) -> list[tuple[int, str, bytes]]:
        """Return (index, record id, bytes) of the stored entries with start <= index < stop."""
        t = schema.entries
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.idx, t.c.id, t.c.data)
                .where(t.c.idx >= start, t.c.idx < stop)
                .order_by(t.c.idx)
            )
            return [(int(r.idx), str(r.id), bytes(r.data)) for r in rows]

    # -- meta ----------------------------------------------------------------------------

    async def meta(self, name: str) -> str | None:
        """Return the ``meta`` value called ``name``, or None."""
        t = schema.meta
        async with self.engine.connect() as conn:
            value = await conn.scalar(sa.select(t.c.value).where(t.c.name == name))
        return None if value is None else str(value)

    async def init_meta(self, name: str, value: str) -> str:
        """Set ``meta[name] = value`` unless it is set; return the value that is now stored."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(sa.insert(schema.meta).values(name=name, value=value))
        except IntegrityError:
            stored = await self.meta(name)
            if stored is None:  # pragma: no cover - the row cannot vanish
                raise
            return stored
        return value

    async def put_meta(self, name: str, value: str) -> None:
        """Set ``meta[name] = value``, replacing what is stored (one transaction)."""
        t = schema.meta
        async with self.engine.begin() as conn:
            await conn.execute(sa.delete(t).where(t.c.name == name))
            await conn.execute(sa.insert(t).values(name=name, value=value))


def _tile_keys(t: sa.Table, keys: Sequence[tuple[int, int]]) -> sa.ColumnElement[bool]:
    """A WHERE clause matching the (level, idx) pairs ``keys``, grouped by level."""
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    return sa.or_(
        *(sa.and_(t.c.level == lv, t.c.idx.in_(ixs)) for lv, ixs in sorted(by_level.items()))
    )
