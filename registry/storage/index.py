"""The persistent index: consent state, URLs, creators and near-duplicate items in the database.

Every worker process, and every node process over the same database, answers from the same
tables (ADR 0010). They are derived from the logs only, and written **in the transaction that
commits the entries they derive from**: the node's own entries by the integrator's append
(:meth:`registry.storage.repository.LogStore.append`), mirrored entries by the mirror's commit
(:meth:`registry.storage.federation.FederationStore.commit_mirror`). A crash can therefore never
leave index and log apart; ``registry index rebuild --check`` proves it by recomputing the index
from the logs with the in-memory :class:`registry.core.state.ConsentState`.

Write side, :func:`apply_entries` (synchronous, on a SQLAlchemy ``Connection``; async callers
use ``AsyncConnection.run_sync``, the migration's backfill calls it directly):

- one ``index_declarations`` row per declaration id, with the facts the resolution needs
  (creator, issued_at, preferences, withdraw), its origins (spec §3.5.5) and ``superseded``
  (spec §3.5.2: a declaration of the same creator lists it in ``supersedes``, whichever arrived
  first: the edges are kept in ``index_supersessions``);
- one ``index_subjects`` row per (subject, declaration) with ``winner``: the declaration is its
  creator's winner for the subject, decided by :func:`registry.core.state.winners`, the rule the
  in-memory state uses too (never a second implementation). Only subjects a batch touches are
  recomputed, from their stored mentions, in one query per kind and chunk.

Read side, :class:`ConsentStore`: a subject's claims are its winning rows whose declaration is
not a withdrawal, joined to their declarations; :func:`registry.core.state.resolution_of` turns
them into the same :class:`~registry.core.state.Resolution` the in-memory state gives. A batch of
keys is one query per chunk (``= ANY(:keys)`` on PostgreSQL), never one per item (spec §6.8).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.dialects import postgresql
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine

from registry.core.errors import ProtocolError
from registry.core.records import (
    Binding,
    Declaration,
    decode_stored,
    decode_stored_entry,
    record_id,
)
from registry.core.state import (
    EMPTY_RESOLUTION,
    Claim,
    CreatorDeclaration,
    Mention,
    Resolution,
    Status,
    Subject,
    resolution_of,
    subjects_of,
    winners,
)
from registry.core.trust import DEFAULT_POLICY, Policy, under_policy
from registry.indexes.collector import collector_paused
from registry.indexes.near import pdq_hashes_of
from registry.neardup import InvalidIsccError, iscc_content
from registry.storage import schema
from registry.storage.trustconfig import TrustConfig

__all__ = [
    "OWN",
    "ApplyStats",
    "ConsentStore",
    "NearItem",
    "apply_entries",
    "near_items",
    "subject_key",
]

OWN: Final = ""
"""The ``origin`` of ``index_near`` rows that come from the node's own log."""

INDEX_LOCK: Final = 0x636F6E7365696478  # PostgreSQL advisory lock key of index writers ("conseidx")
SHA256: Final = 0
URL: Final = 1
_KINDS: Final = {"sha256": SHA256, "url": URL}
CHUNK: Final = 2000
"""Keys per statement on SQLite (it limits bound parameters); PostgreSQL takes one array."""

_json = msgspec.json.Encoder()
_prefs_decoder = msgspec.json.Decoder(dict[str, str])

Key = tuple[int, bytes]


def subject_key(subject: Subject) -> Key:
    """The stored key of a subject: (0, 32 raw bytes) for a SHA-256, (1, UTF-8) for a URL.

    A damaged stored hash that is not 64 lowercase hex digits (ADR 0009) is kept as its UTF-8
    text, so that it is found by the same damaged key only.
    """
    kind, value = subject
    if kind == "sha256":
        return SHA256, _hash_bytes(value)
    return URL, value.encode()


def stored_subject(kind: int, key: bytes) -> Subject:
    """The subject of a stored key (the inverse of :func:`subject_key`)."""
    if kind == SHA256:
        return ("sha256", key.hex() if len(key) == 32 else key.decode())
    return ("url", key.decode())


def _hash_bytes(value: str) -> bytes:
    if len(value) == 64 and value == value.lower():
        try:
            return bytes.fromhex(value)
        except ValueError:
            pass
    return value.encode()


