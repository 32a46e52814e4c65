"""The node's offline snapshots (spec §8): build, chain and keep them as the log grows.

:class:`SnapshotBuilder` keeps its own :class:`~registry.core.state.ConsentState` of the node's
log, fed from the log's entries up to exactly the size of the latest signed checkpoint, so that
every snapshot holds the reserved set at one checkpoint (spec §8.1) and nothing else: the
worker's :class:`~registry.indexes.memory.LogIndex` also absorbs mirrored logs and runs ahead of any
checkpoint, so it cannot serve here. :meth:`SnapshotBuilder.refresh` then publishes a full
snapshot or a delta (spec §8.7):

- a **full** snapshot holds every subject reserved at its size;
- a **delta** holds the subjects reserved at its size that were not reserved at the previous
  snapshot's size: it only adds. A subject that stops being reserved (withdrawal, supersession)
  stays in the chain as a stale hit until the next full rebuild; a hit means "ask the node", so
  this costs a query, never a wrong answer.

A new chain (full rebuild) starts when there is no chain yet, when it has
:attr:`SnapshotPolicy.max_deltas` deltas, or when the deltas' items or the stale subjects exceed
:attr:`SnapshotPolicy.rebuild_fraction` of the full snapshot's items. The current and the
previous chain stay available by name, so a client that listed just before a rebuild can finish.

With a trust configuration (``trust=``, the node's), every snapshot also gets a signed **levels
file** (spec §8.10, :mod:`registry.core.levels`): for the reserved subjects the log's trust
records mark, the answer under each policy with every claim's level and evidence, resolved by
:class:`~registry.core.trust.TrustState` over a transient subset of the state.

:class:`SnapshotService` runs a builder in the background for the app (wiring: see
:mod:`registry.http.controllers.snapshots`).
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import os
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

import msgspec

from registry.core.checkpoint import open_checkpoint
from registry.core.errors import ProtocolError
from registry.core.levels import (
    LevelRow,
    MirroredSize,
    delta_rows,
    level_rows,
    make_levels,
    subject_row,
)
from registry.core.note import NoteSigner
from registry.core.prefs import DISALLOW
from registry.core.records import (
    AnyRecord,
    Binding,
    CounterStatement,
    Declaration,
    PlatformAttestation,
    Revocation,
    Rotation,
    Work,
    decode_stored_entry,
    record_id,
)
from registry.core.snapshot import (
    DEFAULT_CATEGORY,
    SnapshotHeader,
    build_filter,
    make_snapshot,
    parse_snapshot,
    subject_key,
)
from registry.core.state import ConsentState, Subject, subjects_of
from registry.core.trust import POLICIES, TrustState, attested_subjects

if TYPE_CHECKING:
    from registry.log.custody import KeyCustody
    from registry.storage.trustconfig import TrustConfig

__all__ = [
    "CHAIN_FILE",
    "HeldIndex",
    "PublishedSnapshot",
    "SnapshotBuilder",
    "SnapshotPolicy",
    "SnapshotService",
    "SnapshotSource",
    "load_node_signer",
]

_log = logging.getLogger("registry.snapshots")


class HeldIndex(Protocol):
    """The node's persistent index, for levels files over every log it holds (spec §8.10.1;
    :class:`registry.storage.index.ConsentStore` provides it)."""

    async def held_logs(self) -> tuple[MirroredSize, ...]: ...

    async def level_rows(
        self, config: TrustConfig, category: str, keep: Callable[[str, str], bool]
    ) -> tuple[tuple[MirroredSize, ...], list[LevelRow]]: ...


class SnapshotSource(Protocol):
    """What the builder needs from the log (:class:`registry.log.NodeLog` provides it)."""

    async def checkpoint(self) -> bytes: ...

    def entries(self, start: int, stop: int) -> AsyncIterator[tuple[int, bytes]]: ...


@dataclass(frozen=True, kw_only=True)
class SnapshotPolicy:
    """How snapshots are built and when a chain is rebuilt (spec §8.7)."""

    fingerprint_bits: int = 16
    """8 (~9 bits/entry, FPR 1/256) or 16 (~18 bits/entry, FPR 1/65536)."""
    category: str = DEFAULT_CATEGORY
    max_deltas: int = 32
    """Deltas after which the next snapshot is a full rebuild."""
    rebuild_fraction: float = 0.25
    """Rebuild when the deltas' items, or the stale subjects, exceed this share of the full
    snapshot's items (at least :attr:`min_rebuild_items`)."""
    min_rebuild_items: int = 1024
    page: int = 5000
    """Log entries read per query while catching up."""


