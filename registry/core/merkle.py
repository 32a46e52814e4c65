"""RFC 6962 Merkle tree hashing and proof verification (spec §4.1, §4.2).

Public API::

    HASH_SIZE = 32
    EMPTY_ROOT: bytes                                   # SHA-256("")
    leaf_hash(entry: bytes) -> bytes                    # SHA-256(0x00 || entry)
    node_hash(left: bytes, right: bytes) -> bytes       # SHA-256(0x01 || left || right)
    root(leaf_hashes: Sequence[bytes]) -> bytes         # MTH over a list (tests, small trees)
    verify_inclusion(leaf_hash, index, size, proof, root) -> None   # InclusionProofError
    verify_consistency(old_size, new_size, proof, old_root, new_root) -> None
                                                        # ConsistencyProofError

    # Proofs and roots from stored C2SP tlog-tiles, in two phases: first ask which tiles are
    # needed (one query), then compute from a Mapping[TileCoord, bytes] of those tiles.
    tiles_for_root(size) -> set[TileCoord]
    root_from_tiles(size, tiles) -> bytes                                   # TileError
    tiles_for_inclusion(index, size) -> set[TileCoord]                      # InclusionProofError
    inclusion_proof(index, size, tiles) -> list[bytes]                      # + TileError
    tiles_for_consistency(old_size, new_size) -> set[TileCoord]             # ConsistencyProofError
    consistency_proof(old_size, new_size, tiles) -> list[bytes]             # + TileError

    # The integrator's append step (pure, O(batch + log n) hashing).
    tiles_for_append(size) -> set[TileCoord]            # the right-edge partial tiles
    append_leaves(size, tiles, leaf_hashes) -> AppendResult(size, root, tiles)   # TileError

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; it raises and never returns a
boolean. Generated proofs are the RFC 6962 §2.1.1 PATH and §2.1.2 PROOF, built from the hashes the
node stores (spec §4.6): a tile at level L holds tree level 8L; the seven levels in between are
rehashed from the tile, as Go's tlog does.

In ``tiles`` Mappings a wider tile of the same level and index may stand in for a narrower one
(tiles only grow by appending hashes, so its first W hashes are the narrower tile), which lets a
node keep only the latest version of each tile.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass

from registry.core.errors import ConsistencyProofError, InclusionProofError, ProofError, TileError
from registry.core.tiles import (
    HASH_SIZE,
    MAX_INDEX,
    TILE_HEIGHT,
    TILE_WIDTH,
    TileCoord,
    level_size,
    tile_width,
)

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "AppendResult",
    "append_leaves",
    "consistency_proof",
    "inclusion_proof",
    "inclusion_proofs",
    "leaf_hash",
    "node_hash",
    "root",
    "root_from_tiles",
    "tiles_for_append",
    "tiles_for_consistency",
    "tiles_for_inclusion",
    "tiles_for_inclusions",
    "tiles_for_root",
    "verify_consistency",
    "verify_inclusion",
]

EMPTY_ROOT = hashlib.sha256(b"").digest()
"""The root hash of the empty tree: MTH({}) = SHA-256() (RFC 6962 §2.1)."""

_LEAF_PREFIX = b"\x00"
_NODE_PREFIX = b"\x01"


def leaf_hash(entry: bytes) -> bytes:
    """Return the RFC 6962 §2.1 leaf hash of a log entry: SHA-256(0x00 || entry)."""
    return hashlib.sha256(_LEAF_PREFIX + bytes(entry)).digest()


def _node(left: bytes, right: bytes) -> bytes:
    # RFC 6962 §2.1: MTH(D[n]) = SHA-256(0x01 || MTH(D[0:k]) || MTH(D[k:n])). Unchecked.
    return hashlib.sha256(_NODE_PREFIX + left + right).digest()


def node_hash(left: bytes, right: bytes) -> bytes:
    """Return the RFC 6962 §2.1 interior node hash SHA-256(0x01 || left || right).

    Raises ProofError if either child is not a 32-byte hash.
    """
    _check_hash(left, ProofError, "left child")
    _check_hash(right, ProofError, "right child")
    return _node(left, right)


def _check_hash(value: object, error: type[ProofError], what: str) -> None:
    """Raise ``error`` unless ``value`` is a bytes object of exactly HASH_SIZE bytes."""
    if not isinstance(value, bytes | bytearray | memoryview) or len(value) != HASH_SIZE:
        size = len(value) if isinstance(value, bytes | bytearray | memoryview) else None
        raise error(f"{what} must be a {HASH_SIZE}-byte hash, got {size!r} bytes")


def _check_size(value: object, error: type[ProofError], what: str) -> int:
    """Return ``value`` if it is a non-negative int (not a bool), else raise ``error``."""
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise error(f"{what} must be a non-negative integer, got {value!r}")
    return value


def _largest_power_of_two_below(n: int) -> int:
    """Return the largest power of two strictly less than ``n`` (n >= 2), RFC 6962 §2.1's k."""
    return 1 << ((n - 1).bit_length() - 1)