# -- near-duplicate items (spec §6.8.3) --------------------------------------------------------


@dataclass(frozen=True, slots=True)
class NearItem:
    """One near-duplicate index item: kind 0 PDQ (32 raw bytes) or 1 ISCC (the code)."""

    kind: int
    sha256: bytes
    key: bytes
    quality: int


def near_items(record: Declaration) -> list[NearItem]:
    """A newly seen declaration's near-duplicate items, in order (PDQ then ISCC per work)."""
    return [NearItem(*item) for item in _near_rows(record)]


def _near_rows(record: Declaration) -> list[tuple[int, bytes, bytes, int]]:
    """:func:`near_items` as (kind, SHA-256, key, quality) tuples (the write path's form)."""
    items: list[tuple[int, bytes, bytes, int]] = []
    for work in record.works:
        pdqs = pdq_hashes_of(work)
        if not pdqs and work.iscc is None:
            continue
        sha256 = _hash_bytes(work.sha256)
        quality = work.pdq_quality or 0
        for pdq in pdqs:
            items.append((0, sha256, _hash_bytes(pdq), quality))
        if work.iscc is not None:
            try:
                iscc_content(work.iscc)
            except InvalidIsccError:
                continue
            items.append((1, sha256, work.iscc.encode(), 0))
    return items


# -- write side --------------------------------------------------------------------------------


@dataclass(slots=True)
class ApplyStats:
    """What one :func:`apply_entries` call did."""

    declarations: int = 0  # newly indexed
    repeated: int = 0  # known already (at most a new origin)
    skipped: list[tuple[int, str]] = field(default_factory=list)  # (index, reason)


@dataclass(slots=True)
class _New:
    id: bytes
    hex: str
    record: Declaration
    index: int
    superseded: bool = False


