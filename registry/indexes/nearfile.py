"""The near-duplicate index as files shared by every worker of a machine (ADR 0010, issue 15).

The PDQ index (spec §6.8.3, ADR 0006) lives in ``<data dir>/near/`` as append-only,
fixed-width files that every worker process memory-maps, so the page cache holds one copy for
all of them and a restart maps the files instead of rebuilding anything:

- ``pdq-hashes.u64``: one row per indexed PDQ hash, 4 little-endian ``uint64`` words (word
  ``k`` is bytes ``8k..8k+7`` of the hash read big-endian, the layout of
  :class:`registry.neardup.HammingIndex`); the payload id of a row is its row number;
- ``pdq-works.bin``: per row, the 32-byte SHA-256 of the work;
- ``seg-START-STOP.table.npy`` and ``.postings.npy``: the multi-index-hashing tables of rows
  ``START..STOP`` (:func:`registry.neardup.hamming.segment_arrays`), sealed LSM-style like the
  in-memory index does; rows after the last segment are scanned;
- ``iscc.bin``: ISCC items as records (32-byte SHA-256, 2-byte length, the code); each worker
  reads them into its in-memory ISCC index (they are few: ISCC is optional, spec §2.4);
- ``state.json``: what the files hold: rows, ISCC bytes, segments, and per log (``""`` the own
  log, else the peer origin) how many entries are covered and the record id of the last one.

The files are fed only from committed ``index_near`` rows (the persistent index, written in the
transaction of the entries), never from the log or from a request, so they can never get ahead
of the database. One writer at a time (``flock`` on ``lock``) appends rows, fsyncs them, builds
segments, then replaces ``state.json`` atomically; readers trust ``state.json`` only. A crash
leaves at most a torn tail past what ``state.json`` lists, which the next writer truncates. The
record ids in ``state.json`` tie the files to their database: when they do not match (another
database, a restored backup), the files are discarded and rebuilt from the rows. On PostgreSQL
with processes on several machines, each machine keeps its own files, fed from the shared table.
``registry index rebuild --check`` compares the files with ``index_near`` (:func:`check_files`).
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import secrets
from collections import Counter
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Final

import numpy as np
import numpy.typing as npt

from registry.indexes.absent import AbsentFilter, filter_name, fsync, set_keys
from registry.indexes.near import NearHit, NearIndex
from registry.neardup import PDQ_BITS, PDQ_MAX_DISTANCE, HammingIndex, Match
from registry.neardup.hamming import DEFAULT_TAIL_SIZE, segment_arrays

__all__ = [
    "DIRECTORY",
    "FileState",
    "NearFiles",
    "SharedNearIndex",
    "Writer",
    "files_differences",
]

DIRECTORY: Final = "near"
"""The files' directory inside the node's data directory."""
FORMAT: Final = 1
_STATE: Final = "state.json"
_HASHES: Final = "pdq-hashes.u64"
_WORKS: Final = "pdq-works.bin"
_ISCC: Final = "iscc.bin"
_LOCK: Final = "lock"
_COMPACT_LOCK: Final = "compact.lock"
_WORDS: Final = PDQ_BITS // 64
TAIL_SIZE: Final = DEFAULT_TAIL_SIZE
"""Rows left unsealed (scanned) before they become a segment."""
MERGE_FACTOR: Final = 4

Segment = tuple[int, int, npt.NDArray[np.integer], npt.NDArray[np.uint32]]


@dataclass(frozen=True, slots=True)
class FileState:
    """What the files hold (``state.json``); see the module docstring."""

    origin: str
    generation: str  # new on every reset: a reader remaps when it changes
    rows: int = 0
    iscc_bytes: int = 0
    sizes: dict[str, int] = field(default_factory=dict)
    marks: dict[str, str] = field(default_factory=dict)
    segments: tuple[tuple[int, int], ...] = ()
    filter_bits: int = 0  # log2 of the "certainly absent" bitmap's bits (0: none yet)
    filter_keys: int = 0  # keys set in it (with repeats: an upper bound)

    def to_json(self) -> bytes:
        return json.dumps(
            {
                "format": FORMAT,
                "origin": self.origin,
                "generation": self.generation,
                "rows": self.rows,
                "iscc_bytes": self.iscc_bytes,
                "sizes": self.sizes,
                "marks": self.marks,
                "segments": [list(s) for s in self.segments],
                "filter_bits": self.filter_bits,
                "filter_keys": self.filter_keys,
            },
            sort_keys=True,
        ).encode()

    @classmethod
    def from_json(cls, data: bytes) -> FileState | None:
        """The state, or None if it is not one this code wrote (then the files are rebuilt)."""
        try:
            raw = json.loads(data)
            if raw.get("format") != FORMAT:
                return None
            return cls(
                origin=str(raw["origin"]),
                generation=str(raw["generation"]),
                rows=int(raw["rows"]),
                iscc_bytes=int(raw["iscc_bytes"]),
                sizes={str(k): int(v) for k, v in raw["sizes"].items()},
                marks={str(k): str(v) for k, v in raw["marks"].items()},
                segments=tuple((int(a), int(b)) for a, b in raw["segments"]),
                filter_bits=int(raw.get("filter_bits", 0)),
                filter_keys=int(raw.get("filter_keys", 0)),
            )
        except (ValueError, KeyError, TypeError, AttributeError):
            return None

    def covers(self, targets: dict[str, int]) -> bool:
        """Whether every log's entries up to its target size are in the files."""
        return all(self.sizes.get(origin, 0) >= size for origin, size in targets.items())


