"""Trust records in the persistent index (spec §9, ADR 0017): stored, referenced, resolved.

Trust records (bindings, platform attestations, rotations, revocations, counter-statements;
spec §9.3) are few next to declarations, and change the answer of few subjects. The index keeps
them beside the consent tables, written **in the same transaction** as the log entries they come
from (:func:`apply_trust`, called by :func:`registry.storage.index.apply_in` after
:func:`registry.storage.index.apply_entries`):

- ``index_trust``: each record's entry bytes, kind and origins (spec §3.5.5);
- ``index_trust_refs``: what each record is about (attested subjects, the keys it names, a
  counter-statement's target declaration), so that a resolution loads only what it needs;
- ``index_trust_subjects``: every subject whose answer a trust record may change. A subject is
  marked when a trust record names it or names the creator of one of its declarations (or a
  declaration's id), whichever arrives first: the marks depend only on the set of entries.

Reading (:func:`trusted_resolutions`): a marked subject is resolved by
:class:`registry.core.trust.TrustState` (spec §9.4, never a second implementation) over what
the index holds about it: every declaration mentioning it (winners or not), their superseders,
counter-statements about them, and the trust records naming their keys, closed under rotation
and revocation (a rotation's other key; the key a revocation names). Every other subject is
answered by spec §3.5, which is what §9.4 gives when no trust record applies.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Final

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.core.errors import ProtocolError
from registry.core.levels import LevelRow, MirroredSize, subject_row
from registry.core.prefs import DISALLOW
from registry.core.records import (
    AnyRecord,
    Binding,
    CounterStatement,
    Declaration,
    PlatformAttestation,
    Revocation,
    Rotation,
    decode_stored_entry,
    record_id,
)
from registry.core.state import Resolution, Subject, subjects_of
from registry.core.trust import (
    POLICIES,
    Policy,
    TrustState,
    as_resolution,
    attested_subjects,
)
from registry.storage import schema
from registry.storage.index import (
    SHA256,
    URL,
    Key,
    mentioning,
    records_by_id,
    select_in,
    stored_subject,
    subject_key,
)
from registry.storage.trustconfig import TrustConfig

__all__ = [
    "REF_KEY",
    "REF_TARGET",
    "TrustConfig",
    "apply_trust",
    "held_logs",
    "level_page",
    "marked_subjects",
    "trust_record",
    "trusted_resolutions",
]

_DECLARATION_TYPE: Final = b'"type":"declaration"'
REF_KEY: Final = 2
"""``index_trust_refs.ref`` of a ``did:key`` the record names."""
REF_TARGET: Final = 3
"""``index_trust_refs.ref`` of a counter-statement's target declaration id."""


def _kind(record: AnyRecord) -> str:
    """The record's ``type`` (spec §9.3), its struct tag."""
    return str(record.__struct_config__.tag)


def _keys_named(record: AnyRecord) -> set[str]:
    """The ``did:key`` values whose claims a trust record can change (spec §9.4): a
    counter-statement changes its target's claims only (ref :data:`REF_TARGET`)."""
    if isinstance(record, Binding | PlatformAttestation):
        return {record.creator}
    if isinstance(record, Rotation):
        return {record.creator, record.new_key}
    if isinstance(record, Revocation):
        return {record.key}
    return set()


def _refs(record_key: bytes, record: AnyRecord) -> set[tuple[int, bytes, bytes]]:
    refs = {(REF_KEY, did.encode(), record_key) for did in _keys_named(record)}
    if isinstance(record, PlatformAttestation):
        refs.update((*subject_key(s), record_key) for s in attested_subjects(record))
    if isinstance(record, CounterStatement):
        refs.add((REF_TARGET, bytes.fromhex(record.target), record_key))
    return refs


def trust_record(entry: bytes) -> AnyRecord | None:
    """The trust record of a stored entry, or None for a declaration or a damaged entry."""
    try:
        record = decode_stored_entry(entry)
    except ProtocolError:
        return None
    return None if isinstance(record, Declaration) else record


# -- write side --------------------------------------------------------------------------------


