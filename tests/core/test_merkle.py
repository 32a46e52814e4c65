"""Tests for registry.core.merkle: RFC 6962 hashing, RFC 9162 verification, proofs from tiles,
the append step. Checked against the transparency-dev/merkle vectors, a naive RFC 6962
reference written here, and our own spec/vectors."""

from __future__ import annotations

import base64
import functools
import hashlib
import importlib.util
import itertools
import json
from collections.abc import Callable, Mapping, Sequence
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import errors
from registry.core.errors import (
    ConsistencyProofError,
    InclusionProofError,
    ProofError,
    TileError,
)
from registry.core.merkle import (
    EMPTY_ROOT,
    append_leaves,
    consistency_proof,
    inclusion_proof,
    inclusion_proofs,
    leaf_hash,
    node_hash,
    root,
    root_from_tiles,
    tiles_for_append,
    tiles_for_consistency,
    tiles_for_inclusion,
    tiles_for_inclusions,
    tiles_for_root,
    verify_consistency,
    verify_inclusion,
)
from registry.core.tiles import TileCoord, tiles_for_size

ROOT_DIR = Path(__file__).resolve().parents[2]
EXTERNAL = ROOT_DIR.parent / "shared" / "vectors" / "merkle-proofs.json"
SPEC_VECTORS = ROOT_DIR / "spec" / "vectors"

# --- a naive RFC 6962 reference (§2.1, §2.1.1, §2.1.2), written straight from the text ---------


def _k(n: int) -> int:
    """The largest power of two smaller than n (n > 1)."""
    k = 1
    while k * 2 < n:
        k *= 2
    return k


class Reference:
    """MTH, PATH and PROOF exactly as RFC 6962 §2.1 defines them, memoised on ranges."""

    def __init__(self, leaves: Sequence[bytes]) -> None:
        self.leaves = list(leaves)
        self.mth = functools.lru_cache(maxsize=None)(self._mth)

    def _mth(self, lo: int, hi: int) -> bytes:
        if hi == lo:
            return hashlib.sha256(b"").digest()
        if hi - lo == 1:
            return self.leaves[lo]
        k = _k(hi - lo)
        return hashlib.sha256(b"\x01" + self.mth(lo, lo + k) + self.mth(lo + k, hi)).digest()

    def path(self, m: int, lo: int, hi: int) -> list[bytes]:
        if hi - lo == 1:
            return []
        k = _k(hi - lo)
        if m < k:
            return [*self.path(m, lo, lo + k), self.mth(lo + k, hi)]
        return [*self.path(m - k, lo + k, hi), self.mth(lo, lo + k)]

    def subproof(self, m: int, lo: int, hi: int, b: bool) -> list[bytes]:
        n = hi - lo
        if m == n:
            return [] if b else [self.mth(lo, hi)]
        k = _k(n)
        if m <= k:
            return [*self.subproof(m, lo, lo + k, b), self.mth(lo + k, hi)]
        return [*self.subproof(m - k, lo + k, hi, False), self.mth(lo, lo + k)]

    def proof(self, m: int, n: int) -> list[bytes]:
        return self.subproof(m, 0, n, True)


def small_leaf(i: int) -> bytes:
    """A cheap, distinct stand-in for a leaf hash (32 bytes)."""
    return i.to_bytes(32, "big")


LEAVES = [leaf_hash(b"entry-%d" % i) for i in range(80)]
REF = Reference(LEAVES)


def build_store(
    leaves: Sequence[bytes], batches: Sequence[int]
) -> tuple[dict[Any, Any], list[int]]:
    """Append ``leaves`` in the given batch sizes, keeping only the widest tile per position
    (as a node may); return the tiles keyed by TileCoord and the sizes reached."""
    widest: dict[tuple[int, int], tuple[TileCoord, bytes]] = {}
    size, sizes, at = 0, [], 0
    for batch in batches:
        edge = {c: widest[(c.level, c.index)][1] for c in tiles_for_append(size)}
        result = append_leaves(size, edge, leaves[at : at + batch])
        at += batch
        assert result.size == at
        for coord, data in result.tiles.items():
            widest[(coord.level, coord.index)] = (coord, data)
        size = result.size
        sizes.append(size)
    return dict(widest.values()), sizes


