"""Vectorised snapshot lookups with NumPy (spec §8.4.2), for crawlers checking millions of items.

The protocol core (:mod:`registry.core.snapshot`) stays free of NumPy; this module computes the
same answers as :meth:`registry.core.snapshot.BinaryFuseFilter.contains` for whole arrays of
keys. The 128-bit product of spec §8.4.2 step 2 is formed from 32-bit halves, which is exact
because the segment span is below 2^32 (spec §8.4.1).
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from registry.core.errors import SnapshotError
from registry.core.snapshot import URL_KEY_LABEL, BinaryFuseFilter, SnapshotChain

__all__ = ["chain_contains", "contains_keys", "sha256_keys", "url_keys"]

U64 = npt.NDArray[np.uint64]
_LOW32 = np.uint64(0xFFFFFFFF)


def sha256_keys(digests: bytes | npt.NDArray[np.uint8]) -> U64:
    """Keys (spec §8.2) of concatenated 32-byte SHA-256 digests, or of an ``(n, 32)`` array.

    Raises:
        SnapshotError: the input is not a whole number of 32-byte digests.
    """
    if isinstance(digests, bytes | bytearray | memoryview):
        if len(digests) % 32:
            raise SnapshotError("digests must be a whole number of 32-byte SHA-256 values")
        rows = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)
    else:
        if digests.ndim != 2 or digests.shape[1] != 32 or digests.dtype != np.uint8:
            raise SnapshotError("digests must be an (n, 32) uint8 array")
        rows = digests
    # spec §8.2: the first 8 bytes, big-endian
    return np.ascontiguousarray(rows[:, :8]).view(">u8").ravel().astype(np.uint64)


def url_keys(urls: Iterable[str]) -> U64:
    """Keys (spec §8.2) of normalised URLs (one SHA-256 each: not vectorised)."""
    return np.fromiter(
        (
            int.from_bytes(hashlib.sha256(URL_KEY_LABEL + u.encode("utf-8")).digest()[:8], "big")
            for u in urls
        ),
        dtype=np.uint64,
    )


def contains_keys(fuse: BinaryFuseFilter, keys: U64) -> npt.NDArray[np.bool_]:
    """For each key, True if the filter may hold it (spec §8.4.2), as a boolean array."""
    if fuse.items == 0:
        return np.zeros(keys.shape, dtype=bool)
    dtype = np.uint8 if fuse.fingerprint_bits == 8 else np.dtype("<u2")
    slots = np.frombuffer(fuse.data, dtype=dtype)
    with np.errstate(over="ignore"):  # uint64 arithmetic wraps mod 2^64, as spec'd
        h = keys.astype(np.uint64) + np.uint64(fuse.seed)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
        span = np.uint64(fuse.segment_count * fuse.segment_length)
        # floor(h * span / 2^64) with span < 2^32, from 32-bit halves
        high = (h >> np.uint64(32)) * span + (((h & _LOW32) * span) >> np.uint64(32))
        h0 = high >> np.uint64(32)
    length = np.uint64(fuse.segment_length)
    mask = np.uint64(fuse.segment_length - 1)
    h1 = (h0 + length) ^ ((h >> np.uint64(18)) & mask)
    h2 = (h0 + length + length) ^ (h & mask)
    fingerprint = (h ^ (h >> np.uint64(32))).astype(dtype)
    return bool_array(fingerprint == (slots[h0] ^ slots[h1] ^ slots[h2]))


def bool_array(values: npt.NDArray[np.bool_]) -> npt.NDArray[np.bool_]:
    """Identity with a precise type (NumPy's comparison result is loosely typed)."""
    return values


def chain_contains(chain: SnapshotChain, keys: U64) -> npt.NDArray[np.bool_]:
    """For each key, True if any filter of the chain may hold it (spec §8.7)."""
    hits = np.zeros(keys.shape, dtype=bool)
    for snapshot in chain.snapshots:
        hits |= contains_keys(snapshot.filter, keys)
    return hits