def apply_trust(conn: Connection, origin: str, entries: Iterable[tuple[int, bytes]]) -> int:
    """Index the trust records among log entries of ``origin`` on ``conn``, in its transaction,
    and mark the subjects they (or the batch's declarations) make trust-dependent. Returns the
    number of trust records newly indexed. Call it after
    :func:`registry.storage.index.apply_entries` has indexed the same entries' declarations.
    """
    trust: dict[bytes, tuple[AnyRecord, bytes]] = {}
    declared: list[bytes] = []
    for _index, entry in entries:
        # A canonical declaration holds these bytes; no other record can (inside a JSON
        # string every quote is escaped, and only a record's "type" member has this name), so
        # declarations are not decoded a second time per append.
        if _DECLARATION_TYPE in entry:
            declared.append(entry)
            continue
        try:
            record = decode_stored_entry(entry)
        except ProtocolError:
            continue  # apply_entries reports it
        if isinstance(record, Declaration):  # pragma: no cover - it names its type
            declared.append(entry)
        else:
            trust.setdefault(bytes.fromhex(record_id(entry)), (record, entry))
    marks: set[Key] = set()
    added = 0
    if trust:
        added = _store(conn, origin, trust, marks)
    if declared:
        _mark_declarations(conn, declared, marks)
    _mark(conn, marks)
    return added


def _store(
    conn: Connection, origin: str, trust: dict[bytes, tuple[AnyRecord, bytes]], marks: set[Key]
) -> int:
    t = schema.index_trust
    known = {
        bytes(r.id): str(r.origins)
        for r in select_in(conn, sa.select(t.c.id, t.c.origins), t.c.id, sorted(trust))
    }
    grown = []
    for key, origins in known.items():
        del trust[key]
        names = origins.split(" ")
        if origin not in names:
            grown.append({"k": key, "o": " ".join(sorted([*names, origin]))})
    if grown:
        conn.execute(
            sa.update(t).where(t.c.id == sa.bindparam("k")).values(origins=sa.bindparam("o")),
            grown,
        )
    if not trust:
        return 0
    conn.execute(
        sa.insert(t),
        [
            {"id": key, "kind": _kind(record), "origins": origin, "data": entry}
            for key, (record, entry) in trust.items()
        ],
    )
    refs = set().union(*(_refs(key, record) for key, (record, _) in trust.items()))
    conn.execute(
        sa.insert(schema.index_trust_refs),
        [{"ref": ref, "key": value, "record": rec} for ref, value, rec in sorted(refs)],
    )
    # Subjects the records name, and every subject of the declarations of the keys they name
    # or of the declarations they target.
    marks.update((ref, value) for ref, value, _ in refs if ref in (SHA256, URL))
    d = schema.index_declarations
    dids = sorted({value.decode() for ref, value, _ in refs if ref == REF_KEY})
    ids = {bytes(r.id) for r in select_in(conn, sa.select(d.c.id), d.c.creator, dids)}
    ids.update(value for ref, value, _ in refs if ref == REF_TARGET)
    for record in records_by_id(conn, sorted(i.hex() for i in ids)).values():
        marks.update(subject_key(s) for s in subjects_of(record))
    return len(trust)


def _mark_declarations(conn: Connection, entries: list[bytes], marks: set[Key]) -> None:
    """Mark the subjects of new declarations whose creator or id a trust record names."""
    r = schema.index_trust_refs
    if conn.execute(sa.select(r.c.ref).limit(1)).first() is None:
        return  # no trust record at all: the common case, one cheap statement
    declarations: dict[bytes, Declaration] = {}
    for entry in entries:
        try:
            record = decode_stored_entry(entry)
        except ProtocolError:
            continue
        if isinstance(record, Declaration):
            declarations[bytes.fromhex(record_id(entry))] = record
    creators = sorted({d.creator.encode() for d in declarations.values()})
    named = {
        bytes(row.key).decode()
        for row in select_in(conn, sa.select(r.c.key).where(r.c.ref == REF_KEY), r.c.key, creators)
    }
    targeted = {
        bytes(row.key)
        for row in select_in(
            conn, sa.select(r.c.key).where(r.c.ref == REF_TARGET), r.c.key, sorted(declarations)
        )
    }
    for key, record in declarations.items():
        if record.creator in named or key in targeted:
            marks.update(subject_key(s) for s in subjects_of(record))


