"""Federation's storage operations: every SQL statement about peers, mirrors and witnessing.

:class:`FederationStore` is a thin, stateless layer over an ``AsyncEngine`` (like
:class:`registry.storage.repository.LogStore`): it knows the federation tables of
:mod:`registry.storage.schema` and nothing of Merkle trees or signatures. Writes that must be
atomic are one transaction each, guarded by a compare-and-swap on a tree size:

- a mirror chunk moves ``mirror_heads.pending`` from the size it expects (spec §7.3);
- committing a mirrored checkpoint moves ``mirror_heads.size`` from the size it expects;
- a witness moves ``witness_heads.size`` from the old size of the request (C2SP tlog-witness:
  checking the old size and persisting the new checkpoint must be atomic).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.exc import IntegrityError
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registry.storage import schema
from registry.storage.index import NO_LIMIT, apply_in, issued_at_of

__all__ = [
    "EvidenceRow",
    "FederationStore",
    "MirrorHead",
    "PeerRow",
    "WitnessHead",
]

_IN_CHUNK = 2000  # bound parameters per IN (...) list; SQLite allows 32766


INDEX_PAGE = 5000
"""Mirrored entries indexed per statement group when a mirror commits."""


@dataclass(frozen=True, slots=True)
class PeerRow:
    """A configured peer and the last mirroring outcome (``peers`` row)."""

    origin: str
    url: str
    vkey: str
    witness_vkey: str | None
    source: str
    seen_size: int = 0
    last_error: str | None = None
    last_attempt: int | None = None
    last_success: int | None = None


@dataclass(frozen=True, slots=True)
class MirrorHead:
    """A mirrored log's latest fully verified checkpoint, and how far rows were written ahead.

    ``note`` is None only for the empty starting state (``size == 0``).
    """

    origin: str
    size: int
    root: bytes
    note: bytes | None
    pending: int


@dataclass(frozen=True, slots=True)
class WitnessHead:
    """The latest checkpoint of ``origin`` this node cosigned (C2SP tlog-witness state)."""

    origin: str
    size: int
    root: bytes
    note: bytes


@dataclass(frozen=True, slots=True)
class EvidenceRow:
    """Two signed checkpoints of one origin that cannot both be true (spec §7.6)."""

    digest: str
    origin: str
    kind: str
    note_a: bytes
    note_b: bytes
    proof: str
    root_in_b: bytes
    detected_at: int


class FederationStore:
    """Reads and writes the federation tables through ``engine`` (which the caller owns)."""

    def __init__(self, engine: AsyncEngine) -> None:
        self.engine = engine

    # -- peers -----------------------------------------------------------------------------

    async def peers(self) -> list[PeerRow]:
        """Every configured peer, by origin."""
        t = schema.peers
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t).order_by(t.c.origin))
            return [_peer(row) for row in rows]

    async def peer(self, origin: str) -> PeerRow | None:
        """The peer with this origin, or None."""
        t = schema.peers
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.origin == origin))).one_or_none()
        return None if row is None else _peer(row)

    async def put_peer(self, peer: PeerRow) -> None:
        """Insert a peer, or update its URL, keys and source (its status is kept)."""
        t = schema.peers
        values: dict[str, object] = {"url": peer.url, "vkey": peer.vkey, "source": peer.source}
        if peer.witness_vkey is not None:  # else keep a key pinned earlier
            values["witness_vkey"] = peer.witness_vkey
        for _attempt in range(2):  # a concurrent insert of the same origin: update it then
            try:
                async with self.engine.begin() as conn:
                    updated = await conn.execute(
                        sa.update(t).where(t.c.origin == peer.origin).values(**values)
                    )
                    if updated.rowcount == 0:
                        await conn.execute(
                            sa.insert(t).values(origin=peer.origin, seen_size=0, **values)
                        )
                return
            except IntegrityError:
                continue

    async def remove_peer(self, origin: str) -> bool:
        """Forget a peer's configuration (its mirrored log and evidence are kept)."""
        t = schema.peers
        async with self.engine.begin() as conn:
            result = await conn.execute(sa.delete(t).where(t.c.origin == origin))
        return bool(result.rowcount)

    async def set_witness_vkey(self, origin: str, vkey: str) -> None:
        """Pin a peer's witness verifier key (learned from its node description)."""
        t = schema.peers
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(t).where(t.c.origin == origin).values(witness_vkey=vkey))

    async def record_attempt(
        self, origin: str, *, at: int, seen_size: int | None, error: str | None
    ) -> None:
        """Record a mirroring attempt: the size the peer showed (if any) and its error (if any)."""
        t = schema.peers
        values: dict[str, object] = {"last_attempt": at, "last_error": error}
        if seen_size is not None:
            values["seen_size"] = seen_size
        if error is None:
            values["last_success"] = at
        async with self.engine.begin() as conn:
            await conn.execute(sa.update(t).where(t.c.origin == origin).values(**values))

    # -- mirrored logs -----------------------------------------------------------------------

    async def mirror_heads(self) -> dict[str, MirrorHead]:
        """Every mirrored log's head, by origin (peers removed since included)."""
        t = schema.mirror_heads
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t))
            return {str(r.origin): _mirror_head(r) for r in rows}

    async def mirror_head(self, origin: str) -> MirrorHead | None:
        """The head of the mirror of ``origin``, or None if it was never mirrored."""
        t = schema.mirror_heads
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.origin == origin))).one_or_none()
        return None if row is None else _mirror_head(row)

    async def init_mirror(self, origin: str, empty_root: bytes) -> MirrorHead:
        """Create the empty mirror state of ``origin`` unless it exists; return the stored one."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    sa.insert(schema.mirror_heads).values(
                        origin=origin, size=0, root=empty_root, note=None, pending=0
                    )
                )
        except IntegrityError:
            pass
        head = await self.mirror_head(origin)
        if head is None:  # pragma: no cover - the row cannot vanish
            raise RuntimeError(f"mirror state of {origin} vanished")
        return head

    async def reset_pending(self, origin: str, size: int) -> bool:
        """Drop rows written ahead of the committed ``size`` (an attempt that did not finish).

        Tiles are not deleted: every tile a later append covers is rewritten before it is read
        at a committed size (tiles only grow, spec §4.3.3). Returns False if the committed size
        is no longer ``size`` (another writer moved it).
        """
        heads, entries = schema.mirror_heads, schema.mirror_entries
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                sa.update(heads)
                .where(heads.c.origin == origin, heads.c.size == size)
                .values(pending=size)
            )
            if moved.rowcount != 1:
                await conn.rollback()
                return False
            await conn.execute(
                sa.delete(entries).where(entries.c.origin == origin, entries.c.idx >= size)
            )
        return True

    async def write_chunk(
        self,
        origin: str,
        pending: int,
        new_pending: int,
        entries: Sequence[tuple[int, str, bytes]],
        tiles: Iterable[tuple[int, int, bytes]],
    ) -> bool:
        """Write verified entries and tiles ahead of the committed head, in one transaction.

        Compare-and-swap from ``pending`` to ``new_pending``; False (nothing written) if another
        writer moved it or took an index.
        """
        heads = schema.mirror_heads
        try:
            async with self.engine.begin() as conn:
                moved = await conn.execute(
                    sa.update(heads)
                    .where(heads.c.origin == origin, heads.c.pending == pending)
                    .values(pending=new_pending)
                )
                if moved.rowcount != 1:
                    await conn.rollback()
                    return False
                if entries:
                    await conn.execute(
                        sa.insert(schema.mirror_entries),
                        [
                            {"origin": origin, "idx": i, "id": rid, "data": data}
                            for i, rid, data in entries
                        ],
                    )
                await _put_tiles(conn, origin, list(tiles))
        except IntegrityError:
            return False
        return True

    async def commit_mirror(
        self,
        origin: str,
        old_size: int,
        size: int,
        root: bytes,
        note: bytes,
        *,
        accept_until: int = NO_LIMIT,
    ) -> bool:
        """Move the mirror's committed checkpoint from ``old_size`` to ``size`` (CAS).

        Every entry and tile up to ``size`` MUST already be written (:meth:`write_chunk`). The
        newly committed entries are added to the persistent index in the same transaction
        (ADR 0010), so index and mirror can never disagree after a crash; those whose
        ``issued_at`` is beyond ``accept_until`` (the time this node first saw them plus its
        clock skew, spec §2.11) are not indexed, and ``mirror_commits`` records the limit so
        that ``registry index rebuild`` judges them alike.
        """
        t, e = schema.mirror_heads, schema.mirror_entries
        async with self.engine.begin() as conn:
            moved = await conn.execute(
                sa.update(t)
                .where(t.c.origin == origin, t.c.size == old_size, t.c.pending == size)
                .values(size=size, root=root, note=note)
            )
            if moved.rowcount != 1:
                await conn.rollback()
                return False
            if size > old_size:
                await conn.execute(
                    sa.insert(schema.mirror_commits),
                    [{"origin": origin, "size": size, "accept_until": accept_until}],
                )
            for start in range(old_size, size, INDEX_PAGE):
                rows = await conn.execute(
                    sa.select(e.c.idx, e.c.data)
                    .where(
                        e.c.origin == origin,
                        e.c.idx >= start,
                        e.c.idx < min(size, start + INDEX_PAGE),
                    )
                    .order_by(e.c.idx)
                )
                page = [
                    (int(r.idx), bytes(r.data))
                    for r in rows
                    if issued_at_of(bytes(r.data)) <= accept_until
                ]
                await apply_in(conn, origin, page, own=False)
        return True

    async def mirror_tiles(
        self, origin: str, keys: Iterable[tuple[int, int]]
    ) -> dict[tuple[int, int], bytes]:
        """The stored mirror tiles ``keys`` (level, index) of ``origin``; missing ones absent."""
        wanted = sorted(set(keys))
        t = schema.mirror_tiles
        found: dict[tuple[int, int], bytes] = {}
        async with self.engine.connect() as conn:
            for start in range(0, len(wanted), _IN_CHUNK):
                chunk = wanted[start : start + _IN_CHUNK]
                rows = await conn.execute(
                    sa.select(t.c.level, t.c.idx, t.c.data).where(
                        t.c.origin == origin, _tile_keys(t, chunk)
                    )
                )
                for row in rows:
                    found[(int(row.level), int(row.idx))] = bytes(row.data)
        return found

    async def mirror_entries(self, origin: str, start: int, stop: int) -> list[tuple[int, bytes]]:
        """(index, entry) of ``origin``'s mirrored entries with start <= index < stop."""
        t = schema.mirror_entries
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.idx, t.c.data)
                .where(t.c.origin == origin, t.c.idx >= start, t.c.idx < stop)
                .order_by(t.c.idx)
            )
            return [(int(r.idx), bytes(r.data)) for r in rows]

    async def find_mirrored(self, record_id: str) -> list[tuple[str, int, bytes]]:
        """(origin, index, entry) of every committed mirrored copy of ``record_id``, by origin."""
        e, h = schema.mirror_entries, schema.mirror_heads
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(e.c.origin, e.c.idx, e.c.data)
                .join(h, h.c.origin == e.c.origin)
                .where(e.c.id == record_id, e.c.idx < h.c.size)
                .order_by(e.c.origin, e.c.idx)
            )
            return [(str(r.origin), int(r.idx), bytes(r.data)) for r in rows]

    # -- witnessing --------------------------------------------------------------------------

    async def witness_heads(self) -> dict[str, WitnessHead]:
        """The latest cosigned checkpoint of every origin, by origin."""
        t = schema.witness_heads
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t))
            return {str(r.origin): _witness_head(r) for r in rows}

    async def witness_head(self, origin: str) -> WitnessHead | None:
        """The latest checkpoint of ``origin`` this node cosigned, or None."""
        t = schema.witness_heads
        async with self.engine.connect() as conn:
            row = (await conn.execute(sa.select(t).where(t.c.origin == origin))).one_or_none()
        return None if row is None else _witness_head(row)

    async def advance_witness(self, old_size: int, head: WitnessHead) -> bool:
        """Record ``head`` as cosigned if the stored size is still ``old_size`` (atomic CAS).

        ``old_size`` 0 with no stored row inserts the first one. False if another request won.
        """
        t = schema.witness_heads
        try:
            async with self.engine.begin() as conn:
                moved = await conn.execute(
                    sa.update(t)
                    .where(t.c.origin == head.origin, t.c.size == old_size)
                    .values(size=head.size, root=head.root, note=head.note)
                )
                if moved.rowcount == 1:
                    return True
                if old_size != 0:
                    return False
                exists = await conn.scalar(
                    sa.select(sa.func.count()).select_from(t).where(t.c.origin == head.origin)
                )
                if exists:
                    return False
                await conn.execute(
                    sa.insert(t).values(
                        origin=head.origin, size=head.size, root=head.root, note=head.note
                    )
                )
        except IntegrityError:
            return False
        return True

    # -- cosignatures on our own checkpoints ---------------------------------------------------

    async def put_cosignature(self, witness: str, size: int, root: bytes, line: str) -> None:
        """Keep ``witness``'s cosignature line for our checkpoint of ``size`` (newest wins)."""
        t = schema.cosignatures
        async with self.engine.begin() as conn:
            updated = await conn.execute(
                sa.update(t)
                .where(t.c.witness == witness, t.c.size <= size)
                .values(size=size, root=root, line=line)
            )
            if updated.rowcount == 0:
                exists = await conn.scalar(
                    sa.select(sa.func.count()).select_from(t).where(t.c.witness == witness)
                )
                if not exists:
                    await conn.execute(
                        sa.insert(t).values(witness=witness, size=size, root=root, line=line)
                    )

    async def cosignature_lines(self, size: int, root: bytes) -> list[str]:
        """The stored cosignature lines on our checkpoint of exactly this size and root."""
        t = schema.cosignatures
        async with self.engine.connect() as conn:
            rows = await conn.execute(
                sa.select(t.c.line).where(t.c.size == size, t.c.root == root).order_by(t.c.witness)
            )
            return [str(r.line) for r in rows]

    # -- evidence -----------------------------------------------------------------------------

    async def add_evidence(self, row: EvidenceRow) -> bool:
        """Store evidence unless the same pair is already stored; True if it is new."""
        try:
            async with self.engine.begin() as conn:
                await conn.execute(
                    sa.insert(schema.evidence).values(
                        digest=row.digest,
                        origin=row.origin,
                        kind=row.kind,
                        note_a=row.note_a,
                        note_b=row.note_b,
                        proof=row.proof,
                        root_in_b=row.root_in_b,
                        detected_at=row.detected_at,
                    )
                )
        except IntegrityError:
            return False
        return True

    async def evidence(self, origin: str | None = None) -> list[EvidenceRow]:
        """Stored evidence, oldest first; only ``origin``'s when given."""
        t = schema.evidence
        query = sa.select(t).order_by(t.c.detected_at, t.c.digest)
        if origin is not None:
            query = query.where(t.c.origin == origin)
        async with self.engine.connect() as conn:
            rows = await conn.execute(query)
            return [
                EvidenceRow(
                    digest=str(r.digest),
                    origin=str(r.origin),
                    kind=str(r.kind),
                    note_a=bytes(r.note_a),
                    note_b=bytes(r.note_b),
                    proof=str(r.proof),
                    root_in_b=bytes(r.root_in_b),
                    detected_at=int(r.detected_at),
                )
                for r in rows
            ]

    async def flagged_origins(self) -> set[str]:
        """Origins with stored evidence of equivocation."""
        t = schema.evidence
        async with self.engine.connect() as conn:
            rows = await conn.execute(sa.select(t.c.origin).distinct())
            return {str(r.origin) for r in rows}


