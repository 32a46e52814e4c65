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
    MAX_ATTEMPTS,
    BinaryFuseFilter,
    _seed,  # spec §8.4.3 seed derivation: the core's, so attempts match
    _sizing,  # spec §8.4.3 sizing: the core's, so the float rounding matches
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


def _peel(
    count: npt.NDArray[np.uint32], xor: U64, span: int, length: int, items: int
) -> tuple[U64, npt.NDArray[np.uint32]] | None:
    """The core's peel, step for step: the key hashes in peeling order and the slot each was
    peeled from, or None if it got stuck. Consumes ``count`` and ``xor``."""
    double = 2 * length
    mask = length - 1
    # the core's queue: slots of count 1 in ascending order, popped from the end
    stack = array.array("I", np.flatnonzero(count == 1).astype(np.uint32).tobytes())
    order = np.zeros(items, dtype=np.uint64)
    peeled = np.zeros(items, dtype=np.uint32)
    counts, xors, order_view, peeled_view = count.data, xor.data, order.data, peeled.data
    pop, push = stack.pop, stack.append
    done = 0
    while stack:
        slot = pop()
        if counts[slot] != 1:
            continue
        h = xors[slot]  # the one key hash left in this slot
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + double) ^ (h & mask)
        counts[h0] -= 1
        counts[h1] -= 1
        counts[h2] -= 1
        xors[h0] ^= h
        xors[h1] ^= h
        xors[h2] ^= h
        if counts[h0] == 1:
            push(h0)
        if counts[h1] == 1:
            push(h1)
        if counts[h2] == 1:
            push(h2)
        order_view[done] = h
        peeled_view[done] = slot
        done += 1
    if done != items:
        return None
    return order, peeled


def _assign(
    order: U64, peeled: npt.NDArray[np.uint32], span: int, length: int, bits: int
) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16]:
    """The fingerprint array: slots assigned in reverse peeling order, as the core does."""
    double = 2 * length
    mask = length - 1
    fingerprints: npt.NDArray[np.uint8] | npt.NDArray[np.uint16] = (
        np.zeros(span + double, dtype=np.uint8)
        if bits == 8
        else np.zeros(span + double, dtype=np.uint16)
    )
    slots, order_view, peeled_view = fingerprints.data, order.data, peeled.data
    fingerprint_mask = (1 << bits) - 1
    for index in range(len(order) - 1, -1, -1):
        h = order_view[index]
        slot = peeled_view[index]
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + double) ^ (h & mask)
        # slots[slot] is still 0 here, so XOR-ing all three positions is the other two
        slots[slot] = ((h ^ (h >> 32)) & fingerprint_mask) ^ slots[h0] ^ slots[h1] ^ slots[h2]
    return fingerprints


def _try_build(
    keys: U64, seed: int, segment_length: int, segment_count: int, bits: int
) -> npt.NDArray[np.uint8] | npt.NDArray[np.uint16] | None:
    """One construction attempt, as the core's ``_try_build`` (spec §8.4.3): the fingerprint
    array, or None if peeling got stuck."""
    span = segment_count * segment_length
    count, xor = _accumulate(keys, seed, span, segment_length)
    peeling = _peel(count, xor, span, segment_length, len(keys))
    del count, xor
    if peeling is None:
        return None
    return _assign(*peeling, span, segment_length, bits)


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
    items = len(unique)
    segment_length, segment_count, array_length = _sizing(items)
    if not items:
        return BinaryFuseFilter(
            fingerprint_bits=fingerprint_bits,
            seed=0,
            items=0,
            segment_length=0,
            segment_count=0,
            array_length=0,
            data=b"",
        )
    for attempt in range(MAX_ATTEMPTS):
        seed = _seed(seed_material, attempt)
        slots = _try_build(unique, seed, segment_length, segment_count, fingerprint_bits)
        if slots is None:
            continue
        # spec §8.4.1: 16-bit fingerprints are stored little-endian
        data = slots.astype("<u2" if fingerprint_bits == 16 else np.uint8, copy=False).tobytes()
        del slots
        return BinaryFuseFilter(
            fingerprint_bits=fingerprint_bits,
            seed=seed,
            items=items,
            segment_length=segment_length,
            segment_count=segment_count,
            array_length=array_length,
            data=data,
        )
    raise SnapshotError(  # pragma: no cover - probability far below 2^-100
        f"no seed in {MAX_ATTEMPTS} attempts builds a filter of {items} keys"
    )