def _mark(conn: Connection, marks: set[Key]) -> None:
    if not marks:
        return
    ts = schema.index_trust_subjects
    for kind in (SHA256, URL):
        wanted = sorted(k for kk, k in marks if kk == kind)
        present = {
            bytes(row.key)
            for row in select_in(
                conn, sa.select(ts.c.key).where(ts.c.kind == kind), ts.c.key, wanted
            )
        }
        rows = [{"kind": kind, "key": k} for k in wanted if k not in present]
        if rows:
            conn.execute(sa.insert(ts), rows)


# -- read side ---------------------------------------------------------------------------------


def marked_subjects(conn: Connection, keys: Sequence[Key]) -> set[Key]:
    """Which of ``keys`` are marked trust-dependent (one cheap statement when none is)."""
    ts = schema.index_trust_subjects
    if not keys or conn.execute(sa.select(ts.c.kind).limit(1)).first() is None:
        return set()
    found: set[Key] = set()
    for kind in (SHA256, URL):
        wanted = sorted({k for kk, k in keys if kk == kind})
        query = sa.select(ts.c.key).where(ts.c.kind == kind)
        found.update((kind, bytes(row.key)) for row in select_in(conn, query, ts.c.key, wanted))
    return found


def trusted_resolutions(
    conn: Connection,
    subjects: Sequence[Subject],
    config: TrustConfig,
    policy: Policy,
) -> dict[Key, Resolution]:
    """The spec §9.4 resolution of each of ``subjects`` (all marked), by stored key."""
    if not subjects:
        return {}
    keys = {subject_key(x): x for x in subjects}
    state, _ = _trust_state(conn, keys, config)
    return {key: as_resolution(state.resolve(subject, policy)) for key, subject in keys.items()}


def _trust_state(
    conn: Connection, keys: Mapping[Key, Subject], config: TrustConfig
) -> tuple[TrustState, dict[str, Declaration]]:
    """A :class:`TrustState` holding what the index knows about the subjects ``keys``, and the
    declarations among it by hex id."""
    d = schema.index_declarations
    # 1. Every declaration mentioning the subjects, winner or not, and their superseders.
    ids = mentioning(conn, keys)
    declarations = records_by_id(conn, sorted(i.hex() for i in ids))
    origins = {
        bytes(r.id).hex(): tuple(str(r.origins).split(" "))
        for r in select_in(conn, sa.select(d.c.id, d.c.origins), d.c.id, sorted(ids))
    }
    # 2. Trust records: counter-statements about those declarations, what names the subjects,
    #    and what names the keys involved, closed under rotation and revocation.
    r = schema.index_trust_refs
    wanted_records: set[bytes] = set()
    for kind in (SHA256, URL):
        query = sa.select(r.c.record).where(r.c.ref == kind)
        wanted_records.update(
            bytes(row.record)
            for row in select_in(conn, query, r.c.key, sorted(k for kk, k in keys if kk == kind))
        )
    query = sa.select(r.c.record).where(r.c.ref == REF_TARGET)
    wanted_records.update(bytes(row.record) for row in select_in(conn, query, r.c.key, sorted(ids)))
    trust: dict[bytes, tuple[AnyRecord, tuple[str, ...]]] = {}
    seen_keys: set[str] = set()
    frontier = {record.creator for record in declarations.values()}
    while wanted_records or frontier:
        seen_keys |= frontier
        query = sa.select(r.c.record).where(r.c.ref == REF_KEY)
        wanted_records.update(
            bytes(row.record)
            for row in select_in(conn, query, r.c.key, sorted(k.encode() for k in frontier))
        )
        frontier = set()
        for key, record, record_origins in _load(conn, wanted_records - trust.keys()):
            trust[key] = (record, record_origins)
            if isinstance(record, Rotation | Revocation):
                frontier |= _keys_named(record) - seen_keys
            elif isinstance(record, CounterStatement):  # whether its signer is verified
                frontier |= {record.creator} - seen_keys
        wanted_records = set()
    state = TrustState(platforms=config.platforms, nodes=config.nodes)
    for hexid, declaration in declarations.items():
        for origin in origins.get(hexid, ("",)):
            state.add(hexid, declaration, origin=origin)
    for key, (record, record_origins) in trust.items():
        for origin in record_origins:
            state.add(key.hex(), record, origin=origin)
    return state, declarations


