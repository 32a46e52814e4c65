"""Near-duplicate indexes (registry.neardup): exact agreement with a brute-force scan.

The reference here is independent of the index: Python integers and ``int.bit_count``.
"""

from __future__ import annotations

import base64
import random

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.neardup import (
    PDQ_MAX_DISTANCE,
    HammingIndex,
    InvalidHashError,
    InvalidIsccError,
    InvalidQueryError,
    IsccIndex,
    Match,
    NearDupError,
    iscc_content,
    parse_hash,
    parse_hashes,
    pdq_index,
)
from registry.neardup.hamming import _ball, _chunk_keys, _chunk_widths, _plan_radii


def _b32(data: bytes) -> str:
    return base64.b32encode(data).decode("ascii").rstrip("=")


def to_hex(value: int, bits: int = 256) -> str:
    return f"{value:0{bits // 4}x}"


def flip(value: int, count: int, rng: random.Random, bits: int = 256) -> int:
    """``value`` with ``count`` distinct bits flipped: at Hamming distance exactly ``count``."""
    for bit in rng.sample(range(bits), count):
        value ^= 1 << bit
    return value


def reference(items: list[tuple[int, int]], query: int, radius: int) -> list[Match]:
    found = [(((h ^ query).bit_count()), p) for h, p in items]
    return [Match(p, d) for d, p in sorted(found) if d <= radius]


def planted(
    seed: int, n: int, queries: int, distances: tuple[int, ...], bits: int = 256
) -> tuple[list[tuple[int, int]], list[int]]:
    """Random items plus, for every query, copies planted at each of ``distances``."""
    rng = random.Random(seed)
    qs = [rng.getrandbits(bits) for _ in range(queries)]
    items = [(rng.getrandbits(bits), i) for i in range(n)]
    for q in qs:
        items.extend((flip(q, d, rng, bits), len(items) + k) for k, d in enumerate(distances))
    rng.shuffle(items)
    return items, qs


def build(items: list[tuple[int, int]], bits: int = 256, **kwargs: int) -> HammingIndex:
    hashes = parse_hashes([to_hex(h, bits) for h, _ in items], bits)
    return HammingIndex.from_arrays(
        hashes, np.array([p for _, p in items], dtype=np.int64), bits=bits, **kwargs
    )


DISTANCES = (0, 1, 2, 15, 29, 30, 31, 32, 33, 40)


@pytest.mark.parametrize("radius", [31, 0, 1, 8, 30, 32, 48])
def test_bulk_build_agrees_with_brute_force_on_planted_hashes(radius: int) -> None:
    items, queries = planted(1, 20_000, 12, DISTANCES)
    index = build(items)
    assert len(index) == len(items)
    assert index.segments == [(0, len(items))]
    for q in queries:
        expected = reference(items, q, radius)
        assert index.search(to_hex(q), max_distance=radius) == expected
    # The planted copies at 0, 1, 30, 31 are found at the default radius; 32 is not.
    got = {m.distance for m in index.search(to_hex(queries[0]))}
    assert {0, 1, 30, 31} <= got
    assert 32 not in got