def apply_entries(  # noqa: PLR0915 - one transaction's steps, in order
    conn: Connection, origin: str, entries: Iterable[tuple[int, bytes]], *, own: bool
) -> ApplyStats:
    """Index log entries of ``origin`` (own log: ``own=True``) on ``conn``, in its transaction.

    Entries were verified before they were stored, so they are decoded by shape
    (:func:`registry.core.records.decode_stored`, spec §6.11 item 3); one that does not decode
    is reported in :attr:`ApplyStats.skipped` and not indexed, like the in-memory index does.
    The result depends only on the set of entries indexed so far, not on their order.
    """
    stats = ApplyStats()
    batch: dict[bytes, _New] = {}
    for index, entry in entries:
        try:
            record = decode_stored_entry(entry)
        except ProtocolError as exc:
            stats.skipped.append((index, str(exc)))
            continue
        if not isinstance(record, Declaration):
            continue  # a trust record (spec §9.3): registry.storage.trust.apply_trust
        hexid = record_id(entry)
        key = bytes.fromhex(hexid)
        if key not in batch:
            batch[key] = _New(key, hexid, record, index)
    if not batch:
        return stats
    if conn.dialect.name == "postgresql":
        # Index writers (the integrator, every mirror's commit, in any process) recompute
        # winners from the committed rows: serialise them, so that none misses another's rows
        # (SQLite serialises writers already). Held until this transaction ends.
        conn.execute(sa.text("SELECT pg_advisory_xact_lock(:key)"), {"key": INDEX_LOCK})
    d = schema.index_declarations

    # 1. Declarations known already only gain an origin (spec §3.5.5).
    known: dict[bytes, str] = {
        bytes(r.id): str(r.origins)
        for r in _select_in(conn, sa.select(d.c.id, d.c.origins), d.c.id, list(batch))
    }
    name = origin
    grown = []
    for key, origins in known.items():
        del batch[key]
        stats.repeated += 1
        names = origins.split(" ")
        if name not in names:
            grown.append({"k": key, "o": " ".join(sorted([*names, name]))})
    if grown:
        conn.execute(
            sa.update(d).where(d.c.id == sa.bindparam("k")).values(origins=sa.bindparam("o")),
            grown,
        )
    if not batch:
        return stats
    new = list(batch.values())
    stats.declarations = len(new)
    _insert(
        conn,
        d,
        [
            (
                n.id,
                n.record.creator,
                n.record.issued_at,
                _json.encode(dict(sorted(n.record.prefs.items()))).decode(),
                n.record.withdraw,
                False,
                name,
            )
            for n in new
        ],
    )

    # 2. Supersession (spec §3.5.2): monotone, same creator only, whichever arrives first.
    s = schema.index_supersessions
    edges = {(_hash_bytes(target), n.id) for n in new for target in n.record.supersedes}
    if edges:
        _insert(conn, s, sorted(edges))
    creators = {n.id: n.record.creator for n in new}
    newly_superseded: set[bytes] = set()
    # new declarations superseded by declarations indexed before them (or in this batch)
    for row in _select_in(
        conn,
        sa.select(s.c.target, d.c.creator).join(d, d.c.id == s.c.superseder),
        s.c.target,
        list(batch),
    ):
        if creators[bytes(row.target)] == row.creator:
            batch[bytes(row.target)].superseded = True
    # older declarations superseded by new ones
    targets = {t for t, _ in edges if t not in batch}
    by_target: dict[bytes, set[str]] = {}
    for t, by in edges:
        by_target.setdefault(t, set()).add(creators[by])
    for row in _select_in(
        conn, sa.select(d.c.id, d.c.creator, d.c.superseded), d.c.id, sorted(targets)
    ):
        target = bytes(row.id)
        if not row.superseded and row.creator in by_target[target]:
            newly_superseded.add(target)
    flags = [{"k": n.id} for n in new if n.superseded] + [{"k": t} for t in newly_superseded]
    if flags:
        conn.execute(sa.update(d).where(d.c.id == sa.bindparam("k")).values(superseded=True), flags)

    # 3. Subjects: recompute every touched subject's winners from all its mentions. A subject
    # only this batch's one declaration mentions (the common case) needs no Mention objects.
    fresh: dict[Key, list[_New]] = {}
    for n in new:
        for kind_name, value in subjects_of(n.record):
            skey = (SHA256, _hash_bytes(value)) if kind_name == "sha256" else (URL, value.encode())
            found = fresh.get(skey)
            if found is None:
                fresh[skey] = [n]
            else:
                found.append(n)
    touched = set(fresh)
    for record in _records(conn, [t.hex() for t in sorted(newly_superseded)]).values():
        touched.update(subject_key(subject) for subject in subjects_of(record))
    st = schema.index_subjects
    query = sa.select(
        st.c.kind,
        st.c.key,
        st.c.declaration,
        st.c.winner,
        d.c.creator,
        d.c.issued_at,
        d.c.superseded,
    ).join(d, d.c.id == st.c.declaration)
    stored: dict[Key, list[tuple[Mention, bytes, bool | None]]] = {}
    for kind in (SHA256, URL):
        keys = sorted(k for kk, k in touched if kk == kind)
        digests = _MENTIONS_BY_DIGEST if kind == SHA256 else None
        if kind == URL or conn.dialect.name == "postgresql":
            mention_rows: Iterator[Any] = _mentions_raw(conn, kind, keys)  # no bind processing
        else:
            mention_rows = _select_in(
                conn, query.where(st.c.kind == kind), st.c.key, keys, digests=digests
            )
        for row in mention_rows:
            declaration = bytes(row.declaration)
            mention = Mention(
                declaration.hex(), row.creator, int(row.issued_at), bool(row.superseded)
            )
            stored.setdefault((kind, bytes(row.key)), []).append(
                (mention, declaration, bool(row.winner))
            )
    inserts: list[tuple[int, bytes, bytes, bool]] = []
    changes: list[dict[str, Any]] = []
    for (kind, key), news in fresh.items():
        if len(news) == 1 and (kind, key) not in stored:
            inserts.append((kind, key, news[0].id, not news[0].superseded))
    for subject in touched:
        news = fresh.get(subject, [])
        olds = stored.get(subject, [])
        if len(news) == 1 and not olds:
            continue  # inserted above
        rows: list[tuple[Mention, bytes, bool | None]] = [
            (Mention(n.hex, n.record.creator, n.record.issued_at, n.superseded), n.id, None)
            for n in news
        ]
        rows += olds
        won = set(winners(m for m, _, _ in rows).values())
        kind, key = subject
        for mention, declaration, was in rows:
            winner = mention.declaration_id in won
            if was is None:
                inserts.append((kind, key, declaration, winner))
            elif was != winner:
                changes.append({"kk": kind, "kkey": key, "kd": declaration, "w": winner})
    if inserts:
        _insert(conn, st, inserts)
    if changes:
        conn.execute(
            sa.update(st)
            .where(
                st.c.kind == sa.bindparam("kk"),
                st.c.key == sa.bindparam("kkey"),
                st.c.declaration == sa.bindparam("kd"),
            )
            .values(winner=sa.bindparam("w")),
            changes,
        )

    # 4. Near-duplicate items of the newly seen declarations (spec §6.8.3).
    near_origin = OWN if own else origin
    near = [
        (near_origin, n.index, position, *item)
        for n in new
        for position, item in enumerate(_near_rows(n.record))
    ]
    if near:
        _insert(conn, schema.index_near, near)
    return stats


