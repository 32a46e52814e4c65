"""The own log's reserved set (spec §8.1), read from the persistent index for the snapshot builder.

A snapshot covers the node's own log only, up to its checkpoint's size *N* (spec §8.1 items 1
and 6). The persistent index (ADR 0010) resolves over every log the node holds (spec §3.5.5),
and holds the own entries 0..*N*-1 exactly when it is read in ONE snapshot together with the
``checkpoint`` row: the integrator writes a batch's index rows and moves the checkpoint in one
transaction (:meth:`registry.storage.repository.LogStore.append`), and a mirror's rows move
with its ``mirror_heads.size`` (:meth:`registry.storage.federation.FederationStore.
commit_mirror`). Every function here is synchronous, on a ``Connection`` of such a snapshot
(:func:`registry.storage.engine.read_snapshot`, then ``run_sync``).

- :func:`reserved_keys`: the snapshot keys (spec §8.2) of R(*N*) by §3.5, streamed in pages of
  subjects in key order; only the 64-bit keys are kept. While no mirrored log has entries
  (union = own log), a subject is reserved when its stored winners that are not withdrawals
  combine to ``n`` (:func:`registry.core.prefs.combine`). Otherwise a subject every mention of
  which is an own-log-only, unsuperseded declaration is decided the same way, and the others
  (a mirrored log mentions them, or a supersession may come from a mirrored log) by
  :func:`resolve_own`.
- :func:`resolve_own`: a batch of subjects resolved by the core's
  :class:`~registry.core.state.ConsentState` over a transient batch of own-log declarations:
  every declaration mentioning them and every declaration listing one of those in
  ``supersedes`` (as :func:`registry.storage.trust.trusted_resolutions` gathers), at one or
  more log sizes (the own ``entries.idx`` says which entries are below a size). Never a second
  implementation of §3.5.
- :func:`own_trust_records`, :func:`revivable`: the own log's trust records and the subjects
  spec §8.1 item 7 keeps in the filter.
- :func:`touched_subjects`: the subjects whose resolution the own entries *P*..*N*-1 may
  change (a delta's candidates, spec §8.1 item 4).

The levels files of snapshots (spec §8.10) count every log the node holds and are read by
:func:`registry.storage.trust.level_page` on the same database snapshot.

Memory is in proportion to a page of subjects, to a delta, to the trust records and the
subjects they mark: never to the log.
"""

from __future__ import annotations

import array
import functools
from collections.abc import Callable, Iterable, Iterator, Sequence
from typing import Any, Final

import msgspec
import sqlalchemy as sa
from sqlalchemy.engine import Connection

from registry.core.errors import ProtocolError
from registry.core.prefs import DISALLOW, combine
from registry.core.records import AnyRecord, Declaration, Revocation, Rotation, decode_stored_entry
from registry.core.snapshot import sha256_key
from registry.core.snapshot import subject_key as snapshot_key
from registry.core.state import ConsentState, Subject, subjects_of
from registry.storage import schema
from registry.storage.index import (
    SHA256,
    mentioning,
    select_in,
    stored_subject,
    subject_key,
)
from registry.storage.trust import trust_record

__all__ = [
    "RESOLVE_CHUNK",
    "checkpoint_note",
    "has_mirrored_entries",
    "key_of",
    "own_trust_records",
    "reserved_keys",
    "resolve_own",
    "revivable",
    "touched_subjects",
]

RESOLVE_CHUNK: Final = 2000
"""Subjects per :func:`resolve_own` batch (its transient state is in proportion to them)."""

_prefs_decoder = msgspec.json.Decoder(dict[str, str])


def checkpoint_note(conn: Connection) -> bytes:
    """The signed checkpoint note of the own log (read first: on SQLite it fixes the snapshot).

    Raises:
        RuntimeError: the log has no checkpoint (it was never opened).
    """
    t = schema.checkpoint
    note = conn.execute(sa.select(t.c.note).where(t.c.id == schema.SINGLETON_ID)).scalar()
    if note is None:
        raise RuntimeError("the log has no checkpoint")
    return bytes(note)


def has_mirrored_entries(conn: Connection) -> bool:
    """True if a mirrored log has committed entries (then the index's union is not the own
    log, spec §3.5.5)."""
    h = schema.mirror_heads
    return conn.execute(sa.select(h.c.origin).where(h.c.size > 0).limit(1)).first() is not None


def key_of(kind: int, key: bytes) -> int:
    """The snapshot key (spec §8.2) of a stored subject key."""
    if kind == SHA256 and len(key) == 32:
        return sha256_key(key)
    return snapshot_key(*stored_subject(kind, key))