@dataclass(frozen=True)
class PublishedSnapshot:
    """One snapshot file as served: its name, header and bytes (spec §8.6), and its levels
    file (spec §8.10), if built."""

    name: str
    header: SnapshotHeader
    data: bytes
    sha256: str
    """Lowercase hex SHA-256 of :attr:`data` (the whole file)."""
    levels: bytes = b""
    """The levels file (spec §8.10.4); empty if none was built."""
    levels_sha256: str = ""

    @classmethod
    def of(cls, data: bytes, levels: bytes = b"") -> PublishedSnapshot:
        """Describe a snapshot file this node built (its header is trusted as is)."""
        header, _, _ = parse_snapshot(data)
        digest = hashlib.sha256(levels).hexdigest() if levels else ""
        return cls(header.name, header, data, hashlib.sha256(data).hexdigest(), levels, digest)


def _slim(record: Declaration) -> Declaration:
    """``record`` keeping of each work only what resolution reads (spec §3.5.1: subjects are
    SHA-256s and URLs; trust records name digests, §9.3.2): the builder holds every
    declaration of the log, and a work's PDQ, its crops and its ISCC would otherwise be most
    of that memory (~2.1 KB of ~2.9 KB per work declared with 16 ``pdq_variants``)."""
    if all(w.pdq is None and w.iscc is None and w.media_type is None for w in record.works):
        return record
    works = tuple(Work(sha256=w.sha256, urls=w.urls) for w in record.works)
    return msgspec.structs.replace(record, works=works)


