"""An exact Hamming-radius index over fixed-length binary hashes (PDQ: 256 bits; ISCC: 64).

Question answered: which indexed items lie within Hamming distance ``D`` of a query hash?
Answers are exact: the same set a brute-force scan returns (ADR 0006).

Layout (ADR 0006):

- Hashes live once, row-major, as ``(n, bits/64)`` native ``uint64`` words; word ``k`` is bytes
  ``8k..8k+7`` of the hash read big-endian, so bit 0 is the most significant bit of byte 0 (the
  first hex digit). Payload ids (caller-chosen integers) sit beside them as ``int64``.
- Rows are covered by *segments*, each a multi-index-hashing (MIH) table over a contiguous row
  range: the hash is cut into ``m`` chunks of ``w`` ~ log2(segment size) bits (capped at 20); for
  each chunk a CSR table (``2**w + 1`` offsets) points into ``uint32`` postings (row numbers sorted
  by the chunk's value). Rows not yet in a segment (the *tail*, at most ``tail_size``) are
  scanned by brute force. Full tails become segments; segments merge LSM-style, so adds cost
  O(log n) amortised rebuild work and a bulk build is one segment.
- Search with radius ``D`` uses the generalised pigeonhole principle: if the hash is cut into
  chunks and ``sum(r_j + 1) >= D + 1``, a hash within ``D`` is within ``r_j`` on at least one
  chunk ``j`` (``r_j = -1`` leaves a chunk unused). Radii are chosen per segment by a cost model
  (probes vs candidates); when even the best plan costs more than a scan, the segment is
  scanned. Every candidate is verified with the full popcount, so results are exact for any D.

Not thread-safe: one writer, and no search concurrent with an add (the node's asyncio loop
serialises both).
"""

from __future__ import annotations

import itertools
import math
import re
from collections.abc import Iterable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from functools import lru_cache
from typing import Final, NamedTuple

import numpy as np
import numpy.typing as npt

from registry.neardup.errors import InvalidHashError, InvalidQueryError

__all__ = [
    "DEFAULT_TAIL_SIZE",
    "BatchMatches",
    "HammingIndex",
    "Match",
    "parse_hash",
    "parse_hashes",
    "segment_arrays",
]

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

DEFAULT_TAIL_SIZE: Final = 8192
"""Rows kept unindexed (scanned by brute force) before they are sealed into a segment."""

_MAX_CHUNK_BITS: Final = 20  # caps a CSR table at 2**20 + 1 offsets (4 MiB as uint32)
_MIN_CHUNK_BITS: Final = 8
_MAX_ROWS: Final = 2**32 - 1  # postings are uint32 row numbers
# Queries are processed in blocks small enough that a block's temporaries stay in the CPU
# caches (ADR 0006, "Blocking"): at 10M hashes, 100k-candidate blocks ran 1.4x faster than
# 2M-element ones, and 200k-element blocks made tail scans 1.5x faster.
_SCAN_BLOCK_ELEMENTS: Final = 200_000  # (query, row) pairs of one brute-force block
_PROBE_BLOCK_ELEMENTS: Final = 100_000  # probes + expected candidates of one MIH block
# Cost model, in nanoseconds on the reference machine (ADR 0006): one bucket probe, one
# candidate verification (a random row gather + popcount), one word of a brute-force scan.
_COST_PROBE: Final = 40.0
_COST_CANDIDATE: Final = 60.0
_COST_SCAN_WORD: Final = 1.5

_HEX_DIGITS = np.full(256, 255, dtype=np.uint8)
_HEX_DIGITS[np.frombuffer(b"0123456789", dtype=np.uint8)] = np.arange(10, dtype=np.uint8)
_HEX_DIGITS[np.frombuffer(b"abcdef", dtype=np.uint8)] = np.arange(10, 16, dtype=np.uint8)


class Match(NamedTuple):
    """One indexed item within the radius of a query."""

    payload: int
    distance: int


