"""The node's NumPy filter construction equals the core's byte for byte (spec §8.4.3, issue 15).

Every case builds the filter with :func:`registry.core.snapshot.build_filter` and with
:func:`registry.indexes.fusebuild.build_filter_numpy` from the same keys, width and seed
material, and compares the two filters' parameters, seed and bytes: a snapshot's header names
the seed and the filter's SHA-256, so any difference would be a different snapshot.
"""

from __future__ import annotations

import array
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import snapshot as snap
from registry.core.errors import SnapshotError
from registry.indexes.fusebuild import build_filter_numpy, unique_keys

M64 = (1 << 64) - 1


def fields(fuse: snap.BinaryFuseFilter) -> tuple[object, ...]:
    return (
        fuse.fingerprint_bits,
        fuse.seed,
        fuse.items,
        fuse.segment_length,
        fuse.segment_count,
        fuse.array_length,
        fuse.data,
    )


def assert_same(keys: list[int], bits: int, material: bytes) -> snap.BinaryFuseFilter:
    core = snap.build_filter(keys, fingerprint_bits=bits, seed_material=material)
    ours = build_filter_numpy(
        np.array(keys, dtype=np.uint64), fingerprint_bits=bits, seed_material=material
    )
    assert fields(ours) == fields(core)
    assert all(ours.contains(k) for k in keys)
    return core


def segment_boundaries(limit: int) -> list[int]:
    """The item counts where the recommended segment length changes (spec §8.4.3), to limit."""
    found, last = [], snap._sizing(1)[0]
    for items in range(2, limit):
        length = snap._sizing(items)[0]
        if length != last:
            found.append(items)
            last = length
    return found


@pytest.mark.parametrize("bits", [8, 16])
def test_empty_and_one_key(bits: int) -> None:
    assert assert_same([], bits, b"").items == 0
    for key in (0, 1, M64, M64 - 1, 0x0123456789ABCDEF):
        assert_same([key], bits, b"root")


@pytest.mark.parametrize("bits", [8, 16])
def test_sizes_across_segment_length_boundaries(bits: int) -> None:
    rng = random.Random(f"boundaries {bits}")
    boundaries = segment_boundaries(40_000)
    assert len(boundaries) >= 6  # 4 -> 8 -> ... -> 8192 below 40k
    for boundary in boundaries:
        for items in (boundary - 1, boundary):
            assert_same([rng.getrandbits(64) for _ in range(items)], bits, rng.randbytes(32))


@pytest.mark.parametrize("bits", [8, 16])
def test_keys_near_zero_and_the_top(bits: int) -> None:
    low = list(range(300))
    high = [M64 - i for i in range(300)]
    assert_same(low, bits, b"")
    assert_same(high, bits, b"")
    assert_same(low + high, bits, b"\x00" * 32)


def test_duplicates_are_merged_in_every_input_form() -> None:
    rng = random.Random("duplicates")
    keys = [rng.getrandbits(64) for _ in range(1000)]
    doubled = keys + keys[:500] + [keys[0]] * 10
    core = snap.build_filter(keys, seed_material=b"m")
    for given_keys in (
        doubled,
        np.array(doubled, dtype=np.uint64),
        array.array("Q", doubled),
        iter(doubled),
    ):
        assert fields(build_filter_numpy(given_keys, seed_material=b"m")) == fields(core)


def test_retried_seeds_are_the_cores() -> None:
    """Tiny sets often fail to peel at the first seed: the attempts must follow the core's."""
    rng = random.Random("retries")
    retried = 0
    for case in range(300):
        keys = [rng.getrandbits(64) for _ in range(rng.randrange(2, 12))]
        material = case.to_bytes(4, "big")
        core = assert_same(keys, 8, material)
        retried += core.seed != snap._seed(material, 0)
    assert retried > 0


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(min_value=0, max_value=M64), max_size=3000),
    bits=st.sampled_from([8, 16]),
    material=st.binary(max_size=40),
)
def test_any_key_set_gives_the_cores_filter(keys: list[int], bits: int, material: bytes) -> None:
    assert_same(keys, bits, material)


def test_invalid_input_is_refused_as_the_core_does() -> None:
    with pytest.raises(SnapshotError, match="width"):
        build_filter_numpy([1], fingerprint_bits=32)
    with pytest.raises(SnapshotError, match="64-bit"):
        build_filter_numpy([-1])
    with pytest.raises(SnapshotError, match="64-bit"):
        build_filter_numpy([1 << 64])
    with pytest.raises(SnapshotError, match="uint64"):
        unique_keys(np.array([1, 2], dtype=np.int64))
    with pytest.raises(SnapshotError, match="one-dimensional"):
        unique_keys(np.zeros((2, 2), dtype=np.uint64))
