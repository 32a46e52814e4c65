"""The node's offline snapshots (spec §8): build, chain and keep them as the log grows.

:class:`SnapshotBuilder` reads the reserved set from the persistent index (ADR 0010, ADR 0026:
:mod:`registry.storage.reserved`), in ONE database snapshot together with the latest signed
checkpoint, whose size N is then exactly the own entries the index holds, so that every snapshot
holds the reserved set at one checkpoint (spec §8.1). The index resolves over every log the node
holds; a snapshot covers the own log only (spec §8.1 item 6), so subjects a mirrored log also
speaks about are resolved over the own log's declarations by the core. Between refreshes the
builder holds nothing per work; a full snapshot streams the index in pages and holds only the
64-bit keys for the filter. :meth:`SnapshotBuilder.refresh` publishes a full snapshot or a delta
(spec §8.7):

- a **full** snapshot holds every subject reserved at its size;
- a **delta** holds the subjects reserved at its size that were not reserved at the previous
  snapshot's size: it only adds. The index holds the state at N only; the subjects that can
  differ are those the own entries since the previous snapshot touch, which the core resolves
  at both sizes over the own log's declarations (the entry index of each is known). A
  subject that stops being reserved (withdrawal, supersession) stays in the chain as a stale
  hit until the next full rebuild; a hit means "ask the node", so this costs a query, never a
  wrong answer.

A new chain (full rebuild) starts when there is no chain yet, when it has
:attr:`SnapshotPolicy.max_deltas` deltas, or when the deltas' items or the stale subjects exceed
:attr:`SnapshotPolicy.rebuild_fraction` of the full snapshot's items. The current and the
previous chain stay available by name, so a client that listed just before a rebuild can finish.

With a trust configuration (``trust=``, the node's), every snapshot also gets a signed **levels
file** (spec §8.10, :mod:`registry.core.levels`): for the marked subjects some declaration
reserves, the answer under each policy with every claim's level and evidence, over every log
the node holds (its own at the snapshot's size, each mirrored log at its committed size, read on
the same database snapshot: :func:`registry.storage.trust.level_page`); a delta's file holds
the rows that changed since the previous one's (spec §8.10.1 item 4). When the mirrored logs
grow (or the trust configuration changes) and the own log does not, the last snapshot's levels
file is rebuilt (spec §8.10.1 item 5).

:class:`SnapshotService` runs a builder in the background for the app (wiring: see
:mod:`registry.http.controllers.snapshots`).
"""

from __future__ import annotations

import array
import asyncio
import contextlib
import dataclasses
import hashlib
import json
import logging
import os
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine
from sqlalchemy.util import await_only

from registry.core.checkpoint import Checkpoint, open_checkpoint
from registry.core.levels import LevelRow, MirroredSize, delta_rows, level_rows, make_levels
from registry.core.note import NoteSigner
from registry.core.snapshot import (
    DEFAULT_CATEGORY,
    SnapshotHeader,
    build_filter,
    make_snapshot,
    parse_snapshot,
    subject_key,
)
from registry.core.state import Subject
from registry.indexes.fusebuild import build_filter_numpy
from registry.storage import reserved
from registry.storage import trust as trust_index
from registry.storage.engine import read_snapshot

if TYPE_CHECKING:
    from registry.log.custody import KeyCustody
    from registry.storage.trustconfig import TrustConfig

__all__ = [
    "CHAIN_FILE",
    "PublishedSnapshot",
    "SnapshotBuilder",
    "SnapshotPolicy",
    "SnapshotService",
    "SnapshotSource",
    "load_node_signer",
]

_log = logging.getLogger("registry.snapshots")


class SnapshotSource(Protocol):
    """What the builder needs from the log (:class:`registry.log.NodeLog` provides it): the
    database holding the log, its checkpoint and its persistent index (ADR 0010)."""

    @property
    def engine(self) -> AsyncEngine: ...


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
    """Index rows, or log entries, read per query."""


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