def _mth(hashes: Sequence[bytes]) -> bytes:
    """RFC 6962 §2.1 MTH over already-validated leaf (or subtree) hashes, iteratively.

    Pairing neighbours level by level and carrying an odd last element up unchanged gives the
    same tree as the recursive definition (split at the largest power of two below n).
    """
    if not hashes:
        return EMPTY_ROOT
    level = list(hashes)
    while len(level) > 1:
        paired = [_node(level[i], level[i + 1]) for i in range(0, len(level) - 1, 2)]
        if len(level) % 2:
            paired.append(level[-1])
        level = paired
    return bytes(level[0])


def root(leaf_hashes: Sequence[bytes]) -> bytes:
    """Return the Merkle Tree Hash (RFC 6962 §2.1) of a list of leaf hashes.

    Meant for tests and small trees; a node derives roots from its stored tiles
    (:func:`root_from_tiles`). Raises ProofError if any element is not a 32-byte hash.
    """
    for i, h in enumerate(leaf_hashes):
        _check_hash(h, ProofError, f"leaf hash {i}")
    return _mth([bytes(h) for h in leaf_hashes])


def verify_inclusion(
    leaf_hash: bytes, index: int, size: int, proof: Sequence[bytes], root: bytes
) -> None:
    """Check that ``leaf_hash`` is entry ``index`` of the tree of ``size`` with hash ``root``.

    Implements RFC 9162 §2.1.3.2 exactly (spec §4.2.1). Returns None on success; raises
    InclusionProofError if any hash is not 32 bytes, ``index >= size``, the proof has the wrong
    length, or the recomputed root differs.
    """
    _check_size(index, InclusionProofError, "leaf index")
    _check_size(size, InclusionProofError, "tree size")
    _check_hash(leaf_hash, InclusionProofError, "leaf hash")
    _check_hash(root, InclusionProofError, "root hash")
    for i, p in enumerate(proof):
        _check_hash(p, InclusionProofError, f"proof element {i}")
    # RFC 9162 §2.1.3.2 step 1: leaf_index >= tree_size fails.
    if index >= size:
        raise InclusionProofError(f"leaf index {index} is not below tree size {size}")
    # Step 2: fn = leaf_index, sn = tree_size - 1.
    fn, sn = index, size - 1
    # Step 3: r = hash.
    r = bytes(leaf_hash)
    # Step 4: for each p in inclusion_path.
    for p in proof:
        # 4a: sn == 0 means the path is too long.
        if sn == 0:
            raise InclusionProofError("inclusion proof is longer than the path to the root")
        # 4b: a right child, or the last node of its level.
        if fn & 1 or fn == sn:
            r = _node(bytes(p), r)
            # 4b.ii: if LSB(fn) is not set, right-shift until it is or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            r = _node(r, bytes(p))
        # 4c: one level up.
        fn >>= 1
        sn >>= 1
    # Step 5: sn must be 0 and r must equal root_hash.
    if sn != 0:
        raise InclusionProofError("inclusion proof is shorter than the path to the root")
    if r != root:
        raise InclusionProofError("inclusion proof does not lead to the root hash")