@dataclass(frozen=True, slots=True)
class BatchMatches:
    """Matches of a batch in flat (COO) form, sorted by (query, distance, payload).

    ``query[i]`` is the position of the query in the batch, ``payload[i]`` the matching item's
    payload id and ``distance[i]`` its Hamming distance.
    """

    query: I64
    payload: I64
    distance: I64

    def __len__(self) -> int:
        return len(self.query)

    def per_query(self, count: int) -> list[list[Match]]:
        """Split into one list of :class:`Match` per query (``count`` queries in the batch)."""
        out: list[list[Match]] = [[] for _ in range(count)]
        for q, p, d in zip(
            self.query.tolist(), self.payload.tolist(), self.distance.tolist(), strict=True
        ):
            out[q].append(Match(p, d))
        return out


def _check_bits(bits: int) -> int:
    if bits <= 0 or bits % 64:
        raise InvalidQueryError(f"bits must be a positive multiple of 64, not {bits}")
    return bits // 64


@lru_cache(maxsize=8)
def _hex_pattern(digits: int) -> re.Pattern[str]:
    return re.compile(f"[0-9a-f]{{{digits}}}")


def parse_hash(value: str | bytes, bits: int = 256) -> U64:
    """One hash as a ``(bits/64,)`` uint64 word array.

    ``value`` is ``bits/4`` lowercase hex digits (the record format, spec §2.4) or ``bits/8``
    raw bytes. Raises :class:`InvalidHashError` otherwise.
    """
    words = _check_bits(bits)
    if isinstance(value, str):
        if not _hex_pattern(bits // 4).fullmatch(value):
            raise InvalidHashError(
                f"hash must be {bits // 4} lowercase hex digits, got {value[:80]!r}"
            )
        raw = bytes.fromhex(value)
    elif isinstance(value, bytes | bytearray | memoryview):
        raw = bytes(value)
        if len(raw) != bits // 8:
            raise InvalidHashError(f"hash must be {bits // 8} bytes, got {len(raw)}")
    else:
        raise InvalidHashError(f"hash must be str or bytes, not {type(value).__name__}")
    return np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(words)


def parse_hashes(values: Sequence[str], bits: int = 256) -> U64:
    """Many hex hashes as an ``(n, bits/64)`` uint64 array, decoded in bulk (vectorised).

    Raises :class:`InvalidHashError` naming the first bad value (wrong type or length,
    uppercase or non-hex digit).
    """
    words = _check_bits(bits)
    digits = bits // 4
    n = len(values)
    if n == 0:
        return np.empty((0, words), dtype=np.uint64)
    try:
        text = "".join(values).encode("ascii")
    except (TypeError, UnicodeEncodeError):
        raise _first_bad_hash(values, bits) from None
    if len(text) != n * digits:
        raise _first_bad_hash(values, bits)
    nibbles = _HEX_DIGITS[np.frombuffer(text, dtype=np.uint8)]
    if (nibbles == 255).any():
        raise _first_bad_hash(values, bits)
    raw = (nibbles[0::2] << 4) | nibbles[1::2]
    return raw.view(">u8").astype(np.uint64).reshape(n, words)


def _first_bad_hash(values: Sequence[str], bits: int) -> InvalidHashError:
    for i, value in enumerate(values):
        if not isinstance(value, str):
            return InvalidHashError(f"hash {i} is {type(value).__name__}, not a hex string")
        try:
            parse_hash(value, bits)
        except InvalidHashError as exc:
            return InvalidHashError(f"hash {i}: {exc}")
    return InvalidHashError("malformed hash")  # pragma: no cover - the caller found one


def _as_words(hashes: npt.ArrayLike, words: int, what: str) -> U64:
    """Normalise an ``(n, words)`` uint64 or ``(n, words*8)`` uint8 array (big-endian bytes)."""
    arr = np.asarray(hashes)
    if arr.ndim == 1 and arr.size == words and arr.dtype == np.uint64:
        arr = arr.reshape(1, words)
    if arr.ndim != 2:
        raise InvalidQueryError(f"{what} must be a 2-D array, got shape {arr.shape}")
    if arr.dtype == np.uint8 and arr.shape[1] == words * 8:
        return np.ascontiguousarray(arr).view(">u8").astype(np.uint64).reshape(-1, words)
    if arr.dtype == np.uint64 and arr.shape[1] == words:
        return np.ascontiguousarray(arr)
    raise InvalidQueryError(
        f"{what} must be (n, {words}) uint64 or (n, {words * 8}) uint8, got {arr.dtype} {arr.shape}"
    )


def _distances(rows: U64, queries: U64) -> npt.NDArray[np.uint16]:
    """Row-wise Hamming distances between two ``(c, words)`` arrays."""
    counts = np.bitwise_count(rows ^ queries)
    total: npt.NDArray[np.uint16] = counts[:, 0].astype(np.uint16)
    for k in range(1, counts.shape[1]):
        total += counts[:, k]
    return total


# --- chunk layout and probe plans ---------------------------------------------------------


def _chunk_widths(bits: int, rows: int) -> tuple[int, ...]:
    """Chunk widths for a segment of ``rows`` rows: ~log2(rows) bits each (MIH rule)."""
    target = round(math.log2(max(rows, 2)))
    width = min(_MAX_CHUNK_BITS, max(_MIN_CHUNK_BITS, target))
    m = -(-bits // width)
    base, extra = divmod(bits, m)
    return tuple(base + 1 if j < extra else base for j in range(m))


def _chunk_keys(hashes: U64, widths: tuple[int, ...]) -> list[U64]:
    """Each chunk's value (as uint64) for every row; chunk 0 starts at the MSB of word 0."""
    keys: list[U64] = []
    offset = 0
    for width in widths:
        word, shift = divmod(offset, 64)
        col = hashes[:, word]
        if shift + width <= 64:
            key = (col >> np.uint64(64 - shift - width)) & np.uint64((1 << width) - 1)
        else:  # the chunk straddles two words
            high = 64 - shift
            low = width - high
            key = ((col & np.uint64((1 << high) - 1)) << np.uint64(low)) | (
                hashes[:, word + 1] >> np.uint64(64 - low)
            )
        keys.append(key)
        offset += width
    return keys


def _ball(width: int, radius: int) -> int:
    """How many ``width``-bit values lie within ``radius`` of a given one."""
    if radius < 0:
        return 0
    return sum(math.comb(width, i) for i in range(min(radius, width) + 1))


@lru_cache(maxsize=256)
def _masks(width: int, radius: int) -> npt.NDArray[np.int64]:
    """Every ``width``-bit XOR mask of popcount <= radius, by increasing popcount."""
    out = [0]
    for k in range(1, min(radius, width) + 1):
        out.extend(sum(1 << b for b in combo) for combo in itertools.combinations(range(width), k))
    return np.array(out, dtype=np.int64)


def _plan_radii(widths: tuple[int, ...], rows: int, radius: int) -> tuple[int, ...] | None:
    """Per-chunk radii r_j with sum(r_j + 1) >= radius + 1 minimising estimated cost.

    Generalised pigeonhole (ADR 0006): a hash within ``radius`` of the query is within ``r_j``
    of it on some chunk j. Greedy on marginal cost is optimal because each chunk's cost is
    convex in r_j. Returns None when a brute-force scan of the segment is estimated cheaper.
    """

    def cost(width: int, r: int) -> float:
        ball = _ball(width, r)
        return ball * (_COST_PROBE + _COST_CANDIDATE * rows / 2.0**width)

    radii = [-1] * len(widths)
    for _ in range(radius + 1):
        best = min(
            range(len(widths)),
            key=lambda j: cost(widths[j], radii[j] + 1) - cost(widths[j], radii[j]),
        )
        if radii[best] + 1 >= widths[best]:
            return None  # every value of some chunk would be probed: scan instead
        radii[best] += 1
    total = sum(cost(w, r) for w, r in zip(widths, radii, strict=True))
    words = -(-sum(widths) // 64)
    if total >= rows * words * _COST_SCAN_WORD:
        return None
    return tuple(radii)


@dataclass(frozen=True, slots=True)
class _Plan:
    """The probes of one segment for one radius: table address base and XOR mask per probe."""

    chunk: npt.NDArray[np.intp]
    mask: npt.NDArray[np.int64]
    base: npt.NDArray[np.int64]
    expected_candidates: float


def segment_arrays(
    hashes: U64, start: int, stop: int, bits: int
) -> tuple[npt.NDArray[np.integer], npt.NDArray[np.uint32]]:
    """The MIH ``table`` (CSR offsets per chunk value) and ``postings`` (row numbers) of a
    segment over rows ``start..stop`` of ``hashes``; a function of those rows only, so that a
    segment can be built once, stored, and memory-mapped by every process (ADR 0010)."""
    rows = stop - start
    widths = _chunk_widths(bits, rows)
    m = len(widths)
    table_dtype = np.uint32 if m * rows <= _MAX_ROWS else np.int64
    sizes = [(1 << w) + 1 for w in widths]
    table_base = np.cumsum([0, *sizes[:-1]], dtype=np.int64)
    table: npt.NDArray[np.integer] = np.empty(sum(sizes), dtype=table_dtype)
    postings = np.empty(m * rows, dtype=np.uint32)
    local = np.arange(rows, dtype=np.uint64)
    for j, key in enumerate(_chunk_keys(np.ascontiguousarray(hashes[start:stop]), widths)):
        # Counting sort by chunk value: sort (value << 32 | row) once.
        packed = (key << np.uint64(32)) | local
        packed.sort()
        postings[j * rows : (j + 1) * rows] = (packed & np.uint64(0xFFFFFFFF)) + start
        bounds = np.searchsorted(
            packed >> np.uint64(32), np.arange(sizes[j], dtype=np.uint64), side="left"
        )
        base = int(table_base[j])
        table[base : base + sizes[j]] = bounds + j * rows
    return table, postings


class _Segment:
    """An MIH table over rows ``start..stop`` (immutable once built)."""

    def __init__(
        self,
        hashes: U64,
        start: int,
        stop: int,
        bits: int,
        arrays: tuple[npt.NDArray[np.integer], npt.NDArray[np.uint32]] | None = None,
    ) -> None:
        """Build the tables of rows ``start..stop`` of ``hashes``, or adopt ``arrays`` (the
        ``table`` and ``postings`` of a segment built earlier over the same rows, for example
        memory-mapped from a file: :func:`segment_arrays`)."""
        self.start = start
        self.stop = stop
        rows = stop - start
        self.widths = _chunk_widths(bits, rows)
        sizes = [(1 << w) + 1 for w in self.widths]
        self.table_base = np.cumsum([0, *sizes[:-1]], dtype=np.int64)
        if arrays is None:
            arrays = segment_arrays(hashes, start, stop, bits)
        self.table, self.postings = arrays
        self._plans: dict[int, _Plan | None] = {}

    @property
    def rows(self) -> int:
        return self.stop - self.start

    @property
    def nbytes(self) -> int:
        return int(self.table.nbytes + self.postings.nbytes)

    def plan(self, radius: int) -> _Plan | None:
        """The probe plan for ``radius`` (cached), or None to scan this segment."""
        if radius not in self._plans:
            radii = _plan_radii(self.widths, self.rows, radius)
            if radii is None:
                self._plans[radius] = None
            else:
                chunks: list[npt.NDArray[np.intp]] = []
                masks: list[npt.NDArray[np.int64]] = []
                expected = 0.0
                for j, (w, r) in enumerate(zip(self.widths, radii, strict=True)):
                    if r < 0:
                        continue
                    mask = _masks(w, r)
                    chunks.append(np.full(len(mask), j, dtype=np.intp))
                    masks.append(mask)
                    expected += len(mask) * self.rows / 2.0**w
                chunk = np.concatenate(chunks)
                self._plans[radius] = _Plan(
                    chunk=chunk,
                    mask=np.concatenate(masks),
                    base=self.table_base[chunk],
                    expected_candidates=expected,
                )
        return self._plans[radius]

    def candidates(self, queries: U64, plan: _Plan) -> tuple[I64, I64]:
        """Per-query candidate counts and the rows of every posting in a probed bucket.

        Rows are grouped by query, in query order; a row may repeat.
        """
        keys = np.stack(_chunk_keys(queries, self.widths), axis=1).astype(np.int64)
        address = (keys[:, plan.chunk] ^ plan.mask) + plan.base
        starts = self.table[address].astype(np.int64)
        lengths = self.table[address + 1].astype(np.int64) - starts
        per_query = lengths.sum(axis=1)
        flat_lengths = lengths.ravel()
        total = int(per_query.sum())
        ends = np.cumsum(flat_lengths)
        positions = np.arange(total, dtype=np.int64) - np.repeat(
            ends - flat_lengths - starts.ravel(), flat_lengths
        )
        # np.take with intp indices is ~3x faster than with uint32 ones (measured).
        return per_query, self.postings[positions].astype(np.intp)


@dataclass(frozen=True, slots=True)
class _Found:
    """Matches gathered so far: query positions, rows and distances, as lists of arrays."""

    owners: list[I64]
    rows: list[I64]
    dists: list[npt.NDArray[np.uint16]]


class HammingIndex:
    """Items (hash, payload id) searchable by Hamming radius; see the module docstring.

    ``bits`` is the hash length (a multiple of 64); ``max_distance`` the default search radius;
    ``min_quality``, when not None, makes ``quality`` mandatory at insertion and skips items
    whose quality is below it (PDQ: 50). Several items may share a hash or a payload id.
    """

    def __init__(
        self,
        *,
        bits: int = 256,
        max_distance: int = 31,
        min_quality: int | None = None,
        tail_size: int = DEFAULT_TAIL_SIZE,
        merge_factor: int = 4,
    ) -> None:
        self.words = _check_bits(bits)
        self.bits = bits
        self.max_distance = self._check_distance(max_distance)
        self.min_quality = min_quality
        if tail_size < 1 or merge_factor < 2:
            raise InvalidQueryError("tail_size must be >= 1 and merge_factor >= 2")
        self.tail_size = tail_size
        self.merge_factor = merge_factor
        self._hashes: U64 = np.empty((0, self.words), dtype=np.uint64)
        self._payloads: I64 | None = np.empty(0, dtype=np.int64)  # None: the row number
        self._size = 0
        self._segments: list[_Segment] = []
        self._sealed = 0  # rows 0.._sealed are covered by segments

    # --- construction ----------------------------------------------------------------------

    @classmethod
    def from_arrays(
        cls,
        hashes: npt.ArrayLike,
        payloads: npt.ArrayLike,
        qualities: npt.ArrayLike | None = None,
        *,
        bits: int = 256,
        max_distance: int = 31,
        min_quality: int | None = None,
        tail_size: int = DEFAULT_TAIL_SIZE,
        merge_factor: int = 4,
    ) -> HammingIndex:
        """Bulk build (one segment) from ``(n, bits/64)`` uint64 or ``(n, bits/8)`` uint8 hashes.

        Equivalent to adding the items one by one in order. Raises :class:`InvalidQueryError`.
        """
        index = cls(
            bits=bits,
            max_distance=max_distance,
            min_quality=min_quality,
            tail_size=tail_size,
            merge_factor=merge_factor,
        )
        index.add_arrays(hashes, payloads, qualities)
        return index

    @classmethod
    def attached(
        cls,
        hashes: U64,
        segments: Sequence[tuple[int, int, npt.NDArray[np.integer], npt.NDArray[np.uint32]]],
        *,
        bits: int = 256,
        max_distance: int = 31,
    ) -> HammingIndex:
        """A read-only index over arrays owned elsewhere (ADR 0010: memory-mapped files shared
        by every worker): ``hashes`` ``(n, bits/64)`` uint64 rows whose payload id is their row
        number, and the ``(start, stop, table, postings)`` of segments covering rows
        ``0..sealed`` in order (:func:`segment_arrays`); rows after the last segment are
        scanned. Nothing is copied; do not :meth:`add` to it."""
        index = cls(bits=bits, max_distance=max_distance)
        index._hashes = hashes
        index._payloads = None
        index._size = len(hashes)
        for start, stop, table, postings in segments:
            if start != index._sealed or stop > index._size:
                raise InvalidQueryError(f"segment {start}..{stop} does not follow {index._sealed}")
            index._segments.append(_Segment(hashes, start, stop, bits, (table, postings)))
            index._sealed = stop
        return index

    def add(self, hash_value: str | bytes, payload: int, quality: int | None = None) -> bool:
        """Index one item; return False if it was skipped for low quality.

        Raises :class:`InvalidHashError` for a malformed hash and :class:`InvalidQueryError`
        for a payload outside int64 or a missing/out-of-range quality.
        """
        words = parse_hash(hash_value, self.bits)
        if not self._quality_ok(quality):
            return False
        if not -(2**63) <= payload < 2**63:
            raise InvalidQueryError(f"payload {payload} is outside int64")
        self._append(words.reshape(1, self.words), np.array([payload], dtype=np.int64))
        return True

    def add_arrays(
        self,
        hashes: npt.ArrayLike,
        payloads: npt.ArrayLike,
        qualities: npt.ArrayLike | None = None,
    ) -> int:
        """Index many items at once (vectorised); return how many passed the quality filter."""
        rows = _as_words(hashes, self.words, "hashes")
        ids = np.asarray(payloads)
        if ids.shape != (len(rows),) or not np.issubdtype(ids.dtype, np.integer):
            raise InvalidQueryError(f"payloads must be {len(rows)} integers, got {ids.shape}")
        if ids.dtype == np.uint64 and len(ids) and int(ids.max()) >= 2**63:
            raise InvalidQueryError("payloads must fit in int64")
        if self.min_quality is not None:
            if qualities is None:
                raise InvalidQueryError("this index needs a quality for every hash")
            q = np.asarray(qualities)
            if q.shape != (len(rows),) or not np.issubdtype(q.dtype, np.integer):
                raise InvalidQueryError(f"qualities must be {len(rows)} integers")
            if len(q) and (int(q.min()) < 0 or int(q.max()) > 100):
                raise InvalidQueryError("qualities must be 0..100")
            keep = q >= self.min_quality
            rows, ids = rows[keep], ids[keep]
        self._append(rows, ids.astype(np.int64))
        return len(rows)

    def _quality_ok(self, quality: int | None) -> bool:
        if self.min_quality is None:
            return True
        if quality is None:
            raise InvalidQueryError("this index needs the hash's quality (0..100)")
        if not 0 <= quality <= 100:
            raise InvalidQueryError(f"quality must be 0..100, not {quality}")
        return quality >= self.min_quality

    def _append(self, rows: U64, payloads: I64) -> None:
        count = len(rows)
        if count == 0:
            return
        if self._payloads is None:
            raise InvalidQueryError("an attached index is read-only")
        needed = self._size + count
        if needed > _MAX_ROWS:
            raise InvalidQueryError(f"an index holds at most {_MAX_ROWS} items")
        if needed > len(self._hashes):
            capacity = needed if self._size == 0 else max(needed, len(self._hashes) * 5 // 4 + 1024)
            grown = np.empty((capacity, self.words), dtype=np.uint64)
            grown[: self._size] = self._hashes[: self._size]
            grown_ids = np.empty(capacity, dtype=np.int64)
            grown_ids[: self._size] = self._payloads[: self._size]
            self._hashes, self._payloads = grown, grown_ids
        self._hashes[self._size : needed] = rows
        self._payloads[self._size : needed] = payloads
        self._size = needed
        if self._size - self._sealed >= self.tail_size:
            self._seal()

    def _seal(self) -> None:
        """Turn the tail into a segment, then merge while the last two are of similar size."""
        self._segments.append(_Segment(self._hashes, self._sealed, self._size, self.bits))
        self._sealed = self._size
        while (
            len(self._segments) >= 2
            and self._segments[-2].rows <= self.merge_factor * self._segments[-1].rows
        ):
            last = self._segments.pop()
            first = self._segments.pop()
            self._segments.append(_Segment(self._hashes, first.start, last.stop, self.bits))

    # --- introspection ---------------------------------------------------------------------

    def __len__(self) -> int:
        return self._size

    @property
    def nbytes(self) -> int:
        """Bytes held by the index's arrays (hashes and payloads at capacity, tables, postings)."""
        return int(
            self._hashes.nbytes
            + (0 if self._payloads is None else self._payloads.nbytes)
            + sum(segment.nbytes for segment in self._segments)
        )

    @property
    def segments(self) -> list[tuple[int, int]]:
        """Row ranges covered by MIH segments (for tests and diagnostics)."""
        return [(s.start, s.stop) for s in self._segments]

    # --- search ----------------------------------------------------------------------------

    @staticmethod
    def _check_distance(max_distance: int) -> int:
        if isinstance(max_distance, bool) or not isinstance(max_distance, int):
            raise InvalidQueryError("max_distance must be an int")
        if max_distance < 0:
            raise InvalidQueryError(f"max_distance must be >= 0, not {max_distance}")
        return max_distance

    def search(self, query: str | bytes, *, max_distance: int | None = None) -> list[Match]:
        """Items within ``max_distance`` (default: the index's) of one hash.

        Sorted by (distance, payload). Raises :class:`InvalidHashError` for a malformed hash.
        """
        words = parse_hash(query, self.bits).reshape(1, self.words)
        return self.search_arrays(words, max_distance=max_distance).per_query(1)[0]

    def search_many(
        self, queries: Sequence[str], *, max_distance: int | None = None, workers: int = 1
    ) -> list[list[Match]]:
        """One sorted match list per hex query, in order (a batch is searched vectorised)."""
        words = parse_hashes(queries, self.bits)
        found = self.search_arrays(words, max_distance=max_distance, workers=workers)
        return found.per_query(len(queries))

    def search_arrays(
        self, queries: npt.ArrayLike, *, max_distance: int | None = None, workers: int = 1
    ) -> BatchMatches:
        """Matches of ``(q, bits/64)`` uint64 (or ``(q, bits/8)`` uint8) queries, flat.

        ``workers`` > 1 splits the batch over that many threads (NumPy releases the GIL in
        the gathers and popcounts that dominate; ~1.8x with 2 workers on 2 cores).
        """
        radius = self._check_distance(self.max_distance if max_distance is None else max_distance)
        if workers < 1:
            raise InvalidQueryError("workers must be >= 1")
        q = _as_words(queries, self.words, "queries")
        if workers == 1 or len(q) < 2 * workers:
            return self._collect([self._search_part(q, radius, 0)])
        bounds = np.linspace(0, len(q), workers + 1).astype(int).tolist()
        with ThreadPoolExecutor(max_workers=workers) as pool:
            parts = list(
                pool.map(
                    lambda i: self._search_part(q[bounds[i] : bounds[i + 1]], radius, bounds[i]),
                    range(workers),
                )
            )
        return self._collect(parts)

    def _search_part(self, q: U64, radius: int, first: int) -> _Found:
        found = _Found([], [], [])
        for segment in self._segments:
            plan = segment.plan(radius)
            if plan is None:
                self._scan(q, segment.start, segment.stop, radius, found)
            else:
                self._probe(q, segment, plan, radius, found)
        self._scan(q, self._sealed, self._size, radius, found)
        found.owners[:] = [owner + first for owner in found.owners]
        return found

    def _scan(
        self,
        queries: U64,
        start: int,
        stop: int,
        radius: int,
        found: _Found,
    ) -> None:
        """Brute force over rows start..stop: popcount of every (query, row) pair."""
        if stop <= start or len(queries) == 0:
            return
        block = max(1, _SCAN_BLOCK_ELEMENTS // (stop - start))
        # contiguous copies: scanning strided columns (or a memory map) is ~3x slower
        columns = [np.ascontiguousarray(self._hashes[start:stop, k]) for k in range(self.words)]
        for first in range(0, len(queries), block):
            part = queries[first : first + block]
            total = np.bitwise_count(columns[0][None, :] ^ part[:, 0, None]).astype(np.uint16)
            for k in range(1, self.words):
                total += np.bitwise_count(columns[k][None, :] ^ part[:, k, None])
            owner, row = np.nonzero(total <= radius)
            found.owners.append(owner.astype(np.int64) + first)
            found.rows.append(row.astype(np.int64) + start)
            found.dists.append(total[owner, row])

    def _probe(
        self,
        queries: U64,
        segment: _Segment,
        plan: _Plan,
        radius: int,
        found: _Found,
    ) -> None:
        """MIH over one segment: probe buckets, then verify each candidate's full distance."""
        work_per_query = len(plan.mask) + plan.expected_candidates
        block = max(1, int(_PROBE_BLOCK_ELEMENTS // work_per_query))
        for first in range(0, len(queries), block):
            part = queries[first : first + block]
            per_query, row = segment.candidates(part, plan)
            distance = _distances(
                np.take(self._hashes, row, axis=0), np.repeat(part, per_query, axis=0)
            )
            keep = np.flatnonzero(distance <= radius)
            owner = np.searchsorted(np.cumsum(per_query), keep, side="right")
            found.owners.append(owner.astype(np.int64) + first)
            found.rows.append(row[keep])
            found.dists.append(distance[keep])

    def _collect(self, parts: list[_Found]) -> BatchMatches:
        owners = [o for part in parts for o in part.owners]
        if not owners:
            empty = np.empty(0, dtype=np.int64)
            return BatchMatches(empty, empty.copy(), empty.copy())
        owner = np.concatenate(owners).astype(np.int64)
        row = np.concatenate([r for part in parts for r in part.rows]).astype(np.int64)
        dist = np.concatenate([d for part in parts for d in part.dists]).astype(np.int64)
        # A row close to the query on several chunks was found several times: keep one.
        _, first = np.unique(owner * max(self._size, 1) + row, return_index=True)
        owner, row, dist = owner[first], row[first], dist[first]
        payload = row if self._payloads is None else self._payloads[row]
        order = np.lexsort((payload, dist, owner))
        return BatchMatches(owner[order], payload[order], dist[order])


def brute_force(
    hashes: npt.ArrayLike,
    payloads: Iterable[int],
    query: npt.ArrayLike,
    max_distance: int,
) -> list[Match]:
    """Reference answer by scanning every row (tests and benchmarks); sorted like search()."""
    rows = np.asarray(hashes, dtype=np.uint64)
    q = np.asarray(query, dtype=np.uint64).reshape(1, -1)
    dist = _distances(rows, np.broadcast_to(q, rows.shape)).astype(np.int64)
    ids = np.fromiter(payloads, dtype=np.int64, count=len(rows))
    keep = dist <= max_distance
    pairs = sorted(zip(dist[keep].tolist(), ids[keep].tolist(), strict=True))
    return [Match(p, d) for d, p in pairs]