@dataclass(frozen=True)
class _Plan:
    """What one refresh read in its database snapshot: a full snapshot's keys, or a delta's."""

    checkpoint: Checkpoint
    full: array.array[int] | None
    """The keys of R(N) (spec §8.1), for a full snapshot; None for a delta."""
    added: list[Subject]
    """A delta's subjects: R(N) \\ R(P) (spec §8.1 item 4)."""
    stale: int
    """The chain's subjects that left the reserved set since its full snapshot, this delta's
    R(P) \\ R(N) included (0 for a full snapshot)."""
    revivable: set[Subject]
    """spec §8.1 item 7's subjects at N."""
    config: TrustConfig | None = None
    """The trust configuration the levels were read under; None: no levels file."""
    levels: list[LevelRow] = field(default_factory=list)
    """The levels rows at N over every log the index holds (spec §8.10.1)."""
    mirrors: tuple[MirroredSize, ...] = ()
    """The mirrored logs those rows count, at their committed sizes (spec §8.10.2)."""
    relevel: bool = False
    """True: no new snapshot; the last one's levels file is rebuilt (spec §8.10.1 item 5)."""


def _in_thread(work: Callable[[], None]) -> None:
    """Run ``work`` in a worker thread and wait for it, from synchronous code that runs on the
    event loop inside ``AsyncConnection.run_sync`` (SQLAlchemy's ``await_only``, documented for
    such code), so that the loop serves requests while a full build decides a page."""
    await_only(asyncio.to_thread(work))