_MENTIONS_SQL: Final = (
    "SELECT s.kind AS kind, s.key AS key, s.declaration AS declaration, s.winner AS winner, "
    "d.creator AS creator, d.issued_at AS issued_at, d.superseded AS superseded "
    "FROM index_subjects AS s JOIN index_declarations AS d ON d.id = s.declaration "
    "WHERE s.kind = {kind} AND s.key "
)


def _mentions_raw(conn: Connection, kind: int, keys: Sequence[bytes]) -> Iterator[Any]:
    """The stored mentions of subjects ``keys`` of ``kind`` (the rows of the ``query`` of
    :func:`apply_entries`), through the driver: PostgreSQL ``= ANY($1::bytea[])``, SQLite
    ``IN`` lists of :data:`CHUNK` (the write path's hot read: SQLAlchemy's per-key bind
    processing cost more than the lookups)."""
    if not keys:
        return
    head = _MENTIONS_SQL.format(kind=int(kind))
    if conn.dialect.name == "postgresql":
        yield from conn.exec_driver_sql(head + "= ANY($1::bytea[])", (list(keys),))
        return
    for start in range(0, len(keys), CHUNK):
        part = keys[start : start + CHUNK]
        marks = ", ".join("?" for _ in part)
        yield from conn.exec_driver_sql(head + f"IN ({marks})", tuple(part))


def _insert(conn: Connection, table: sa.Table, rows: Sequence[tuple[Any, ...]]) -> None:
    """Insert ``rows`` (tuples in the table's column order) through the driver's executemany:
    the hot path of indexing, without SQLAlchemy's per-row parameter processing."""
    if not rows:
        return
    names = ", ".join(c.name for c in table.columns)
    if conn.dialect.paramstyle == "qmark":
        marks = ", ".join("?" for _ in table.columns)
    else:  # asyncpg: numeric_dollar
        marks = ", ".join(f"${i + 1}" for i in range(len(table.columns)))
    sql = f"INSERT INTO {table.name} ({names}) VALUES ({marks})"  # noqa: S608 - our own names
    conn.exec_driver_sql(sql, list(rows))


def _select_in(
    conn: Connection,
    query: sa.Select[Any],
    column: sa.ColumnElement[Any],
    keys: Sequence[Any],
    *,
    digests: sa.TextClause | None = None,
) -> Iterator[sa.Row[Any]]:
    """Rows of ``query`` whose ``column`` is one of ``keys`` (distinct), batched.

    PostgreSQL: ``column = ANY(:keys)``, one statement with one array parameter. SQLite, with
    ``digests`` (the same query written for 32-byte keys, see :data:`_CTE`) and only 32-byte
    keys: one statement with one blob parameter. Otherwise ``IN`` lists of :data:`CHUNK`
    parameters (SQLite limits bound parameters).
    """
    if not keys:
        return
    if conn.dialect.name == "postgresql":
        param = sa.bindparam("keys", list(keys), type_=postgresql.ARRAY(column.type))
        yield from conn.execute(query.where(column == sa.any_(param)))
        return
    if digests is not None and all(len(k) == DIGEST for k in keys):
        yield from conn.execute(digests, {"blob": b"".join(keys), "count": len(keys)})
        return
    for start in range(0, len(keys), CHUNK):
        yield from conn.execute(query.where(column.in_(keys[start : start + CHUNK])))