def verify_consistency(
    old_size: int, new_size: int, proof: Sequence[bytes], old_root: bytes, new_root: bytes
) -> None:
    """Check that the tree of ``new_size`` with ``new_root`` extends that of ``old_size``.

    Implements RFC 9162 §2.1.4.2 exactly (spec §4.2.2). A proof from size 0 is never accepted,
    not even between two empty trees: it would prove nothing (spec §4.2.2). Equal sizes need an
    empty proof and equal roots (RFC 9162 §2.1.4.1: SUBPROOF(m, D[m], true) = {}). Returns None on
    success; raises ConsistencyProofError otherwise, including for hashes that are not 32 bytes.
    """
    _check_size(old_size, ConsistencyProofError, "old tree size")
    _check_size(new_size, ConsistencyProofError, "new tree size")
    _check_hash(old_root, ConsistencyProofError, "old root hash")
    _check_hash(new_root, ConsistencyProofError, "new root hash")
    for i, c in enumerate(proof):
        _check_hash(c, ConsistencyProofError, f"proof element {i}")
    if old_size == 0:
        raise ConsistencyProofError("a consistency proof from the empty tree proves nothing")
    if old_size > new_size:
        raise ConsistencyProofError(f"old size {old_size} is larger than new size {new_size}")
    if old_size == new_size:
        if proof:
            raise ConsistencyProofError("a proof between equal sizes must be empty")
        if old_root != new_root:
            raise ConsistencyProofError("equal tree sizes but different root hashes")
        return
    # RFC 9162 §2.1.4.2, with 0 < first < second.
    # Step 1: an empty consistency_path fails.
    if not proof:
        raise ConsistencyProofError("consistency proof is empty")
    path = [bytes(c) for c in proof]
    # Step 2: if first is an exact power of 2, prepend first_hash.
    if old_size & (old_size - 1) == 0:
        path.insert(0, bytes(old_root))
    # Step 3: fn = first - 1, sn = second - 1.
    fn, sn = old_size - 1, new_size - 1
    # Step 4: if LSB(fn) is set, right-shift both until it is not.
    while fn & 1:
        fn >>= 1
        sn >>= 1
    # Step 5: fr = sr = the first value of consistency_path.
    fr = sr = path[0]
    # Step 6: for each subsequent value c.
    for c in path[1:]:
        # 6a: sn == 0 means the proof is too long.
        if sn == 0:
            raise ConsistencyProofError("consistency proof is longer than expected")
        # 6b: c is a left sibling (or fn is the last node of its level).
        if fn & 1 or fn == sn:
            fr = _node(c, fr)
            sr = _node(c, sr)
            # 6b.ii: if LSB(fn) is not set, right-shift until it is or fn is 0.
            while not fn & 1 and fn != 0:
                fn >>= 1
                sn >>= 1
        else:
            sr = _node(sr, c)
        # 6c: one level up.
        fn >>= 1
        sn >>= 1
    # Step 7: fr == first_hash, sr == second_hash and sn == 0.
    if sn != 0:
        raise ConsistencyProofError("consistency proof is shorter than expected")
    if fr != old_root:
        raise ConsistencyProofError("consistency proof does not lead to the old root hash")
    if sr != new_root:
        raise ConsistencyProofError("consistency proof does not lead to the new root hash")


# --- proofs from stored tiles (spec §4.6) -----------------------------------------------------

# A perfect subtree (height h, index k) spans the leaves [k * 2**h, (k + 1) * 2**h); its hash is
# stored in, or rehashed from, exactly one tile.
_Subtree = tuple[int, int]
# A range [lo, hi) of leaves whose MTH is one proof element (RFC 6962 §2.1.1, §2.1.2).
_Range = tuple[int, int]


def _perfect_subtrees(lo: int, hi: int) -> list[_Subtree]:
    """Split an aligned range into the perfect subtrees whose right fold is MTH(D[lo:hi]).

    Every range the RFC 6962 recursions produce starts at a multiple of a power of two at least
    its length, so the split follows the binary digits of ``hi - lo``, largest first, and
    RFC 6962 §2.1's split at the largest power of two below n gives that right fold.
    """
    subtrees: list[_Subtree] = []
    while lo < hi:
        height = (hi - lo).bit_length() - 1
        subtrees.append((height, lo >> height))
        lo += 1 << height
    return subtrees