def _segment_names(start: int, stop: int) -> tuple[str, str]:
    return f"seg-{start}-{stop}.table.npy", f"seg-{start}-{stop}.postings.npy"


def _fsync_dir(path: Path) -> None:
    fd = os.open(path, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class NearFiles:
    """The directory of the files; reading the state, locking, resetting, writing."""

    def __init__(self, directory: Path) -> None:
        self.directory = directory

    def ensure(self) -> None:
        """Create the directory (0700, like the data directory) if it is missing."""
        self.directory.mkdir(mode=0o700, parents=True, exist_ok=True)

    def read_state(self) -> FileState | None:
        try:
            return FileState.from_json((self.directory / _STATE).read_bytes())
        except FileNotFoundError:
            return None

    def lock(self) -> int:
        """Take the writer lock (blocking: call it in a thread); return the descriptor."""
        self.ensure()
        fd = os.open(self.directory / _LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
        except BaseException:
            os.close(fd)
            raise
        return fd

    @staticmethod
    def unlock(fd: int) -> None:
        os.close(fd)  # releases the flock

    def _write_state(self, state: FileState) -> None:
        temporary = self.directory / f"{_STATE}.tmp"
        with temporary.open("wb") as out:
            out.write(state.to_json())
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(self.directory / _STATE)
        _fsync_dir(self.directory)

    def reset(self, origin: str) -> FileState:
        """Discard every file and start empty (callers hold the lock). Files are unlinked, not
        truncated: a worker still searching its old mapping keeps it intact."""
        self.ensure()
        for path in self.directory.iterdir():
            if path.name not in {_LOCK, _COMPACT_LOCK}:
                path.unlink()
        state = FileState(origin=origin, generation=secrets.token_hex(8))
        self._write_state(state)
        return state

    def compact(self, state: FileState) -> FileState | None:
        """Merge every segment and the tail of ``state`` into one segment (fewer segments,
        fewer probes per query: ADR 0010), built WITHOUT the writer lock (rows never change
        once listed), then swapped in under it if the segments appended meanwhile still start
        after it. Returns the new state, or None if another compaction runs or it no longer
        fits. Blocking: call it in a thread."""
        guard = os.open(self.directory / _COMPACT_LOCK, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            try:
                fcntl.flock(guard, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                return None
            for path in self.directory.glob("compact-*"):
                path.unlink()  # left by a compaction that crashed
            rows = state.rows
            names = (f"compact-0-{rows}.table.npy", f"compact-0-{rows}.postings.npy")
            _save_segment(self.directory, self.hashes(rows), 0, rows, names)
            fd = self.lock()
            try:
                current = self.read_state()
                fits = (
                    current is not None
                    and current.generation == state.generation
                    and current.rows >= rows
                    and not any(a < rows < b for a, b in current.segments)
                )
                if current is None or not fits:
                    for name in names:
                        (self.directory / name).unlink()
                    return None
                for name, final in zip(names, _segment_names(0, rows), strict=True):
                    (self.directory / name).replace(self.directory / final)
                segments = ((0, rows), *[(a, b) for a, b in current.segments if a >= rows])
                compacted = replace(current, segments=segments)
                self._write_state(compacted)
                listed = {name for seg in segments for name in _segment_names(*seg)}
                for path in self.directory.glob("seg-*"):
                    if path.name not in listed:
                        path.unlink()
                return compacted
            finally:
                self.unlock(fd)
        finally:
            os.close(guard)

    def writer(self, state: FileState) -> Writer:
        """Append after ``state`` (callers hold the lock): a torn tail is cut off first."""
        return Writer(self, state)

    # -- reading ---------------------------------------------------------------------------

    def warm(self, names: Iterable[str]) -> None:
        """Ask the kernel to read files into the page cache in the background
        (``POSIX_FADV_WILLNEED``): searches after a restart then do not wait on the disk for
        each probe. The page cache is shared, so every worker benefits."""
        for name in names:
            with contextlib.suppress(OSError):
                fd = os.open(self.directory / name, os.O_RDONLY)
                try:
                    os.posix_fadvise(fd, 0, 0, os.POSIX_FADV_WILLNEED)
                finally:
                    os.close(fd)

    def hashes(self, rows: int) -> npt.NDArray[np.uint64]:
        """The first ``rows`` PDQ rows, memory-mapped, ``(rows, 4)`` uint64."""
        if rows == 0:
            return np.empty((0, _WORDS), dtype=np.uint64)
        mapped = np.memmap(self.directory / _HASHES, dtype="<u8", mode="r", shape=(rows, _WORDS))
        # Plain ndarray views (the map stays alive through .base): np.memmap's subclass hooks
        # cost more than the searches' own work on small gathers.
        return np.asarray(mapped).view(np.uint64)

    def works(self, rows: int) -> npt.NDArray[np.uint8]:
        """The works' SHA-256s of the first ``rows`` PDQ rows, memory-mapped, ``(rows, 32)``."""
        if rows == 0:
            return np.empty((0, 32), dtype=np.uint8)
        return np.asarray(
            np.memmap(self.directory / _WORKS, dtype=np.uint8, mode="r", shape=(rows, 32))
        )

    def segment(self, start: int, stop: int) -> Segment:
        table, postings = _segment_names(start, stop)
        return (
            start,
            stop,
            np.asarray(np.load(self.directory / table, mmap_mode="r")),
            np.asarray(np.load(self.directory / postings, mmap_mode="r")),
        )

    def iscc(self, start: int, stop: int) -> list[tuple[bytes, str]]:
        """The ISCC items in bytes ``start..stop`` of ``iscc.bin``."""
        if stop <= start:
            return []
        with (self.directory / _ISCC).open("rb") as source:
            source.seek(start)
            data = source.read(stop - start)
        items = []
        position = 0
        while position < len(data):
            sha256 = data[position : position + 32]
            length = int.from_bytes(data[position + 32 : position + 34], "big")
            items.append((sha256, data[position + 34 : position + 34 + length].decode()))
            position += 34 + length
        return items


class Writer:
    """Appends to the files after a state; :meth:`commit` makes the rows visible."""

    def __init__(self, files: NearFiles, state: FileState) -> None:
        self.files = files
        self.state = state
        self.rows = state.rows
        self.iscc_bytes = state.iscc_bytes
        self.sizes = dict(state.sizes)
        self.marks = dict(state.marks)
        self.filter_bits = state.filter_bits
        self.filter_keys = state.filter_keys
        d = files.directory
        self._hashes = (d / _HASHES).open("ab")
        self._works = (d / _WORKS).open("ab")
        self._iscc = (d / _ISCC).open("ab")
        # A torn tail (rows written, state not replaced) is cut off.
        self._hashes.truncate(32 * state.rows)
        self._works.truncate(32 * state.rows)
        self._iscc.truncate(state.iscc_bytes)
        listed = {name for s in state.segments for name in _segment_names(*s)}
        for path in d.glob("seg-*"):
            if path.name not in listed:
                path.unlink()

    def append(self, rows: Iterable[tuple[int, bytes, bytes]]) -> None:
        """Append ``index_near`` items in order: (kind 0 PDQ or 1 ISCC, SHA-256, key)."""
        pdq_works: list[bytes] = []
        pdq_keys: list[bytes] = []
        iscc = bytearray()
        for kind, sha256, key in rows:
            if kind == 0:
                pdq_works.append(sha256)
                pdq_keys.append(key)
            else:
                iscc += sha256 + len(key).to_bytes(2, "big") + key
        if pdq_keys:
            words = np.frombuffer(b"".join(pdq_keys), dtype=">u8").astype("<u8")
            self._hashes.write(words.tobytes())
            self._works.write(b"".join(pdq_works))
            self.rows += len(pdq_keys)
        if iscc:
            self._iscc.write(iscc)
            self.iscc_bytes += len(iscc)

    def add_keys(self, keys: list[bytes]) -> None:
        """Set the bits of SHA-256 subject keys in the "certainly absent" bitmap
        (:mod:`registry.indexes.absent`); callers grow it first (:meth:`grow_filter`)."""
        set_keys(self.files.directory / filter_name(self.filter_bits), self.filter_bits, keys)
        self.filter_keys += len(keys)

    def grow_filter(self, bits: int, every_key: Iterable[bytes], count: int) -> None:
        """Build a new bitmap of ``2**bits`` bits from ``every_key`` (every SHA-256 subject
        key committed in the database: a superset of what the files cover)."""
        path = self.files.directory / filter_name(bits)
        with contextlib.suppress(FileNotFoundError):
            path.unlink()
        set_keys(path, bits, every_key)
        self.filter_bits = bits
        self.filter_keys = count

    def covered(self, origin: str, size: int, mark: str) -> None:
        """Record that the entries of ``origin`` up to ``size`` are appended (``mark``: the
        record id of entry ``size - 1``)."""
        self.sizes[origin] = size
        self.marks[origin] = mark

    def close(self) -> None:
        for out in (self._hashes, self._works, self._iscc):
            out.close()

    def commit(self) -> FileState:
        """Fsync the rows, seal segments, replace the state; return it."""
        for out in (self._hashes, self._works, self._iscc):
            out.flush()
            os.fsync(out.fileno())
        if self.filter_bits:
            fsync(self.files.directory / filter_name(self.filter_bits))
        segments = _sealed(list(self.state.segments), self.rows)
        built = set(self.state.segments)
        if any(s not in built for s in segments):
            hashes = self.files.hashes(self.rows)
            for start, stop in segments:
                if (start, stop) not in built:
                    self._save_segment(hashes, start, stop)
            del hashes
        state = replace(
            self.state,
            rows=self.rows,
            iscc_bytes=self.iscc_bytes,
            sizes=dict(self.sizes),
            marks=dict(self.marks),
            segments=tuple(segments),
            filter_bits=self.filter_bits,
            filter_keys=self.filter_keys,
        )
        self.files._write_state(state)
        for path in self.files.directory.glob("sha256-*"):
            if path.name != filter_name(state.filter_bits):
                path.unlink()  # a smaller bitmap, replaced
        listed = {name for s in segments for name in _segment_names(*s)}
        for path in self.files.directory.glob("seg-*"):
            if path.name not in listed:  # merged away; mapped copies stay valid until unmapped
                path.unlink()
        self.state = state
        return state

    def _save_segment(self, hashes: npt.NDArray[np.uint64], start: int, stop: int) -> None:
        _save_segment(self.files.directory, hashes, start, stop, _segment_names(start, stop))


def _save_segment(
    directory: Path,
    hashes: npt.NDArray[np.uint64],
    start: int,
    stop: int,
    names: tuple[str, str],
) -> None:
    table, postings = segment_arrays(hashes, start, stop, PDQ_BITS)
    for name, array in zip(names, (table, postings), strict=True):
        temporary = directory / f"{name}.tmp"
        with temporary.open("wb") as out:
            np.save(out, array)
            out.flush()
            os.fsync(out.fileno())
        temporary.replace(directory / name)


def _sealed(segments: list[tuple[int, int]], rows: int) -> list[tuple[int, int]]:
    """The segments after sealing a full tail and merging, LSM-style (as
    :meth:`registry.neardup.HammingIndex._seal` does in memory)."""
    sealed = segments[-1][1] if segments else 0
    if rows - sealed < TAIL_SIZE:
        return segments
    segments = [*segments, (sealed, rows)]
    while len(segments) >= 2 and (
        segments[-2][1] - segments[-2][0] <= MERGE_FACTOR * (segments[-1][1] - segments[-1][0])
    ):
        last = segments.pop()
        first = segments.pop()
        segments.append((first[0], last[1]))
    return segments


class SharedNearIndex(NearIndex):
    """A worker's near-duplicate index over the shared files: PDQ searched on the mapped
    files, ISCC read from them into memory. :meth:`refresh` follows the state."""

    def __init__(self, files: NearFiles) -> None:
        super().__init__()
        self.files = files
        self.state: FileState | None = None
        self.pdq = HammingIndex.attached(
            np.empty((0, _WORDS), dtype=np.uint64), [], max_distance=PDQ_MAX_DISTANCE
        )
        self._works = np.empty((0, 32), dtype=np.uint8)
        self._segments: dict[tuple[int, int], Segment] = {}
        self.absent = AbsentFilter()

    def refresh_locked(self, state: FileState) -> None:
        """Map what ``state`` lists (callers hold :attr:`lock`). Raises FileNotFoundError if
        a segment was merged away meanwhile (read the state again)."""
        old = self.state
        if old is not None and old.generation != state.generation:
            self.absent = AbsentFilter()  # the files were replaced: map the new ones
            self._segments.clear()
            self._iscc_items.clear()
            self.iscc = type(self.iscc)()
            old = None
        if old is None or old.rows != state.rows or old.segments != state.segments:
            new = [s for s in state.segments if s not in self._segments]
            self.files.warm([_HASHES, _WORKS, *(n for s in new for n in _segment_names(*s))])
            segments = [self._segments.get(s) or self.files.segment(*s) for s in state.segments]
            self._segments = {(s[0], s[1]): s for s in segments}
            hashes = self.files.hashes(state.rows)
            self.pdq = HammingIndex.attached(hashes, segments, max_distance=PDQ_MAX_DISTANCE)
            self._works = self.files.works(state.rows)
        self.absent.attach(self.files.directory, state.filter_bits)
        first = 0 if old is None else old.iscc_bytes
        for sha256, code in self.files.iscc(first, state.iscc_bytes):
            self.iscc.add(code, len(self._iscc_items))
            self._iscc_items.append((sha256, code))
        self.state = state

    def _works_of(self, payloads: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        return np.asarray(self._works[payloads])

    def _pdq_hit(self, match: Match) -> NearHit:
        row = match.payload
        key = np.asarray(self.pdq._hashes[row]).astype(">u8").tobytes().hex()
        return NearHit(bytes(self._works[row]).hex(), key, match.distance)


def files_differences(
    files: NearFiles,
    origin: str,
    stored: Counter[tuple[int, bytes, bytes]],
    marks: dict[str, str],
    limit: int = 20,
) -> list[str]:
    """How the files differ from ``stored`` (``index_near`` items of the entries the state
    covers, as a multiset of (kind, SHA-256, key)); ``marks`` the record ids of the last
    covered entries as the database has them. Segments are rebuilt and compared too."""
    state = files.read_state()
    if state is None:
        return []
    out: list[str] = []
    if state.origin != origin:
        return [f"near files: origin {state.origin!r}, not {origin!r}"]
    for log, mark in sorted(state.marks.items()):
        if marks.get(log) != mark:
            out.append(
                f"near files: entry {state.sizes[log] - 1} of {log or 'own log'} is not {mark}"
            )
    found: Counter[tuple[int, bytes, bytes]] = Counter()
    hashes = files.hashes(state.rows)
    works = files.works(state.rows)
    keys = np.ascontiguousarray(hashes).astype(">u8").tobytes()
    shas = np.ascontiguousarray(works).tobytes()
    for row in range(state.rows):
        found[(0, shas[32 * row : 32 * row + 32], keys[32 * row : 32 * row + 32])] += 1
    for sha256, code in files.iscc(0, state.iscc_bytes):
        found[(1, sha256, code.encode())] += 1
    missing = sorted((stored - found).elements())
    extra = sorted((found - stored).elements())
    out += [f"near files: missing {_show(row)}" for row in missing[:limit]]
    out += [f"near files: unexpected {_show(row)}" for row in extra[:limit]]
    if len(missing) + len(extra) > 2 * limit:
        out.append(f"near files: {len(missing) + len(extra)} differences in all")
    if _sealed_ok(state.segments, state.rows):
        for start, stop in state.segments:
            _, _, table, postings = files.segment(start, stop)
            want_table, want_postings = segment_arrays(hashes, start, stop, PDQ_BITS)
            if not (np.array_equal(table, want_table) and np.array_equal(postings, want_postings)):
                out.append(f"near files: segment {start}..{stop} differs from its rows")
    else:
        out.append(f"near files: segments {state.segments} do not cover {state.rows} rows")
    return out


def _sealed_ok(segments: Sequence[tuple[int, int]], rows: int) -> bool:
    position = 0
    for start, stop in segments:
        if start != position or stop <= start:
            return False
        position = stop
    return position <= rows


def _show(row: tuple[int, bytes, bytes]) -> str:
    kind, sha256, key = row
    shown = key.hex() if kind == 0 else key.decode()
    return f"({'pdq' if kind == 0 else 'iscc'}, {sha256.hex()}, {shown})"


def discard(files: NearFiles) -> None:
    """Remove the files (the repair: workers rebuild them from ``index_near`` at start)."""
    fd = files.lock()
    try:
        with contextlib.suppress(FileNotFoundError):
            for path in files.directory.iterdir():
                if path.name not in {_LOCK, _COMPACT_LOCK}:
                    path.unlink()
    finally:
        NearFiles.unlock(fd)
