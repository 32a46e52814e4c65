"""The node's near-duplicate indexes: PDQ hashes and ISCC Content-Codes of declared works.

A :class:`NearIndex` sits beside the :class:`registry.core.state.ConsentState` of a
:class:`registry.indexes.memory.LogIndex` (spec §6.8.3, ADR 0006). Every work of every newly seen
declaration (own log and mirrored logs alike) is indexed:

- its PDQ hashes (:func:`pdq_hashes_of`: ``pdq`` and the ``pdq_variants`` of its crops),
  unless its quality is below :data:`registry.neardup.PDQ_MIN_QUALITY` (spec §2.4, §6.8.3:
  such hashes are too unreliable to match);
- its ISCC code's Content-Code, if it has one (codes without a Content-Code are skipped).

The payload id of an indexed item is its position in a list of the works' SHA-256s (kept as
packed bytes: 32 bytes per item, plus the 32-byte PDQ hash); a work's several PDQ hashes are
several items with the same SHA-256. The index never deletes: a match
is resolved through the consent state at answer time, so a withdrawn or superseded claim stops
answering at once, and matches whose work has no current claim are dropped.

Adds are buffered (:meth:`NearIndex.add`, synchronous, called while the log index absorbs an
entry) and applied in bulk by :meth:`NearIndex.flush` at the end of each catch-up: a start-up
rebuild then builds each index in one vectorised pass. Searches and flushes are serialised by
:attr:`NearIndex.lock`, so that a search may run in a worker thread while the event loop keeps
absorbing entries.
"""

from __future__ import annotations

import asyncio
import os
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Final

import numpy as np
import numpy.typing as npt

from registry.core.records import Declaration, Work
from registry.neardup import (
    PDQ_MIN_QUALITY,
    BatchMatches,
    InvalidIsccError,
    IsccIndex,
    Match,
    iscc_content,
    parse_hashes,
    pdq_index,
)

__all__ = [
    "ISCC_SEARCH_LIMIT",
    "PDQ_SEARCH_LIMIT",
    "SEARCH_SLICE",
    "NearHit",
    "NearIndex",
    "pdq_hashes_of",
]

SEARCH_SLICE: Final = 50
"""PDQ queries searched at once: a slice's flat matches (50 queries x every indexed copy of the
works near them) bound the memory of a 1,000-query batch."""

PDQ_SEARCH_LIMIT: Final = 64
"""Largest ``max_distance`` a PDQ query may ask for (spec §6.8.3)."""
ISCC_SEARCH_LIMIT: Final = 32
"""Largest ``max_distance`` an ISCC query may ask for (64-bit bodies; unrelated texts ~32)."""
SEARCH_THREADS: Final = max(1, min(4, os.cpu_count() or 1))
"""Threads one batch search is split over (NumPy releases the GIL; ADR 0006)."""
_PARALLEL_BATCH: Final = 8  # smaller batches are searched on one thread


def pdq_hashes_of(work: Work) -> list[str]:
    """The PDQ hashes a node indexes for a work (spec §6.8.3 item 1): its ``pdq`` and its
    ``pdq_variants`` (crops of the image, spec §2.4), or none if ``pdq_quality`` is below
    :data:`~registry.neardup.PDQ_MIN_QUALITY`. Each is indexed under the work's SHA-256; the
    one place that lists them (the in-memory and the persistent index both call it)."""
    if work.pdq is None or (work.pdq_quality or 0) < PDQ_MIN_QUALITY:
        return []
    return [work.pdq, *work.pdq_variants]


@dataclass(frozen=True, slots=True)
class NearHit:
    """One indexed work within the radius of a query: its SHA-256, its indexed hash or code,
    and the Hamming distance."""

    sha256: str
    key: str
    distance: int