# -- levels files (spec §8.10) -------------------------------------------------------------------


def held_logs(conn: Connection) -> tuple[MirroredSize, ...]:
    """The mirrored logs the index holds entries of, each at its committed size (the index
    covers exactly those entries, ADR 0010), by origin: the ``mirror`` lines of a levels file
    (spec §8.10.2)."""
    h = schema.mirror_heads
    rows = conn.execute(
        sa.select(h.c.origin, h.c.size, h.c.root).where(h.c.size > 0).order_by(h.c.origin)
    )
    return tuple(MirroredSize(str(r.origin), int(r.size), bytes(r.root)) for r in rows)


def level_page(
    conn: Connection,
    config: TrustConfig,
    category: str,
    *,
    after: Key | None = None,
    page: int = 1000,
    offload: Callable[[Callable[[], None]], None] | None = None,
) -> tuple[list[LevelRow], Key | None]:
    """One page of the candidate rows of a levels file (spec §8.10.1): of the next ``page``
    marked subjects after the stored key ``after``, those a held declaration reserves (``n``
    for ``category``), each resolved under every policy (spec §9.4.7) into its row. Returns
    them and the key to continue after, None at the end.

    The answers count every record the index holds: read it on a database snapshot together
    with the own checkpoint and :func:`held_logs` (:func:`registry.storage.engine.
    read_snapshot`), and they are those at the checkpoint's size and the mirrors' committed
    sizes (spec §8.10.1). ``offload`` runs the resolutions (the CPU-bound part, no database
    access) where the caller wants them, e.g. in a worker thread. Memory follows the page, not
    the index."""
    ts = schema.index_trust_subjects
    query = sa.select(ts.c.kind, ts.c.key).order_by(ts.c.kind, ts.c.key).limit(page)
    if after is not None:
        query = query.where(sa.tuple_(ts.c.kind, ts.c.key) > sa.tuple_(*after))
    marks = [(int(r.kind), bytes(r.key)) for r in conn.execute(query)]
    if not marks:
        return [], None
    keys = {key: stored_subject(*key) for key in marks}
    state, held = _trust_state(conn, keys, config)
    reserving = {
        subject
        for declaration in held.values()
        if declaration.prefs.get(category) == DISALLOW
        for subject in subjects_of(declaration)
    }
    rows: list[LevelRow] = []

    def resolve() -> None:
        for subject in keys.values():
            if subject in reserving:
                resolutions = {p: state.resolve(subject, p) for p in POLICIES}
                row = subject_row(subject, resolutions, category)
                if row is not None:
                    rows.append(row)

    (offload or _now)(resolve)
    return rows, marks[-1]


def _now(work: Callable[[], None]) -> None:
    work()


def _load(conn: Connection, ids: set[bytes]) -> list[tuple[bytes, AnyRecord, tuple[str, ...]]]:
    t = schema.index_trust
    out = []
    for row in select_in(conn, sa.select(t.c.id, t.c.origins, t.c.data), t.c.id, sorted(ids)):
        record = trust_record(bytes(row.data))
        if record is not None:
            out.append((bytes(row.id), record, tuple(str(row.origins).split(" "))))
    return out


# -- the expected tables (``registry index rebuild``) ---------------------------------------------

TrustRow = tuple[bytes, str, str, bytes]
RefRow = tuple[int, bytes, bytes]


