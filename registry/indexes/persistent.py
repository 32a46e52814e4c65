"""One worker's view of the persistent index (ADR 0010): what ``node.index`` is.

Consent answers (works, URLs, creators, batch checks) come straight from the shared tables
through :class:`registry.storage.index.ConsentStore`: nothing is rebuilt at start-up, and every
worker and every node process over the database answers alike. Those tables are written in the
transactions that commit log entries, so they are always exactly as current as the logs.

The near-duplicate search (spec §6.8.3) needs a Hamming index (ADR 0006). It lives in files of
the data directory that every worker of the machine memory-maps
(:mod:`registry.indexes.nearfile`, ADR 0010): a restart maps them instead of rebuilding. The
files follow the ``index_near`` rows by log position, up to the own log's checkpoint size and
each mirror's committed size (committed with the rows), so they never get ahead of the
database; whichever worker finds them behind appends the missing rows under a file lock.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Awaitable, Callable, Mapping
from pathlib import Path
from typing import Protocol

import sqlalchemy as sa
from sqlalchemy.ext.asyncio import AsyncEngine

from registry.core.errors import ProtocolError
from registry.core.records import Declaration, decode_stored_entry
from registry.core.state import Resolution
from registry.core.trust import DEFAULT_POLICY, Policy
from registry.indexes.absent import DIGEST, MIN_BITS, needs_growth
from registry.indexes.memory import IndexStats, MirrorHeadLike
from registry.indexes.nearfile import FileState, NearFiles, SharedNearIndex, Writer
from registry.storage import schema
from registry.storage.index import OWN, SHA256, ConsentStore, subject_key

__all__ = ["NodeIndex"]

_log = logging.getLogger("registry.index")

NEAR_PAGE = 50_000
"""``index_near`` rows read per query."""
KEY_PAGE = 100_000
"""``index_subjects`` keys read at a time when a bitmap is built."""
COMPACT_AFTER = 1.0
"""Seconds without new near items before the files' segments are merged into one."""
COMPACT_TAIL = 2048
"""Unsealed rows (scanned by every query) that are worth a compaction when quiet."""


class SizeSource(Protocol):
    """The own log's committed size (:class:`registry.log.NodeLog` provides it)."""

    async def size(self) -> int: ...


class HeadSource(Protocol):
    """Mirror heads and flagged origins (:class:`registry.storage.federation.FederationStore`)."""

    async def mirror_heads(self) -> Mapping[str, MirrorHeadLike]: ...

    async def flagged_origins(self) -> set[str]: ...