def _tile_of(subtree: _Subtree, size: int) -> TileCoord:
    """Return the tile, at a tree of ``size``, that stores or rehashes a perfect subtree.

    Tree level h lives in tile level h // 8; the subtree's descendants at tree level 8L are
    contiguous in one tile (C2SP tlog-tiles: a tile is a complete subtree of height 8).
    """
    height, index = subtree
    level, rest = divmod(height, TILE_HEIGHT)
    tile_index = (index << rest) >> TILE_HEIGHT
    return TileCoord(level, tile_index, tile_width(level, tile_index, size))


class _TileReader:
    """Reads tree hashes out of a Mapping of tiles for one tree size (like Go's TileHashReader)."""

    def __init__(self, size: int, tiles: Mapping[TileCoord, bytes], *, exact: bool) -> None:
        self._size = size
        self._exact = exact
        # Subtree hashes already rehashed: proofs of neighbouring entries share most of them.
        self._memo: dict[_Subtree, bytes] = {}
        # The widest tile supplied for each (level, index); every supplied tile must be whole.
        self._widest: dict[tuple[int, int], tuple[int, bytes]] = {}
        for coord, data in tiles.items():
            if len(data) != coord.width * HASH_SIZE:
                raise TileError(f"tile {coord} is {len(data)} bytes, not {coord.width * HASH_SIZE}")
            key = (coord.level, coord.index)
            if key not in self._widest or self._widest[key][0] < coord.width:
                self._widest[key] = (coord.width, bytes(data))

    def tile(self, coord: TileCoord) -> bytes:
        """Return the ``coord.width`` hashes of a tile; raise TileError if none is supplied."""
        width, data = self._widest.get((coord.level, coord.index), (0, b""))
        if width < coord.width or (self._exact and width != coord.width):
            raise TileError(f"missing tile {coord} (supplied width {width})")
        return data[: coord.width * HASH_SIZE]

    def subtree_hash(self, subtree: _Subtree) -> bytes:
        """Return the hash of a perfect subtree, rehashing tree levels 8L+1..8L+7 as needed."""
        cached = self._memo.get(subtree)
        if cached is not None:
            return cached
        height, index = subtree
        rest = height % TILE_HEIGHT
        data = self.tile(_tile_of(subtree, self._size))
        first = (index << rest) % TILE_WIDTH
        count = 1 << rest
        hashes = data[first * HASH_SIZE : (first + count) * HASH_SIZE]
        value = _mth([hashes[i : i + HASH_SIZE] for i in range(0, len(hashes), HASH_SIZE)])
        self._memo[subtree] = value
        return value

    def range_hash(self, span: _Range) -> bytes:
        """Return MTH(D[lo:hi]) as the right fold of its perfect subtrees (RFC 6962 §2.1)."""
        parts = [self.subtree_hash(s) for s in _perfect_subtrees(*span)]
        result = parts[-1]
        for left in reversed(parts[:-1]):
            result = _node(left, result)
        return result


def _tiles_for_ranges(spans: Sequence[_Range], size: int) -> set[TileCoord]:
    return {_tile_of(s, size) for span in spans for s in _perfect_subtrees(*span)}


def _check_tree_size(size: object, error: type[ProofError] | type[TileError]) -> int:
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_INDEX:
        raise error(f"tree size must be an integer in 0..2**64-1, got {size!r}")
    return size


def tiles_for_root(size: int) -> set[TileCoord]:
    """Return the tiles needed to compute the root hash of a tree of ``size`` entries.

    These are the right-edge partial tiles, one per level whose width is not 0 (spec §4.6).
    Raises TileError for a size outside 0..2**64-1.
    """
    _check_tree_size(size, TileError)
    return _tiles_for_ranges([(0, size)] if size else [], size)


def root_from_tiles(size: int, tiles: Mapping[TileCoord, bytes]) -> bytes:
    """Return the root hash (MTH) of a tree of ``size`` from the tiles of :func:`tiles_for_root`.

    Raises TileError if a needed tile is missing or shorter than its width says.
    """
    _check_tree_size(size, TileError)
    if size == 0:
        return EMPTY_ROOT
    return _TileReader(size, tiles, exact=False).range_hash((0, size))