class SnapshotBuilder:
    """Follows the node's log and publishes its snapshot chain (spec §8.7).

    One builder per worker. Not thread-safe; :meth:`refresh` serialises itself.
    """

    def __init__(
        self,
        signer: NoteSigner,
        *,
        policy: SnapshotPolicy | None = None,
        trust: Callable[[], TrustConfig] | None = None,
        held: HeldIndex | None = None,
    ) -> None:
        self.signer = signer
        self.origin = signer.name
        self.policy = policy or SnapshotPolicy()
        # spec §8.10: with a trust configuration, every snapshot gets a levels file; with the
        # node's index, its answers count every log the node holds (spec §8.10.1)
        self.trust = trust
        self.held = held
        self._levelled: tuple[tuple[MirroredSize, ...], TrustConfig] | None = None
        # spec §8.10.1 item 4: the rows at the chain's last snapshot and at the one before it,
        # and the SHA-256 of their levels files, for the next delta's (or a rebuilt) file
        self._rows_last: dict[int, LevelRow] = {}
        self._rows_before: dict[int, LevelRow] = {}
        self._sha_last = b""
        self._sha_before = b""
        self.trust_records: dict[str, AnyRecord] = {}
        self.state = ConsentState()
        self.size = 0  # log entries absorbed: 0..size-1
        self.root_hash = b""
        self.chain: tuple[PublishedSnapshot, ...] = ()
        self.previous_chain: tuple[PublishedSnapshot, ...] = ()
        self.skipped = 0
        # spec §8.1 item 7: keys a revocation or rotation of the log names, and the subjects
        # their declarations reserve (trust records can revive those, spec §9.4.1-§9.4.2)
        self.named_keys: set[str] = set()
        self.revivable: set[Subject] = set()
        self._stale = 0  # subjects that left the reserved set since the chain's full snapshot
        self._lock = asyncio.Lock()

    def get(self, name: str) -> PublishedSnapshot | None:
        """The snapshot named ``name`` of the current or the previous chain, if any."""
        for snapshot in (*self.chain, *self.previous_chain):
            if snapshot.name == name:
                return snapshot
        return None

    async def refresh(self, source: SnapshotSource) -> PublishedSnapshot | None:
        """Catch up to the latest checkpoint and publish a snapshot at its size.

        Returns the new snapshot, or None if the chain already covers that size.

        Raises:
            ProtocolError: the checkpoint is not signed by the node key (it always is).
            RuntimeError: the log is smaller than what the builder has absorbed.
        """
        async with self._lock:
            note = await source.checkpoint()
            checkpoint = open_checkpoint(note, self.signer.verifier).checkpoint
            if checkpoint.size < self.size:
                raise RuntimeError(f"log shrank from {self.size} to {checkpoint.size} entries")
            if checkpoint.size == self.size and self.chain:
                return await self._relevelled()
            tracking = bool(self.chain)
            before: dict[Subject, bool] = {}
            while self.size < checkpoint.size:
                stop = min(self.size + self.policy.page, checkpoint.size)
                records = [r async for r in self._decoded(source, self.size, stop)]
                await asyncio.to_thread(self._absorb, records, before if tracking else None)
                self.size = stop
            self.root_hash = checkpoint.root_hash
            published, full = await asyncio.to_thread(self._publish, before if tracking else None)
            if self.held is not None and self.trust is not None:
                published = await self._held_levels(published, self.held, self.trust())
            self._adopt(published, full=full)
            _log.info(
                "snapshot %s: %d items, %d bytes",
                published.name,
                published.header.items,
                len(published.data),
            )
            return published

    async def _decoded(
        self, source: SnapshotSource, start: int, stop: int
    ) -> AsyncIterator[tuple[str, AnyRecord]]:
        async for index, entry in source.entries(start, stop):
            try:
                record = decode_stored_entry(entry)
            except ProtocolError as exc:  # the index logs and skips such entries too
                self.skipped += 1
                _log.error("entry %d not in snapshots: %s", index, exc)
                continue
            yield record_id(entry), _slim(record) if isinstance(record, Declaration) else record

    def _reserved(self, subject: Subject) -> bool:
        return subject in self.revivable or self.state.resolve(subject).reserved(
            self.policy.category
        )

    def _revive(self, record: Declaration, before: dict[Subject, bool] | None) -> None:
        """Keep every subject ``record`` reserves in the filter for good (spec §8.1 item 7)."""
        if record.prefs.get(self.policy.category) != DISALLOW:
            return
        for subject in subjects_of(record):
            if before is not None and subject not in before:
                before[subject] = self._reserved(subject)
            self.revivable.add(subject)

    def _absorb(
        self, records: list[tuple[str, AnyRecord]], before: dict[Subject, bool] | None
    ) -> None:
        """Add records to the state; with ``before``, first note the reserved status (at the
        previous snapshot's size) of every subject they may change."""
        for declaration_id, record in records:
            if not isinstance(record, Declaration):
                if self.trust is not None:  # kept whole for the levels (spec §8.10)
                    self.trust_records[declaration_id] = record
                if not isinstance(record, Rotation | Revocation):
                    continue
                # spec §8.1 item 7: the records that can revive a reservation
                named = (
                    {record.creator, record.new_key}
                    if isinstance(record, Rotation)
                    else {record.key}
                )
                for key in sorted(named - self.named_keys):
                    self.named_keys.add(key)
                    for declared in self.state.by_creator(key):
                        self._revive(declared.record, before)
                continue
            if record.creator in self.named_keys:
                self._revive(record, before)
            if before is not None:
                for subject in self._touched(record):
                    if subject not in before:
                        before[subject] = self._reserved(subject)
            self.state.add(declaration_id, record, origin=self.origin)

    def _touched(self, record: Declaration) -> list[Subject]:
        """The subjects whose resolution adding ``record`` may change (spec §3.5): its own,
        and those of the creator's declarations it supersedes (spec §3.5.2)."""
        subjects = subjects_of(record)
        if record.supersedes:
            targets = set(record.supersedes)
            for declaration in self.state.by_creator(record.creator):
                if declaration.declaration_id in targets:
                    subjects.extend(subjects_of(declaration.record))
        return subjects

    def _adopt(self, published: PublishedSnapshot, *, full: bool) -> None:
        """Serve ``published``: a full snapshot starts a new chain, a delta extends it."""
        if full:
            self.previous_chain = self.chain
            self.chain = (published,)
            self._stale = 0
        else:
            self.chain = (*self.chain, published)

    def _publish(self, before: dict[Subject, bool] | None) -> tuple[PublishedSnapshot, bool]:
        """The next snapshot, and whether it is full (:meth:`_adopt` serves it)."""
        policy = self.policy
        if before is None:
            return self._publish_full()
        added = [s for s, was in before.items() if not was and self._reserved(s)]
        self._stale += sum(1 for s, was in before.items() if was and not self._reserved(s))
        full = self.chain[0].header
        deltas = self.chain[1:]
        threshold = policy.rebuild_fraction * max(full.items, policy.min_rebuild_items)
        delta_items = sum(s.header.items for s in deltas) + len(added)
        if len(deltas) >= policy.max_deltas or delta_items > threshold or self._stale > threshold:
            return self._publish_full()
        fuse = build_filter(
            (subject_key(*s) for s in added),
            fingerprint_bits=policy.fingerprint_bits,
            seed_material=self.root_hash,
        )
        data = make_snapshot(
            origin=self.origin,
            size=self.size,
            root_hash=self.root_hash,
            fuse=fuse,
            signers=[self.signer],
            kind="delta",
            base=full.size,
            previous=self.chain[-1].header.size,
            category=policy.category,
        )
        return PublishedSnapshot.of(data, self._levels(data)), False

    async def _relevelled(self) -> PublishedSnapshot | None:
        """The last snapshot with a new levels file if the mirrored logs the index holds grew
        or the trust configuration changed since its levels file was built (the file counts
        them at their sizes, spec §8.10.1); else None."""
        if self.held is None or self.trust is None or self._levelled is None:
            return None
        config = self.trust()
        if (await self.held.held_logs(), config) == self._levelled:
            return None
        published = await self._held_levels(self.chain[-1], self.held, config)
        self.chain = (*self.chain[:-1], published)
        return published

    async def _held_levels(
        self, snapshot: PublishedSnapshot, held: HeldIndex, config: TrustConfig
    ) -> PublishedSnapshot:
        """``snapshot`` with its levels file computed from the node's index over every log it
        holds (spec §8.10.1): the mirrored logs at the sizes the index holds them, the own log
        up to the snapshot's size only (the index runs ahead of it; the builder's state knows
        the own records up to there)."""
        state, trust_records, origin = self.state, self.trust_records, self.origin

        def keep(record: str, log: str) -> bool:
            return log != origin or record in trust_records or state.declaration(record) is not None

        mirrors, rows = await held.level_rows(config, self.policy.category, keep)
        relevel = bool(self.chain) and snapshot.name == self.chain[-1].name
        levels = self._sign_levels(snapshot.header, rows, config, mirrors, relevel=relevel)
        self._levelled = (mirrors, config)
        return PublishedSnapshot.of(snapshot.data, levels)

    def _sign_levels(
        self,
        header: SnapshotHeader,
        rows: list[LevelRow],
        config: TrustConfig,
        mirrors: tuple[MirroredSize, ...] = (),
        *,
        relevel: bool = False,
    ) -> bytes:
        """The signed levels file of the snapshot ``header`` whose rows at its size are
        ``rows`` (spec §8.10.1): all of them for a full snapshot; for a delta those that changed
        since the chain's previous snapshot, naming that snapshot's levels file (item 4).
        ``relevel``: the file replaces the one of the chain's last snapshot (``header``)."""
        current = {row.key: row for row in rows}
        if not relevel:  # the chain's last file becomes the one before this one
            self._rows_before, self._sha_before = self._rows_last, self._sha_last
        previous = None
        if header.kind == "delta":
            rows, previous = delta_rows(self._rows_before, current), self._sha_before
        data = make_levels(
            header,
            rows,
            signers=[self.signer],
            nodes=config.nodes,
            platforms=config.platforms,
            mirrors=mirrors,
            previous=previous,
        )
        self._rows_last, self._sha_last = current, hashlib.sha256(data).digest()
        return data

    def _levels(self, data: bytes) -> bytes:
        """The levels file of the snapshot ``data`` (spec §8.10) from the builder's own state;
        empty without a trust configuration, or with the node's index (see
        :meth:`_held_levels`). Every levels file is complete for its snapshot's size (spec
        §8.10.1)."""
        if self.trust is None or self.held is not None:
            return b""
        config = self.trust()
        header, _, _ = parse_snapshot(data)
        return self._sign_levels(
            header, self._level_rows(config) if self.trust_records else [], config
        )

    def _marked(self) -> set[Subject]:
        """The subjects whose answer a trust record of the log may change (spec §8.10.1, the
        marks of the persistent index, :mod:`registry.storage.trust`): those an attestation
        lists, those of the declarations of every key a trust record names, and those of the
        declarations a counter-statement is about."""
        marked: set[Subject] = set()
        keys: set[str] = set()
        for record in self.trust_records.values():
            if isinstance(record, PlatformAttestation):
                marked.update(attested_subjects(record))
                keys.add(record.creator)
            elif isinstance(record, Binding):
                keys.add(record.creator)
            elif isinstance(record, Rotation):
                keys |= {record.creator, record.new_key}
            elif isinstance(record, Revocation):
                keys.add(record.key)
            elif isinstance(record, CounterStatement):
                target = self.state.declaration(record.target)
                if target is not None:
                    marked.update(subjects_of(target))
        for key in keys:
            for declared in self.state.by_creator(key):
                marked.update(subjects_of(declared.record))
        return marked

    def _level_rows(self, config: TrustConfig) -> list[LevelRow]:
        """The rows of the marked subjects some declaration of the log reserves whose answer
        is not the default (spec §8.10.1), resolved by the core resolver (:class:`TrustState`,
        spec §9.4) over the log's trust records and the declarations those subjects need:
        every declaration mentioning them and every declaration listing one of those in
        ``supersedes``. Memory is transient and in proportion to the marked subjects only."""
        category = self.policy.category
        candidates = sorted(s for s in self._marked() if self._declared(s))
        state = TrustState(platforms=config.platforms, nodes=config.nodes)
        for trust_id, record in self.trust_records.items():
            state.add(trust_id, record, origin=self.origin)
        needed: set[str] = set()
        for subject in candidates:
            for declaration_id in self.state.mentions(subject):
                needed.add(declaration_id)
                needed |= self.state.listed_by(declaration_id)
        for declaration_id in sorted(needed):
            declaration = self.state.declaration(declaration_id)
            if declaration is not None:
                state.add(declaration_id, declaration, origin=self.origin)
        rows = (
            subject_row(s, {p: state.resolve(s, p) for p in POLICIES}, category) for s in candidates
        )
        return level_rows(row for row in rows if row is not None)

    def _declared(self, subject: Subject) -> bool:
        """Whether a declaration of the log reserves ``subject`` (``n`` for the category)."""
        for declaration_id in self.state.mentions(subject):
            declaration = self.state.declaration(declaration_id)
            if declaration is not None and declaration.prefs.get(self.policy.category) == DISALLOW:
                return True
        return False

    def _publish_full(self) -> tuple[PublishedSnapshot, bool]:
        # spec §8.1: every subject whose resolved preference for the category is "n"
        keys = [subject_key(*s) for s in self.state.subjects() if self._reserved(s)]
        fuse = build_filter(
            keys, fingerprint_bits=self.policy.fingerprint_bits, seed_material=self.root_hash
        )
        data = make_snapshot(
            origin=self.origin,
            size=self.size,
            root_hash=self.root_hash,
            fuse=fuse,
            signers=[self.signer],
            category=self.policy.category,
        )
        return PublishedSnapshot.of(data, self._levels(data)), True