class NearIndex:
    """PDQ and ISCC Content-Code indexes of declared works; see the module docstring."""

    def __init__(self) -> None:
        self.pdq = pdq_index()
        self.iscc = IsccIndex()
        self.lock = asyncio.Lock()
        self._pdq_items = bytearray()  # per PDQ payload id: sha256 (32 bytes) || pdq (32 bytes)
        self._pdq_count = 0
        self._iscc_items: list[tuple[bytes, str]] = []  # per ISCC payload id: (sha256, code)
        self._pending_pdq: list[str] = []
        self._pending_quality: list[int] = []
        self._pending_iscc: list[tuple[str, int]] = []

    def add(self, record: Declaration) -> None:
        """Queue every work of a newly seen declaration (applied by :meth:`flush`).

        Low-quality PDQ hashes (spec §2.4) and ISCC codes without a Content-Code are skipped
        here, so payload ids stay dense.
        """
        for work in record.works:
            for pdq in pdq_hashes_of(work):
                self._pdq_items += bytes.fromhex(work.sha256) + bytes.fromhex(pdq)
                self._pending_pdq.append(pdq)
                self._pending_quality.append(work.pdq_quality or 0)
            if work.iscc is not None:
                try:
                    iscc_content(work.iscc)
                except InvalidIsccError:
                    continue
                self._pending_iscc.append((work.iscc, len(self._iscc_items)))
                self._iscc_items.append((bytes.fromhex(work.sha256), work.iscc))

    def add_stored(self, rows: Sequence[tuple[int, bytes, bytes, int]]) -> None:
        """Queue items read from the persistent index (``index_near`` rows: kind 0 PDQ or 1
        ISCC, the work's SHA-256, the PDQ hash or ISCC code, the PDQ quality), already filtered
        as :meth:`add` filters (:func:`registry.storage.index.near_items`)."""
        for kind, sha256, key, quality in rows:
            if kind == 0:
                self._pdq_items += sha256 + key
                self._pending_pdq.append(key.hex())
                self._pending_quality.append(quality)
            else:
                code = key.decode()
                self._pending_iscc.append((code, len(self._iscc_items)))
                self._iscc_items.append((sha256, code))

    def add_stored_pdq(self, sha256s: bytes, hashes: bytes, qualities: Sequence[int]) -> None:
        """Index PDQ items read from the persistent index in bulk: the works' SHA-256s and the
        hashes as concatenated 32-byte strings, and their qualities (no hex round trip)."""
        count = len(qualities)
        if not count:
            return
        first = self._pdq_count
        rows = np.frombuffer(hashes, dtype=">u8").astype(np.uint64).reshape(count, 4)
        self.pdq.add_arrays(
            rows,
            np.arange(first, first + count, dtype=np.int64),
            np.asarray(qualities, dtype=np.int64),
        )
        items = np.empty((count, 64), dtype=np.uint8)
        items[:, :32] = np.frombuffer(sha256s, dtype=np.uint8).reshape(count, 32)
        items[:, 32:] = np.frombuffer(hashes, dtype=np.uint8).reshape(count, 32)
        self._pdq_items += items.tobytes()
        self._pdq_count += count

    @property
    def pending(self) -> int:
        """Items queued but not searchable yet."""
        return len(self._pending_pdq) + len(self._pending_iscc)

    def flush(self) -> None:
        """Index the queued items (callers hold :attr:`lock`)."""
        if self._pending_pdq:
            first = self._pdq_count
            count = len(self._pending_pdq)
            self.pdq.add_arrays(
                parse_hashes(self._pending_pdq),
                np.arange(first, first + count, dtype=np.int64),
                np.asarray(self._pending_quality, dtype=np.int64),
            )
            self._pdq_count += count
            self._pending_pdq.clear()
            self._pending_quality.clear()
        for code, payload in self._pending_iscc:
            self.iscc.add(code, payload)
        self._pending_iscc.clear()

    async def flush_locked(self) -> None:
        """:meth:`flush` under :attr:`lock` (the log index calls this after each catch-up)."""
        if self.pending:
            async with self.lock:
                self.flush()

    def _works_of(self, payloads: npt.NDArray[np.int64]) -> npt.NDArray[np.uint8]:
        """The works' SHA-256s of PDQ payload ids, as ``(n, 32)`` bytes (a copy)."""
        items = np.frombuffer(self._pdq_items, dtype=np.uint8, count=64 * self._pdq_count)
        return items.reshape(-1, 64)[payloads, :32]  # a copy: the buffer may grow later

    def _pdq_hit(self, match: Match) -> NearHit:
        start = 64 * match.payload
        item = self._pdq_items[start : start + 64]
        return NearHit(bytes(item[:32]).hex(), bytes(item[32:]).hex(), match.distance)

    def _iscc_hit(self, match: Match) -> NearHit:
        sha256, code = self._iscc_items[match.payload]
        return NearHit(sha256.hex(), code, match.distance)

    async def search_pdq(self, hashes: Sequence[str], max_distance: int) -> list[list[NearHit]]:
        """Indexed works within ``max_distance`` of each PDQ hash, in request order, each list
        sorted by (distance, payload).

        Raises:
            NearDupError: a hash is not 64 lowercase hex digits, or the distance is negative.
        """
        async with self.lock:
            return await asyncio.to_thread(
                self._search_pdq,
                list(hashes),
                max_distance,
                SEARCH_THREADS if len(hashes) >= _PARALLEL_BATCH else 1,
            )

    def _search_pdq(
        self, hashes: list[str], max_distance: int, workers: int
    ) -> list[list[NearHit]]:
        """The search and its hits, in a worker thread (spec §6.1.4: heavy answers off the
        event loop). A work indexed many times (declared by many creators) is one hit at its
        smallest distance, chosen on the flat arrays: 1,000 claims of one hash cost one
        Python object per query, not 1,000."""
        words = parse_hashes(hashes)
        out: list[list[NearHit]] = []
        # Slices of queries: the flat matches of one slice are all that is held at a time.
        for start in range(0, len(hashes), SEARCH_SLICE):
            found = self.pdq.search_arrays(
                words[start : start + SEARCH_SLICE], max_distance=max_distance, workers=workers
            )
            out += self._distinct_pdq_hits(found, len(words[start : start + SEARCH_SLICE]))
        return out

    def _distinct_pdq_hits(self, found: BatchMatches, count: int) -> list[list[NearHit]]:
        """Per query, one hit per work (its nearest), in (distance, payload) order."""
        out: list[list[NearHit]] = [[] for _ in range(count)]
        if not len(found):
            return out
        works = self._works_of(found.payload)
        # Group by (query, SHA-256), keeping the match order within a group (lexsort is
        # stable): each group's first match is that work's nearest.
        words = np.ascontiguousarray(works).view(">u8")  # (matches, 4): the SHA-256 as 4 words
        order = np.lexsort((words[:, 3], words[:, 2], words[:, 1], words[:, 0], found.query))
        queries, words = found.query[order], words[order]
        new = np.ones(len(order), dtype=bool)
        new[1:] = queries[1:] != queries[:-1]
        for column in range(4):
            new[1:] |= words[1:, column] != words[:-1, column]
        for i in np.sort(order[new]).tolist():  # back in (query, distance, payload) order
            out[int(found.query[i])].append(
                self._pdq_hit(Match(int(found.payload[i]), int(found.distance[i])))
            )
        return out

    async def search_iscc(self, codes: Sequence[str], max_distance: int) -> list[list[NearHit]]:
        """Indexed works whose Content-Code (same kind) is within ``max_distance`` bits.

        Raises:
            NearDupError: a code is malformed or has no Content-Code.
        """
        async with self.lock:
            return await asyncio.to_thread(
                self._search_iscc,
                list(codes),
                max_distance,
                SEARCH_THREADS if len(codes) >= _PARALLEL_BATCH else 1,
            )

    def _search_iscc(
        self, codes: list[str], max_distance: int, workers: int
    ) -> list[list[NearHit]]:
        """The search and its hits (one per work, at its smallest distance), in a thread."""
        found = self.iscc.search_many(codes, max_distance=max_distance, workers=workers)
        out: list[list[NearHit]] = []
        for matches in found:
            seen: set[bytes] = set()
            hits = []
            for match in matches:
                sha256 = self._iscc_items[match.payload][0]
                if sha256 not in seen:
                    seen.add(sha256)
                    hits.append(self._iscc_hit(match))
            out.append(hits)
        return out

    def __len__(self) -> int:
        return len(self.pdq) + len(self.iscc)