DIGEST: Final = 32

# SQLite: 32-byte keys passed as ONE blob, split by a recursive CTE. The CROSS JOINs keep the
# CTE outermost (SQLite never reorders a CROSS JOIN), so each key is one primary-key search:
# 10,000 keys in one statement, without 10,000 bound parameters.
_CTE: Final = (
    "WITH RECURSIVE n(i) AS (SELECT 0 UNION ALL SELECT i + 1 FROM n WHERE i + 1 < :count) "
)
_CLAIMS_BY_DIGEST: Final = sa.text(
    _CTE + "SELECT s.key AS key, d.id AS id, d.creator AS creator, d.issued_at AS issued_at, "
    "d.prefs AS prefs, d.origins AS origins "
    "FROM n CROSS JOIN index_subjects AS s CROSS JOIN index_declarations AS d "
    "WHERE s.kind = 0 AND s.key = substr(:blob, n.i * 32 + 1, 32) AND s.winner "
    "AND d.id = s.declaration AND NOT d.withdraw"
).bindparams(sa.bindparam("blob", type_=sa.LargeBinary))
_HITS_SQLITE: Final = sa.text(
    _CTE + "SELECT n.i AS i, d.id AS id, d.creator AS creator, d.issued_at AS issued_at, "
    "d.prefs AS prefs, d.origins AS origins "
    "FROM n CROSS JOIN index_subjects AS s CROSS JOIN index_declarations AS d "
    "WHERE s.kind = 0 AND s.key = substr(:blob, n.i * 32 + 1, 32) AND s.winner "
    "AND d.id = s.declaration AND NOT d.withdraw"
).bindparams(sa.bindparam("blob", type_=sa.LargeBinary))
_HITS_POSTGRES: Final = sa.text(
    "SELECT k.i - 1 AS i, d.id AS id, d.creator AS creator, d.issued_at AS issued_at, "
    "d.prefs AS prefs, d.origins AS origins "
    "FROM unnest(CAST(:keys AS bytea[])) WITH ORDINALITY AS k(key, i) "
    "JOIN index_subjects AS s ON s.kind = 0 AND s.key = k.key AND s.winner "
    "JOIN index_declarations AS d ON d.id = s.declaration AND NOT d.withdraw"
).bindparams(sa.bindparam("keys", type_=postgresql.ARRAY(sa.LargeBinary)))
_MENTIONS_BY_DIGEST: Final = sa.text(
    _CTE + "SELECT s.kind AS kind, s.key AS key, s.declaration AS declaration, "
    "s.winner AS winner, d.creator AS creator, d.issued_at AS issued_at, "
    "d.superseded AS superseded "
    "FROM n CROSS JOIN index_subjects AS s CROSS JOIN index_declarations AS d "
    "WHERE s.kind = 0 AND s.key = substr(:blob, n.i * 32 + 1, 32) AND d.id = s.declaration"
).bindparams(sa.bindparam("blob", type_=sa.LargeBinary))


def _records(conn: Connection, ids: Sequence[str]) -> dict[str, Declaration]:
    """The records of declaration ids (hex), read from the own log or a mirrored log."""
    found: dict[str, Declaration] = {}
    for table in (schema.entries, schema.mirror_entries):
        wanted = [i for i in ids if i not in found]
        for row in _select_in(conn, sa.select(table.c.id, table.c.data), table.c.id, wanted):
            if str(row.id) not in found:
                try:
                    found[str(row.id)] = decode_stored(bytes(row.data))
                except ProtocolError:  # pragma: no cover - damaged at rest; log verify reports
                    continue
    return found


# -- read side ---------------------------------------------------------------------------------