class NodeIndex:
    """The persistent consent index plus this worker's view of the near-duplicate files."""

    def __init__(
        self,
        engine: AsyncEngine,
        origin: str,
        directory: Path,
        *,
        poll_interval: float = 0.2,
    ) -> None:
        """``directory``: where this machine keeps the near-duplicate files
        (:data:`registry.indexes.nearfile.DIRECTORY` in the data directory)."""
        self.origin = origin
        self.engine = engine
        self.poll_interval = poll_interval
        self.consent = ConsentStore(engine)
        self.files = NearFiles(directory)
        self.near = SharedNearIndex(self.files)
        self.size = 0  # own log entries whose near items are searchable here
        self.mirrored: dict[str, int] = {}  # per peer origin: committed entries searchable
        self.flagged: frozenset[str] = frozenset()
        self.ready = False
        self._checked = False  # the files' record ids were compared with the database
        self._quiet_since = time.monotonic()  # the files last changed (for compaction)
        self._compaction: asyncio.Task[None] | None = None
        self._lock = asyncio.Lock()
        self._poke = asyncio.Event()

    async def _rows(self, origin: str, start: int, stop: int) -> list[tuple[int, bytes, bytes]]:
        """The ``index_near`` items of entries ``start..stop`` of ``origin``, in order."""
        t = schema.index_near
        async with self.engine.connect() as conn:
            result = await conn.execute(
                sa.select(t.c.kind, t.c.sha256, t.c.key)
                .where(t.c.origin == origin, t.c.idx >= start, t.c.idx < stop)
                .order_by(t.c.idx, t.c.item)
            )
            return [(int(k), bytes(sha), bytes(key)) for k, sha, key in result.all()]

    async def _marks(self, sizes: Mapping[str, int]) -> dict[str, str]:
        """The record id of the last entry of each log up to its size (``""``: none)."""
        marks: dict[str, str] = {}
        async with self.engine.connect() as conn:
            for origin, size in sorted(sizes.items()):
                if size <= 0:
                    marks[origin] = ""
                    continue
                if origin == OWN:
                    e = schema.entries
                    query = sa.select(e.c.id).where(e.c.idx == size - 1)
                else:
                    m = schema.mirror_entries
                    query = sa.select(m.c.id).where(m.c.origin == origin, m.c.idx == size - 1)
                marks[origin] = str((await conn.execute(query)).scalar() or "")
        return marks

    async def _sync(self, targets: dict[str, int]) -> None:
        """Make the files cover every log up to its target size (appending committed
        ``index_near`` rows under the writer lock), then map them. Callers hold ``self._lock``."""
        state = self.files.read_state()
        if (
            self._checked
            and state is not None
            and state.origin == self.origin
            and state.covers(targets)
        ):
            await self._refresh(state)
            return
        fd = await asyncio.to_thread(self.files.lock)
        try:
            state = self.files.read_state()
            if state is None or state.origin != self.origin:
                state = await asyncio.to_thread(self.files.reset, self.origin)
            elif not self._checked and await self._marks(state.sizes) != state.marks:
                _log.warning("near-duplicate files do not match the database: rebuilding them")
                state = await asyncio.to_thread(self.files.reset, self.origin)
            self._checked = True
            if not state.covers(targets):
                state = await self._append(state, targets)
        finally:
            NearFiles.unlock(fd)
        await self._refresh(state)

    async def _append(self, state: FileState, targets: dict[str, int]) -> FileState:
        writer = await asyncio.to_thread(self.files.writer, state)
        try:
            # The first bitmap is built from every committed subject key (a superset of the
            # entries appended below), so that those need not be decoded.
            decode = writer.filter_bits != 0
            if not decode:
                await self._build_filter(writer, MIN_BITS)
            grown = {}
            for origin, stop in sorted(targets.items()):
                position = state.sizes.get(origin, 0)
                if stop <= position:
                    continue
                while position < stop:
                    end = min(stop, position + NEAR_PAGE)
                    await asyncio.to_thread(writer.append, await self._rows(origin, position, end))
                    if decode:
                        await self._add_keys(writer, origin, position, end)
                    position = end
                grown[origin] = stop
            for origin, mark in (await self._marks(grown)).items():
                writer.covered(origin, grown[origin], mark)
            return await asyncio.to_thread(writer.commit)
        finally:
            writer.close()

    async def close(self) -> None:
        """Wait for a running compaction (it cannot be interrupted half-way: its thread
        finishes, and the files stay consistent either way)."""
        if self._compaction is not None:
            with contextlib.suppress(Exception):
                await asyncio.shield(self._compaction)

    async def _add_keys(self, writer: Writer, origin: str, start: int, stop: int) -> None:
        """Set the SHA-256 subject keys of entries ``start..stop`` of ``origin`` in the
        "certainly absent" bitmap (:mod:`registry.indexes.absent`), doubling it first (from
        every committed key) if it would be too full."""
        t = schema.entries if origin == OWN else schema.mirror_entries
        query = sa.select(t.c.data).where(t.c.idx >= start, t.c.idx < stop)
        if origin != OWN:
            query = query.where(schema.mirror_entries.c.origin == origin)
        async with self.engine.connect() as conn:
            data = [bytes(row[0]) for row in (await conn.execute(query)).all()]
        keys = await asyncio.to_thread(_sha256_keys, data)
        bits = needs_growth(writer.filter_bits, writer.filter_keys + len(keys))
        if bits > writer.filter_bits:
            await self._build_filter(writer, bits)  # committed keys: these ones included
        else:
            await asyncio.to_thread(writer.add_keys, keys)

    async def _build_filter(self, writer: Writer, bits: int) -> None:
        """A new bitmap from every SHA-256 subject key in ``index_subjects``, with room for
        twice as many."""
        st = schema.index_subjects
        async with self.engine.connect() as conn:
            count = int(
                (await conn.execute(sa.select(sa.func.count()).where(st.c.kind == SHA256))).scalar()
                or 0
            )
            bits = needs_growth(bits, 2 * count)
            keys: list[bytes] = []
            result = await conn.stream(sa.select(st.c.key).where(st.c.kind == SHA256))
            async for partition in result.partitions(KEY_PAGE):
                keys += [bytes(row[0]) for row in partition]
        await asyncio.to_thread(writer.grow_filter, bits, keys, count)

    async def _refresh(self, state: FileState) -> None:
        if state != self.near.state:
            self._quiet_since = time.monotonic()
        for _ in range(5):
            try:
                async with self.near.lock:
                    await asyncio.to_thread(self.near.refresh_locked, state)
                return
            except FileNotFoundError:  # a segment merged away meanwhile: read the state again
                fresh = self.files.read_state()
                if fresh is None:
                    return
                state = fresh
        raise RuntimeError("the near-duplicate files keep changing under this reader")

    async def lookup_digests(
        self, blob: bytes, policy: Policy = DEFAULT_POLICY
    ) -> dict[int, Resolution]:
        """:meth:`ConsentStore.lookup_digests` behind the "certainly absent" bitmap
        (:mod:`registry.indexes.absent`): only positions whose bit is set are looked up. A
        digest no declaration mentions has no claim under any policy (spec §9.4)."""
        maybe = self.near.absent.maybe_present(blob)
        if maybe is None or len(maybe) * 2 > len(blob) // DIGEST:
            return await self.consent.lookup_digests(blob, policy)
        if not len(maybe):
            return {}
        view = memoryview(blob)
        positions = maybe.tolist()
        found = await self.consent.lookup_digests(
            b"".join(view[32 * p : 32 * p + 32] for p in positions), policy
        )
        return {positions[i]: resolution for i, resolution in found.items()}

    async def catch_up(self, source: SizeSource, *, until: int | None = None) -> int:
        """Make the near items of own entries up to the log's size searchable; return it.

        ``until``: return at once if that many entries are covered already (the consent tables
        need no catching up: they are written with the entries).
        """
        if until is not None and self.size >= until:
            return self.size
        async with self._lock:
            stop = await source.size()
            if stop > self.size or not self.ready:
                try:
                    await self._sync({OWN: stop})
                except OSError as exc:
                    # The entries are committed: a full or failing disk for the files must not
                    # fail the submission that waits here. The near index lags; the follower
                    # retries (the torn tail is cut off then).
                    _log.warning("near-duplicate files not updated: %s", exc)
                    if self.ready:
                        return self.size
                    raise
                self.size = max(self.size, stop)
            self.ready = True
            return self.size

    async def catch_up_mirrors(self, source: HeadSource) -> None:
        """Make the near items of committed mirrored entries searchable; refresh flagged
        origins."""
        async with self._lock:
            self.flagged = frozenset(await source.flagged_origins())
            heads = {o: h.size for o, h in (await source.mirror_heads()).items()}
            behind = {o: n for o, n in heads.items() if n > self.mirrored.get(o, 0)}
            if behind:
                await self._sync(behind)
            for origin, size in heads.items():
                self.mirrored[origin] = max(self.mirrored.get(origin, 0), size)

    async def _follow_files(self) -> None:
        """Map what other workers appended or compacted; once the files have been quiet for
        :data:`COMPACT_AFTER` seconds with several segments or a long tail, compact them in the
        background
        (one worker of the machine does; the others map the result)."""
        state = self.files.read_state()
        mapped = self.near.state
        if state is None or mapped is None or state.origin != self.origin or not self._checked:
            return
        if state != mapped:
            async with self._lock:
                await self._refresh(state)
            return
        quiet = time.monotonic() - self._quiet_since >= COMPACT_AFTER
        sealed = state.segments[-1][1] if state.segments else 0
        scattered = len(state.segments) >= 2 or state.rows - sealed >= COMPACT_TAIL
        if quiet and scattered and self._compaction is None:
            self._compaction = asyncio.create_task(self._compact(state), name="near-compaction")

    async def _compact(self, state: FileState) -> None:
        try:
            compacted = await asyncio.to_thread(self.files.compact, state)
            if compacted is not None:
                _log.info("near-duplicate files compacted: %d rows in one segment", state.rows)
        except Exception as exc:  # the files stay as they were; try again when quiet
            _log.warning("near-duplicate compaction failed: %s", exc)
        finally:
            self._compaction = None
            self._quiet_since = time.monotonic()

    def poke(self) -> None:
        """Ask :meth:`follow` to catch up now rather than at the next poll."""
        self._poke.set()

    async def follow(
        self,
        source: SizeSource,
        *,
        mirrors: HeadSource | None = None,
        on_error: Callable[[Exception], Awaitable[None]] | None = None,
    ) -> None:
        """Catch up forever: every ``poll_interval`` seconds, or when poked. Never returns."""
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=self.poll_interval)
            self._poke.clear()
            try:
                await self.catch_up(source)
                if mirrors is not None:
                    await self.catch_up_mirrors(mirrors)
                await self._follow_files()
            except Exception as exc:
                _log.warning("index catch-up failed: %s", exc)
                if on_error is not None:
                    await on_error(exc)

    async def start(self, source: SizeSource) -> IndexStats:
        """Map the near-duplicate files, appending what the own log adds to them (the
        consent tables are ready as they are); report how long it took."""
        started = time.perf_counter()
        await self.catch_up(source)
        return IndexStats(
            entries=self.size, declarations=0, skipped=0, seconds=time.perf_counter() - started
        )


def _sha256_keys(entries: list[bytes]) -> list[bytes]:
    """The stored SHA-256 subject keys of declarations (32 bytes; damaged ones skipped)."""
    keys = []
    for entry in entries:
        try:
            record = decode_stored_entry(entry)
        except ProtocolError:  # pragma: no cover - not indexed either (ADR 0009)
            continue
        if not isinstance(record, Declaration):  # a trust record (spec §9.3) has no subjects
            continue
        for work in record.works:
            key = subject_key(("sha256", work.sha256))[1]
            if len(key) == 32:
                keys.append(key)
    return keys