async def load_node_signer(database_url: str, custody: KeyCustody | None = None) -> NoteSigner:
    """The node's log signing key, from its custody (ADR 0012: ``node.key`` beside an SQLite
    database unless ``custody`` says otherwise), checked against the database's verifier key.

    Raises:
        RuntimeError: there is no key, or not the log's (the log was never opened).
    """
    from registry.log.custody import default_custody  # noqa: PLC0415 - node-only imports
    from registry.log.keys import VERIFIER_KEY_META  # noqa: PLC0415
    from registry.storage import LogStore, create_engine  # noqa: PLC0415

    engine = create_engine(database_url)
    try:
        vkey = await LogStore(engine).meta(VERIFIER_KEY_META)
    finally:
        await engine.dispose()
    signer = (custody or default_custody(database_url)).load()
    if signer is None or vkey is None or signer.verifier.vkey != vkey:
        raise RuntimeError("the node has no signing key for this log")
    return signer


LEVELS_SUFFIX: Final = ".levels"
"""A levels file (spec §8.10) is kept in the shared directory beside its snapshot, so named."""

CHAIN_FILE: Final = "chain.json"
"""The shared directory's listing: ``{"chain": [names], "previous": [names]}``."""


class SnapshotService:
    """A builder kept current in the background: a refresh every ``interval`` seconds.

    Several worker processes of one node (``registry serve --workers N``) must list the same
    chain, or a client could list on one worker and fetch a name another worker never built.
    With ``directory`` and ``is_leader``, only the worker for which ``is_leader()`` is true (the
    federation leader, :mod:`registry.federation.leader`) builds; it writes every snapshot file
    and the listing :data:`CHAIN_FILE` into ``directory`` (atomically: write, then rename), and
    the other workers serve what the directory holds, re-reading the listing every
    ``follow_interval`` seconds. When leadership moves, the new leader starts a new chain with a
    full snapshot at a size no older snapshot exceeds, so no name ever denotes two different
    files (spec §8.8). Without them, the service builds on its own (one worker).
    """

    def __init__(
        self,
        builder: SnapshotBuilder,
        source: SnapshotSource,
        *,
        interval: float = 60.0,
        directory: Path | None = None,
        is_leader: Callable[[], bool] | None = None,
        follow_interval: float = 1.0,
    ) -> None:
        self.builder = builder
        self.source = source
        self.interval = interval
        self.directory = directory
        self.is_leader = is_leader
        self.follow_interval = follow_interval
        self._task: asyncio.Task[None] | None = None
        self._poke = asyncio.Event()
        self._leading = False
        self._listing_stamp: tuple[int, int] | None = None
        self._shared_levels: dict[str, str] = {}  # name -> SHA-256 of the levels file written

    @classmethod
    async def start(
        cls,
        database_url: str,
        source: SnapshotSource,
        *,
        interval: float = 60.0,
        policy: SnapshotPolicy | None = None,
        directory: Path | None = None,
        is_leader: Callable[[], bool] | None = None,
        follow_interval: float = 1.0,
        signer: NoteSigner | None = None,
        trust: Callable[[], TrustConfig] | None = None,
        held: HeldIndex | None = None,
    ) -> SnapshotService:
        """Load the node key (``signer``: the running log's) and start refreshing (the first
        snapshot builds in the background, so start-up does not wait for it). ``trust``: the
        node's trust configuration, read at each snapshot; with it every snapshot gets a
        levels file (spec §8.10); ``held``: the node's index, so that the levels files count
        every log the node holds (spec §8.10.1)."""
        signer = signer or await load_node_signer(database_url)
        service = cls(
            SnapshotBuilder(signer, policy=policy, trust=trust, held=held),
            source,
            interval=interval,
            directory=directory,
            is_leader=is_leader,
            follow_interval=follow_interval,
        )
        service._task = asyncio.create_task(service._follow(), name="snapshot-builder")
        return service

    def poke(self) -> None:
        """Refresh now rather than at the next interval."""
        self._poke.set()

    @property
    def builds(self) -> bool:
        """True if this worker builds snapshots (rather than serving the leader's)."""
        return self.is_leader is None or self.directory is None or self.is_leader()

    async def _follow(self) -> None:
        while True:
            wait = self.interval
            try:
                if self.builds:
                    await self._build()
                else:
                    self._leading = False
                    await asyncio.to_thread(self._read_shared)
                    wait = min(self.interval, self.follow_interval)
            except Exception as exc:
                _log.warning("snapshot refresh failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=wait)
            self._poke.clear()

    async def _build(self) -> None:
        if not self._leading and self.directory is not None and self.is_leader is not None:
            # a new leader starts its own chain (see the class docstring)
            self.builder = SnapshotBuilder(
                self.builder.signer,
                policy=self.builder.policy,
                trust=self.builder.trust,
                held=self.builder.held,
            )
            self._leading = True
        published = await self.builder.refresh(self.source)
        if published is not None and self.directory is not None:
            await asyncio.to_thread(self._write_shared)

    def _write_shared(self) -> None:
        """Publish the builder's chains to the shared directory (leader only). A levels file
        is rewritten when its snapshot's has changed (the mirrored logs grew, spec §8.10.1);
        the listing names every levels file's SHA-256, so followers re-read changed ones."""
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            snapshots = (*self.builder.chain, *self.builder.previous_chain)
            for snapshot in snapshots:
                path = self.directory / snapshot.name
                levels = path.with_name(path.name + LEVELS_SUFFIX)
                if (
                    snapshot.levels
                    and self._shared_levels.get(snapshot.name) != snapshot.levels_sha256
                ):
                    # before the snapshot, which followers look for
                    _atomic_write(levels, snapshot.levels)
                    self._shared_levels[snapshot.name] = snapshot.levels_sha256
                if not path.exists():
                    _atomic_write(path, snapshot.data)
            listing = {
                "chain": [s.name for s in self.builder.chain],
                "previous": [s.name for s in self.builder.previous_chain],
                "levels": {s.name: s.levels_sha256 for s in snapshots if s.levels},
            }
            _atomic_write(self.directory / CHAIN_FILE, json.dumps(listing).encode())
        except OSError as exc:  # other workers keep serving the last chain they read
            _log.warning("cannot share snapshots in %s: %s", self.directory, exc)

    def _read_shared(self) -> None:
        """Adopt the chains the leader published, if the listing changed (followers)."""
        directory = self.directory
        assert directory is not None
        try:
            stat = (directory / CHAIN_FILE).stat()
        except FileNotFoundError:
            return
        stamp = (stat.st_mtime_ns, stat.st_size)
        if stamp == self._listing_stamp:
            return
        listing = json.loads((directory / CHAIN_FILE).read_bytes())
        levels_of: dict[str, str] = listing.get("levels", {})
        known = {
            s.name: s
            for s in (*self.builder.chain, *self.builder.previous_chain)
            if s.levels_sha256 == levels_of.get(s.name, "")
        }

        def read(name: str) -> PublishedSnapshot:
            levels = directory / (name + LEVELS_SUFFIX)
            return PublishedSnapshot.of(
                (directory / name).read_bytes(), levels.read_bytes() if levels.exists() else b""
            )

        def load(names: list[str]) -> tuple[PublishedSnapshot, ...]:
            return tuple(known[name] if name in known else read(name) for name in names)

        chain, previous = load(listing["chain"]), load(listing["previous"])
        self.builder.chain, self.builder.previous_chain = chain, previous
        self._listing_stamp = stamp

    async def stop(self) -> None:
        """Stop refreshing."""
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None


def _atomic_write(path: Path, data: bytes) -> None:
    """Write ``data`` to ``path`` so that readers see the old file or the new one, whole."""
    temporary = path.with_name(f".{path.name}.{os.getpid()}.tmp")
    temporary.write_bytes(data)
    os.replace(temporary, path)