def test_multi_index_plan_is_used_and_exact_at_scale() -> None:
    rng = np.random.default_rng(7)
    n = 200_000
    hashes = rng.integers(0, 2**64, (n, 4), dtype=np.uint64, endpoint=False)
    queries = hashes[rng.integers(0, n, 40)].copy()
    for i, q in enumerate(queries):  # plant near-duplicates of row-picked hashes
        for bit in rng.choice(256, i % 34, replace=False):
            q[bit // 64] ^= np.uint64(1) << np.uint64(63 - bit % 64)
    index = HammingIndex.from_arrays(hashes, np.arange(n) * 3)
    assert index._segments[0].plan(31) is not None  # MIH, not a scan
    found = index.search_arrays(queries, workers=2)
    ints = [int.from_bytes(row.astype(">u8").tobytes(), "big") for row in hashes]
    items = [(h, i * 3) for i, h in enumerate(ints)]
    expected = []
    for q in queries:
        qi = int.from_bytes(q.astype(">u8").tobytes(), "big")
        expected.append(reference(items, qi, PDQ_MAX_DISTANCE))
    assert found.per_query(len(queries)) == expected
    assert sum(map(len, expected)) >= 30  # the planted ones (distance <= 31) at least


def test_incremental_adds_equal_bulk_build() -> None:
    items, queries = planted(2, 3_000, 8, DISTANCES)
    bulk = build(items)
    incremental = HammingIndex(tail_size=100, merge_factor=2)
    for h, p in items:
        assert incremental.add(to_hex(h), p)
    assert len(incremental.segments) > 1  # sealed segments, merged LSM-style
    assert incremental.segments[0][0] == 0
    assert len(incremental) - incremental.segments[-1][1] < 100
    for q in queries:
        assert incremental.search(to_hex(q)) == bulk.search(to_hex(q))
    assert incremental.search_many([to_hex(q) for q in queries]) == bulk.search_many(
        [to_hex(q) for q in queries]
    )


def test_batch_equals_single_and_workers_agree() -> None:
    items, queries = planted(3, 5_000, 30, DISTANCES)
    index = build(items, tail_size=700)
    index.add_arrays(parse_hashes([to_hex(queries[0])]), np.array([-5]))  # lands in the tail
    hexes = [to_hex(q) for q in queries]
    singles = [index.search(h) for h in hexes]
    assert index.search_many(hexes) == singles
    assert index.search_many(hexes, workers=2) == singles
    assert singles[0][0] == Match(-5, 0)
    flat = index.search_arrays(parse_hashes(hexes))
    assert len(flat) == sum(map(len, singles))
    assert list(flat.query) == sorted(flat.query)


def test_duplicates_are_all_returned() -> None:
    rng = random.Random(4)
    h = rng.getrandbits(256)
    index = HammingIndex()
    for payload in (9, 3, 3, 7):
        index.add(to_hex(h), payload)
    index.add(to_hex(flip(h, 2, rng)), 1)
    assert index.search(to_hex(h)) == [
        Match(3, 0),
        Match(3, 0),
        Match(7, 0),
        Match(9, 0),
        Match(1, 2),
    ]
    bulk = HammingIndex.from_arrays(
        parse_hashes([to_hex(h)] * 20_000), np.arange(20_000)
    )  # one bucket holds everything
    assert [m.payload for m in bulk.search(to_hex(h))] == list(range(20_000))


def test_empty_index() -> None:
    index = pdq_index()
    assert len(index) == 0
    assert index.search("0" * 64) == []
    assert index.search_many(["0" * 64, "f" * 64]) == [[], []]
    assert index.search_many([]) == []
    assert len(index.search_arrays(np.empty((0, 4), dtype=np.uint64))) == 0
    empty = HammingIndex.from_arrays(np.empty((0, 4), dtype=np.uint64), np.empty(0, np.int64))
    assert empty.search("a" * 64) == []


def test_radius_at_or_beyond_the_bit_length_matches_everything() -> None:
    items, queries = planted(5, 500, 1, ())
    index = build(items)
    assert len(index.search(to_hex(queries[0]), max_distance=256)) == len(items)
    assert index.search(to_hex(queries[0]), max_distance=256) == reference(items, queries[0], 256)


def test_quality_threshold() -> None:
    index = pdq_index()
    h = "ab" * 32
    assert index.add(h, 1, quality=49) is False
    assert index.search(h) == []
    assert index.add(h, 2, quality=50) is True
    assert index.add(h, 3, quality=100) is True
    assert index.search(h) == [Match(2, 0), Match(3, 0)]
    with pytest.raises(InvalidQueryError, match="quality"):
        index.add(h, 4)
    with pytest.raises(InvalidQueryError, match=r"0\.\.100"):
        index.add(h, 4, quality=101)
    added = index.add_arrays(parse_hashes([h, h, h]), np.array([5, 6, 7]), np.array([10, 50, 90]))
    assert added == 2
    assert [m.payload for m in index.search(h)] == [2, 3, 6, 7]
    with pytest.raises(InvalidQueryError):
        index.add_arrays(parse_hashes([h]), np.array([1]))
    with pytest.raises(InvalidQueryError):
        index.add_arrays(parse_hashes([h]), np.array([1]), np.array([-1]))
    custom = pdq_index(min_quality=80)
    assert custom.add(h, 1, quality=79) is False


@pytest.mark.parametrize(
    "bad",
    [
        "AB" * 32,  # uppercase: records use lowercase hex (spec §2.4)
        "ab" * 31,
        "ab" * 33,
        "zz" * 32,
        " " + "a" * 63,
        "é" * 64,
        "",
    ],
)
def test_invalid_hex_is_a_clear_error(bad: str) -> None:
    index = pdq_index()
    with pytest.raises(InvalidHashError, match="64 lowercase hex"):
        index.search(bad)
    with pytest.raises(InvalidHashError, match="hash 1"):
        index.search_many(["0" * 64, bad])
    with pytest.raises(InvalidHashError):
        index.add(bad, 1, quality=90)
    with pytest.raises(ValueError, match="hash"):  # a ValueError, for callers that catch those
        parse_hash(bad)


def test_other_invalid_arguments() -> None:
    index = HammingIndex()
    with pytest.raises(InvalidHashError, match="32 bytes"):
        index.search(b"\x00" * 31)
    with pytest.raises(InvalidHashError, match="str or bytes"):
        parse_hash(12)  # type: ignore[arg-type]
    with pytest.raises(InvalidHashError, match="hash 0 is int"):
        parse_hashes([12])  # type: ignore[list-item]
    with pytest.raises(InvalidQueryError, match=">= 0"):
        index.search("0" * 64, max_distance=-1)
    with pytest.raises(InvalidQueryError, match="int"):
        index.search("0" * 64, max_distance=True)
    with pytest.raises(InvalidQueryError, match="multiple of 64"):
        HammingIndex(bits=100)
    with pytest.raises(InvalidQueryError, match="uint64"):
        index.search_arrays(np.zeros((2, 3), dtype=np.uint64))
    with pytest.raises(InvalidQueryError, match="payloads"):
        index.add_arrays(np.zeros((2, 4), dtype=np.uint64), np.array([1]))
    with pytest.raises(InvalidQueryError, match="int64"):
        index.add("0" * 64, 2**63)
    with pytest.raises(InvalidQueryError, match="workers"):
        index.search_arrays(np.zeros((1, 4), dtype=np.uint64), workers=0)
    assert issubclass(InvalidQueryError, NearDupError)


def test_bytes_and_uint8_forms_equal_hex() -> None:
    rng = random.Random(6)
    hexes = [to_hex(rng.getrandbits(256)) for _ in range(50)]
    words = parse_hashes(hexes)
    raw = np.frombuffer(b"".join(bytes.fromhex(h) for h in hexes), dtype=np.uint8).reshape(50, 32)
    a = HammingIndex.from_arrays(words, np.arange(50))
    b = HammingIndex.from_arrays(raw, np.arange(50))
    for i, h in enumerate(hexes):
        assert (parse_hash(h) == words[i]).all()
        assert a.search(h) == b.search(bytes.fromhex(h)) == [Match(i, 0)]
    # Bit 0 is the most significant bit of the first byte (the first hex digit).
    assert parse_hash("8" + "0" * 63)[0] == np.uint64(1 << 63)


def test_chunk_keys_cover_every_bit_once() -> None:
    for bits, rows in [(256, 10_000_000), (256, 1_000), (64, 50_000), (128, 300)]:
        widths = _chunk_widths(bits, rows)
        assert sum(widths) == bits
        value = random.Random(bits + rows).getrandbits(bits)
        words = parse_hash(to_hex(value, bits), bits).reshape(1, -1)
        keys = [int(k[0]) for k in _chunk_keys(words, widths)]
        rebuilt = 0
        for width, key in zip(widths, keys, strict=True):
            rebuilt = rebuilt << width | key
        assert rebuilt == value


@given(
    rows=st.integers(1, 20_000_000),
    radius=st.integers(0, 80),
    bits=st.sampled_from([64, 256]),
)
def test_plan_satisfies_the_generalised_pigeonhole(rows: int, radius: int, bits: int) -> None:
    widths = _chunk_widths(bits, rows)
    radii = _plan_radii(widths, rows, radius)
    if radii is not None:  # a plan must guarantee: some chunk within r_j of any match
        assert sum(r + 1 for r in radii) >= radius + 1
        assert all(-1 <= r < w for r, w in zip(radii, widths, strict=True))
    assert _ball(20, 2) == 1 + 20 + 190


@settings(max_examples=60, deadline=None)
@given(
    data=st.data(),
    bits=st.sampled_from([64, 256]),
    n=st.integers(0, 300),
    tail=st.integers(1, 64),
)
def test_property_any_adds_any_radius_agree_with_brute_force(
    data: st.DataObject, bits: int, n: int, tail: int
) -> None:
    rng = random.Random(data.draw(st.integers(0, 2**32)))
    base = [rng.getrandbits(bits) for _ in range(max(1, n // 10))]
    items = [
        (flip(rng.choice(base), rng.randrange(0, bits // 4), rng, bits), rng.randrange(-5, 50))
        for _ in range(n)
    ]
    index = HammingIndex(bits=bits, tail_size=tail, merge_factor=data.draw(st.integers(2, 4)))
    for h, p in items:
        index.add(to_hex(h, bits), p)
    queries = [flip(rng.choice(base), rng.randrange(0, bits // 4), rng, bits) for _ in range(5)]
    radius = data.draw(st.integers(0, bits // 2))
    got = index.search_many([to_hex(q, bits) for q in queries], max_distance=radius)
    assert got == [reference(items, q, radius) for q in queries]


# --- ISCC -----------------------------------------------------------------------------------

# iscc-core conformance data (data.json): gen_text_code_v0 and gen_iscc_code_v0 outputs.
HELLO_64 = "ISCC:EAASKDNZNYGUUF5A"
HELLO_256 = "ISCC:EADSKDNZNYGUUF5AMFEJLZ5P66CP5YKCOA3X7F36RWE4CIRCBTUWXYY"
TEXT_UNIT = "ISCC:EAARMJLTQCUWAND2"
ISCC_CODE_META_CONTENT = "ISCC:KACYPXW445FTYNJ3CYSXHAFJMA2HUWULUNRFE3BLHRSCXYH2M5AEGQY"
ISCC_CODE_CONTENT = "ISCC:KAARMJLTQCUWAND2LKF2GYSSNQVTYZBL4D5GOQCDIM"


def test_iscc_content_extraction() -> None:
    assert iscc_content(HELLO_64) == (0, bytes.fromhex("250db96e0d4a17a0"))
    assert iscc_content(HELLO_256) == iscc_content(HELLO_64)  # 64-bit prefix of a longer code
    unit = iscc_content(TEXT_UNIT)
    assert iscc_content(ISCC_CODE_META_CONTENT) == unit  # composite: the Content-Code unit
    assert iscc_content(ISCC_CODE_CONTENT) == unit
    assert iscc_content("ISCC:EEAQAAAAAAAAAAAA") == (1, bytes(8))  # an Image-Code


@pytest.mark.parametrize(
    ("code", "message"),
    [
        ("ISCC:KUAFVC5DMJJGYKZ4MQV6B6THIBBUG", "no Content-Code"),  # ISCC-CODE SubType SUM
        ("ISCC:AAAZXZ6OU74YAZIM", "MainType 0"),  # Meta-Code
        ("ISCC:MAAJVNGQOUGKGDRH", "MainType 6"),  # ISCC-ID
        ("ISCC:EAASKDNZNYGUUF5", "base32"),  # a length no byte string encodes to
        ("iscc:EAASKDNZNYGUUF5A", "not 'ISCC:'"),
        ("ISCC:EAASKDNZNYGUUF5AAA", "cannot be compared"),  # body longer than the header says
        ("ISCC:EAAC6DNZ", "not 'ISCC:'"),  # too short for the record format
        ("ISCC:7777777777777777", "varnibble"),
        ("ISCC:" + _b32(bytes([0x20, 0x11]) + bytes(8)), "version 1"),
        ("ISCC:" + _b32(bytes([0x25, 0x01]) + bytes(8)), "SubType 5"),
        ("ISCC:" + _b32(bytes([0x20, 0x00]) + bytes(8)), "32 bits"),
        ("ISCC:" + _b32(bytes([0x58, 0x00, 0x50]) + bytes(8)), "has no Content-Code"),  # ST 8
        ("ISCC:" + _b32(bytes([0x58, 0x00, 0x58]) + bytes(8)), "padding"),
        ("ISCC:" + _b32(bytes([0x50, 0x05]) + bytes(16)), "body length"),
    ],
)
def test_iscc_content_rejects(code: str, message: str) -> None:
    with pytest.raises(InvalidIsccError, match=message):
        iscc_content(code)


def test_iscc_index_finds_edited_texts_of_the_same_subtype_only() -> None:
    rng = random.Random(8)
    index = IsccIndex()
    text_body = int.from_bytes(iscc_content(HELLO_64).body, "big")
    index.add(HELLO_256, 1)
    index.add(ISCC_CODE_META_CONTENT, 2)
    image_same_bits = "ISCC:" + _b32(bytes([0x21, 0x01]) + iscc_content(HELLO_64).body)
    assert iscc_content(image_same_bits).subtype == 1
    index.add(image_same_bits, 3)
    near = flip(text_body, 5, rng, 64)
    index.add("ISCC:" + _b32(bytes([0x20, 0x01]) + near.to_bytes(8, "big")), 4)
    assert len(index) == 4
    assert index.search(HELLO_64) == [Match(1, 0), Match(4, 5)]
    assert index.search(HELLO_64, max_distance=4) == [Match(1, 0)]
    assert index.search(image_same_bits) == [Match(3, 0)]
    assert index.search("ISCC:EEAQAAAAAAAAAAAA", max_distance=0) == []
    assert index.search("ISCC:EIAQAAAAAAAAAAAA") == []  # no audio codes indexed
    many = index.search_many([HELLO_64, TEXT_UNIT, "ISCC:EIAQAAAAAAAAAAAA", image_same_bits])
    assert many == [
        [Match(1, 0), Match(4, 5)],
        [Match(2, 0)],
        [],
        [Match(3, 0)],
    ]
    assert index.nbytes > 0


def test_64_bit_index_agrees_with_brute_force() -> None:
    items, queries = planted(9, 30_000, 10, (0, 1, 5, 11, 12, 13, 20), bits=64)
    index = build(items, bits=64)
    for radius in (0, 3, 12, 20):
        for q in queries:
            got = index.search(to_hex(q, 64), max_distance=radius)
            assert got == reference(items, q, radius)
