"""Tests for registry.core.tiles: C2SP tlog-tiles coordinates, paths, widths, hash tiles and entry
bundles, including the examples of the C2SP text and our spec/vectors/tiles.json."""

from __future__ import annotations

import importlib.util
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import errors, merkle
from registry.core.errors import TileError
from registry.core.tiles import (
    MAX_ENTRY_SIZE,
    MAX_INDEX,
    TILE_WIDTH,
    TileCoord,
    changed_tiles,
    decode_entry_bundle,
    decode_hash_tile,
    encode_entry_bundle,
    encode_hash_tile,
    entry_bundle_path,
    level_size,
    parse_entry_bundle_path,
    parse_tile_path,
    partial_width,
    tile_at,
    tile_path,
    tile_width,
    tiles_for_size,
)

SPEC_VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"

# --- coordinates -----------------------------------------------------------------------------


def test_tile_coordinates() -> None:
    full = TileCoord(2, 3)
    assert full.width == TILE_WIDTH
    assert full.is_full
    assert full.start == 3 * 256**3
    assert not TileCoord(0, 0, 5).is_full
    assert TileCoord(0, 1, 5) < TileCoord(0, 2, 1) < TileCoord(1, 0, 1)
    assert {TileCoord(0, 1, 5): 1}[TileCoord(0, 1, 5)] == 1


@pytest.mark.parametrize(
    "args",
    [(-1, 0, 1), (64, 0, 1), (0, -1, 1), (0, 0, 0), (0, 0, 257), (True, 0, 1), (0, 0, 1.0),
     (0, MAX_INDEX + 1, 1), ("0", 0, 1)],
)  # fmt: skip
def test_bad_coordinates_are_rejected(args: Any) -> None:
    with pytest.raises(TileError):
        TileCoord(*args)


# --- paths ---------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("coord", "path"),
    [
        (TileCoord(0, 1234067), "tile/0/x001/x234/067"),  # the C2SP tlog-tiles example
        (TileCoord(0, 1234067, 8), "tile/0/x001/x234/067.p/8"),
        (TileCoord(0, 0), "tile/0/000"),
        (TileCoord(1, 999, 255), "tile/1/999.p/255"),
        (TileCoord(2, 1000), "tile/2/x001/000"),
        (TileCoord(63, 5, 1), "tile/63/005.p/1"),
        (TileCoord(0, 1_000_000), "tile/0/x001/x000/000"),
    ],
)
def test_tile_paths(coord: TileCoord, path: str) -> None:
    assert tile_path(coord) == path
    assert parse_tile_path(path) == coord


def test_entry_bundle_paths() -> None:
    assert entry_bundle_path(1234067) == "tile/entries/x001/x234/067"
    assert entry_bundle_path(2, 88) == "tile/entries/002.p/88"
    assert parse_entry_bundle_path("tile/entries/x001/x234/067") == (1234067, 256)
    assert parse_entry_bundle_path("tile/entries/002.p/88") == (2, 88)
    for bad in [(-1, 1), (0, 0), (0, 257)]:
        with pytest.raises(TileError):
            entry_bundle_path(*bad)


@pytest.mark.parametrize(
    "path",
    [
        "tile/0/x001/x234",  # "x" on the last element
        "tile/0/001/234/067",  # missing "x"
        "tile/0/x000/067",  # leading all-zero group
        "tile/0/67",
        "tile/0/0067",
        "tile/0/x1/067",
        "tile/0/067.p/0",
        "tile/0/067.p/256",
        "tile/0/067.p/08",
        "tile/0/067.p/",
        "tile/0/067.p",
        "tile/0/.p/5",
        "tile/64/000",
        "tile/01/000",
        "tile/-1/000",
        "tile/+1/000",
        "tile/0",
        "tile/0/",
        "tiles/0/000",
        "/tile/0/000",
        "tile/0/000/",
        "tile/0/\u0661\u0662\u0663",
        "tile/entries/000",
        "tile/0/x018/x446/x744/x073/x709/x551/616",  # 2**64
    ],
)
def test_non_canonical_tile_paths_are_rejected(path: str) -> None:
    with pytest.raises(TileError):
        parse_tile_path(path)


@pytest.mark.parametrize(
    "path",
    ["tile/entries/x000/001", "tile/entries/001.p/256", "tile/0/000", "tile/entries", 7],
)
def test_bad_entry_bundle_paths_are_rejected(path: Any) -> None:
    with pytest.raises(TileError):
        parse_entry_bundle_path(path)


