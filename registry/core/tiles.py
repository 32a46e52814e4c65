"""C2SP tlog-tiles arithmetic: tile coordinates, paths, widths and entry bundles (spec §4.3-§4.5).

Public API::

    TILE_HEIGHT = 8; TILE_WIDTH = 256; MAX_LEVEL = 63; MAX_ENTRY_SIZE = 65535
    TileCoord(level, index, width=TILE_WIDTH)           # frozen, hashable, validated (TileError)
        .is_full -> bool; .start -> int (first entry index covered, when full)
    tile_path(coord) -> str                             # "tile/0/x001/x234/067.p/8"
    parse_tile_path(path) -> TileCoord                  # strict, canonical only (TileError)
    entry_bundle_path(index, width=TILE_WIDTH) -> str   # "tile/entries/x001/x234/067"
    parse_entry_bundle_path(path) -> tuple[int, int]    # (index, width), strict (TileError)
    level_size(level, size) -> int                      # hashes stored at a level
    partial_width(level, size) -> int                   # right-edge partial tile width, 0..255
    tile_width(level, index, size) -> int               # width of one tile at a tree size
    tile_at(level, index, size) -> TileCoord
    tiles_for_size(size) -> list[TileCoord]             # every tile of a tree of that size
    changed_tiles(level, old_size, new_size) -> list[TileCoord]   # tiles new_size (re)writes
    encode_hash_tile(hashes) -> bytes; decode_hash_tile(data, width=None) -> list[bytes]
    encode_entry_bundle(entries) -> bytes; decode_entry_bundle(data, width=None) -> list[bytes]

Every function raises :class:`~registry.core.errors.TileError` on bad input. Merkle proofs and
the append step computed *from* tiles are in :mod:`registry.core.merkle`.

The 8-bit-high tiles of C2SP tlog-tiles: tile ``(level, index)`` holds the tree hashes at tree
level ``8 * level``, hash indexes ``256 * index`` to ``256 * index + width - 1``.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

from registry.core.errors import TileError

__all__ = [
    "HASH_SIZE",
    "MAX_ENTRY_SIZE",
    "MAX_INDEX",
    "MAX_LEVEL",
    "TILE_HEIGHT",
    "TILE_WIDTH",
    "TileCoord",
    "changed_tiles",
    "decode_entry_bundle",
    "decode_hash_tile",
    "encode_entry_bundle",
    "encode_hash_tile",
    "entry_bundle_path",
    "level_size",
    "parse_entry_bundle_path",
    "parse_tile_path",
    "partial_width",
    "tile_at",
    "tile_path",
    "tile_width",
    "tiles_for_size",
]

TILE_HEIGHT = 8
"""Tree levels spanned by one tile (C2SP tlog-tiles: tiles are subtrees of height 8)."""

TILE_WIDTH = 1 << TILE_HEIGHT
"""Hashes in a full tile, and entries in a full entry bundle (256)."""

MAX_LEVEL = 63
"""Highest tile level a path may name (C2SP tlog-tiles: <L> is between 0 and 63)."""

MAX_ENTRY_SIZE = 0xFFFF
"""Largest entry an entry bundle can carry: its length prefix is a big-endian uint16."""

HASH_SIZE = 32
"""Bytes per hash in a hash tile (SHA-256)."""

MAX_INDEX = (1 << 64) - 1
"""Largest tile index accepted: tree sizes are uint64 (C2SP tlog-checkpoint)."""


@dataclass(frozen=True, slots=True, order=True)
class TileCoord:
    """Coordinates of one hash tile: ``level`` (0..63), ``index`` (>= 0), ``width`` (1..256).

    A tile of width 256 is full and immutable; a narrower one is the partial right edge of a
    tree (C2SP tlog-tiles "Partial Tiles"). Constructing an out-of-range coordinate raises
    TileError.
    """

    level: int
    index: int
    width: int = TILE_WIDTH

    def __post_init__(self) -> None:
        _check_int(self.level, "tile level", 0, MAX_LEVEL)
        _check_int(self.index, "tile index", 0, MAX_INDEX)
        _check_int(self.width, "tile width", 1, TILE_WIDTH)

    @property
    def is_full(self) -> bool:
        """True for a full (256-hash, immutable) tile."""
        return self.width == TILE_WIDTH

    @property
    def start(self) -> int:
        """Index of the first log entry the tile covers: ``index * 256 ** (level + 1)``."""
        return self.index << (TILE_HEIGHT * (self.level + 1))


def _check_int(value: object, what: str, low: int, high: int) -> int:
    """Return ``value`` if it is an int (not bool) in ``low..high``, else raise TileError."""
    if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
        raise TileError(f"{what} must be an integer in {low}..{high}, got {value!r}")
    return value


# --- paths (C2SP tlog-tiles "Merkle Tree" and "Log entries") ---------------------------------


def _encode_index(index: int) -> str:
    """Encode a tile index as zero-padded 3-digit path elements, all but the last "x"-prefixed.

    C2SP tlog-tiles: index 1234067 is encoded as ``x001/x234/067``.
    """
    groups = [f"{index % 1000:03d}"]
    index //= 1000
    while index:
        groups.append(f"x{index % 1000:03d}")
        index //= 1000
    return "/".join(reversed(groups))


def _encode_suffix(width: int) -> str:
    # C2SP tlog-tiles: ".p/<W>" only for partial tiles, W in 1..255 with no leading zeroes.
    return "" if width == TILE_WIDTH else f".p/{width}"


def tile_path(coord: TileCoord) -> str:
    """Return the C2SP tlog-tiles path ``tile/<L>/<N>[.p/<W>]`` of a hash tile (no prefix)."""
    return f"tile/{coord.level}/{_encode_index(coord.index)}{_encode_suffix(coord.width)}"


def entry_bundle_path(index: int, width: int = TILE_WIDTH) -> str:
    """Return the C2SP tlog-tiles path ``tile/entries/<N>[.p/<W>]`` of an entry bundle.

    Raises TileError for an index below 0 or a width outside 1..256.
    """
    _check_int(index, "bundle index", 0, MAX_INDEX)
    _check_int(width, "bundle width", 1, TILE_WIDTH)
    return f"tile/entries/{_encode_index(index)}{_encode_suffix(width)}"


_DECIMAL = re.compile(r"0|[1-9][0-9]*")
_GROUP = re.compile(r"[0-9]{3}")


def _parse_decimal(text: str, what: str) -> int:
    # C2SP tlog-tiles: decimal ASCII integers "with no additional leading zeroes".
    if not _DECIMAL.fullmatch(text):
        raise TileError(f"{what} {text!r} is not a canonical decimal number")
    return int(text)


def _parse_index_and_width(parts: list[str], path: str) -> tuple[int, int]:
    """Parse ``<N>[.p/<W>]`` split on "/", accepting only the canonical encoding."""
    width = TILE_WIDTH
    if len(parts) >= 2 and parts[-2].endswith(".p"):
        width = _parse_decimal(parts[-1], "partial tile width")
        if not 1 <= width < TILE_WIDTH:
            raise TileError(f"partial tile width must be in 1..255: {path!r}")
        parts = [*parts[:-2], parts[-2][: -len(".p")]]
    index = 0
    for position, element in enumerate(parts):
        last = position == len(parts) - 1
        digits = element if last else element.removeprefix("x")
        # All but the last element MUST begin with "x"; the last MUST NOT.
        if (not last and digits == element) or not _GROUP.fullmatch(digits):
            raise TileError(f"malformed tile index element {element!r} in {path!r}")
        index = index * 1000 + int(digits)
    if index > MAX_INDEX:
        raise TileError(f"tile index out of range: {path!r}")
    # Canonical form only: no leading all-zero groups (x000/067 is not 67).
    if _encode_index(index) != "/".join(parts):
        raise TileError(f"non-canonical tile index in {path!r}")
    return index, width


def parse_tile_path(path: str) -> TileCoord:
    """Parse ``tile/<L>/<N>[.p/<W>]`` back into a TileCoord, accepting only canonical paths.

    Raises TileError for anything :func:`tile_path` would not produce: a level outside 0..63 or
    with leading zeroes, an index element without its "x" prefix (or the last one with it), a
    leading all-zero group, a width of 0, 256 or above, or with leading zeroes.
    """
    if not isinstance(path, str):
        raise TileError(f"tile path must be a string, got {type(path).__name__}")
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile":
        raise TileError(f"not a tile path: {path!r}")
    level = _parse_decimal(parts[1], "tile level")
    if level > MAX_LEVEL:
        raise TileError(f"tile level must be in 0..{MAX_LEVEL}: {path!r}")
    index, width = _parse_index_and_width(parts[2:], path)
    return TileCoord(level, index, width)


def parse_entry_bundle_path(path: str) -> tuple[int, int]:
    """Parse ``tile/entries/<N>[.p/<W>]`` into ``(index, width)``; canonical paths only.

    Raises TileError on the same defects as :func:`parse_tile_path`.
    """
    if not isinstance(path, str):
        raise TileError(f"entry bundle path must be a string, got {type(path).__name__}")
    parts = path.split("/")
    if len(parts) < 3 or parts[0] != "tile" or parts[1] != "entries":
        raise TileError(f"not an entry bundle path: {path!r}")
    return _parse_index_and_width(parts[2:], path)


# --- widths (C2SP tlog-tiles "Partial Tiles") -------------------------------------------------


def _check_size(size: object) -> int:
    return _check_int(size, "tree size", 0, MAX_INDEX)


def level_size(level: int, size: int) -> int:
    """Return how many hashes a tree of ``size`` entries stores at tile level ``level``.

    Level-L hashes are the roots of complete subtrees of 256**L entries: ``size // 256**L``.
    Raises TileError for a negative size or a level outside 0..63.
    """
    _check_int(level, "tile level", 0, MAX_LEVEL)
    return _check_size(size) >> (TILE_HEIGHT * level)


def partial_width(level: int, size: int) -> int:
    """Return the width of the partial tile at ``level`` for a tree of ``size``, or 0 if none.

    C2SP tlog-tiles: "The partial tile at level l for a tree of size s has floor(s / 256**l)
    mod 256 entries"; 0 means the level has no partial tile (empty tiles are never served).
    """
    return level_size(level, size) % TILE_WIDTH


def tile_width(level: int, index: int, size: int) -> int:
    """Return the width of tile ``(level, index)`` in a tree of ``size`` (256 when full).

    Raises TileError if the tree has no such tile (it would be empty).
    """
    _check_int(index, "tile index", 0, MAX_INDEX)
    available = level_size(level, size) - index * TILE_WIDTH
    if available <= 0:
        raise TileError(f"a tree of size {size} has no tile {index} at level {level}")
    return min(available, TILE_WIDTH)


def tile_at(level: int, index: int, size: int) -> TileCoord:
    """Return the coordinate (with its width) of tile ``(level, index)`` in a tree of ``size``.

    Raises TileError if the tree has no such tile.
    """
    return TileCoord(level, index, tile_width(level, index, size))


def tiles_for_size(size: int) -> list[TileCoord]:
    """Return every tile of a tree of ``size`` entries, level by level, left to right.

    For size 70,000: 273 full and one 112-wide level-0 tile, one full and one 17-wide level-1
    tile, one 1-wide level-2 tile (the C2SP tlog-tiles example). Raises TileError for a negative
    size.
    """
    coords: list[TileCoord] = []
    level = 0
    while count := level_size(level, size):
        coords.extend(TileCoord(level, i) for i in range(count // TILE_WIDTH))
        if count % TILE_WIDTH:
            coords.append(TileCoord(level, count // TILE_WIDTH, count % TILE_WIDTH))
        level += 1
    return coords


def changed_tiles(level: int, old_size: int, new_size: int) -> list[TileCoord]:
    """Return the tiles at ``level`` that growing a tree from ``old_size`` to ``new_size`` writes.

    These are the new tree's tiles whose contents differ from the old tree's: the old partial
    tile (grown or completed) and every tile after it. Level 0 also names the entry bundles to
    write. Raises TileError if ``new_size < old_size``.
    """
    old, new = level_size(level, old_size), level_size(level, new_size)
    if new_size < old_size:
        raise TileError(f"tree cannot shrink from {old_size} to {new_size}")
    if old == new:
        return []
    return [tile_at(level, i, new_size) for i in range(old // TILE_WIDTH, -(-new // TILE_WIDTH))]


# --- tile and bundle contents -----------------------------------------------------------------


def encode_hash_tile(hashes: Sequence[bytes]) -> bytes:
    """Concatenate 1..256 32-byte hashes into a hash tile. Raises TileError otherwise."""
    if not 1 <= len(hashes) <= TILE_WIDTH:
        raise TileError(f"a tile holds 1..{TILE_WIDTH} hashes, got {len(hashes)}")
    for h in hashes:
        if len(h) != HASH_SIZE:
            raise TileError(f"tile hashes must be {HASH_SIZE} bytes, got {len(h)}")
    return b"".join(hashes)


def decode_hash_tile(data: bytes, width: int | None = None) -> list[bytes]:
    """Split a hash tile into its hashes.

    With ``width`` the tile must hold exactly that many hashes; without, 1..256. Raises TileError
    for a length that is not a multiple of 32, an empty or oversized tile, or a width mismatch.
    """
    if len(data) % HASH_SIZE:
        raise TileError(f"tile length {len(data)} is not a multiple of {HASH_SIZE}")
    count = len(data) // HASH_SIZE
    _check_count(count, width, "tile")
    return [bytes(data[i : i + HASH_SIZE]) for i in range(0, len(data), HASH_SIZE)]


def _check_count(count: int, width: int | None, what: str) -> None:
    if width is not None:
        _check_int(width, f"{what} width", 1, TILE_WIDTH)
        if count != width:
            raise TileError(f"{what} holds {count} items, expected {width}")
    elif not 1 <= count <= TILE_WIDTH:
        raise TileError(f"{what} must hold 1..{TILE_WIDTH} items, got {count}")


def encode_entry_bundle(entries: Sequence[bytes]) -> bytes:
    """Encode 1..256 entries as an entry bundle: each a big-endian uint16 length, then its bytes.

    Raises TileError for an empty or oversized bundle or an entry over 65535 bytes.
    """
    _check_count(len(entries), None, "entry bundle")
    out = bytearray()
    for i, entry in enumerate(entries):
        if len(entry) > MAX_ENTRY_SIZE:
            raise TileError(f"entry {i} is {len(entry)} bytes, over {MAX_ENTRY_SIZE}")
        out += len(entry).to_bytes(2, "big")
        out += entry
    return bytes(out)


def decode_entry_bundle(data: bytes, width: int | None = None) -> list[bytes]:
    """Decode an entry bundle into its entries (C2SP tlog-tiles "Log entries").

    With ``width`` the bundle must hold exactly that many entries (256 for a full bundle);
    without, 1..256. Raises TileError for a truncated length or entry, or a count mismatch
    (trailing bytes after the stated width count as extra entries).
    """
    entries: list[bytes] = []
    offset = 0
    while offset < len(data):
        if len(entries) == TILE_WIDTH:
            raise TileError(f"entry bundle holds more than {TILE_WIDTH} entries")
        if offset + 2 > len(data):
            raise TileError("entry bundle truncated inside a length prefix")
        length = int.from_bytes(data[offset : offset + 2], "big")
        offset += 2
        if offset + length > len(data):
            raise TileError("entry bundle truncated inside an entry")
        entries.append(bytes(data[offset : offset + length]))
        offset += length
    _check_count(len(entries), width, "entry bundle")
    return entries