# --- hashing -------------------------------------------------------------------------------------


def test_hashes_follow_rfc_6962() -> None:
    assert EMPTY_ROOT.hex() == "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855"
    assert leaf_hash(b"") == hashlib.sha256(b"\x00").digest()
    assert leaf_hash(b"abc") == hashlib.sha256(b"\x00abc").digest()
    a, b = leaf_hash(b"a"), leaf_hash(b"b")
    assert node_hash(a, b) == hashlib.sha256(b"\x01" + a + b).digest()
    assert root([]) == EMPTY_ROOT
    assert root([a]) == a
    assert root([a, b]) == node_hash(a, b)
    assert root([a, b, a]) == node_hash(node_hash(a, b), a)


def test_root_matches_reference_for_every_size() -> None:
    for n in range(len(LEAVES) + 1):
        assert root(LEAVES[:n]) == REF.mth(0, n)


@pytest.mark.parametrize("bad", [b"", b"\x00" * 31, b"\x00" * 33, "a" * 32])
def test_hash_functions_reject_non_hashes(bad: Any) -> None:
    good = LEAVES[0]
    with pytest.raises(ProofError):
        node_hash(bad, good)
    with pytest.raises(ProofError):
        node_hash(good, bad)
    with pytest.raises(ProofError):
        root([good, bad])


# --- external vectors (transparency-dev/merkle) -------------------------------------------------


def _b64(value: str | None) -> bytes:
    return base64.b64decode(value or "")


def _external() -> dict[str, Any]:
    data: dict[str, Any] = json.loads(EXTERNAL.read_text(encoding="utf-8"))
    return data


def _all_hashes_32(*values: bytes) -> bool:
    return all(len(v) == 32 for v in values)


def test_external_vectors_are_all_there() -> None:
    data = _external()
    assert len(data["inclusion"]) == 98
    assert len(data["consistency"]) == 98


@pytest.mark.parametrize("case", _external()["inclusion"], ids=lambda c: c["file"])
def test_external_inclusion_vectors(case: dict[str, Any]) -> None:
    leaf, top = _b64(case["leafHash"]), _b64(case["root"])
    proof = [_b64(p) for p in case["proof"] or []]
    # Project rule (vectors README): hashes that are not 32 bytes are rejected.
    want_error = case["wantErr"] or not _all_hashes_32(leaf, top, *proof)
    if want_error:
        with pytest.raises(InclusionProofError):
            verify_inclusion(leaf, case["leafIdx"], case["treeSize"], proof, top)
    else:
        verify_inclusion(leaf, case["leafIdx"], case["treeSize"], proof, top)


@pytest.mark.parametrize("case", _external()["consistency"], ids=lambda c: c["file"])
def test_external_consistency_vectors(case: dict[str, Any]) -> None:
    old, new = _b64(case["root1"]), _b64(case["root2"])
    proof = [_b64(p) for p in case["proof"] or []]
    # Project rules (vectors README): hashes must be 32 bytes; an old size of 0 never verifies.
    want_error = case["wantErr"] or not _all_hashes_32(old, new, *proof) or case["size1"] == 0
    if want_error:
        with pytest.raises(ConsistencyProofError):
            verify_consistency(case["size1"], case["size2"], proof, old, new)
    else:
        verify_consistency(case["size1"], case["size2"], proof, old, new)


# --- verification: exhaustive and property tests -----------------------------------------------

MAX_N = 70


def test_every_inclusion_proof_up_to_70_verifies() -> None:
    for n in range(1, MAX_N + 1):
        top = REF.mth(0, n)
        for i in range(n):
            verify_inclusion(LEAVES[i], i, n, REF.path(i, 0, n), top)


def test_every_consistency_proof_up_to_70_verifies() -> None:
    for n in range(1, MAX_N + 1):
        for m in range(1, n + 1):
            verify_consistency(m, n, REF.proof(m, n), REF.mth(0, m), REF.mth(0, n))
        with pytest.raises(ConsistencyProofError):
            verify_consistency(0, n, [EMPTY_ROOT], EMPTY_ROOT, REF.mth(0, n))