def _inclusion_ranges(index: int, size: int) -> list[_Range]:
    """The ranges whose hashes form PATH(index, D[0:size]), leaf to root (RFC 6962 §2.1.1)."""
    _check_size(index, InclusionProofError, "leaf index")
    _check_tree_size(size, InclusionProofError)
    if index >= size:
        raise InclusionProofError(f"leaf index {index} is not below tree size {size}")
    lo, hi = 0, size
    spans: list[_Range] = []
    while hi - lo > 1:
        k = _largest_power_of_two_below(hi - lo)
        if index < lo + k:
            # m < k: PATH(m, D[0:k]) : MTH(D[k:n])
            spans.append((lo + k, hi))
            hi = lo + k
        else:
            # m >= k: PATH(m - k, D[k:n]) : MTH(D[0:k])
            spans.append((lo, lo + k))
            lo += k
    spans.reverse()
    return spans


def tiles_for_inclusion(index: int, size: int) -> set[TileCoord]:
    """Return the tiles needed for the inclusion proof of entry ``index`` in a tree of ``size``.

    Raises InclusionProofError unless ``0 <= index < size``.
    """
    return _tiles_for_ranges(_inclusion_ranges(index, size), size)


def tiles_for_inclusions(indexes: Iterable[int], size: int) -> set[TileCoord]:
    """The union of :func:`tiles_for_inclusion` of many entries of a tree of ``size``.

    The proofs of neighbouring entries share most of their ranges: each distinct range is
    mapped to its tiles once. Raises as :func:`tiles_for_inclusion`.
    """
    spans = {span for index in indexes for span in _inclusion_ranges(index, size)}
    return _tiles_for_ranges(sorted(spans), size)


def inclusion_proof(index: int, size: int, tiles: Mapping[TileCoord, bytes]) -> list[bytes]:
    """Return the RFC 6962 §2.1.1 inclusion proof of entry ``index`` in a tree of ``size``.

    ``tiles`` holds (at least) the tiles of :func:`tiles_for_inclusion`. Raises
    InclusionProofError unless ``0 <= index < size``; TileError if a tile is missing or short.
    """
    spans = _inclusion_ranges(index, size)
    reader = _TileReader(size, tiles, exact=False)
    return [reader.range_hash(span) for span in spans]


def inclusion_proofs(
    indexes: Iterable[int], size: int, tiles: Mapping[TileCoord, bytes]
) -> dict[int, list[bytes]]:
    """Return ``{index: inclusion_proof(index, size, tiles)}`` for many entries at once.

    The proofs of a batch of neighbouring entries share most of their subtree hashes; this
    rehashes each from its tile only once (what a node does when it answers a whole batch of
    submissions with receipts). ``tiles`` holds the union of :func:`tiles_for_inclusion` of
    every index. Raises as :func:`inclusion_proof`.
    """
    reader = _TileReader(size, tiles, exact=False)
    return {
        index: [reader.range_hash(span) for span in _inclusion_ranges(index, size)]
        for index in indexes
    }


def _consistency_ranges(old_size: int, new_size: int) -> list[_Range]:
    """The ranges whose hashes form PROOF(m, D[0:n]) (RFC 6962 §2.1.2), in proof order."""
    _check_size(old_size, ConsistencyProofError, "old tree size")
    _check_tree_size(new_size, ConsistencyProofError)
    if not 0 < old_size <= new_size:
        raise ConsistencyProofError(
            f"no consistency proof from size {old_size} to size {new_size} (need 0 < m <= n)"
        )
    lo, hi, whole = 0, new_size, True
    spans: list[_Range] = []
    # Invariant: lo < old_size <= hi; ``whole`` is SUBPROOF's boolean b.
    while old_size != hi:
        k = _largest_power_of_two_below(hi - lo)
        if old_size <= lo + k:
            # m <= k: SUBPROOF(m, D[0:k], b) : MTH(D[k:n])
            spans.append((lo + k, hi))
            hi = lo + k
        else:
            # m > k: SUBPROOF(m - k, D[k:n], false) : MTH(D[0:k])
            spans.append((lo, lo + k))
            lo += k
            whole = False
    # SUBPROOF(m, D[m], true) = {}; SUBPROOF(m, D[m], false) = {MTH(D[m])}
    if not whole:
        spans.append((lo, hi))
    spans.reverse()
    return spans