def test_tile_path_must_be_text() -> None:
    with pytest.raises(TileError):
        parse_tile_path(b"tile/0/000")  # type: ignore[arg-type]


coords = st.builds(
    TileCoord, st.integers(0, 63), st.integers(0, MAX_INDEX), st.integers(1, TILE_WIDTH)
)


@given(coords)
def test_tile_paths_round_trip(coord: TileCoord) -> None:
    assert parse_tile_path(tile_path(coord)) == coord
    index, width = parse_entry_bundle_path(entry_bundle_path(coord.index, coord.width))
    assert (index, width) == (coord.index, coord.width)


@given(st.text(alphabet="tile/0123456789x.pentries", max_size=30))
def test_only_canonical_paths_parse(path: str) -> None:
    # Whatever parses must be exactly what tile_path would write.
    try:
        coord = parse_tile_path(path)
    except TileError:
        return
    assert tile_path(coord) == path


# --- widths --------------------------------------------------------------------------------------


def test_the_c2sp_example_tree_of_70000() -> None:
    # "273 full level 0 tiles, one partial level 0 tile of width 112, one full level 1 tile, one
    # partial level 1 tile of width 17, and one partial level 2 tile of width 1."
    tiles = tiles_for_size(70000)
    assert [t for t in tiles if t.level == 0] == [
        *(TileCoord(0, i) for i in range(273)), TileCoord(0, 273, 112)
    ]  # fmt: skip
    assert [t for t in tiles if t.level > 0] == [
        TileCoord(1, 0), TileCoord(1, 1, 17), TileCoord(2, 0, 1)
    ]  # fmt: skip
    assert [partial_width(level, 70000) for level in range(4)] == [112, 17, 1, 0]
    # "a tree of size 256 will be represented by a full level 0 tile and a partial level 1 tile
    # of width 1."
    assert tiles_for_size(256) == [TileCoord(0, 0), TileCoord(1, 0, 1)]
    assert tiles_for_size(0) == []


def test_widths_at_a_size() -> None:
    assert level_size(0, 600) == 600
    assert level_size(1, 600) == 2
    assert level_size(2, 600) == 0
    assert tile_width(0, 0, 600) == 256
    assert tile_width(0, 2, 600) == 88
    assert tile_at(1, 0, 600) == TileCoord(1, 0, 2)
    for bad in [(0, 3, 600), (2, 0, 600), (0, -1, 600)]:
        with pytest.raises(TileError):
            tile_width(*bad)
    with pytest.raises(TileError):
        level_size(0, -1)
    with pytest.raises(TileError):
        level_size(64, 1)


def test_changed_tiles() -> None:
    assert changed_tiles(0, 250, 600) == [TileCoord(0, 0), TileCoord(0, 1), TileCoord(0, 2, 88)]
    assert changed_tiles(1, 250, 600) == [TileCoord(1, 0, 2)]
    assert changed_tiles(1, 600, 700) == []
    assert changed_tiles(0, 512, 513) == [TileCoord(0, 2, 1)]
    with pytest.raises(TileError):
        changed_tiles(0, 10, 9)


@given(st.integers(0, 70000), st.integers(0, 70000))
def test_changed_tiles_are_the_tiles_that_differ(a: int, b: int) -> None:
    old, new = min(a, b), max(a, b)
    before, after = set(tiles_for_size(old)), tiles_for_size(new)
    changed = [c for level in range(4) for c in changed_tiles(level, old, new)]
    assert changed == [c for c in after if c not in before]


# --- hash tiles and entry bundles ----------------------------------------------------------------


def test_hash_tiles() -> None:
    hashes = [bytes([i]) * 32 for i in range(3)]
    data = encode_hash_tile(hashes)
    assert decode_hash_tile(data) == hashes
    assert decode_hash_tile(data, 3) == hashes
    for bad_data, width in [(data[:-1], None), (data, 2), (b"", None), (data, 0)]:
        with pytest.raises(TileError):
            decode_hash_tile(bad_data, width)
    for bad_hashes in [[], [b"\x00" * 31], [b"\x00" * 32] * 257]:
        with pytest.raises(TileError):
            encode_hash_tile(bad_hashes)


def test_entry_bundles() -> None:
    entries = [b"", b"a", bytes(MAX_ENTRY_SIZE)]
    data = encode_entry_bundle(entries)
    assert data[:5] == b"\x00\x00\x00\x01a"
    assert decode_entry_bundle(data) == entries
    assert decode_entry_bundle(data, 3) == entries
    full = [b"%d" % i for i in range(256)]
    assert decode_entry_bundle(encode_entry_bundle(full), 256) == full