class ConsentStore:
    """Answers from the persistent index through ``engine`` (which the caller owns)."""

    def __init__(self, engine: AsyncEngine, trust: TrustConfig | None = None) -> None:
        self.engine = engine
        self.trust = trust if trust is not None else TrustConfig()
        self._prefs: dict[str, dict[str, str]] = {}

    def _with_trust(
        self,
        conn: Connection,
        keys: Sequence[Key],
        subjects: Sequence[Subject] | None,
        policy: Policy,
    ) -> dict[Key, Resolution]:
        """spec §9.4 resolutions of the keys marked trust-dependent (none: one statement).

        ``subjects``: the subject of each key, in order; None when every key is a 32-byte
        SHA-256 digest (the batch check's hot path builds no subject for unmarked keys).
        """
        from registry.storage import trust  # noqa: PLC0415 - it builds on this module

        marked = trust.marked_subjects(conn, keys)
        if not marked:
            return {}
        if subjects is None:
            wanted: list[Subject] = [("sha256", k.hex()) for _, k in sorted(marked)]
        else:
            by_key = {k: s for k, s in zip(keys, subjects, strict=True) if k in marked}
            wanted = [by_key[k] for k in sorted(marked)]
        return trust.trusted_resolutions(conn, wanted, self.trust, policy)

    def _decoded_prefs(self, text: str) -> dict[str, str]:
        prefs = self._prefs.get(text)
        if prefs is None:
            prefs = _prefs_decoder.decode(text)
            if len(self._prefs) < 4096:
                self._prefs[text] = prefs
        return prefs

    async def resolve_many(
        self, subjects: Sequence[Subject], policy: Policy = DEFAULT_POLICY
    ) -> list[Resolution]:
        """The resolution of each subject under ``policy``, in order (empty if nothing is
        known): spec §9.4 for subjects trust records may change, otherwise §3.5 (the same
        answer when no trust record applies, spec §9.4).

        Subjects resolving to the same claims share one :class:`Resolution` object.
        """
        keys = [subject_key(s) for s in subjects]
        async with self.engine.connect() as conn:
            found = await conn.run_sync(self._claims, keys)
            trusted = await conn.run_sync(self._with_trust, keys, subjects, policy)
        shared: dict[tuple[str, ...], Resolution] = {}
        out: list[Resolution] = []
        for key in keys:
            if key in trusted:
                out.append(trusted[key])
                continue
            claims = found.get(key)
            if not claims:
                out.append(EMPTY_RESOLUTION)
                continue
            ids = tuple(c.declaration_id for c in claims)
            resolution = shared.get(ids)
            if resolution is None:
                resolution = shared[ids] = under_policy(resolution_of(claims), policy)
            out.append(resolution)
        return out

    async def resolve_many_sha256(
        self, hashes: Sequence[str], policy: Policy = DEFAULT_POLICY
    ) -> list[Resolution]:
        """:meth:`resolve_many` for SHA-256 hashes (lowercase hex); the batch hot path."""
        joined = "".join(hashes)
        if (
            len(joined) != 64 * len(hashes)
            or joined != joined.lower()
            or not all(len(h) == 64 for h in hashes)
        ):
            return await self.resolve_many([("sha256", h) for h in hashes], policy)
        try:
            blob = bytes.fromhex(joined)
        except ValueError:  # not hex: only a damaged stored key could match (ADR 0009)
            return await self.resolve_many([("sha256", h) for h in hashes], policy)
        hits = await self.lookup_digests(blob, policy)
        return [hits.get(i, EMPTY_RESOLUTION) for i in range(len(hashes))]

    async def lookup_digests(
        self, blob: bytes, policy: Policy = DEFAULT_POLICY
    ) -> dict[int, Resolution]:
        """For concatenated 32-byte SHA-256 digests, the resolution under ``policy`` of each
        known one, by its position (unknown positions are absent): one statement, work
        proportional to hits (and one more when trust records exist, spec §9.4)."""
        count = len(blob) // DIGEST
        if not count:
            return {}
        async with self.engine.connect() as conn:
            if conn.dialect.name == "postgresql":
                keys = [blob[i : i + DIGEST] for i in range(0, count * DIGEST, DIGEST)]
                rows = (await conn.execute(_HITS_POSTGRES, {"keys": keys})).all()
            else:
                rows = (await conn.execute(_HITS_SQLITE, {"blob": blob, "count": count})).all()
            digests = [(SHA256, blob[i : i + DIGEST]) for i in range(0, count * DIGEST, DIGEST)]
            trusted = await conn.run_sync(self._with_trust, digests, None, policy)
        claims: dict[bytes, Claim] = {}
        found: dict[int, list[Claim]] = {}
        for row in rows:
            declaration = bytes(row.id)
            claim = claims.get(declaration)
            if claim is None:
                claim = claims[declaration] = Claim(
                    creator=row.creator,
                    declaration_id=declaration.hex(),
                    issued_at=int(row.issued_at),
                    prefs=self._decoded_prefs(row.prefs),
                    origins=tuple(str(row.origins).split(" ")),
                )
            found.setdefault(int(row.i), []).append(claim)
        shared: dict[tuple[str, ...], Resolution] = {}
        out: dict[int, Resolution] = {}
        for position, items in found.items():
            ids = tuple(sorted(c.declaration_id for c in items))
            resolution = shared.get(ids)
            if resolution is None:
                resolution = shared[ids] = under_policy(resolution_of(items), policy)
            out[position] = resolution
        if trusted:
            for position, key in enumerate(digests):
                answer = trusted.get(key)
                if answer is None:
                    continue
                if answer.claims:
                    out[position] = answer
                else:
                    out.pop(position, None)
        return out

    async def resolve_many_urls(
        self, urls: Sequence[str], policy: Policy = DEFAULT_POLICY
    ) -> list[Resolution]:
        """:meth:`resolve_many` for normalised URLs."""
        return await self.resolve_many([("url", u) for u in urls], policy)

    def _claims(self, conn: Connection, keys: Sequence[Key]) -> dict[Key, list[Claim]]:
        st, d = schema.index_subjects, schema.index_declarations
        query = (
            sa.select(st.c.key, d.c.id, d.c.creator, d.c.issued_at, d.c.prefs, d.c.origins)
            .join(d, d.c.id == st.c.declaration)
            .where(st.c.winner, sa.not_(d.c.withdraw))
        )
        found: dict[Key, list[Claim]] = {}
        claims: dict[bytes, Claim] = {}
        for kind in (SHA256, URL):
            wanted = sorted({k for kk, k in keys if kk == kind})
            digests = _CLAIMS_BY_DIGEST if kind == SHA256 else None
            rows = _select_in(
                conn, query.where(st.c.kind == kind), st.c.key, wanted, digests=digests
            )
            for row in rows:
                declaration = bytes(row.id)
                claim = claims.get(declaration)
                if claim is None:
                    claim = claims[declaration] = Claim(
                        creator=row.creator,
                        declaration_id=declaration.hex(),
                        issued_at=int(row.issued_at),
                        prefs=self._decoded_prefs(row.prefs),
                        origins=tuple(str(row.origins).split(" ")),
                    )
                found.setdefault((kind, bytes(row.key)), []).append(claim)
        return found

    async def verified_keys(self, dids: Sequence[str]) -> set[str]:
        """Which of ``dids`` have identity evidence under this store's trust configuration
        (:func:`registry.storage.trust.verified_keys`)."""
        from registry.storage import trust  # noqa: PLC0415 - it builds on this module

        async with self.engine.connect() as conn:
            return await conn.run_sync(trust.verified_keys, dids, self.trust)

    async def bindings_by(self, node: str) -> list[Binding]:
        """Every binding ``node`` signed (:func:`registry.storage.trust.bindings_by`)."""
        from registry.storage import trust  # noqa: PLC0415 - it builds on this module

        async with self.engine.connect() as conn:
            return await conn.run_sync(trust.bindings_by, node)

    async def by_creator(self, did: str) -> list[CreatorDeclaration]:
        """A creator's declarations, oldest first by (issued_at, id), with their status."""
        async with self.engine.connect() as conn:
            return await conn.run_sync(_by_creator, did)

    async def counts(self) -> tuple[int, int, int]:
        """(declarations, SHA-256 subjects, URL subjects with a current claim): for metrics.

        Full scans: call it when scraping, not per request.
        """
        st, d = schema.index_subjects, schema.index_declarations
        current = (
            sa.select(st.c.kind, sa.func.count(sa.distinct(st.c.key)))
            .join(d, d.c.id == st.c.declaration)
            .where(st.c.winner, sa.not_(d.c.withdraw))
            .group_by(st.c.kind)
        )
        async with self.engine.connect() as conn:
            declarations = int(await conn.scalar(sa.select(sa.func.count()).select_from(d)) or 0)
            per_kind = {int(k): int(n) for k, n in await conn.execute(current)}
        return declarations, per_kind.get(SHA256, 0), per_kind.get(URL, 0)


