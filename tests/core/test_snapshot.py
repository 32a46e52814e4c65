"""Offline snapshots (spec §8): keys, the binary fuse filter, the signed file, chains, vectors.

The properties that matter to a crawler: every member is a hit (no false negatives, ever); the
measured false-positive rate over a million non-members agrees with the rate the header states;
any change to the file, a wrong key or a broken chain is rejected.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import random
import sys
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core import snapshot as snap
from registry.core.checkpoint import Checkpoint
from registry.core.errors import ProtocolError, SnapshotError, UnverifiedNoteError
from registry.core.note import NoteSigner, NoteVerifier, sign_note
from registry.core.snapshot import (
    BinaryFuseFilter,
    Snapshot,
    SnapshotHeader,
    build_filter,
    encode_snapshot,
    make_snapshot,
    open_snapshot,
    parse_snapshot,
    sha256_key,
    split_snapshot,
    subject_key,
    url_key,
    verify_chain,
)

VECTORS = Path(__file__).resolve().parents[2] / "spec" / "vectors"
ORIGIN = "node.test/log"
M64 = (1 << 64) - 1
NODE = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"snapshot test node").digest())
OTHER = NoteSigner.from_seed("other.test/log", hashlib.sha256(b"snapshot test other").digest())
ROOT = hashlib.sha256(b"root").digest()


def _generated() -> dict[str, Any]:
    sys.path.insert(0, str(VECTORS))
    try:
        module = importlib.import_module("gen_snapshots")
    finally:
        sys.path.remove(str(VECTORS))
    result: dict[str, Any] = module.generate()["snapshots.json"]
    return result


def _vector_sets() -> list[dict[str, Any]]:
    sets = [_generated()]
    committed = VECTORS / "snapshots.json"
    if committed.exists():
        sets.append(json.loads(committed.read_text(encoding="utf-8")))
    return sets


def _header(**changes: Any) -> SnapshotHeader:
    values: dict[str, Any] = {
        "origin": ORIGIN,
        "size": 10,
        "root_hash": ROOT,
        "kind": "full",
        "base": 10,
        "previous": 10,
        "category": "train-ai",
        "items": 1,
        "fingerprint_bits": 16,
        "seed": 7,
        "segment_length": 4,
        "segment_count": 1,
        "array_length": 12,
        "filter_sha256": bytes(32),
    }
    values.update(changes)
    return SnapshotHeader(**values)


def _snapshot(keys: list[int], *, size: int = 10, **options: Any) -> bytes:
    fuse = build_filter(keys, seed_material=b"t")
    return make_snapshot(
        origin=ORIGIN, size=size, root_hash=ROOT, fuse=fuse, signers=[NODE], **options
    )


# -- keys (spec §8.2) ---------------------------------------------------------------------------


def test_sha256_key_is_the_first_eight_bytes_big_endian_in_either_form() -> None:
    digest = hashlib.sha256(b"a work").digest()
    assert sha256_key(digest) == int.from_bytes(digest[:8], "big")
    assert sha256_key(digest.hex()) == sha256_key(digest)
    assert subject_key("sha256", digest.hex()) == sha256_key(digest)


def test_url_key_is_a_domain_separated_sha256() -> None:
    url = "https://example.org/a.jpg"
    expected = hashlib.sha256(b"consent-registry/snapshot url\n" + url.encode()).digest()[:8]
    assert url_key(url) == int.from_bytes(expected, "big")
    assert subject_key("url", url) == url_key(url)
    # a work whose bytes are the URL does not collide with the URL
    assert url_key(url) != sha256_key(hashlib.sha256(url.encode()).digest())


@pytest.mark.parametrize(
    ("kind", "value"),
    [
        ("sha256", "AB" * 32),
        ("sha256", "ab" * 31),
        ("sha256", "zz" * 32),
        ("url", "https://example.org/\ud800"),
        ("iscc", "KEC"),
    ],
)
def test_malformed_subjects_are_rejected(kind: str, value: str) -> None:
    with pytest.raises(SnapshotError):
        subject_key(kind, value)


def test_sha256_key_rejects_wrong_length_bytes() -> None:
    with pytest.raises(SnapshotError):
        sha256_key(b"\x00" * 31)


# -- the filter (spec §8.4) ---------------------------------------------------------------------


@settings(max_examples=60, deadline=None)
@given(
    keys=st.lists(st.integers(min_value=0, max_value=M64), max_size=300),
    bits=st.sampled_from([8, 16]),
    material=st.binary(max_size=8),
)
def test_no_false_negatives_ever(keys: list[int], bits: int, material: bytes) -> None:
    fuse = build_filter(keys, fingerprint_bits=bits, seed_material=material)
    assert fuse.items == len(set(keys))
    assert all(fuse.contains(k) for k in keys)


def test_no_false_negatives_at_scale_and_boundary_keys() -> None:
    rng = random.Random(5)
    keys = [0, M64, 1, M64 - 1] + [rng.getrandbits(64) for _ in range(20_000)]
    fuse = build_filter(keys, fingerprint_bits=8)
    assert all(fuse.contains(k) for k in keys)
    assert 9.0 < fuse.bits_per_entry < 10.5  # ~1.125 slots of 8 bits per key


@pytest.mark.parametrize(("bits", "slack_sigmas"), [(8, 6), (16, 6)])
def test_measured_fpr_over_a_million_non_members_agrees_with_the_stated_rate(
    bits: int, slack_sigmas: int
) -> None:
    rng = random.Random(bits)
    members = {rng.getrandbits(64) for _ in range(10_000)}
    fuse = build_filter(members, fingerprint_bits=bits, seed_material=b"fpr")
    trials = 1_000_000
    contains = fuse.contains
    hits = 0
    for _ in range(trials):
        key = rng.getrandbits(64)
        if key not in members and contains(key):
            hits += 1
    expected = trials * fuse.fpr
    sigma = (expected * (1 - fuse.fpr)) ** 0.5
    assert fuse.fpr == 2.0**-bits
    assert expected - slack_sigmas * sigma <= hits <= expected + slack_sigmas * sigma


def test_empty_filter_holds_nothing_and_has_no_bytes() -> None:
    fuse = build_filter([], fingerprint_bits=8)
    assert (fuse.items, fuse.array_length, fuse.data, fuse.bits_per_entry) == (0, 0, b"", 0.0)
    assert not fuse.contains(0)


def test_construction_depends_only_on_the_set_of_keys() -> None:
    keys = [random.Random(1).getrandbits(64) for _ in range(500)]
    a = build_filter(keys, seed_material=b"m")
    b = build_filter([*reversed(keys), *keys[:10]], seed_material=b"m")
    assert (a.seed, a.data) == (b.seed, b.data)
    assert build_filter(keys, seed_material=b"n").seed != a.seed


def test_a_failed_peel_retries_with_the_next_seed() -> None:
    # spec §8.4.3: find seed material whose first seed does not peel; the builder moves on
    rng = random.Random(9)
    keys = sorted({rng.getrandbits(64) for _ in range(200)})
    length, count, _ = snap._sizing(len(keys))
    for i in range(2000):
        material = b"retry %d" % i
        if snap._try_build(keys, snap._seed(material, 0), length, count, 8) is None:
            break
    else:  # pragma: no cover - a failing seed exists among 2000 with overwhelming odds
        pytest.fail("no failing first seed found")
    fuse = build_filter(keys, fingerprint_bits=8, seed_material=material)
    assert fuse.seed != snap._seed(material, 0)
    assert all(fuse.contains(k) for k in keys)


def test_too_small_an_array_does_not_peel() -> None:
    keys = list(range(100))
    assert snap._try_build(keys, 1, 4, 1, 8) is None


def test_sizing_clamps_the_segment_length() -> None:
    assert snap._sizing(0) == (0, 0, 0)
    assert snap._sizing(1) == (4, 1, 12)
    length, count, array_length = snap._sizing(10**9)
    assert length == 1 << 18
    assert array_length == (count + 2) * length


@pytest.mark.parametrize(("keys", "bits"), [([-1], 16), ([1 << 64], 16), ([1], 12), ([1], 32)])
def test_build_filter_rejects_bad_keys_and_widths(keys: list[int], bits: int) -> None:
    with pytest.raises(SnapshotError):
        build_filter(keys, fingerprint_bits=bits)


FILTER_ARGS = {
    "fingerprint_bits": 8,
    "seed": 0,
    "items": 1,
    "segment_length": 4,
    "segment_count": 1,
    "array_length": 12,
    "data": bytes(12),
}


@pytest.mark.parametrize(
    "changes",
    [
        {"fingerprint_bits": 4},
        {"items": -1},
        {"items": snap.MAX_ITEMS + 1},
        {"items": 0},  # an empty filter has zero parameters
        {"segment_length": 2},
        {"segment_length": 1 << 19},
        {"segment_length": 6, "array_length": 18, "data": bytes(18)},
        {"segment_count": 0, "array_length": 8, "data": bytes(8)},
        {"array_length": 16, "data": bytes(16)},
        {
            "segment_length": 1 << 18,
            "segment_count": 1 << 14,
            "array_length": ((1 << 14) + 2) << 18,
            "data": b"",
        },
        {"items": 13},
        {"seed": -1},
        {"seed": 1 << 64},
        {"data": bytes(11)},
        {"fingerprint_bits": 16},  # 12 bytes, but 16-bit slots need 24
    ],
)
def test_filter_parameters_are_checked(changes: dict[str, Any]) -> None:
    with pytest.raises(SnapshotError):
        BinaryFuseFilter(**{**FILTER_ARGS, **changes})


# -- header (spec §8.3) ---------------------------------------------------------------------------


def test_header_text_round_trips_for_full_and_delta() -> None:
    full = _header()
    delta = _header(kind="delta", base=4, previous=8)
    assert (full.name, delta.name) == ("full-10", "delta-8-10")
    assert SnapshotHeader.from_text(full.to_text()) == full
    assert SnapshotHeader.from_text(delta.to_text()) == delta
    assert "kind delta 4 8\n" in delta.to_text()
    assert full.fpr == 2.0**-16
    # the second line is not a decimal: never a valid checkpoint (spec §8.3)
    assert full.to_text().split("\n")[1].startswith("origin ")


@pytest.mark.parametrize(
    "changes",
    [
        {"origin": ""},
        {"origin": "a b"},
        {"origin": "a\x01"},
        {"size": -1},
        {"size": 1 << 63},
        {"root_hash": b"x"},
        {"base": 9},
        {"kind": "delta", "base": 5, "previous": 4},
        {"kind": "delta", "base": 10, "previous": 10},
        {"kind": "delta", "base": -1, "previous": 1},
        {"kind": "other"},
        {"category": "Train"},
        {"items": 0},
        {"seed": 1 << 64},
        {"filter_sha256": b"short"},
    ],
)
def test_header_fields_are_validated(changes: dict[str, Any]) -> None:
    with pytest.raises(SnapshotError):
        _header(**changes)


def _mutate(line_index: int, new: str | None) -> str:
    lines = _header().to_text().split("\n")
    if new is None:
        del lines[line_index]
    else:
        lines[line_index] = new
    return "\n".join(lines)


@pytest.mark.parametrize(
    "text",
    [
        _header().to_text()[:-1],
        _header().to_text() + "extra\n",
        _mutate(0, "consent-registry/snapshot/v2"),
        _mutate(1, "origin"),
        _mutate(1, "source node.test/log"),
        _mutate(2, "size 010"),
        _mutate(2, "size 1e3"),
        _mutate(3, "root not-base64"),
        _mutate(4, "kind partial"),
        _mutate(4, "kind delta 1"),
        _mutate(4, "kind delta 01 2"),
        _mutate(7, "filter xor 16"),
        _mutate(7, "filter binary-fuse-3 8"),  # fpr line still says 1/65536
        _mutate(8, "seed 0000000000000007 "),
        _mutate(8, "seed 7"),
        _mutate(13, "filter-sha256 00"),
        _mutate(13, "filter-sha256 " + "A" * 64),
    ],
)
def test_header_parsing_is_strict(text: str) -> None:
    with pytest.raises(SnapshotError):
        SnapshotHeader.from_text(text)


# -- files, signatures and verification (spec §8.5, §8.6) -------------------------------------


def test_open_snapshot_verifies_and_answers_lookups() -> None:
    digest = hashlib.sha256(b"reserved work").digest()
    url = "https://example.org/reserved.jpg"
    data = _snapshot([sha256_key(digest), url_key(url)])
    snapshot = open_snapshot(data, NODE.verifier)
    assert snapshot.name == "full-10"
    assert snapshot.header.items == 2
    assert snapshot.contains_sha256(digest)
    assert snapshot.contains_sha256(digest.hex())
    assert snapshot.contains_url(url)
    assert snapshot.contains_key(sha256_key(digest))
    header, note, filter_bytes = parse_snapshot(data)
    assert header == snapshot.header
    assert encode_snapshot(note, filter_bytes) == data


def test_every_byte_of_the_file_is_protected() -> None:
    data = _snapshot([1, 2, 3])
    for position in range(len(data)):
        tampered = bytearray(data)
        tampered[position] ^= 0x01
        with pytest.raises(ProtocolError):
            open_snapshot(bytes(tampered), NODE.verifier)
    with pytest.raises(SnapshotError):
        open_snapshot(data + b"\x00", NODE.verifier)


def test_wrong_key_is_rejected() -> None:
    data = _snapshot([1])
    with pytest.raises(UnverifiedNoteError):
        open_snapshot(data, OTHER.verifier)
    same_name = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"impostor").digest())
    with pytest.raises(UnverifiedNoteError):
        open_snapshot(data, same_name.verifier)


def test_origin_must_be_the_key_name_and_category_the_expected_one() -> None:
    fuse = build_filter([1])
    impostor = make_snapshot(
        origin="elsewhere.test/log", size=1, root_hash=ROOT, fuse=fuse, signers=[NODE]
    )
    with pytest.raises(SnapshotError, match="signed by key"):
        open_snapshot(impostor, NODE.verifier)
    search = make_snapshot(
        origin=ORIGIN, size=1, root_hash=ROOT, fuse=fuse, signers=[NODE], category="search"
    )
    with pytest.raises(SnapshotError, match="reservations"):
        open_snapshot(search, NODE.verifier)
    assert open_snapshot(search, NODE.verifier, category="search").header.category == "search"


def test_cosigned_snapshot_opens_with_the_node_key() -> None:
    fuse = build_filter([5, 6])
    data = make_snapshot(origin=ORIGIN, size=3, root_hash=ROOT, fuse=fuse, signers=[NODE, OTHER])
    assert open_snapshot(data, NODE.verifier).contains_key(5)


def test_binding_to_a_checkpoint() -> None:
    data = _snapshot([1], size=10)
    assert open_snapshot(data, NODE.verifier, checkpoint=Checkpoint(ORIGIN, 10, ROOT))
    assert open_snapshot(data, NODE.verifier, checkpoint=Checkpoint(ORIGIN, 11, bytes(32)))
    with pytest.raises(SnapshotError, match="disagree"):
        open_snapshot(data, NODE.verifier, checkpoint=Checkpoint(ORIGIN, 10, bytes(32)))
    with pytest.raises(SnapshotError, match="another log"):
        open_snapshot(data, NODE.verifier, checkpoint=Checkpoint("x.test/log", 10, ROOT))


def test_filter_hash_mismatch_is_a_snapshot_error() -> None:
    note, filter_bytes = split_snapshot(_snapshot([1, 2]))
    other = bytearray(filter_bytes)
    other[-1] ^= 0xFF
    with pytest.raises(SnapshotError, match="filter-sha256"):
        open_snapshot(encode_snapshot(note, bytes(other)), NODE.verifier)


@pytest.mark.parametrize(
    "data",
    [b"", b"\x00\x00\x00", b"\x00\x00\x00\x00abc", b"\x00\x01\x00\x01" + b"x" * 10,
     b"\x00\x00\x00\x10short"],
)  # fmt: skip
def test_container_errors(data: bytes) -> None:
    with pytest.raises(SnapshotError):
        split_snapshot(data)


@pytest.mark.parametrize("note", [b"", b"x" * (snap.MAX_NOTE_BYTES + 1)])
def test_encode_snapshot_bounds_the_note(note: bytes) -> None:
    with pytest.raises(SnapshotError):
        encode_snapshot(note, b"")


def test_a_checkpoint_note_is_not_a_snapshot() -> None:
    checkpoint = sign_note(Checkpoint(ORIGIN, 10, ROOT).to_text(), [NODE])
    with pytest.raises(SnapshotError):
        open_snapshot(encode_snapshot(checkpoint, b""), NODE.verifier)


# -- chains (spec §8.7) ------------------------------------------------------------------------


def _opened(keys: list[int], size: int, **options: Any) -> Snapshot:
    category = options.get("category", "train-ai")
    return open_snapshot(_snapshot(keys, size=size, **options), NODE.verifier, category=category)


def test_a_chain_holds_the_union_of_its_filters() -> None:
    full = _opened([1, 2], 10)
    delta = _opened([3], 12, kind="delta", base=10, previous=10)
    empty = _opened([], 15, kind="delta", base=10, previous=12)
    chain = verify_chain([full, delta, empty])
    assert (chain.size, chain.root_hash) == (15, ROOT)
    assert all(chain.contains_key(k) for k in (1, 2, 3))
    assert chain.fpr == 2 * 2.0**-16  # the empty delta answers no for everything
    digest = hashlib.sha256(b"w").digest()
    url = "https://example.org/u"
    chain2 = verify_chain(
        [full, _opened([sha256_key(digest), url_key(url)], 11, kind="delta", base=10, previous=10)]
    )
    assert chain2.contains_sha256(digest)
    assert chain2.contains_url(url)


def test_broken_chains_are_rejected() -> None:
    full = _opened([1], 10)
    delta = _opened([3], 12, kind="delta", base=10, previous=10)
    skipping = _opened([4], 14, kind="delta", base=10, previous=12)
    other_base = _opened([4], 14, kind="delta", base=9, previous=10)
    search = _opened([4], 13, kind="delta", base=10, previous=12, category="search")
    cases = [
        [],
        [delta],
        [full, _opened([2], 12)],
        [full, skipping],
        [full, other_base],
        [full, delta, search],
    ]
    for snapshots in cases:
        with pytest.raises(SnapshotError):
            verify_chain(snapshots)


# -- vectors -------------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "vectors", _vector_sets(), ids=["generated", "committed"][: len(_vector_sets())]
)
def test_vectors(vectors: dict[str, Any]) -> None:
    cases = {case["name"]: case for case in vectors["cases"]}
    opened: dict[str, Snapshot] = {}
    kinds = set()
    for case in vectors["cases"]:
        kinds.add(case["kind"])
        if case["kind"] == "key":
            assert f"{subject_key(*case['subject']):016x}" == case["key"]
        elif case["kind"] == "filter":
            fuse = BinaryFuseFilter(
                fingerprint_bits=case["fingerprint_bits"],
                seed=int(case["seed"], 16),
                items=case["items"],
                segment_length=case["segment_length"],
                segment_count=case["segment_count"],
                array_length=case["array_length"],
                data=bytes.fromhex(case["filter"]),
            )
            for lookup in case["lookups"]:
                assert fuse.contains(int(lookup["key"], 16)) is lookup["hit"]
                assert lookup["hit"] or not lookup["member"]
            built = build_filter(
                [int(k, 16) for k in case["keys"]],
                fingerprint_bits=case["fingerprint_bits"],
                seed_material=bytes.fromhex(case["seed_material"]),
            )
            assert built.data.hex() == case["filter"]
        elif case["kind"] == "snapshot":
            verifier = NoteVerifier.from_vkey(case["verifier_key"])
            data = bytes.fromhex(case["file"])
            if case.get("result") == "invalid":
                with pytest.raises(ProtocolError) as info:
                    open_snapshot(data, verifier)
                assert type(info.value).__name__ == case["error"]
                continue
            snapshot = open_snapshot(data, verifier)
            opened[case["name"]] = snapshot
            assert snapshot.header.to_text() == case["header"]
            assert snapshot.name == case["name_on_server"]
            for lookup in case["lookups"]:
                hit = snapshot.contains_key(subject_key(*lookup["subject"]))
                assert hit is lookup["hit"]
                assert hit or not lookup["member"]
        else:
            chain = [opened[name] for name in case["snapshots"]]
            if case.get("result") == "invalid":
                with pytest.raises(SnapshotError):
                    verify_chain(chain)
            else:
                assert verify_chain(chain).size == case["size"]
    assert kinds == {"key", "filter", "snapshot", "chain"}
    assert "snapshot-wrong-key" in cases