def _flip(value: bytes, bit: int) -> bytes:
    out = bytearray(value)
    out[bit // 8 % len(out)] ^= 1 << (bit % 8)
    return bytes(out)


@st.composite
def index_and_size(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX_N))
    return draw(st.integers(0, n - 1)), n


@given(index_and_size(), st.integers(0, 255), st.data())
def test_tampered_inclusion_proofs_fail(
    spec: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    i, n = spec
    proof, top, leaf = REF.path(i, 0, n), REF.mth(0, n), LEAVES[i]
    target = data.draw(st.sampled_from(["proof", "root", "leaf", "index", "drop", "extend"]))
    index = i
    if target == "proof" and proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        proof = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
    elif target == "root":
        top = _flip(top, bit)
    elif target == "leaf" or (target == "proof" and not proof):
        leaf = _flip(leaf, bit)
    elif target == "index":
        index = data.draw(st.integers(0, 2 * n).filter(lambda j: j != i))
    elif target == "drop" and proof:
        proof = proof[:-1]
    else:
        proof = [*proof, top]
    with pytest.raises(InclusionProofError):
        verify_inclusion(leaf, index, n, proof, top)


@st.composite
def two_sizes(draw: st.DrawFn) -> tuple[int, int]:
    n = draw(st.integers(1, MAX_N))
    return draw(st.integers(1, n)), n


@given(two_sizes(), st.integers(0, 255), st.data())
def test_tampered_consistency_proofs_fail(
    spec: tuple[int, int], bit: int, data: st.DataObject
) -> None:
    m, n = spec
    proof, old, new = REF.proof(m, n), REF.mth(0, m), REF.mth(0, n)
    target = data.draw(st.sampled_from(["proof", "old", "new", "old_size", "extend", "drop"]))
    old_size = m
    if target == "proof" and proof:
        k = data.draw(st.integers(0, len(proof) - 1))
        proof = [*proof[:k], _flip(proof[k], bit), *proof[k + 1 :]]
    elif target == "old" or (target == "proof" and not proof):
        old = _flip(old, bit)
    elif target == "new":
        new = _flip(new, bit)
    elif target == "old_size":
        old_size = data.draw(st.integers(0, n).filter(lambda j: j != m))
        old = REF.mth(0, old_size)
    elif target == "drop" and proof:
        proof = proof[1:]
    else:
        proof = [*proof, new]
    with pytest.raises(ConsistencyProofError):
        verify_consistency(old_size, n, proof, old, new)


@pytest.mark.parametrize(
    ("args", "match"),
    [
        ((b"\x00" * 32, -1, 1, [], b"\x00" * 32), "non-negative"),
        ((b"\x00" * 32, True, 1, [], b"\x00" * 32), "non-negative"),
        ((b"\x00" * 32, 0, 1.0, [], b"\x00" * 32), "non-negative"),
        ((b"\x00" * 32, 0, 1, [b"\x00" * 31], b"\x00" * 32), "proof element 0"),
        ((None, 0, 1, [], b"\x00" * 32), "leaf hash"),
    ],
)
def test_verify_inclusion_rejects_malformed_arguments(args: Any, match: str) -> None:
    with pytest.raises(InclusionProofError, match=match):
        verify_inclusion(*args)


def test_verify_consistency_rejects_malformed_arguments() -> None:
    h = LEAVES[0]
    with pytest.raises(ConsistencyProofError, match="proof element 1"):
        verify_consistency(1, 2, [LEAVES[1], b"x"], h, h)
    with pytest.raises(ConsistencyProofError, match="larger"):
        verify_consistency(3, 2, [], h, h)
    with pytest.raises(ConsistencyProofError, match="must be empty"):
        verify_consistency(2, 2, [h], h, h)
    with pytest.raises(ConsistencyProofError, match="is empty"):
        verify_consistency(1, 2, [], h, h)
    with pytest.raises(ConsistencyProofError, match="new tree size"):
        verify_consistency(1, -2, [], h, h)


# --- proofs from tiles ---------------------------------------------------------------------------


def test_proofs_from_tiles_equal_reference_for_all_small_trees() -> None:
    store, _ = build_store(LEAVES[:MAX_N], [MAX_N])
    for n in range(1, MAX_N + 1):
        assert root_from_tiles(n, store) == REF.mth(0, n)
        for i in range(n):
            assert inclusion_proof(i, n, store) == REF.path(i, 0, n)
        for m in range(1, n + 1):
            assert consistency_proof(m, n, store) == REF.proof(m, n)


def _only(store: Mapping[TileCoord, bytes], coords: set[TileCoord]) -> dict[TileCoord, bytes]:
    """The requested tiles, cut from the stored (possibly wider) ones, and nothing else."""
    widest = {(c.level, c.index): d for c, d in store.items()}
    return {c: widest[(c.level, c.index)][: 32 * c.width] for c in coords}


BIG = 65536 + 300
BIG_LEAVES = [small_leaf(i) for i in range(BIG)]
BIG_REF = Reference(BIG_LEAVES)


@functools.cache
def big_store() -> dict[TileCoord, bytes]:
    # Batches cross the 256 and 65536 boundaries (new level-1 and level-2 tiles).
    store, sizes = build_store(BIG_LEAVES, [255, 2, 65000, 279, 300])
    assert sizes == [255, 257, 65257, 65536, BIG]
    return store


def test_big_log_has_exactly_the_tiles_of_its_size() -> None:
    store = big_store()
    assert sorted(store) == tiles_for_size(BIG)
    assert TileCoord(1, 0, 256) in store
    assert TileCoord(2, 0, 1) in store


@pytest.mark.parametrize("n", [256, 257, 511, 65535, 65536, 65537, BIG])
def test_root_from_only_the_requested_tiles(n: int) -> None:
    tiles = _only(big_store(), tiles_for_root(n))
    assert root_from_tiles(n, tiles) == BIG_REF.mth(0, n)


@pytest.mark.parametrize(
    ("i", "n"),
    [(0, 256), (255, 257), (256, 257), (0, 65536), (65535, 65536), (65536, 65537), (70, BIG),
     (65535, BIG), (BIG - 1, BIG), (40000, 65537)],
)  # fmt: skip
def test_inclusion_from_only_the_requested_tiles(i: int, n: int) -> None:
    tiles = _only(big_store(), tiles_for_inclusion(i, n))
    proof = inclusion_proof(i, n, tiles)
    assert proof == BIG_REF.path(i, 0, n)
    verify_inclusion(BIG_LEAVES[i], i, n, proof, BIG_REF.mth(0, n))


def test_batch_inclusion_proofs_equal_single_proofs() -> None:
    # A node answers a batch of submissions with receipts; the shared subtree hashes are
    # rehashed once, and every proof must still be exactly the single-entry proof.
    n = 65537
    indexes = [0, 1, 255, 256, 40000, 65535, 65536]
    needed: set[TileCoord] = set()
    for i in indexes:
        needed |= tiles_for_inclusion(i, n)
    assert tiles_for_inclusions(indexes, n) == needed
    assert tiles_for_inclusions([], n) == set()
    proofs = inclusion_proofs(indexes, n, _only(big_store(), needed))
    assert sorted(proofs) == indexes
    for i in indexes:
        assert proofs[i] == BIG_REF.path(i, 0, n)
    with pytest.raises(InclusionProofError):
        inclusion_proofs([n], n, {})


@pytest.mark.parametrize(
    ("m", "n"),
    [(1, 256), (256, 257), (255, 65536), (65536, 65537), (300, BIG), (65536, BIG), (BIG, BIG),
     (65535, 65536), (1000, 65537)],
)  # fmt: skip
def test_consistency_from_only_the_requested_tiles(m: int, n: int) -> None:
    tiles = _only(big_store(), tiles_for_consistency(m, n))
    proof = consistency_proof(m, n, tiles)
    assert proof == BIG_REF.proof(m, n)
    verify_consistency(m, n, proof, BIG_REF.mth(0, m), BIG_REF.mth(0, n))


def test_needed_tiles_are_few_and_exact() -> None:
    assert tiles_for_root(0) == set()
    assert tiles_for_root(256) == {TileCoord(1, 0, 1)}
    assert tiles_for_root(70000) == {
        TileCoord(0, 273, 112), TileCoord(1, 1, 17), TileCoord(2, 0, 1)
    }  # fmt: skip
    assert tiles_for_inclusion(0, 70000) == {
        TileCoord(0, 0), TileCoord(1, 0), TileCoord(1, 1, 17), TileCoord(0, 273, 112)
    }  # fmt: skip
    assert tiles_for_consistency(5, 5) == set()
    assert tiles_for_append(600) == {TileCoord(0, 2, 88), TileCoord(1, 0, 2)}


def test_missing_and_short_tiles_raise_tile_error() -> None:
    store, _ = build_store(BIG_LEAVES[:600], [600])
    needed = tiles_for_inclusion(3, 600)
    some = next(iter(needed))
    partial = {c: d for c, d in _only(store, needed).items() if c != some}
    with pytest.raises(TileError, match="missing tile"):
        inclusion_proof(3, 600, partial)
    short = {**_only(store, needed), some: b"\x00" * 32}
    with pytest.raises(TileError, match="bytes, not"):
        inclusion_proof(3, 600, short)
    narrower = {**_only(store, needed), TileCoord(0, 2, 87): store[TileCoord(0, 2, 88)][:-32]}
    narrower.pop(TileCoord(0, 2, 88), None)
    with pytest.raises(TileError, match="missing tile"):
        root_from_tiles(600, narrower)


def test_generation_rejects_impossible_requests() -> None:
    with pytest.raises(InclusionProofError):
        tiles_for_inclusion(5, 5)
    with pytest.raises(InclusionProofError):
        tiles_for_inclusions([0, 5], 5)
    with pytest.raises(InclusionProofError):
        inclusion_proof(-1, 5, {})
    with pytest.raises(InclusionProofError):
        tiles_for_inclusion(0, 2**64)
    with pytest.raises(ConsistencyProofError):
        tiles_for_consistency(0, 5)
    with pytest.raises(ConsistencyProofError):
        consistency_proof(6, 5, {})
    with pytest.raises(TileError):
        tiles_for_root(-1)
    with pytest.raises(TileError):
        root_from_tiles(True, {})
    assert root_from_tiles(0, {}) == EMPTY_ROOT


# --- the append step -----------------------------------------------------------------------------


@st.composite
def batch_splits(draw: st.DrawFn) -> list[int]:
    total = draw(st.integers(0, 700))
    cuts = sorted(draw(st.lists(st.integers(0, total), max_size=8)))
    points = [0, *cuts, total]
    return [b - a for a, b in itertools.pairwise(points)]


APPEND_LEAVES = [small_leaf(i) for i in range(700)]
APPEND_REF = Reference(APPEND_LEAVES)


@settings(max_examples=60, deadline=None)
@given(batch_splits())
def test_append_in_batches_equals_append_at_once(batches: list[int]) -> None:
    total = sum(batches)
    at_once = append_leaves(0, {}, APPEND_LEAVES[:total])
    assert at_once.size == total
    assert at_once.root == APPEND_REF.mth(0, total)
    assert sorted(at_once.tiles) == tiles_for_size(total)
    store, sizes = build_store(APPEND_LEAVES, batches)
    assert store == dict(at_once.tiles)
    for size in sizes:
        assert root_from_tiles(size, store) == APPEND_REF.mth(0, size)


def test_append_reports_every_written_tile_and_root() -> None:
    first = append_leaves(0, {}, APPEND_LEAVES[:250])
    assert first.tiles.keys() == {TileCoord(0, 0, 250)}
    edge = {c: first.tiles[c] for c in tiles_for_append(250)}
    second = append_leaves(250, edge, APPEND_LEAVES[250:600])
    assert second.size == 600
    assert second.root == APPEND_REF.mth(0, 600)
    assert set(second.tiles) == {
        TileCoord(0, 0), TileCoord(0, 1), TileCoord(0, 2, 88), TileCoord(1, 0, 2)
    }  # fmt: skip
    assert second.tiles[TileCoord(1, 0, 2)] == APPEND_REF.mth(0, 256) + APPEND_REF.mth(256, 512)
    nothing = append_leaves(600, _only(second.tiles, tiles_for_append(600)), [])
    assert (nothing.size, nothing.root, dict(nothing.tiles)) == (600, second.root, {})


def test_append_needs_exact_edge_tiles_and_real_hashes() -> None:
    first = append_leaves(0, {}, APPEND_LEAVES[:10])
    with pytest.raises(TileError, match="missing tile"):
        append_leaves(10, {}, APPEND_LEAVES[10:11])
    wider = append_leaves(0, {}, APPEND_LEAVES[:11]).tiles
    with pytest.raises(TileError, match="missing tile"):
        append_leaves(10, wider, APPEND_LEAVES[10:11])
    with pytest.raises(TileError, match="leaf hash 0"):
        append_leaves(10, first.tiles, [b"short"])
    with pytest.raises(TileError, match="2\\*\\*64"):
        append_leaves(2**64 - 1, {}, [APPEND_LEAVES[0]])
    with pytest.raises(TileError):
        append_leaves(-1, {}, [])


# --- our own vectors (spec/vectors/gen_merkle.py, and the committed json once generated) ------


def _load_generator() -> Callable[[], dict[str, object]]:
    spec = importlib.util.spec_from_file_location("gen_merkle", SPEC_VECTORS / "gen_merkle.py")
    assert spec is not None
    assert spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    generate: Callable[[], dict[str, object]] = module.generate
    return generate


GENERATED = _load_generator()()


def _merkle_cases() -> list[dict[str, Any]]:
    content = GENERATED["merkle.json"]
    assert isinstance(content, dict)
    cases: list[dict[str, Any]] = content["cases"]
    return cases


def test_generator_is_deterministic_and_matches_committed_files() -> None:
    assert _load_generator()() == GENERATED
    for name, content in GENERATED.items():
        path = SPEC_VECTORS / name
        if path.exists():  # written by the lead's driver (spec/vectors/generate.py)
            assert json.loads(path.read_text(encoding="utf-8")) == content


def _check_merkle_case(case: dict[str, Any]) -> None:
    h = bytes.fromhex
    kind = case["kind"]
    if kind == "leaf_hash":
        assert leaf_hash(h(case["entry"])).hex() == case["leaf_hash"]
    elif kind == "node_hash":
        assert node_hash(h(case["left"]), h(case["right"])).hex() == case["hash"]
    elif kind == "root":
        leaves = [leaf_hash(b"entry-%d" % i) for i in range(case["size"])]
        assert root(leaves).hex() == case["root"]
    elif kind == "inclusion":
        verify_inclusion(
            h(case["leaf_hash"]), case["index"], case["size"],
            [h(p) for p in case["proof"]], h(case["root"]),
        )  # fmt: skip
    else:
        assert kind == "consistency"
        verify_consistency(
            case["old_size"], case["new_size"], [h(p) for p in case["proof"]],
            h(case["old_root"]), h(case["new_root"]),
        )  # fmt: skip


@pytest.mark.parametrize("case", _merkle_cases(), ids=lambda c: c["name"])
def test_spec_merkle_vectors(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        _check_merkle_case(case)
    else:
        with pytest.raises(getattr(errors, case["error"])):
            _check_merkle_case(case)


def test_a_wider_tile_stands_in_for_a_narrower_one_in_any_order() -> None:
    full = append_leaves(0, {}, APPEND_LEAVES[:256]).tiles[TileCoord(0, 0)]
    narrow = full[: 32 * 5]
    for tiles in ({TileCoord(0, 0): full, TileCoord(0, 0, 5): narrow},
                  {TileCoord(0, 0, 5): narrow, TileCoord(0, 0): full}):  # fmt: skip
        assert root_from_tiles(5, tiles) == APPEND_REF.mth(0, 5)
        assert root_from_tiles(200, tiles) == APPEND_REF.mth(0, 200)