def _by_creator(conn: Connection, did: str) -> list[CreatorDeclaration]:
    d, s, st = schema.index_declarations, schema.index_supersessions, schema.index_subjects
    rows = conn.execute(
        sa.select(d.c.id, d.c.origins, d.c.superseded).where(d.c.creator == did)
    ).all()
    if not rows:
        return []
    ids = [bytes(r.id) for r in rows]
    records = _records(conn, [i.hex() for i in ids])
    superseders: dict[bytes, list[str]] = {}
    for row in _select_in(
        conn,
        sa.select(s.c.target, s.c.superseder)
        .join(d, d.c.id == s.c.superseder)
        .where(d.c.creator == did),
        s.c.target,
        ids,
    ):
        superseders.setdefault(bytes(row.target), []).append(bytes(row.superseder).hex())
    # which of them win at least one subject (spec §3.5.3)
    wins: set[bytes] = set()
    keys = {subject_key(x) for record in records.values() for x in subjects_of(record)}
    for kind in (SHA256, URL):
        wanted = sorted(k for kk, k in keys if kk == kind)
        query = sa.select(st.c.declaration).where(
            st.c.kind == kind, st.c.winner, st.c.declaration.in_(ids)
        )
        wins.update(bytes(r.declaration) for r in _select_in(conn, query, st.c.key, wanted))
    out: list[CreatorDeclaration] = []
    for declared in rows:
        key = bytes(declared.id)
        record = records.get(key.hex())
        if record is None:  # pragma: no cover - the index only holds logged declarations
            continue
        status: Status
        if declared.superseded:
            status = "superseded"
        elif key in wins:
            status = "current"
        else:
            status = "overridden"
        out.append(
            CreatorDeclaration(
                declaration_id=key.hex(),
                record=record,
                origins=tuple(str(declared.origins).split(" ")),
                status=status,
                superseded_by=tuple(sorted(superseders.get(key, []))),
            )
        )
    out.sort(key=lambda c: (c.record.issued_at, c.declaration_id))
    return out