def tiles_for_consistency(old_size: int, new_size: int) -> set[TileCoord]:
    """Return the tiles needed for the consistency proof from ``old_size`` to ``new_size``.

    Raises ConsistencyProofError unless ``0 < old_size <= new_size``.
    """
    return _tiles_for_ranges(_consistency_ranges(old_size, new_size), new_size)


def consistency_proof(
    old_size: int, new_size: int, tiles: Mapping[TileCoord, bytes]
) -> list[bytes]:
    """Return the RFC 6962 §2.1.2 consistency proof from ``old_size`` to ``new_size``.

    ``tiles`` holds (at least) the tiles of :func:`tiles_for_consistency`. The proof between equal
    sizes is empty. Raises ConsistencyProofError unless ``0 < old_size <= new_size``; TileError
    if a tile is missing or short.
    """
    spans = _consistency_ranges(old_size, new_size)
    reader = _TileReader(new_size, tiles, exact=False)
    return [reader.range_hash(span) for span in spans]


# --- the append step (spec §4.7) ----------------------------------------------------------------


@dataclass(frozen=True, slots=True)
class AppendResult:
    """What appending leaves produced: the new tree ``size`` and ``root``, and ``tiles``, every
    hash tile to write (new full tiles, which are then immutable, and the grown partial tiles),
    keyed by coordinate with the width at the new size."""

    size: int
    root: bytes
    tiles: Mapping[TileCoord, bytes]


def tiles_for_append(size: int) -> set[TileCoord]:
    """Return the tiles :func:`append_leaves` needs for a tree of ``size``: its right-edge
    partial tiles (the same set as :func:`tiles_for_root`). Raises TileError for a bad size."""
    return tiles_for_root(size)


def append_leaves(
    size: int, tiles: Mapping[TileCoord, bytes], leaf_hashes: Sequence[bytes]
) -> AppendResult:
    """Append leaf hashes to a tree of ``size`` entries held as tiles (spec §4.7).

    ``tiles`` holds exactly-sized versions of the tiles of :func:`tiles_for_append` (more are
    ignored). Hashing costs O(len(leaf_hashes) + log size): each new full tile is hashed once into
    the level above, and the root is folded from the right-edge tiles. Raises TileError if a
    needed tile is missing or not of its width at ``size``, a leaf hash is not 32 bytes, or the
    tree would outgrow 2**64-1 entries.
    """
    _check_tree_size(size, TileError)
    new_size = size + len(leaf_hashes)
    if new_size > MAX_INDEX:
        raise TileError(f"a tree cannot grow past 2**64-1 entries (to {new_size})")
    for i, h in enumerate(leaf_hashes):
        if len(h) != HASH_SIZE:
            raise TileError(f"leaf hash {i} is {len(h)} bytes, not {HASH_SIZE}")
    reader = _TileReader(size, tiles, exact=True)
    written: dict[TileCoord, bytes] = {}
    carry = [bytes(h) for h in leaf_hashes]  # new hashes at this tile level
    level = 0
    while carry:
        stored = level_size(level, size)
        first_tile, width = divmod(stored, TILE_WIDTH)
        # The old partial tile at this level (if any) grows first: C2SP tlog-tiles.
        edge = reader.tile(TileCoord(level, first_tile, width)) if width else b""
        row = [edge[i : i + HASH_SIZE] for i in range(0, len(edge), HASH_SIZE)] + carry
        carry = []
        for offset in range(0, len(row), TILE_WIDTH):
            chunk = row[offset : offset + TILE_WIDTH]
            written[TileCoord(level, first_tile + offset // TILE_WIDTH, len(chunk))] = b"".join(
                chunk
            )
            if len(chunk) == TILE_WIDTH:
                # A full tile's MTH is the next hash at the level above (C2SP tlog-tiles).
                carry.append(_mth(chunk))
        level += 1
    # Untouched levels keep their old right-edge tile, which is still the edge at new_size.
    merged = {**tiles, **written}
    return AppendResult(new_size, root_from_tiles(new_size, merged), written)
