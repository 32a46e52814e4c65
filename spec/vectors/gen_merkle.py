"""Test vectors for spec §4: RFC 6962 hashing and proofs, C2SP tlog-tiles paths, tiles, bundles.

``generate()`` returns ``{"merkle.json": ..., "tiles.json": ...}``. Everything is derived from the
fixed entries ``b"entry-0"``, ``b"entry-1"``, ... (entry i is the ASCII text ``entry-<i>``), so
the output is deterministic. All byte strings are lowercase hex.
"""

from __future__ import annotations

from collections.abc import Callable

from registry.core import merkle, tiles
from registry.core.errors import ProtocolError

ENTRY_COUNT = 600
"""Entries in the example log: two full level-0 tiles and one partial (spec §4.5)."""

ROOT_SIZES = [*range(34), 255, 256, 257, 511, 512, 513, 600]
INCLUSION = [
    *((i, n) for n in range(1, 9) for i in range(n)),
    (0, 600), (255, 600), (256, 600), (511, 600), (512, 600), (599, 600),
    (255, 256), (256, 257), (300, 513),
]  # fmt: skip
CONSISTENCY = [
    *((m, n) for n in range(1, 9) for m in range(1, n + 1)),
    (1, 600), (255, 600), (256, 600), (257, 600), (300, 513), (511, 512), (512, 600),
    (599, 600),
]  # fmt: skip

TAMPERED_SIZES = {1, 5, 7, 257, 513, 600}
"""Tree sizes whose proofs also get tampered-with (invalid) variants."""


def _entry(i: int) -> bytes:
    return b"entry-%d" % i


def _hex_list(values: list[bytes]) -> list[str]:
    return [v.hex() for v in values]


def _error_name(call: Callable[..., object], *args: object) -> str:
    """Call ``call(*args)``, which must fail; return the error class name."""
    try:
        call(*args)
    except ProtocolError as exc:
        return type(exc).__name__
    raise AssertionError(f"expected a ProtocolError from {call.__name__}{args!r}")