@pytest.mark.parametrize(
    ("data", "width", "match"),
    [
        (b"\x00\x02ab\x00", None, "length prefix"),
        (b"\x00\x02a", None, "inside an entry"),
        (b"\x00\x01a\x00\x00", 1, "expected 1"),
        (b"\x00\x01a", 2, "expected 2"),
        (b"", None, "1..256"),
        (b"\x00\x00" * 257, None, "more than 256"),
        (b"\x00\x00", 300, "width"),
    ],
)
def test_bad_entry_bundles_are_rejected(data: bytes, width: int | None, match: str) -> None:
    with pytest.raises(TileError, match=match):
        decode_entry_bundle(data, width)


def test_unencodable_entry_bundles() -> None:
    for entries in [[], [b""] * 257, [bytes(MAX_ENTRY_SIZE + 1)]]:
        with pytest.raises(TileError):
            encode_entry_bundle(entries)


@given(st.lists(st.binary(max_size=300), min_size=1, max_size=256))
def test_entry_bundles_round_trip(entries: list[bytes]) -> None:
    data = encode_entry_bundle(entries)
    assert decode_entry_bundle(data, len(entries)) == entries
    if len(data) > 0:
        with pytest.raises(TileError):
            decode_entry_bundle(data[:-1], len(entries))


# --- our vectors -----------------------------------------------------------------------------


def _generate() -> dict[str, object]:
    spec = importlib.util.spec_from_file_location("gen_merkle", SPEC_VECTORS / "gen_merkle.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[], dict[str, object]] = module.generate
    return generate()


def _tile_cases() -> list[dict[str, Any]]:
    content = _generate()["tiles.json"]
    assert isinstance(content, dict)
    cases: list[dict[str, Any]] = content["cases"]
    return cases


def _check(case: dict[str, Any]) -> None:
    kind = case["kind"]
    if kind == "tile_path" and case["result"] == "valid":
        coord = TileCoord(case["level"], case["index"], case["width"])
        assert tile_path(coord) == case["path"]
        assert parse_tile_path(case["path"]) == coord
    elif kind == "tile_path":
        parse_tile_path(case["path"])
    elif kind == "entry_bundle_path":
        assert entry_bundle_path(case["index"], case["width"]) == case["path"]
        assert parse_entry_bundle_path(case["path"]) == (case["index"], case["width"])
    elif kind == "tiles_for_size":
        assert [tile_path(c) for c in tiles_for_size(case["size"])] == case["paths"]
    elif kind == "entry_bundle" and "entries" in case:
        entries = [bytes.fromhex(e) for e in case["entries"]]
        assert encode_entry_bundle(entries).hex() == case["bundle"]
        assert decode_entry_bundle(bytes.fromhex(case["bundle"])) == entries
    elif kind == "entry_bundle" and "entry_sizes" in case:
        encode_entry_bundle([bytes(n) for n in case["entry_sizes"]])
    elif kind == "entry_bundle":
        decode_entry_bundle(bytes.fromhex(case["bundle"]), case["width"])
    else:
        assert kind == "log_tile"
        coord = TileCoord(case["level"], case["index"], case["width"])
        assert parse_tile_path(case["path"]) == coord
        first = coord.index * TILE_WIDTH
        if coord.level == 0:
            entries = decode_entry_bundle(bytes.fromhex(case["entry_bundle"]), coord.width)
            assert entries == [b"entry-%d" % i for i in range(first, first + coord.width)]
            assert [merkle.leaf_hash(e) for e in entries] == decode_hash_tile(
                bytes.fromhex(case["tile"]), coord.width
            )
            assert parse_entry_bundle_path(case["entry_bundle_path"]) == (coord.index, coord.width)
        leaves = [merkle.leaf_hash(b"entry-%d" % i) for i in range(case["size"])]
        blocks = [leaves[j : j + TILE_WIDTH] for j in range(0, len(leaves), TILE_WIDTH)]
        level1 = [merkle.root(b) for b in blocks if len(b) == TILE_WIDTH]
        expected = leaves if coord.level == 0 else level1
        assert (
            decode_hash_tile(bytes.fromhex(case["tile"])) == expected[first : first + coord.width]
        )


@pytest.mark.parametrize("case", _tile_cases(), ids=lambda c: c["name"])
def test_spec_tile_vectors(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        _check(case)
    else:
        with pytest.raises(getattr(errors, case["error"])):
            _check(case)