class _Combined:
    """Whether claims with these preferences (canonical JSON) reserve the category: the core's
    :func:`~registry.core.prefs.combine` (spec §3.5.4), cached per set of texts (few differ)."""

    def __init__(self, category: str) -> None:
        self.category = category
        self._cache: dict[tuple[str, ...], bool] = {}
        self._one: dict[str, bool] = {}  # a subject with one claim, the common case

    def reserved(self, texts: Sequence[str]) -> bool:
        if len(texts) == 1:
            hit = self._one.get(texts[0])
            if hit is None:
                hit = self._combined((texts[0],))
                if len(self._one) < 4096:
                    self._one[texts[0]] = hit
            return hit
        found = tuple(sorted(set(texts)))
        hit = self._cache.get(found)
        if hit is None:
            hit = self._combined(found)
            if len(self._cache) < 4096:
                self._cache[found] = hit
        return hit

    def _combined(self, texts: Iterable[str]) -> bool:
        combined = combine(_prefs_decoder.decode(text) for text in texts)
        return combined.get(self.category) == DISALLOW


def _subject_pages(conn: Connection, query: sa.Select[Any], page: int) -> Iterator[list[Any]]:
    """The rows of ``query`` (over ``index_subjects`` as ``st``) grouped per subject, in key
    order, read in pages of about ``page`` rows (keyset pagination: no cursor stays open)."""
    st = schema.index_subjects
    ordered = query.order_by(st.c.kind, st.c.key, st.c.declaration)
    after: tuple[int, bytes] | None = None
    while True:
        paged = ordered
        if after is not None:
            paged = ordered.where(
                sa.tuple_(st.c.kind, st.c.key)
                > sa.tuple_(sa.literal(after[0]), sa.literal(after[1], sa.LargeBinary()))
            )
        rows = conn.execute(paged.limit(page)).all()
        if not rows:
            return
        groups: list[list[Any]] = []
        for row in rows:
            if groups and (groups[-1][0].kind, groups[-1][0].key) == (row.kind, row.key):
                groups[-1].append(row)
            else:
                groups.append([row])
        if len(rows) == page:  # the last subject may go on in the next page
            if len(groups) == 1:  # one subject with a page of mentions or more: read it whole
                first = groups[0][0]
                whole = ordered.where(st.c.kind == first.kind, st.c.key == first.key)
                groups = [list(conn.execute(whole).all())]
            else:
                groups.pop()
        yield groups
        last = groups[-1][0]
        after = (int(last.kind), bytes(last.key))


def reserved_keys(
    conn: Connection,
    origin: str,
    category: str,
    *,
    mirrored: bool,
    page: int = 5000,
    offload: Callable[[Callable[[], None]], None] | None = None,
) -> array.array[int]:
    """The snapshot keys of every subject of R(*N*) by §3.5 over the own log (spec §8.1 items
    1-2; item 7's :func:`revivable` subjects are not included), in key order of the index,
    possibly repeated (two subjects may share a key). ``mirrored``: :func:`has_mirrored_entries`.
    ``offload``: runs each page's decisions (pure Python, no database), e.g. in a thread so
    that an event loop waiting on this scan keeps serving; by default, in the caller.
    """
    st, d = schema.index_subjects, schema.index_declarations
    query = sa.select(
        st.c.kind,
        st.c.key,
        st.c.winner,
        d.c.withdraw,
        d.c.superseded,
        d.c.prefs,
        d.c.origins,
    ).join(d, d.c.id == st.c.declaration)
    if not mirrored:  # every declaration is the own log's: the stored claims are its claims
        query = query.where(st.c.winner, sa.not_(d.c.withdraw))
    combined = _Combined(category)
    keys: array.array[int] = array.array("Q")
    pending: list[Subject] = []

    def flush() -> None:
        for subject, (now,) in resolve_own(conn, origin, pending, (None,), category).items():
            if now:
                keys.append(snapshot_key(*subject))
        pending.clear()

    def decide(groups: list[list[Any]]) -> None:
        for rows in groups:
            if mirrored:
                if all(str(r.origins) == origin and not r.superseded for r in rows):
                    rows = [r for r in rows if r.winner and not r.withdraw]  # noqa: PLW2901
                else:
                    if any(origin in str(r.origins).split(" ") for r in rows):
                        pending.append(stored_subject(int(rows[0].kind), bytes(rows[0].key)))
                    continue
            if rows and combined.reserved([str(r.prefs) for r in rows]):
                keys.append(key_of(int(rows[0].kind), bytes(rows[0].key)))

    for groups in _subject_pages(conn, query, page):
        if offload is None:
            decide(groups)
        else:
            offload(functools.partial(decide, groups))
        if len(pending) >= RESOLVE_CHUNK:
            flush()
    flush()
    return keys


def _own_declarations(conn: Connection, ids: Iterable[bytes]) -> list[tuple[int, str, Declaration]]:
    """(entry index, id, record) of the declarations ``ids`` that are in the own log."""
    e = schema.entries
    found: list[tuple[int, str, Declaration]] = []
    query = sa.select(e.c.idx, e.c.id, e.c.data)
    for row in select_in(conn, query, e.c.id, sorted(i.hex() for i in set(ids))):
        try:
            record = decode_stored_entry(bytes(row.data))
        except ProtocolError:  # pragma: no cover - the index holds only decodable entries
            continue
        if isinstance(record, Declaration):
            found.append((int(row.idx), str(row.id), record))
    found.sort(key=lambda item: item[0])
    return found


