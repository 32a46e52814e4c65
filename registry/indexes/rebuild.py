"""``registry index rebuild``: recompute the persistent index from the logs, compare, repair.

The expected index is computed by the protocol core's in-memory
:class:`registry.core.state.ConsentState` (the reference resolution, spec §3.5) from every
entry of the own log up to its checkpoint and of every mirrored log up to its committed size,
all read in ONE database transaction together with the stored index, so that a node serving
meanwhile cannot make them differ (PostgreSQL: ``REPEATABLE READ``; SQLite: one read
transaction). The comparison covers every row of the four index tables (near-duplicate items as
a multiset: which log introduced a declaration first depends on arrival order, ADR 0010).

Repair replaces the stored rows with the expected ones in one transaction; run it with the node
stopped (or accept that it waits for the database write lock).

:func:`check_near_files` then compares this machine's near-duplicate files (ADR 0010) with the
``index_near`` rows they were fed from; repair discards differing files, which the workers
rebuild from the rows.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Iterator, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.core.errors import ProtocolError
from registry.core.records import AnyRecord, Declaration, decode_stored_entry, record_id
from registry.core.state import ConsentState, subjects_of
from registry.indexes.absent import DIGEST, AbsentFilter
from registry.indexes.nearfile import NearFiles, discard, files_differences
from registry.storage import schema
from registry.storage import trust as trust_tables
from registry.storage.engine import read_snapshot
from registry.storage.index import (
    NO_LIMIT,
    OWN,
    SHA256,
    Key,
    issued_at_of,
    near_items,
    subject_key,
)

__all__ = ["IndexCheck", "check_index", "check_near_files"]

_PAGE = 5000
_json = msgspec.json.Encoder()

DeclarationRow = tuple[bytes, str, int, str, bool, bool, str]
SubjectRow = tuple[int, bytes, bytes, bool]
NearRow = tuple[int, bytes, bytes, int]


@dataclass(slots=True)
class _Tables:
    declarations: set[DeclarationRow] = field(default_factory=set)
    supersessions: set[tuple[bytes, bytes]] = field(default_factory=set)
    subjects: set[SubjectRow] = field(default_factory=set)
    near: Counter[NearRow] = field(default_factory=Counter)
    positions: dict[NearRow, list[tuple[str, int, int]]] = field(default_factory=dict)
    trust: set[trust_tables.TrustRow] = field(default_factory=set)
    trust_refs: set[trust_tables.RefRow] = field(default_factory=set)
    trust_subjects: set[Key] = field(default_factory=set)


@dataclass(frozen=True, slots=True)
class IndexCheck:
    """The outcome of a rebuild: counts, the differences found, whether they were repaired."""

    entries: int
    mirrored: int
    declarations: int
    skipped: int
    differences: list[str]
    repaired: bool
    seconds: float

    @property
    def equal(self) -> bool:
        """True if the stored index equalled the recomputed one."""
        return not self.differences


def _entries(conn: Connection) -> Iterator[tuple[str, str, int, bytes]]:
    """(origin, ``OWN`` or the origin, index, entry) of every committed entry, own log first."""
    origin = conn.scalar(sa.select(schema.meta.c.value).where(schema.meta.c.name == "origin"))
    size = conn.scalar(sa.select(schema.checkpoint.c.size)) or 0
    e = schema.entries
    for start in range(0, int(size), _PAGE):
        rows = conn.execute(
            sa.select(e.c.idx, e.c.data)
            .where(e.c.idx >= start, e.c.idx < min(int(size), start + _PAGE))
            .order_by(e.c.idx)
        )
        for row in rows:
            yield str(origin), OWN, int(row.idx), bytes(row.data)
    h, m, c = schema.mirror_heads, schema.mirror_entries, schema.mirror_commits
    for peer, committed in conn.execute(sa.select(h.c.origin, h.c.size).order_by(h.c.origin)):
        # spec §2.11: each committed range counts only entries dated up to its limit
        limits = [
            (int(r.size), int(r.accept_until))
            for r in conn.execute(
                sa.select(c.c.size, c.c.accept_until).where(c.c.origin == peer).order_by(c.c.size)
            )
        ]
        for start in range(0, int(committed), _PAGE):
            rows = conn.execute(
                sa.select(m.c.idx, m.c.data)
                .where(
                    m.c.origin == peer,
                    m.c.idx >= start,
                    m.c.idx < min(int(committed), start + _PAGE),
                )
                .order_by(m.c.idx)
            )
            for row in rows:
                index, data = int(row.idx), bytes(row.data)
                if issued_at_of(data) <= _limit_at(limits, index):
                    yield str(peer), str(peer), index, data


def _limit_at(limits: list[tuple[int, int]], index: int) -> int:
    """The ``accept_until`` of the commit that covered entry ``index`` (none recorded: no
    limit)."""
    for size, until in limits:
        if index < size:
            return until
    return NO_LIMIT


def _expected(conn: Connection) -> tuple[_Tables, int, int, int]:
    state = ConsentState()
    tables = _Tables()
    trust: dict[str, tuple[AnyRecord, bytes, set[str]]] = {}
    own = mirrored = skipped = 0
    for origin, near_origin, index, entry in _entries(conn):
        if near_origin == OWN:
            own += 1
        else:
            mirrored += 1
        try:
            any_record = decode_stored_entry(entry)
            if not isinstance(any_record, Declaration):  # spec §9.3: the trust tables
                trust.setdefault(record_id(entry), (any_record, entry, set()))[2].add(origin)
                continue
            record = any_record
            new = state.add(record_id(entry), record, origin=origin)
        except ProtocolError:
            skipped += 1
            continue
        if new:
            for position, item in enumerate(near_items(record)):
                row = (item.kind, item.sha256, item.key, item.quality)
                tables.near[row] += 1
                tables.positions.setdefault(row, []).append((near_origin, index, position))
    for declaration_id, record, origins, superseded in state.declarations():
        key = bytes.fromhex(declaration_id)
        prefs = _json.encode(dict(sorted(record.prefs.items()))).decode()
        tables.declarations.add(
            (key, record.creator, record.issued_at, prefs, record.withdraw, superseded,
             " ".join(origins))
        )  # fmt: skip
        for target in record.supersedes:
            tables.supersessions.add((subject_key(("sha256", target))[1], key))
        for subject in subjects_of(record):
            kind, value = subject_key(subject)
            winner = state.winner(record.creator, subject) == declaration_id
            tables.subjects.add((kind, value, key, winner))
    tables.trust, tables.trust_refs, tables.trust_subjects = trust_tables.expected_tables(
        ((i, r, e, tuple(o)) for i, (r, e, o) in trust.items()),
        ((i, r) for i, r, _, _ in state.declarations()),
    )
    return tables, own, mirrored, skipped


def _stored(conn: Connection) -> _Tables:
    d, s = schema.index_declarations, schema.index_supersessions
    st, n = schema.index_subjects, schema.index_near
    tables = _Tables()
    for r in conn.execute(sa.select(d)):
        tables.declarations.add(
            (bytes(r.id), r.creator, int(r.issued_at), r.prefs, bool(r.withdraw),
             bool(r.superseded), r.origins)
        )  # fmt: skip
    tables.supersessions = {
        (bytes(r.target), bytes(r.superseder)) for r in conn.execute(sa.select(s))
    }
    tables.subjects = {
        (int(r.kind), bytes(r.key), bytes(r.declaration), bool(r.winner))
        for r in conn.execute(sa.select(st))
    }
    for r in conn.execute(sa.select(n.c.kind, n.c.sha256, n.c.key, n.c.quality)):
        tables.near[(int(r.kind), bytes(r.sha256), bytes(r.key), int(r.quality))] += 1
    tables.trust, tables.trust_refs, tables.trust_subjects = trust_tables.stored_tables(conn)
    return tables


def _differences(expected: _Tables, stored: _Tables, limit: int = 20) -> list[str]:
    out: list[str] = []

    def report(table: str, missing: Sequence[object], extra: Sequence[object]) -> None:
        for row in missing[:limit]:
            out.append(f"{table}: missing {_show(row)}")
        for row in extra[:limit]:
            out.append(f"{table}: unexpected {_show(row)}")
        hidden = max(0, len(missing) - limit) + max(0, len(extra) - limit)
        if hidden:
            out.append(f"{table}: {hidden} more differences")

    sets: list[tuple[str, set[Any], set[Any]]] = [
        ("index_declarations", expected.declarations, stored.declarations),
        ("index_supersessions", expected.supersessions, stored.supersessions),
        ("index_subjects", expected.subjects, stored.subjects),
        ("index_trust", expected.trust, stored.trust),
        ("index_trust_refs", expected.trust_refs, stored.trust_refs),
        ("index_trust_subjects", expected.trust_subjects, stored.trust_subjects),
    ]
    for table, want, have in sets:
        report(table, sorted(want - have), sorted(have - want))
    report(  # a multiset: which log introduced a declaration first depends on arrival order
        "index_near",
        sorted((expected.near - stored.near).elements()),
        sorted((stored.near - expected.near).elements()),
    )
    return out


def _show(row: object) -> str:
    if isinstance(row, tuple):
        return "(" + ", ".join(_show(v) for v in row) + ")"
    if isinstance(row, bytes):
        return row.hex() if len(row) == 32 else repr(row)
    return repr(row)


def _repair(conn: Connection, expected: _Tables) -> None:
    for table in (
        schema.index_near,
        schema.index_subjects,
        schema.index_supersessions,
        schema.index_declarations,
    ):
        conn.execute(sa.delete(table))
    names = ("id", "creator", "issued_at", "prefs", "withdraw", "superseded", "origins")
    _insert(
        conn,
        schema.index_declarations,
        [dict(zip(names, r, strict=True)) for r in expected.declarations],
    )
    _insert(
        conn,
        schema.index_supersessions,
        [{"target": t, "superseder": s} for t, s in expected.supersessions],
    )
    _insert(
        conn,
        schema.index_subjects,
        [{"kind": k, "key": v, "declaration": d, "winner": w} for k, v, d, w in expected.subjects],
    )
    near = []
    for (kind, sha256, key, quality), places in expected.positions.items():
        for origin, index, item in places:
            near.append(
                {"origin": origin, "idx": index, "item": item, "kind": kind, "sha256": sha256,
                 "key": key, "quality": quality}
            )  # fmt: skip
    _insert(conn, schema.index_near, near)
    trust_tables.replace_tables(
        conn, (expected.trust, expected.trust_refs, expected.trust_subjects)
    )


def _insert(conn: Connection, table: sa.Table, rows: list[dict[str, object]]) -> None:
    for start in range(0, len(rows), _PAGE):
        conn.execute(sa.insert(table), rows[start : start + _PAGE])


def _run(conn: Connection, repair: bool) -> IndexCheck:
    started = time.perf_counter()
    expected, own, mirrored, skipped = _expected(conn)
    differences = _differences(expected, _stored(conn))
    repaired = False
    if differences and repair:
        _repair(conn, expected)
        repaired = True
    return IndexCheck(
        entries=own,
        mirrored=mirrored,
        declarations=len(expected.declarations),
        skipped=skipped,
        differences=differences,
        repaired=repaired,
        seconds=time.perf_counter() - started,
    )


async def check_index(engine: AsyncEngine, *, repair: bool) -> IndexCheck:
    """Recompute the index from the logs and compare it with the stored one, in one
    transaction; with ``repair``, replace the stored rows if they differ.

    Checking reads one database snapshot (:func:`~registry.storage.engine.read_snapshot`: on
    SQLite an explicit ``BEGIN``, since the driver opens no transaction before a ``SELECT``),
    so a node writing meanwhile cannot make the logs and the index it reads disagree."""
    if not repair:
        async with read_snapshot(engine) as reading:
            return await reading.run_sync(_run, False)
    options = {"isolation_level": "REPEATABLE READ"} if engine.dialect.name == "postgresql" else {}
    async with engine.connect() as conn:
        if options:
            await conn.execution_options(**options)
        async with conn.begin():
            return await conn.run_sync(_run, repair)


async def check_near_files(
    engine: AsyncEngine, directory: Path, origin: str, *, repair: bool
) -> tuple[list[str], bool]:
    """Compare this machine's near-duplicate files (:mod:`registry.indexes.nearfile`) with the
    ``index_near`` rows of the entries they cover, and the MIH segments with their rows; with
    ``repair``, discard differing files (every worker rebuilds them from the rows when it
    next starts, or at its next catch-up if it is running). Returns (differences, repaired)."""
    files = NearFiles(directory)
    state = files.read_state()
    if state is None:
        return [], False
    n = schema.index_near
    stored: Counter[tuple[int, bytes, bytes]] = Counter()
    marks: dict[str, str] = {}
    async with engine.connect() as conn:
        for log, size in sorted(state.sizes.items()):
            result = await conn.execute(
                sa.select(n.c.kind, n.c.sha256, n.c.key).where(n.c.origin == log, n.c.idx < size)
            )
            for kind, sha256, key in result:
                stored[(int(kind), bytes(sha256), bytes(key))] += 1
            if size > 0:
                t = schema.entries if log == OWN else schema.mirror_entries
                query = sa.select(t.c.id).where(t.c.idx == size - 1)
                if log != OWN:
                    query = query.where(schema.mirror_entries.c.origin == log)
                marks[log] = str((await conn.execute(query)).scalar() or "")
            else:
                marks[log] = ""
    differences = files_differences(files, origin, stored, marks)
    if state.filter_bits:
        # The bitmap may hold extra bits (false positives), never miss a key (spec §6.8.4).
        reader = AbsentFilter()
        reader.attach(directory, state.filter_bits)
        st = schema.index_subjects
        async with engine.connect() as conn:
            streamed = await conn.stream(sa.select(st.c.key).where(st.c.kind == SHA256))
            async for partition in streamed.partitions(100_000):
                keys = [bytes(r[0]) for r in partition if len(r[0]) == DIGEST]
                maybe = reader.maybe_present(b"".join(keys))
                if maybe is not None and len(maybe) < len(keys):
                    missed = sorted(set(range(len(keys))) - set(maybe.tolist()))
                    differences += [
                        f"near files: sha256 {keys[i].hex()} is missing from the bitmap"
                        for i in missed[:20]
                    ]
    if differences and repair:
        discard(files)
        return differences, True
    return differences, False
