"""Near-duplicate search: exact Hamming-radius indexes for PDQ hashes and ISCC Content-Codes.

Node-side (needs NumPy); ``registry.core`` never imports it. See ADR 0006 for the design and
the measured numbers, and :mod:`registry.neardup.hamming` for the data layout.

- :class:`HammingIndex`: items (hash, integer payload id), exact search within a radius,
  single or batched, incremental :meth:`~HammingIndex.add` or bulk
  :meth:`~HammingIndex.from_arrays`.
- :func:`pdq_index`: a 256-bit index with the PDQ defaults (radius 31, minimum quality 50).
- :class:`IsccIndex` / :func:`iscc_content`: ISCC Content-Codes compared on their 64-bit body.
"""

from __future__ import annotations

from typing import Final

from registry.neardup.errors import (
    InvalidHashError,
    InvalidIsccError,
    InvalidQueryError,
    NearDupError,
)
from registry.neardup.hamming import (
    DEFAULT_TAIL_SIZE,
    BatchMatches,
    HammingIndex,
    Match,
    brute_force,
    parse_hash,
    parse_hashes,
)
from registry.neardup.iscc import (
    CONTENT_SUBTYPES,
    ISCC_MAX_DISTANCE,
    IsccContent,
    IsccIndex,
    iscc_content,
)

__all__ = [
    "CONTENT_SUBTYPES",
    "DEFAULT_TAIL_SIZE",
    "ISCC_MAX_DISTANCE",
    "PDQ_BITS",
    "PDQ_MAX_DISTANCE",
    "PDQ_MIN_QUALITY",
    "BatchMatches",
    "HammingIndex",
    "InvalidHashError",
    "InvalidIsccError",
    "InvalidQueryError",
    "IsccContent",
    "IsccIndex",
    "Match",
    "NearDupError",
    "brute_force",
    "iscc_content",
    "parse_hash",
    "parse_hashes",
    "pdq_index",
]

PDQ_BITS: Final = 256
PDQ_MAX_DISTANCE: Final = 31
"""The industry match threshold for PDQ (Meta's PDQ paper and ThreatExchange defaults)."""
PDQ_MIN_QUALITY: Final = 50
"""PDQ hashes below this quality are too unreliable to match and are not indexed."""


def pdq_index(
    *,
    max_distance: int = PDQ_MAX_DISTANCE,
    min_quality: int = PDQ_MIN_QUALITY,
    tail_size: int = DEFAULT_TAIL_SIZE,
) -> HammingIndex:
    """An empty 256-bit index with the PDQ defaults; ``add`` then requires each hash's quality."""
    return HammingIndex(
        bits=PDQ_BITS, max_distance=max_distance, min_quality=min_quality, tail_size=tail_size
    )