class SnapshotBuilder:
    """Publishes the node's snapshot chain (spec §8.7), reading the persistent index.

    One builder per worker. Not thread-safe; :meth:`refresh` serialises itself. Between
    refreshes it holds its chains, the subjects of spec §8.1 item 7 and counters: nothing per
    work of the log.
    """

    def __init__(
        self,
        signer: NoteSigner,
        *,
        policy: SnapshotPolicy | None = None,
        trust: Callable[[], TrustConfig] | None = None,
    ) -> None:
        self.signer = signer
        self.origin = signer.name
        self.policy = policy or SnapshotPolicy()
        # spec §8.10: with a trust configuration, every snapshot gets a levels file
        self.trust = trust
        # spec §8.10.1 items 4-5: what the last levels file counted, the rows at the chain's
        # last snapshot and at the one before it, and the SHA-256 of their levels files (for
        # the next delta's file, or to rebuild the last one)
        self._levelled: tuple[tuple[MirroredSize, ...], TrustConfig] | None = None
        self._rows_last: dict[int, LevelRow] = {}
        self._rows_before: dict[int, LevelRow] = {}
        self._sha_last = b""
        self._sha_before = b""
        self.size = 0  # the size of the last snapshot: entries 0..size-1
        self.root_hash = b""
        self.chain: tuple[PublishedSnapshot, ...] = ()
        self.previous_chain: tuple[PublishedSnapshot, ...] = ()
        self.skipped = 0  # entries read for deltas that did not decode
        # spec §8.1 item 7: the subjects own declarations reserve whose creator a revocation
        # or rotation of the log names (trust records can revive those, spec §9.4.1-§9.4.2),
        # at self.size
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
        """Publish a snapshot at the size of the latest checkpoint, read from the persistent
        index in one database snapshot with that checkpoint.

        Returns the new snapshot, or None if the chain already covers that size.

        Raises:
            ProtocolError: the checkpoint is not signed by the node key (it always is).
            RuntimeError: the log is smaller than the last snapshot, or has no checkpoint.
        """
        async with self._lock:
            async with read_snapshot(source.engine) as conn:
                plan = await conn.run_sync(self._read)
            if plan is None:
                return None
            if plan.relevel:
                return await asyncio.to_thread(self._relevel, plan)
            published = await asyncio.to_thread(self._publish, plan)
            _log.info(
                "snapshot %s: %d items, %d bytes",
                published.name,
                published.header.items,
                len(published.data),
            )
            return published

    def _read(self, conn: Connection) -> _Plan | None:
        """Everything a refresh needs from the database, in the caller's one snapshot: the
        checkpoint (first, so that on SQLite it is the snapshot's), then R(N) or a delta's
        subjects, and what the levels file reads."""
        checkpoint = open_checkpoint(
            reserved.checkpoint_note(conn), self.signer.verifier
        ).checkpoint
        if checkpoint.size < self.size:
            raise RuntimeError(f"log shrank from {self.size} to {checkpoint.size} entries")
        if checkpoint.size == self.size and self.chain:
            return self._relevel_plan(conn, checkpoint)
        category = self.policy.category
        trust = reserved.own_trust_records(conn, self.origin)
        revivable = reserved.revivable(conn, self.origin, category, (r for _, _, r in trust))
        delta = self._delta(conn, checkpoint.size, revivable) if self.chain else None
        full: array.array[int] | None = None
        if delta is None:
            mirrored = reserved.has_mirrored_entries(conn)
            full = reserved.reserved_keys(
                conn,
                self.origin,
                category,
                mirrored=mirrored,
                page=self.policy.page,
                offload=_in_thread,
            )
            full.extend(subject_key(*s) for s in revivable)
        added, stale = delta or ([], 0)
        plan = _Plan(checkpoint, full, added, stale, revivable)
        return plan if self.trust is None else self._with_levels(conn, plan, self.trust())

    def _with_levels(self, conn: Connection, plan: _Plan, config: TrustConfig) -> _Plan:
        """``plan`` with the levels rows at its size over every log the index holds, read on
        the refresh's database snapshot (spec §8.10.1), each page resolved in a thread."""
        mirrors = trust_index.held_logs(conn)
        rows: list[LevelRow] = []
        after = None
        while True:
            page, after = trust_index.level_page(
                conn, config, self.policy.category, after=after, offload=_in_thread
            )
            rows += page
            if after is None:
                return dataclasses.replace(
                    plan, config=config, levels=level_rows(rows), mirrors=mirrors
                )

    def _relevel_plan(self, conn: Connection, checkpoint: Checkpoint) -> _Plan | None:
        """A plan to rebuild the last levels file if the mirrored logs the index holds moved
        or the trust configuration changed since it was built (spec §8.10.1 item 5); else
        None. The own log is at the last snapshot's size, as the file counts it."""
        if self.trust is None or self._levelled is None:
            return None
        config = self.trust()
        if (trust_index.held_logs(conn), config) == self._levelled:
            return None
        plan = _Plan(checkpoint, None, [], self._stale, self.revivable, relevel=True)
        return self._with_levels(conn, plan, config)

    def _delta(
        self, conn: Connection, size: int, revivable: set[Subject]
    ) -> tuple[list[Subject], int] | None:
        """The subjects of R(N) \\ R(P) (spec §8.1 item 4) and the number of R(P) \\ R(N), P
        the chain's last size and N ``size``; or None if the chain is to be rebuilt (spec §8.7
        item 2). Only the subjects the entries P..N-1 touch can change (spec §3.5), and those
        item 7 newly revives; they are resolved at P and at N by the core over the own log."""
        touched, skipped = reserved.touched_subjects(conn, self.size, size, page=self.policy.page)
        for index, reason in skipped:  # the index skips such entries too
            self.skipped += 1
            _log.error("entry %d not in snapshots: %s", index, reason)
        known = set(touched)
        touched.extend(sorted(revivable - self.revivable - known))
        category = self.policy.category
        added: list[Subject] = []
        stale = 0
        for subject, (then, now) in reserved.resolve_own(
            conn, self.origin, touched, (self.size, None), category
        ).items():
            was = then or subject in self.revivable
            is_ = now or subject in revivable
            if is_ and not was:
                added.append(subject)
            elif was and not is_:
                stale += 1
        policy = self.policy
        full = self.chain[0].header
        deltas = self.chain[1:]
        threshold = policy.rebuild_fraction * max(full.items, policy.min_rebuild_items)
        delta_items = sum(s.header.items for s in deltas) + len(added)
        stale += self._stale
        if len(deltas) >= policy.max_deltas or delta_items > threshold or stale > threshold:
            return None
        return added, stale

    def _publish(self, plan: _Plan) -> PublishedSnapshot:
        self.size = plan.checkpoint.size
        self.root_hash = plan.checkpoint.root_hash
        self.revivable = plan.revivable
        self._stale = plan.stale
        if plan.full is not None:
            return self._publish_full(plan.full, plan)
        policy = self.policy
        full = self.chain[0].header
        fuse = build_filter(
            (subject_key(*s) for s in plan.added),
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
        published = PublishedSnapshot.of(data, self._levels(data, plan))
        self.chain = (*self.chain, published)
        return published

    def _levels(self, data: bytes, plan: _Plan, *, relevel: bool = False) -> bytes:
        """The signed levels file of the snapshot ``data`` (spec §8.10) from ``plan``'s rows
        at its size: all of them for a full snapshot; for a delta those that changed since the
        chain's previous snapshot, naming that snapshot's levels file (spec §8.10.1 item 4).
        ``relevel``: the file replaces the one of the chain's last snapshot (``data``). Empty
        without a trust configuration."""
        if plan.config is None:
            return b""
        header, _, _ = parse_snapshot(data)
        current = {row.key: row for row in plan.levels}
        if not relevel:  # the chain's last file becomes the one before this one
            self._rows_before, self._sha_before = self._rows_last, self._sha_last
        rows, previous = plan.levels, None
        if header.kind == "delta":
            rows, previous = delta_rows(self._rows_before, current), self._sha_before
        levels = make_levels(
            header,
            rows,
            signers=[self.signer],
            nodes=plan.config.nodes,
            platforms=plan.config.platforms,
            mirrors=plan.mirrors,
            previous=previous,
        )
        self._rows_last, self._sha_last = current, hashlib.sha256(levels).digest()
        self._levelled = (plan.mirrors, plan.config)
        return levels

    def _relevel(self, plan: _Plan) -> PublishedSnapshot:
        """The chain's last snapshot with the levels file of ``plan`` in place of its own."""
        last = self.chain[-1]
        published = PublishedSnapshot.of(last.data, self._levels(last.data, plan, relevel=True))
        self.chain = (*self.chain[:-1], published)
        _log.info("levels of snapshot %s rebuilt: %d rows", published.name, len(plan.levels))
        return published

    def _publish_full(self, keys: array.array[int], plan: _Plan) -> PublishedSnapshot:
        # spec §8.1: every subject whose resolved preference for the category is "n"
        # the NumPy construction: the core's filter byte for byte, a fraction of its memory
        fuse = build_filter_numpy(
            keys, fingerprint_bits=self.policy.fingerprint_bits, seed_material=self.root_hash
        )
        del keys
        data = make_snapshot(
            origin=self.origin,
            size=self.size,
            root_hash=self.root_hash,
            fuse=fuse,
            signers=[self.signer],
            category=self.policy.category,
        )
        published = PublishedSnapshot.of(data, self._levels(data, plan))
        self.previous_chain = self.chain
        self.chain = (published,)
        self._stale = 0
        return published


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
"""The shared directory's listing: ``{"chain": [names], "previous": [names], "levels": {name:
SHA-256 of its levels file}}``."""


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
    ) -> SnapshotService:
        """Load the node key (``signer``: the running log's) and start refreshing (the first
        snapshot builds in the background, so start-up does not wait for it). ``trust``: the
        node's trust configuration, read at each snapshot; with it every snapshot gets a
        levels file (spec §8.10)."""
        signer = signer or await load_node_signer(database_url)
        service = cls(
            SnapshotBuilder(signer, policy=policy, trust=trust),
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
                self.builder.signer, policy=self.builder.policy, trust=self.builder.trust
            )
            self._leading = True
        published = await self.builder.refresh(self.source)
        if published is not None and self.directory is not None:
            await asyncio.to_thread(self._write_shared)

    def _write_shared(self) -> None:
        """Publish the builder's chains to the shared directory (leader only). A levels file
        is rewritten when its snapshot's has changed (the mirrored logs grew, spec §8.10.1
        item 5); the listing names every levels file's SHA-256, so followers re-read changed
        ones."""
        assert self.directory is not None
        try:
            self.directory.mkdir(parents=True, exist_ok=True)
            snapshots = (*self.builder.chain, *self.builder.previous_chain)
            for snapshot in snapshots:
                path = self.directory / snapshot.name
                written = self._shared_levels.get(snapshot.name)
                if snapshot.levels and written != snapshot.levels_sha256:
                    # before the snapshot, which followers look for
                    _atomic_write(path.with_name(path.name + LEVELS_SUFFIX), snapshot.levels)
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
