"""Binary fuse filter construction with NumPy (spec §8.4.3), for the node's full snapshots.

:func:`build_filter_numpy` returns the :class:`~registry.core.snapshot.BinaryFuseFilter` that
:func:`registry.core.snapshot.build_filter` returns for the same keys, width and seed material,
byte for byte (the same seed attempts, the same slots), with far less memory: the core keeps a
Python int or list cell per key and slot (~187 B per key while it runs), this module uint64 /
uint32 arrays (about 35 B per key at its peak).

How it stays identical to the core (spec §8.4.3, ``registry.core.snapshot._try_build``):

- sizing and seeds are the core's own functions;
- the hashes (spec §8.4.2 step 1) and the three positions are computed in uint64 arithmetic,
  which wraps mod 2^64 as the spec does; ``floor(h * span / 2^64)`` is formed from 32-bit
  halves, exact because the span is below 2^32 (spec §8.4.1);
- counting and XOR accumulation do not depend on order, so they are vectorised (in chunks, to
  bound the temporaries);
- the peel is the core's: a LIFO stack seeded with the slots of count 1 in ascending order,
  pushing a peeled key's three positions in order. Which slot each key is peeled from fixes
  the stored fingerprints, and that depends on this order, so the peel and the assignment in
  reverse peeling order are sequential loops, over memoryviews of the arrays (plain Python
  ints, no per-key objects kept).

The core stays pure Python; this module is the node's (the SDK's NumPy code is for lookups).
"""

from __future__ import annotations

import array
from collections.abc import Iterable

import numpy as np
import numpy.typing as npt

from registry.core.errors import SnapshotError
from registry.core.snapshot import (
    FINGERPRINT_BITS,
    BinaryFuseFilter,
    assign,
    fuse_filter,
    peel,
)

__all__ = ["build_filter_numpy", "unique_keys"]

U64 = npt.NDArray[np.uint64]

_CHUNK = 1 << 14
"""Keys hashed at once: bounds the uint64 temporaries to about 1 MiB."""

_LOW32 = np.uint64(0xFFFFFFFF)


def unique_keys(keys: U64 | array.array[int] | Iterable[int]) -> U64:
    """The distinct keys, sorted, as a new uint64 array (an ``array('Q')`` is read in place).

    Raises:
        SnapshotError: a key outside 0..2^64-1, or an array of another dtype or shape.
    """
    if isinstance(keys, np.ndarray):
        values = keys
    elif isinstance(keys, array.array) and keys.typecode in ("Q", "L") and keys.itemsize == 8:
        values = np.frombuffer(keys, dtype=np.uint64)  # zero-copy view
    else:
        try:
            values = np.fromiter(keys, dtype=np.uint64)
        except OverflowError as exc:
            raise SnapshotError("keys must be 64-bit unsigned integers") from exc
    if values.dtype != np.uint64 or values.ndim != 1:
        raise SnapshotError("keys must be a one-dimensional uint64 array")
    # sorted in a copy, then the duplicates dropped only if there are any: np.unique would
    # hold more than the 8 B per key the caller keeps
    ordered = np.sort(values)
    repeated = ordered[1:] == ordered[:-1]
    if repeated.any():
        ordered = ordered[np.concatenate(([True], ~repeated))]
    return ordered


def _hashes(keys: U64, seed: int) -> U64:
    """spec §8.4.2 step 1: the MurmurHash3 64-bit finaliser of ``key + seed`` (mod 2^64)."""
    with np.errstate(over="ignore"):
        h = keys + np.uint64(seed)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xFF51AFD7ED558CCD)
        h ^= h >> np.uint64(33)
        h *= np.uint64(0xC4CEB9FE1A85EC53)
        h ^= h >> np.uint64(33)
    return h


def _positions(h: U64, span: int, length: int) -> tuple[U64, U64, U64]:
    """spec §8.4.2 step 2: the three slots of each hash."""
    wide = np.uint64(span)
    # floor(h * span / 2^64) with span < 2^32, from 32-bit halves (exact: no term overflows)
    h0 = ((h >> np.uint64(32)) * wide + (((h & _LOW32) * wide) >> np.uint64(32))) >> np.uint64(32)
    mask = np.uint64(length - 1)
    h1 = (h0 + np.uint64(length)) ^ ((h >> np.uint64(18)) & mask)
    h2 = (h0 + np.uint64(2 * length)) ^ (h & mask)
    return h0, h1, h2


def _accumulate(keys: U64, seed: int, span: int, length: int) -> tuple[npt.NDArray[np.uint32], U64]:
    """Each slot's key count and the XOR of its keys' hashes (order-free, so vectorised)."""
    array_length = span + 2 * length
    # counts fit: each key adds 1 to three distinct slots, and items < 2^31
    count = np.zeros(array_length, dtype=np.uint32)
    xor = np.zeros(array_length, dtype=np.uint64)
    for start in range(0, len(keys), _CHUNK):
        hashes = _hashes(keys[start : start + _CHUNK], seed)
        for position in _positions(hashes, span, length):
            np.add.at(count, position, 1)
            np.bitwise_xor.at(xor, position, hashes)
    return count, xor


def _try_build(
    keys: U64, seed: int, segment_length: int, segment_count: int, bits: int
) -> bytes | None:
    """One construction attempt (spec §8.4.3): the slots counted and XOR-ed in NumPy, then the
    core's own :func:`~registry.core.snapshot.peel` and :func:`~registry.core.snapshot.assign`
    over the arrays' memory, so the order (which decides the fingerprints) is the core's. The
    filter's bytes, or None if peeling got stuck."""
    span, items = segment_count * segment_length, len(keys)
    count, xor = _accumulate(keys, seed, span, segment_length)
    # the core's queue: slots of count 1 in ascending order, popped from the end
    queue = array.array("I", np.flatnonzero(count == 1).astype(np.uint32).tobytes())
    order = np.zeros(items, dtype=np.uint64)
    peeled = np.zeros(items, dtype=np.uint32)
    done = peel(
        count.data, xor.data, queue, order.data, peeled.data, span=span, length=segment_length
    )
    del count, xor, queue
    if done != items:
        return None
    fingerprints = np.zeros(span + 2 * segment_length, dtype=np.uint8 if bits == 8 else np.uint16)
    assign(
        fingerprints.data,
        order.data,
        peeled.data,
        items=items,
        span=span,
        length=segment_length,
        bits=bits,
    )
    # spec §8.4.1: 16-bit fingerprints are stored little-endian
    return fingerprints.astype("<u2" if bits == 16 else np.uint8, copy=False).tobytes()


def build_filter_numpy(
    keys: U64 | array.array[int] | Iterable[int],
    *,
    fingerprint_bits: int = 16,
    seed_material: bytes = b"",
) -> BinaryFuseFilter:
    """:func:`registry.core.snapshot.build_filter` with NumPy: the same filter, byte for byte.

    ``keys``: a uint64 array, an ``array('Q')`` (read without a copy) or any iterable of ints;
    duplicates are merged.

    Raises:
        SnapshotError: a key outside 0..2^64-1, a width other than 8 or 16, more than
            ``MAX_ITEMS`` keys, or no seed among ``MAX_ATTEMPTS`` peels the keys.
    """
    if fingerprint_bits not in FINGERPRINT_BITS:
        raise SnapshotError(f"fingerprint width {fingerprint_bits} is not 8 or 16")
    unique = unique_keys(keys)
    return fuse_filter(
        len(unique),
        fingerprint_bits,
        seed_material,
        lambda seed, length, count: _try_build(unique, seed, length, count, fingerprint_bits),
    )