def _mentioning(conn: Connection, subjects: Iterable[Subject]) -> set[bytes]:
    """:func:`registry.storage.index.mentioning` the subjects."""
    return mentioning(conn, (subject_key(x) for x in subjects))


def resolve_own(
    conn: Connection,
    origin: str,
    subjects: Sequence[Subject],
    sizes: Sequence[int | None],
    category: str,
) -> dict[Subject, list[bool]]:
    """For each subject, whether it is reserved by §3.5 over the own log's declarations in the
    entries below each of ``sizes`` (None: every own entry of the snapshot), by the core
    :class:`ConsentState` over a transient batch (see the module docstring). In chunks of
    :data:`RESOLVE_CHUNK` subjects."""
    out: dict[Subject, list[bool]] = {}
    for start in range(0, len(subjects), RESOLVE_CHUNK):
        chunk = subjects[start : start + RESOLVE_CHUNK]
        records = _own_declarations(conn, _mentioning(conn, chunk))
        answers: dict[Subject, list[bool]] = {s: [] for s in chunk}
        for size in sizes:
            state = ConsentState()
            for index, declaration_id, record in records:
                if size is None or index < size:
                    state.add(declaration_id, record, origin=origin)
            for subject, found in answers.items():
                found.append(state.resolve(subject).reserved(category))
        out.update(answers)
    return out


def own_trust_records(conn: Connection, origin: str) -> list[tuple[int, str, AnyRecord]]:
    """(entry index, id, record) of every trust record of the own log (spec §9.3), in log
    order. Trust records are few next to declarations (ADR 0017)."""
    t, e = schema.index_trust, schema.entries
    ids = [
        bytes(r.id).hex()
        for r in conn.execute(sa.select(t.c.id, t.c.origins))
        if origin in str(r.origins).split(" ")
    ]
    found: list[tuple[int, str, AnyRecord]] = []
    for row in select_in(conn, sa.select(e.c.idx, e.c.id, e.c.data), e.c.id, ids):
        record = trust_record(bytes(row.data))
        if record is not None:
            found.append((int(row.idx), str(row.id), record))
    found.sort(key=lambda item: item[0])
    return found


def revivable(
    conn: Connection, origin: str, category: str, trust: Iterable[AnyRecord]
) -> set[Subject]:
    """spec §8.1 item 7: every subject that an own-log declaration reserves (``n`` for the
    category) when its creator is named by a revocation (``key``) or a rotation (``creator``
    or ``new_key``) among ``trust`` (the own log's trust records)."""
    named: set[str] = set()
    for record in trust:
        if isinstance(record, Rotation):
            named |= {record.creator, record.new_key}
        elif isinstance(record, Revocation):
            named.add(record.key)
    if not named:
        return set()
    d = schema.index_declarations
    ids = [
        bytes(r.id)
        for r in select_in(conn, sa.select(d.c.id, d.c.origins), d.c.creator, sorted(named))
        if origin in str(r.origins).split(" ")
    ]
    out: set[Subject] = set()
    for _, _, record in _own_declarations(conn, ids):
        if record.prefs.get(category) == DISALLOW:
            out.update(subjects_of(record))
    return out


def touched_subjects(
    conn: Connection, start: int, stop: int, *, page: int = 5000
) -> tuple[list[Subject], list[tuple[int, str]]]:
    """The subjects whose resolution over the own log may change from size ``start`` to
    ``stop`` (spec §3.5): those of the declarations in entries ``start``..``stop``-1, and
    those of the own declarations they list in ``supersedes`` with the same creator (spec
    §3.5.2). Also (index, reason) of the entries that do not decode."""
    e = schema.entries
    touched: dict[Subject, None] = {}
    targets: dict[str, set[str]] = {}  # superseded id -> the creators superseding it
    skipped: list[tuple[int, str]] = []
    for first in range(start, stop, page):
        rows = conn.execute(
            sa.select(e.c.idx, e.c.data)
            .where(e.c.idx >= first, e.c.idx < min(stop, first + page))
            .order_by(e.c.idx)
        )
        for row in rows:
            try:
                record = decode_stored_entry(bytes(row.data))
            except ProtocolError as exc:
                skipped.append((int(row.idx), str(exc)))
                continue
            if isinstance(record, Declaration):
                touched.update(dict.fromkeys(subjects_of(record)))
                for target in record.supersedes:
                    targets.setdefault(target, set()).add(record.creator)
    wanted: list[bytes] = []
    for target in targets:
        try:
            wanted.append(bytes.fromhex(target))
        except ValueError:  # pragma: no cover - a record's supersedes are hex ids
            continue
    for _, declaration_id, record in _own_declarations(conn, wanted):
        if record.creator in targets.get(declaration_id, ()):
            touched.update(dict.fromkeys(subjects_of(record)))
    return list(touched), skipped