def _flip(value: bytes, bit: int = 0) -> bytes:
    out = bytearray(value)
    out[bit // 8] ^= 1 << (bit % 8)
    return bytes(out)


def _merkle(leaves: list[bytes], store: dict[tiles.TileCoord, bytes]) -> dict[str, object]:
    cases: list[dict[str, object]] = []
    for i in (0, 1, 2, 599):
        entry = _entry(i)
        cases.append({
            "name": f"leaf-hash-{i}", "kind": "leaf_hash", "entry": entry.hex(),
            "leaf_hash": merkle.leaf_hash(entry).hex(), "result": "valid",
        })  # fmt: skip
    cases.append({
        "name": "node-hash", "kind": "node_hash", "left": leaves[0].hex(),
        "right": leaves[1].hex(), "hash": merkle.node_hash(leaves[0], leaves[1]).hex(),
        "result": "valid",
    })  # fmt: skip
    for n in ROOT_SIZES:
        cases.append({
            "name": f"root-{n}", "kind": "root", "size": n,
            "root": merkle.root(leaves[:n]).hex(), "result": "valid",
        })  # fmt: skip
    for i, n in INCLUSION:
        proof = merkle.inclusion_proof(i, n, store)
        base: dict[str, object] = {
            "kind": "inclusion", "index": i, "size": n, "leaf_hash": leaves[i].hex(),
            "root": merkle.root(leaves[:n]).hex(), "proof": _hex_list(proof),
        }  # fmt: skip
        cases.append({"name": f"inclusion-{i}-{n}", **base, "result": "valid"})
        if n in TAMPERED_SIZES:
            cases.extend(_inclusion_invalid(i, n, leaves, proof, base))
    for m, n in CONSISTENCY:
        proof = merkle.consistency_proof(m, n, store)
        base = {
            "kind": "consistency", "old_size": m, "new_size": n,
            "old_root": merkle.root(leaves[:m]).hex(), "new_root": merkle.root(leaves[:n]).hex(),
            "proof": _hex_list(proof),
        }  # fmt: skip
        cases.append({"name": f"consistency-{m}-{n}", **base, "result": "valid"})
        if n in TAMPERED_SIZES:
            cases.extend(_consistency_invalid(m, n, leaves, proof, base))
    empty = merkle.EMPTY_ROOT.hex()
    for name, m, n, old, new in [
        ("consistency-0-0", 0, 0, empty, empty),
        ("consistency-0-1", 0, 1, empty, merkle.root(leaves[:1]).hex()),
        ("consistency-2-1", 2, 1, merkle.root(leaves[:2]).hex(), merkle.root(leaves[:1]).hex()),
    ]:
        cases.append({
            "name": name, "kind": "consistency", "old_size": m, "new_size": n,
            "old_root": old, "new_root": new, "proof": [], "result": "invalid",
            "error": "ConsistencyProofError",
        })  # fmt: skip
    return {
        "description": (
            "spec §4.1-§4.2: RFC 6962 leaf/node hashes, tree roots, inclusion and consistency "
            "proofs (RFC 6962 §2.1.1/§2.1.2), verified per RFC 9162 §2.1.3.2/§2.1.4.2. Entry i "
            "of the example log is the ASCII text 'entry-<i>'; all byte strings are lowercase "
            "hex. Invalid cases MUST be rejected with the named error."
        ),
        "cases": cases,
    }


def _inclusion_invalid(
    i: int, n: int, leaves: list[bytes], proof: list[bytes], base: dict[str, object]
) -> list[dict[str, object]]:
    bad: list[tuple[str, dict[str, object]]] = [
        ("wrong-leaf", {"leaf_hash": leaves[(i + 1) % len(leaves)].hex()}),
        ("index-equals-size", {"index": n}),
        ("doubled-size", {"size": 2 * n}),
        ("extra-element", {"proof": _hex_list([*proof, leaves[0]])}),
        ("short-leaf-hash", {"leaf_hash": leaves[i][:31].hex()}),
    ]
    if proof:
        bad.append(("flipped-proof-bit", {"proof": _hex_list([_flip(proof[0]), *proof[1:]])}))
        bad.append(("missing-element", {"proof": _hex_list(proof[:-1])}))
    out = []
    for label, change in bad:
        case = {"name": f"inclusion-{i}-{n}-{label}", **base, **change}
        assert isinstance(case["leaf_hash"], str)
        assert isinstance(case["proof"], list)
        assert isinstance(case["root"], str)
        index, size = case["index"], case["size"]
        assert isinstance(index, int)
        assert isinstance(size, int)
        leaf = bytes.fromhex(case["leaf_hash"])
        path = [bytes.fromhex(p) for p in case["proof"]]
        top = bytes.fromhex(case["root"])
        error = _error_name(merkle.verify_inclusion, leaf, index, size, path, top)
        out.append({**case, "result": "invalid", "error": error})
    return out


def _consistency_invalid(
    m: int, n: int, leaves: list[bytes], proof: list[bytes], base: dict[str, object]
) -> list[dict[str, object]]:
    other_root = merkle.root(leaves[: n + 1]).hex()
    bad: list[tuple[str, dict[str, object]]] = [
        ("wrong-new-root", {"new_root": other_root}),
        ("extra-element", {"proof": _hex_list([*proof, leaves[0]])}),
    ]
    if proof:
        bad.append(("flipped-proof-bit", {"proof": _hex_list([*proof[:-1], _flip(proof[-1])])}))
        bad.append(("missing-element", {"proof": _hex_list(proof[1:])}))
    if m < n:
        bad.append(("wrong-old-size", {"old_size": m + 1 if m + 1 < n else m - 1}))
    out = []
    for label, change in bad:
        case = {"name": f"consistency-{m}-{n}-{label}", **base, **change}
        old_size, new_size = case["old_size"], case["new_size"]
        assert isinstance(old_size, int)
        assert isinstance(new_size, int)
        assert isinstance(case["proof"], list)
        assert isinstance(case["old_root"], str)
        assert isinstance(case["new_root"], str)
        path = [bytes.fromhex(p) for p in case["proof"]]
        old, new = bytes.fromhex(case["old_root"]), bytes.fromhex(case["new_root"])
        if old_size == 0:  # an old size of 0 is never provable
            continue
        error = _error_name(merkle.verify_consistency, old_size, new_size, path, old, new)
        out.append({**case, "result": "invalid", "error": error})
    return out


VALID_PATHS = [
    (0, 0, 256), (0, 0, 1), (0, 1234067, 256), (0, 1234067, 8), (1, 999, 255), (2, 1000, 256),
    (63, 1_000_000, 17), (0, 1_000_000_000, 256),
]  # fmt: skip
INVALID_PATHS = [
    ("x-on-last-element", "tile/0/x001/x234"),
    ("missing-x", "tile/0/001/234/067"),
    ("leading-zero-group", "tile/0/x000/067"),
    ("short-group", "tile/0/67"),
    ("long-group", "tile/0/0067"),
    ("width-zero", "tile/0/067.p/0"),
    ("width-256", "tile/0/067.p/256"),
    ("width-leading-zero", "tile/0/067.p/08"),
    ("width-missing", "tile/0/067.p/"),
    ("level-64", "tile/64/000"),
    ("level-leading-zero", "tile/01/000"),
    ("level-negative", "tile/-1/000"),
    ("missing-index", "tile/0"),
    ("no-tile-prefix", "tiles/0/000"),
    ("leading-slash", "/tile/0/000"),
    ("trailing-slash", "tile/0/000/"),
    ("non-ascii-digit", "tile/0/\u0661\u0662\u0663"),
    ("entries-as-tile", "tile/entries/000"),
]


def _tiles(leaves: list[bytes], store: dict[tiles.TileCoord, bytes]) -> dict[str, object]:
    cases: list[dict[str, object]] = []
    for level, index, width in VALID_PATHS:
        coord = tiles.TileCoord(level, index, width)
        cases.append({
            "name": f"tile-path-{level}-{index}-{width}", "kind": "tile_path", "level": level,
            "index": index, "width": width, "path": tiles.tile_path(coord), "result": "valid",
        })  # fmt: skip
    for index, width in [(0, 256), (1234067, 256), (1234067, 8), (2, 88)]:
        cases.append({
            "name": f"entry-bundle-path-{index}-{width}", "kind": "entry_bundle_path",
            "index": index, "width": width, "path": tiles.entry_bundle_path(index, width),
            "result": "valid",
        })  # fmt: skip
    for label, path in INVALID_PATHS:
        cases.append({
            "name": f"tile-path-{label}", "kind": "tile_path", "path": path,
            "result": "invalid", "error": _error_name(tiles.parse_tile_path, path),
        })  # fmt: skip
    for size in (0, 1, 255, 256, 257, 65536, 70000):
        cases.append({
            "name": f"tiles-for-size-{size}", "kind": "tiles_for_size", "size": size,
            "paths": [tiles.tile_path(c) for c in tiles.tiles_for_size(size)], "result": "valid",
        })  # fmt: skip
    bundle_entries = [b"", b"a", _entry(0), bytes(range(256)) * 2]
    cases.append({
        "name": "entry-bundle", "kind": "entry_bundle", "entries": _hex_list(bundle_entries),
        "bundle": tiles.encode_entry_bundle(bundle_entries).hex(), "result": "valid",
    })  # fmt: skip
    good = tiles.encode_entry_bundle([b"ab", b"c"])
    broken: list[tuple[str, bytes, int | None]] = [
        ("truncated-length", good + b"\x00", None),
        ("truncated-entry", good[:-1], None),
        ("trailing-bytes", good + b"\x00\x00", 2),
        ("fewer-than-width", good, 3),
        ("too-many-entries", b"\x00\x00" * 257, None),
        ("empty", b"", None),
    ]
    for label, data, count in broken:
        cases.append({
            "name": f"entry-bundle-{label}", "kind": "entry_bundle", "bundle": data.hex(),
            "width": count, "result": "invalid",
            "error": _error_name(tiles.decode_entry_bundle, data, count),
        })  # fmt: skip
    cases.append({
        "name": "entry-bundle-entry-too-large", "kind": "entry_bundle",
        "entry_sizes": [tiles.MAX_ENTRY_SIZE + 1], "result": "invalid",
        "error": _error_name(tiles.encode_entry_bundle, [bytes(tiles.MAX_ENTRY_SIZE + 1)]),
    })  # fmt: skip
    for coord in tiles.tiles_for_size(ENTRY_COUNT):
        first = coord.index * tiles.TILE_WIDTH
        bundle = tiles.encode_entry_bundle([_entry(i) for i in range(first, first + coord.width)])
        case: dict[str, object] = {
            "name": f"log-{ENTRY_COUNT}-{tiles.tile_path(coord)}", "kind": "log_tile",
            "size": ENTRY_COUNT, "level": coord.level, "index": coord.index,
            "width": coord.width, "path": tiles.tile_path(coord), "tile": store[coord].hex(),
            "result": "valid",
        }  # fmt: skip
        if coord.level == 0:
            case["entry_bundle_path"] = tiles.entry_bundle_path(coord.index, coord.width)
            case["entry_bundle"] = bundle.hex()
        cases.append(case)
    return {
        "description": (
            "spec §4.3-§4.6: C2SP tlog-tiles paths (index split into 3-digit groups, all but "
            "the last prefixed with 'x'; '.p/<W>' for partial tiles), tiles of a tree size, "
            "entry bundles (big-endian uint16 length + bytes per entry), and every hash tile and "
            f"entry bundle of the example log of {ENTRY_COUNT} entries 'entry-<i>' (hex). "
            "Invalid cases MUST be rejected with the named error."
        ),
        "cases": cases,
    }


def generate() -> dict[str, object]:
    """Return the vector files of spec §4: ``merkle.json`` and ``tiles.json``."""
    leaves = [merkle.leaf_hash(_entry(i)) for i in range(ENTRY_COUNT + 1)]
    result = merkle.append_leaves(0, {}, leaves[:ENTRY_COUNT])
    store = dict(result.tiles)
    return {"merkle.json": _merkle(leaves, store), "tiles.json": _tiles(leaves, store)}
