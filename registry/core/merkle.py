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

Verification follows RFC 9162 §2.1.3.2 and §2.1.4.2 step by step; it raises and never returns a
boolean. Proof generation from stored C2SP tlog-tiles and the append step live further down.
"""

from __future__ import annotations

import hashlib
from collections.abc import Sequence

from registry.core.errors import ConsistencyProofError, InclusionProofError, ProofError

__all__ = [
    "EMPTY_ROOT",
    "HASH_SIZE",
    "leaf_hash",
    "node_hash",
    "root",
    "verify_consistency",
    "verify_inclusion",
]

HASH_SIZE = 32
"""Size in bytes of every hash in the tree (SHA-256)."""

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