def _apply_all(
    conn: Connection, origin: str, entries: Sequence[tuple[int, bytes]], *, own: bool
) -> ApplyStats:
    from registry.storage.trust import apply_trust  # noqa: PLC0415 - it builds on this module

    with collector_paused():  # ADR 0025: a batch allocates no cycles
        stats = apply_entries(conn, origin, entries, own=own)
        apply_trust(conn, origin, entries)
    return stats


async def apply_in(
    conn: AsyncConnection, origin: str, entries: Sequence[tuple[int, bytes]], *, own: bool
) -> ApplyStats:
    """:func:`apply_entries` then :func:`registry.storage.trust.apply_trust` on an async
    connection, in its transaction."""
    return await conn.run_sync(_apply_all, origin, entries, own=own)


select_in = _select_in
insert_rows = _insert
records_by_id = _records


def mentioning(conn: Connection, keys: Iterable[Key]) -> set[bytes]:
    """Ids of every declaration (of any log) mentioning the subjects of ``keys``, winner or
    not, and of every declaration listing one of those in ``supersedes`` (whatever its
    creator: spec §3.5.2 and §9.4.2 decide whether it counts)."""
    st, s = schema.index_subjects, schema.index_supersessions
    wanted = set(keys)
    ids: set[bytes] = set()
    for kind in (SHA256, URL):
        query = sa.select(st.c.declaration).where(st.c.kind == kind)
        found = select_in(conn, query, st.c.key, sorted(k for kk, k in wanted if kk == kind))
        ids.update(bytes(r.declaration) for r in found)
    ids.update(
        bytes(r.superseder)
        for r in select_in(conn, sa.select(s.c.superseder), s.c.target, sorted(ids))
    )
    return ids


NO_LIMIT: Final = 2**62
"""``mirror_commits.accept_until`` of entries judged by no time (committed before spec §2.11)."""


def issued_at_of(entry: bytes) -> int:
    """A stored entry's ``issued_at`` (every record kind has one); 0 if it does not decode
    (:func:`apply_entries` reports it)."""
    try:
        return decode_stored_entry(entry).issued_at
    except ProtocolError:
        return 0