def expected_tables(
    trust: Iterable[tuple[str, AnyRecord, bytes, tuple[str, ...]]],
    declarations: Iterable[tuple[str, Declaration]],
) -> tuple[set[TrustRow], set[RefRow], set[Key]]:
    """The trust tables as a function of the set of entries: ``trust`` gives (id, record,
    entry, origins) of every trust record, ``declarations`` (id, record) of every declaration.
    What :func:`apply_trust` writes incrementally, in any order, equals this."""
    rows: set[TrustRow] = set()
    refs: set[RefRow] = set()
    for hexid, record, entry, origins in trust:
        key = bytes.fromhex(hexid)
        rows.add((key, _kind(record), " ".join(sorted(origins)), entry))
        refs |= _refs(key, record)
    marks: set[Key] = {(ref, value) for ref, value, _ in refs if ref in (SHA256, URL)}
    named = {value.decode() for ref, value, _ in refs if ref == REF_KEY}
    targeted = {value for ref, value, _ in refs if ref == REF_TARGET}
    for hexid, declaration in declarations:
        if declaration.creator in named or bytes.fromhex(hexid) in targeted:
            marks.update(subject_key(s) for s in subjects_of(declaration))
    return rows, refs, marks


def stored_tables(conn: Connection) -> tuple[set[TrustRow], set[RefRow], set[Key]]:
    """The trust tables as stored (for :func:`expected_tables`' comparison)."""
    t, r, ts = schema.index_trust, schema.index_trust_refs, schema.index_trust_subjects
    rows = {
        (bytes(x.id), str(x.kind), str(x.origins), bytes(x.data))
        for x in conn.execute(sa.select(t))
    }
    refs = {(int(x.ref), bytes(x.key), bytes(x.record)) for x in conn.execute(sa.select(r))}
    marks = {(int(x.kind), bytes(x.key)) for x in conn.execute(sa.select(ts))}
    return rows, refs, marks


def replace_tables(conn: Connection, expected: tuple[set[TrustRow], set[RefRow], set[Key]]) -> None:
    """Replace the stored trust tables with ``expected`` (in the caller's transaction)."""
    rows, refs, marks = expected
    t, r, ts = schema.index_trust, schema.index_trust_refs, schema.index_trust_subjects
    for table in (ts, r, t):
        conn.execute(sa.delete(table))
    if rows:
        conn.execute(
            sa.insert(t),
            [{"id": i, "kind": k, "origins": o, "data": d} for i, k, o, d in sorted(rows)],
        )
    if refs:
        conn.execute(sa.insert(r), [{"ref": a, "key": b, "record": c} for a, b, c in sorted(refs)])
    if marks:
        conn.execute(sa.insert(ts), [{"kind": k, "key": v} for k, v in sorted(marks)])


# -- admission (issue 12 item 6) -----------------------------------------------------------------


def verified_keys(conn: Connection, dids: Sequence[str], config: TrustConfig) -> set[str]:
    """Which of ``dids`` have identity evidence under ``config`` (spec §9.1): a binding by a
    trusted node whose latest event for its domain is not a lapse, or an attestation by a
    trusted platform. For admission only: answers give each claim's level per work (§9.4.4)."""
    r, t = schema.index_trust_refs, schema.index_trust
    if not dids:
        return set()
    query = (
        sa.select(t.c.data)
        .join(r, r.c.record == t.c.id)
        .where(r.c.ref == REF_KEY, t.c.kind.in_(["binding", "platform-attestation"]))
    )
    latest: dict[tuple[str, str], tuple[int, bool]] = {}
    found: set[str] = set()
    for row in select_in(conn, query, r.c.key, sorted({d.encode() for d in dids})):
        record = trust_record(bytes(row.data))
        if isinstance(record, PlatformAttestation) and record.platform in config.platforms:
            found.add(record.creator)
        elif isinstance(record, Binding) and record.node in config.nodes:
            key = (record.creator, record.domain)
            event = (record.issued_at, record.lapsed)
            latest[key] = max(latest.get(key, event), event)
    found.update(creator for (creator, _), (_, lapsed) in latest.items() if not lapsed)
    return found & set(dids)


def bindings_by(conn: Connection, node: str) -> list[Binding]:
    """Every binding signed by ``node`` (for its re-checks, spec §9.2), in no order."""
    t = schema.index_trust
    out: list[Binding] = []
    for row in conn.execute(sa.select(t.c.data).where(t.c.kind == "binding")):
        record = trust_record(bytes(row.data))
        if isinstance(record, Binding) and record.node == node:
            out.append(record)
    return out