def _peer(row: sa.Row[tuple[object, ...]]) -> PeerRow:
    m = row._mapping
    return PeerRow(
        origin=str(m["origin"]),
        url=str(m["url"]),
        vkey=str(m["vkey"]),
        witness_vkey=None if m["witness_vkey"] is None else str(m["witness_vkey"]),
        source=str(m["source"]),
        seen_size=int(m["seen_size"]),
        last_error=None if m["last_error"] is None else str(m["last_error"]),
        last_attempt=_int_or_none(m["last_attempt"]),
        last_success=_int_or_none(m["last_success"]),
    )


def _int_or_none(value: Any) -> int | None:
    return None if value is None else int(value)


def _mirror_head(row: sa.Row[tuple[object, ...]]) -> MirrorHead:
    m = row._mapping
    return MirrorHead(
        origin=str(m["origin"]),
        size=int(m["size"]),
        root=bytes(m["root"]),
        note=None if m["note"] is None else bytes(m["note"]),
        pending=int(m["pending"]),
    )


def _witness_head(row: sa.Row[tuple[object, ...]]) -> WitnessHead:
    m = row._mapping
    return WitnessHead(
        origin=str(m["origin"]),
        size=int(m["size"]),
        root=bytes(m["root"]),
        note=bytes(m["note"]),
    )


async def _put_tiles(
    conn: AsyncConnection, origin: str, tiles: list[tuple[int, int, bytes]]
) -> None:
    """Insert or overwrite mirror tiles (portable upsert: delete the keys, then insert)."""
    if not tiles:
        return
    t = schema.mirror_tiles
    keys = [(lv, ix) for lv, ix, _ in tiles]
    for start in range(0, len(keys), _IN_CHUNK):
        await conn.execute(
            sa.delete(t).where(t.c.origin == origin, _tile_keys(t, keys[start : start + _IN_CHUNK]))
        )
    await conn.execute(
        sa.insert(t),
        [{"origin": origin, "level": lv, "idx": ix, "data": data} for lv, ix, data in tiles],
    )


def _tile_keys(t: sa.Table, keys: Sequence[tuple[int, int]]) -> sa.ColumnElement[bool]:
    """A WHERE clause matching the (level, idx) pairs ``keys``, grouped by level."""
    by_level: dict[int, list[int]] = {}
    for level, index in keys:
        by_level.setdefault(level, []).append(index)
    return sa.or_(
        *(sa.and_(t.c.level == lv, t.c.idx.in_(ixs)) for lv, ixs in sorted(by_level.items()))
    )
