"""Levels files (spec §8.10): a snapshot's hits resolved under each policy, signed and bound.

What matters to a crawler: a row says what the node answers under each policy with the claims'
levels and evidence; a hit without a row has the default answer; the file verifies only with the
node's key and only beside the snapshot it was made for; every malformed body is refused.
"""

from __future__ import annotations

import hashlib
import importlib
import json
import sys
from pathlib import Path
from typing import Any

import pytest

from registry.core.encoding import b64encode
from registry.core.errors import ProtocolError, SnapshotError, UnverifiedNoteError
from registry.core.keys import PrivateKey
from registry.core.levels import (
    DEFAULT_RESERVED,
    LevelClaim,
    LevelRow,
    LevelsHeader,
    MirroredSize,
    SnapshotLevels,
    delta_rows,
    encode_levels_body,
    level_rows,
    make_levels,
    merge_levels,
    open_levels,
    parse_levels_body,
    row_of,
    subject_row,
)
from registry.core.note import NoteSigner, NoteVerifier
from registry.core.records import (
    Binding,
    encode_record,
    load_entry,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
    sign_record,
)
from registry.core.snapshot import (
    build_filter,
    make_snapshot,
    open_snapshot,
    split_snapshot,
    url_key,
)
from registry.core.state import Subject
from registry.core.trust import POLICIES, TrustState

ORIGIN = "node.test/log"
NODE = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"levels test node").digest())
OTHER = NoteSigner.from_seed(ORIGIN, hashlib.sha256(b"levels test impostor").digest())
ROOT = hashlib.sha256(b"root").digest()
NODE_KEY = PrivateKey.from_seed(hashlib.sha256(b"levels node did").digest())
PLATFORM = PrivateKey.from_seed(hashlib.sha256(b"levels platform").digest()).public_key.did
NODE_OF_VECTORS = NoteSigner.from_seed(
    "node.example.org/log",
    hashlib.sha256(b"consent-registry vector seed: snapshot node").digest(),
).verifier
ID = [f"{i:064x}" for i in range(1, 10)]


def _snapshot(keys: list[int], size: int = 5) -> Any:
    fuse = build_filter(keys, seed_material=ROOT)
    data = make_snapshot(origin=ORIGIN, size=size, root_hash=ROOT, fuse=fuse, signers=[NODE])
    return open_snapshot(data, NODE.verifier)


def _claim(**changes: Any) -> LevelClaim:
    values: dict[str, Any] = {
        "declaration_id": ID[0],
        "levels": ("domain:owner.example", "platform:pics"),
        "evidence": (ID[1], ID[2]),
        "preference": "y",
        "counted_verified": True,
        "disputed_by": (),
    }
    values.update(changes)
    return LevelClaim(**values)


ROWS = (
    LevelRow(
        key=7,
        reserved=frozenset({"any"}),
        claims=(
            _claim(),
            _claim(
                declaration_id=ID[3],
                levels=(),
                evidence=(),
                preference="n",
                counted_verified=False,
                disputed_by=(ID[4], ID[5]),
            ),
        ),
    ),
    LevelRow(key=3, reserved=frozenset()),
    LevelRow(
        key=2**64 - 1,
        reserved=frozenset(POLICIES),
        claims=(_claim(declaration_id=ID[6], preference=None, counted_verified=True),),
    ),
)


def test_body_round_trips_sorted_by_key_with_shared_level_sets() -> None:
    body = encode_levels_body(ROWS)
    rows = parse_levels_body(body)
    assert [r.key for r in rows] == [3, 7, 2**64 - 1]
    assert rows[1] == ROWS[0]
    assert rows[2] == ROWS[2]
    assert rows[1].claims[0].level == "domain:owner.example"
    assert rows[1].claims[1].level == "none"
    # the two verified claims share one level set: 2 sets in all (verified, none)
    assert int.from_bytes(body[:4], "big") == 2
    assert encode_levels_body(reversed(ROWS)) == body
    assert parse_levels_body(encode_levels_body([])) == ()


def test_claims_count_under_each_policy() -> None:
    verified, stranger = ROWS[0].claims
    assert [verified.counted(p) for p in POLICIES] == [True, True, True]
    assert [stranger.counted(p) for p in POLICIES] == [True, False, False]


def test_default_rows() -> None:
    assert LevelRow(key=1, reserved=DEFAULT_RESERVED).is_default()
    plain = _claim(levels=(), evidence=(), counted_verified=True)
    assert LevelRow(key=1, reserved=DEFAULT_RESERVED, claims=(plain,)).is_default()
    assert not LevelRow(key=1, reserved=frozenset({"any"})).is_default()
    assert not LevelRow(key=1, reserved=DEFAULT_RESERVED, claims=(_claim(),)).is_default()
    disputed = _claim(levels=(), evidence=(), disputed_by=(ID[4],))
    assert not LevelRow(key=1, reserved=DEFAULT_RESERVED, claims=(disputed,)).is_default()


@pytest.mark.parametrize(
    "rows",
    [
        [LevelRow(key=1, reserved=frozenset()), LevelRow(key=1, reserved=frozenset())],
        [LevelRow(key=1, reserved=frozenset(), claims=(_claim(), _claim()))],
        [LevelRow(key=-1, reserved=frozenset())],
        [LevelRow(key=1, reserved=frozenset(), claims=(_claim(declaration_id="zz"),))],
        [LevelRow(key=1, reserved=frozenset(), claims=(_claim(preference="x"),))],
        [LevelRow(key=1, reserved=frozenset(), claims=(_claim(levels=("none",)),))],
        [LevelRow(key=1, reserved=frozenset(), claims=(_claim(levels=("domain:é",)),))],
    ],
)
def test_rows_that_cannot_be_encoded(rows: list[LevelRow]) -> None:
    with pytest.raises(SnapshotError):
        encode_levels_body(rows)


def _u(n: int, width: int) -> bytes:
    return n.to_bytes(width, "big")


def _set(levels: list[bytes], evidence: list[bytes]) -> bytes:
    return (
        _u(len(levels), 2)
        + b"".join(_u(len(x), 2) + x for x in levels)
        + _u(len(evidence), 2)
        + b"".join(evidence)
    )


def _body(
    sets: list[bytes], claims: list[bytes], rows: list[bytes], trailing: bytes = b""
) -> bytes:
    return (
        _u(len(sets), 4)
        + b"".join(sets)
        + _u(len(claims), 4)
        + b"".join(claims)
        + _u(len(rows), 4)
        + b"".join(rows)
        + trailing
    )


R1, R2 = bytes([1] * 32), bytes([2] * 32)
NONE_SET = _set([], [])
DOMAIN_SET = _set([b"domain:a.example"], [R1])


def _claim_bytes(rid: bytes = R1, index: int = 0, flags: int = 2, disputes: bytes = b"") -> bytes:
    return rid + _u(index, 4) + bytes([flags]) + _u(len(disputes) // 32, 2) + disputes


def _row(key: int, bits: int = 1, count: int = 1) -> bytes:
    return _u(key, 8) + bytes([bits]) + _u(count, 2)


def test_a_hand_made_body_parses() -> None:
    body = _body([NONE_SET, DOMAIN_SET], [_claim_bytes(index=1, flags=6)], [_row(9, 7)])
    (row,) = parse_levels_body(body)
    assert row.key == 9
    assert row.reserved == frozenset(POLICIES)
    assert row.claims[0].levels == ("domain:a.example",)
    assert row.claims[0].preference == "n"


@pytest.mark.parametrize(
    "body",
    [
        b"",
        _body([NONE_SET], [], [], trailing=b"\0"),
        _body([DOMAIN_SET, NONE_SET], [], []),  # sets out of order
        _body([NONE_SET, NONE_SET], [], []),  # a set repeated
        _body([_set([b"none"], [R1])], [], []),
        _body([_set([b"domain:a b"], [R1])], [], []),
        _body([_set([b"platform:p", b"domain:a.example"], [R1])], [], []),
        _body([_set([b"domain:a.example", b"domain:a.example"], [R1])], [], []),
        _body([_set([b"domain:a.example"], [])], [], []),
        _body([_set([], [R1])], [], []),
        _body([_set([b"domain:a.example"], [R2, R1])], [], []),
        _body([NONE_SET], [_claim_bytes(index=1)], [_row(1)]),
        _body([NONE_SET], [_claim_bytes(flags=3)], [_row(1)]),
        _body([NONE_SET], [_claim_bytes(flags=8)], [_row(1)]),
        _body([NONE_SET], [_claim_bytes(disputes=R2 + R1)], [_row(1)]),
        _body([NONE_SET], [_claim_bytes()], [_row(1, count=2)]),
        _body([NONE_SET], [_claim_bytes()], [_row(1, count=0)]),
        _body([NONE_SET], [_claim_bytes(R2), _claim_bytes(R1)], [_row(1, count=2)]),
        _body([], [], [_row(2, count=0), _row(1, count=0)]),
        _body([], [], [_row(1, count=0), _row(1, count=0)]),
        _body([], [], [_row(1, bits=8, count=0)]),
    ],
)
def test_malformed_bodies_are_refused(body: bytes) -> None:
    with pytest.raises(SnapshotError):
        parse_levels_body(body)


def test_open_levels_verifies_and_binds_to_its_snapshot() -> None:
    snapshot = _snapshot([3, 7, 2**64 - 1])
    platforms = {PLATFORM: "pics"}
    data = make_levels(
        snapshot.header, ROWS, signers=[NODE], nodes=[NODE_KEY.public_key.did], platforms=platforms
    )
    levels = open_levels(data, NODE.verifier, snapshot)
    assert levels.header.nodes == (NODE_KEY.public_key.did,)
    assert levels.header.platforms == (("pics", PLATFORM),)
    assert levels.header.snapshot == "full-5"
    assert levels.row(7) == ROWS[0]
    assert levels.row(8) is None
    assert levels.row(2**64) is None
    assert levels.reserved(7, "any")
    assert not levels.reserved(7, "verified")
    assert levels.reserved(4, "verified")
    assert not levels.reserved(4, "verified-only")
    # another snapshot, another key, a changed byte: refused
    with pytest.raises(SnapshotError, match="not bound"):
        open_levels(data, NODE.verifier, _snapshot([3, 7], size=6))
    with pytest.raises(UnverifiedNoteError):
        open_levels(data, OTHER.verifier, snapshot)
    with pytest.raises(SnapshotError, match="body-sha256"):
        open_levels(data[:-1] + bytes([data[-1] ^ 1]), NODE.verifier, snapshot)


def test_a_levels_file_names_the_mirrored_logs_its_answers_count() -> None:
    """spec §8.10.2: ``mirror`` lines, sorted by origin whatever order they are given in."""
    snapshot = _snapshot([3, 7])
    peer, other = MirroredSize("peer.example/log", 9, bytes(32)), MirroredSize("b/log", 2, ROOT)
    data = make_levels(snapshot.header, ROWS, signers=[NODE], mirrors=[peer, other])
    levels = open_levels(data, NODE.verifier, snapshot)
    assert levels.header.mirrors == (other, peer)
    assert "\nmirror b/log 2 " in split_snapshot(data)[0].decode()
    assert levels.mirror("peer.example/log") == peer
    assert levels.mirror(ORIGIN) is None
    with pytest.raises(SnapshotError, match="mirror lines"):
        make_levels(snapshot.header, ROWS, signers=[NODE], mirrors=[MirroredSize(ORIGIN, 1, ROOT)])
    with pytest.raises(SnapshotError, match="mirror lines"):
        make_levels(snapshot.header, ROWS, signers=[NODE], mirrors=[peer, peer])


def _delta(keys: list[int], size: int, previous: int) -> Any:
    fuse = build_filter(keys, seed_material=ROOT)
    data = make_snapshot(
        origin=ORIGIN,
        size=size,
        root_hash=ROOT,
        fuse=fuse,
        signers=[NODE],
        kind="delta",
        base=5,
        previous=previous,
    )
    return open_snapshot(data, NODE.verifier)


def test_a_chain_of_levels_files_merges_into_the_answers_at_its_last_size() -> None:
    """spec §8.10.1 item 4, §8.10.5: deltas hold what changed and name the file before."""
    at_full = {r.key: r for r in ROWS}
    full = _snapshot([3, 7])
    full_file = make_levels(full.header, ROWS, signers=[NODE])
    # at the delta: key 7's answer changed, key 3's went back to the default, key 9 is new
    changed = LevelRow(key=7, reserved=frozenset({"verified", "any"}), claims=(_claim(),))
    new = LevelRow(key=9, reserved=frozenset({"verified-only"}))
    at_delta = {k: r for k, r in at_full.items() if k != 3} | {7: changed, 9: new}
    rows = delta_rows(at_full, at_delta)
    assert sorted(r.key for r in rows) == [3, 7, 9]
    assert next(r for r in rows if r.key == 3).is_default()
    delta = _delta([9], 8, 5)
    digest = hashlib.sha256(full_file).digest()
    delta_file = make_levels(delta.header, rows, signers=[NODE], previous=digest)
    files = [
        open_levels(full_file, NODE.verifier, full),
        open_levels(delta_file, NODE.verifier, delta),
    ]
    assert files[1].header.previous == digest == files[0].sha256
    merged = merge_levels(files)
    assert {r.key: r for r in merged.rows} == at_delta
    assert merged.header == files[1].header
    assert delta_rows(at_delta, at_delta) == []
    # the links: a delta's file must name the previous file, a full one's must not
    with pytest.raises(SnapshotError, match="names the previous one"):
        open_levels(make_levels(delta.header, rows, signers=[NODE]), NODE.verifier, delta)
    with pytest.raises(SnapshotError, match="names the previous one"):
        open_levels(
            make_levels(full.header, ROWS, signers=[NODE], previous=digest), NODE.verifier, full
        )
    with pytest.raises(SnapshotError, match="does not follow"):
        merge_levels(files[1:])
    with pytest.raises(SnapshotError, match="does not follow"):
        merge_levels(
            [
                files[0],
                open_levels(
                    make_levels(delta.header, rows, signers=[NODE], previous=bytes(32)),
                    NODE.verifier,
                    delta,
                ),
            ]
        )
    with pytest.raises(SnapshotError, match="at least"):
        merge_levels([])


def _header_text(**changes: str) -> str:
    header = LevelsHeader(
        origin=ORIGIN,
        size=5,
        root_hash=ROOT,
        snapshot="full-5",
        filter_sha256=bytes(32),
        category="train-ai",
        mirrors=(
            MirroredSize("a.example/log", 3, bytes(range(32))),
            MirroredSize("peer.example/log", 12, bytes(32)),
        ),
        nodes=(NODE_KEY.public_key.did,),
        platforms=(("pics", PLATFORM),),
        body_sha256=bytes(32),
    )
    text = header.to_text()
    assert LevelsHeader.from_text(text) == header
    for old, new in changes.items():
        text = text.replace(old, new)
    return text


@pytest.mark.parametrize(
    "text",
    [
        _header_text()[:-1],
        "consent-registry/snapshot/v1\n",
        _header_text(**{"size 5": "size 05"}),
        _header_text(**{"root ": "root !"}),
        _header_text(**{"filter-sha256 " + "0" * 64: "filter-sha256 00"}),
        _header_text(**{"trusted-platform pics": "trusted-platform Pics"}),
        _header_text(**{"trusted-node did:key:": "trusted-node did:web:"}),
        _header_text(**{"trusted-platform pics": "trusted-blah pics"}),
        _header_text(**{"category train-ai\n": "category train-ai\ntrusted-node did:key:z\n"}),
        _header_text(**{"body-sha256": f"trusted-node {NODE_KEY.public_key.did}\nbody-sha256"}),
        _header_text(**{"size 5\n": ""}),
        _header_text(**{"trusted-node": f"trusted-node {NODE_KEY.public_key.did}\ntrusted-node"}),
        # mirror lines (spec §8.10.2): sorted, unique, not the own log, three canonical fields
        _header_text(**{"mirror a.example/log": "mirror q.example/log"}),
        _header_text(**{"mirror a.example/log": "mirror peer.example/log"}),
        _header_text(**{"mirror a.example/log": f"mirror {ORIGIN}"}),
        _header_text(**{"mirror a.example/log 3": "mirror a.example/log 03"}),
        _header_text(**{"mirror a.example/log 3": "mirror a.example/log  3"}),
        _header_text(**{"mirror a.example/log 3 ": "mirror a.example/log 3 x "}),
        _header_text(**{"mirror a.example/log 3 AAEC": "mirror a.example/log 3 AAE"}),
        _header_text(**{"mirror peer.example/log 12 " + "A" * 43 + "=": "mirror x 1 AAAA"}),
        _header_text(**{"category train-ai\nmirror a.example/log": "category train-ai\nmirr"}),
        _header_text(**{"body-sha256": "mirror z.example/log 1 " + "A" * 43 + "=\nbody-sha256"}),
        # previous-levels (spec §8.10.2): 64 lowercase hex digits, just before body-sha256
        _header_text(**{"body-sha256": "previous-levels " + "A" * 64 + "\nbody-sha256"}),
        _header_text(**{"body-sha256": "previous-levels 00\nbody-sha256"}),
        _header_text(**{"trusted-node": "previous-levels " + "0" * 64 + "\ntrusted-node"}),
    ],
)
def test_header_parsing_is_strict(text: str) -> None:
    with pytest.raises(SnapshotError):
        LevelsHeader.from_text(text)


def test_row_of_takes_levels_from_the_core_resolver() -> None:
    """The owner of owner.example (bound) says y, a stranger n (spec §9.7's example)."""
    owner, stranger = (PrivateKey.from_seed(hashlib.sha256(n).digest()) for n in (b"o", b"s"))
    page = "https://owner.example/art/1.png"
    work = new_work(hashlib.sha256(b"image").hexdigest(), urls=[page])
    state = TrustState(nodes=[NODE_KEY.public_key.did])
    binding = Binding(
        v=1,
        node=NODE_KEY.public_key.did,
        origin=ORIGIN,
        domain="owner.example",
        creator=owner.public_key.did,
        issued_at=1767225600,
        evidence="0" * 64,
    )
    records = [
        sign_declaration(
            new_declaration(
                creator=key.public_key.did, issued_at=at, works=[work], prefs={"train-ai": pref}
            ),
            key,
        )
        for key, pref, at in ((owner, "y", 1767225600), (stranger, "n", 1767225660))
    ]
    ids = []
    for record in (*records, sign_record(binding, NODE_KEY)):
        entry = encode_record(record)
        ids.append(record_id(entry))
        state.add(record_id(entry), load_entry(entry), origin=ORIGIN)
    subject: Subject = ("url", page)
    row = row_of(url_key(page), {p: state.resolve(subject, p) for p in POLICIES}, "train-ai")
    assert row.reserved == frozenset({"any"})
    by_id = {c.declaration_id: c for c in row.claims}
    assert by_id[ids[0]].level == "domain:owner.example"
    assert by_id[ids[0]].evidence == (ids[2],)
    assert by_id[ids[0]].counted_verified
    assert not by_id[ids[1]].counted_verified
    assert by_id[ids[1]].preference == "n"
    assert by_id[ids[1]].level == "none"
    with pytest.raises(SnapshotError):
        row_of(1, {"any": state.resolve(subject, "any")}, "train-ai")
    # subject_row: the same row under the subject's key; none for a subject without a key
    resolutions = {p: state.resolve(subject, p) for p in POLICIES}
    assert subject_row(subject, resolutions, "train-ai") == row
    assert subject_row(("sha256", "not a digest"), resolutions, "train-ai") is None


def test_level_rows_drop_default_answers_and_merge_keys_that_collide() -> None:
    """spec §8.10.1 items 3 and 6."""
    verified = LevelClaim("ab" * 32, ("platform:pics",), ("cd" * 32,), "y", True)
    default = LevelRow(
        key=1, reserved=DEFAULT_RESERVED, claims=(LevelClaim("ef" * 32, (), (), "n", True),)
    )
    owned = LevelRow(key=2, reserved=frozenset({"any"}), claims=(verified,))
    shared = [
        LevelRow(key=3, reserved=frozenset({"any"})),
        LevelRow(key=3, reserved=frozenset({"verified-only"})),
    ]
    rows = level_rows([default, owned, *shared])
    assert rows == [owned, LevelRow(key=3, reserved=frozenset({"any", "verified-only"}))]
    # two default rows of one key still merge into the default: no row
    assert level_rows([default, default]) == []


def test_errors_are_protocol_errors() -> None:
    assert issubclass(SnapshotError, ProtocolError)


def _level_vector_sets() -> list[dict[str, Any]]:
    root = Path(__file__).resolve().parents[2] / "spec" / "vectors"
    sys.path.insert(0, str(root))
    try:
        generated = importlib.import_module("gen_snapshots").generate()["snapshot-levels.json"]
    finally:
        sys.path.remove(str(root))
    committed = json.loads((root / "snapshot-levels.json").read_text(encoding="utf-8"))
    return [generated, committed]


def _check_rows(rows: tuple[LevelRow, ...], expected: list[dict[str, Any]]) -> None:
    assert len(rows) == len(expected)
    for row, wanted_row in zip(rows, expected, strict=True):
        assert f"{row.key:016x}" == wanted_row["key"]
        assert sorted(row.reserved) == wanted_row["reserved"]
        for claim, wanted in zip(row.claims, wanted_row["claims"], strict=True):
            assert claim.declaration_id == wanted["declaration"]
            assert (claim.level, list(claim.levels)) == (wanted["level"], wanted["levels"])
            assert list(claim.evidence) == wanted["evidence"]
            assert claim.preference == wanted["preference"]
            assert {p: claim.counted(p) for p in POLICIES} == wanted["counted"]
            assert list(claim.disputed_by) == wanted["disputed_by"]


def _check_lookups(levels: SnapshotLevels, lookups: list[dict[str, Any]]) -> None:
    for lookup in lookups:
        key = int(lookup["key"], 16)
        assert (levels.row(key) is not None) is lookup["row"]
        assert {p: levels.reserved(key, p) for p in POLICIES} == lookup["reserved"]


@pytest.mark.parametrize("vectors", _level_vector_sets(), ids=["generated", "committed"])
def test_vectors(vectors: dict[str, Any]) -> None:
    opened: dict[str, SnapshotLevels] = {}
    for case in vectors["cases"]:
        verifier = NoteVerifier.from_vkey(case["verifier_key"])
        snapshot = open_snapshot(bytes.fromhex(case["snapshot"]), NODE_OF_VECTORS)
        data = bytes.fromhex(case["file"])
        if case.get("result") == "invalid":
            with pytest.raises(ProtocolError) as info:
                open_levels(data, verifier, snapshot)
            assert type(info.value).__name__ == case["error"], case["name"]
            continue
        levels = opened[case["name"]] = open_levels(data, verifier, snapshot)
        assert levels.header.to_text() == case["header"]
        assert [
            {"origin": m.origin, "size": m.size, "root": b64encode(m.root_hash)}
            for m in levels.header.mirrors
        ] == case.get("mirrors", [])
        _check_rows(levels.rows, case["rows"])
        _check_lookups(levels, case["lookups"])
        if "follows" in case:  # a delta's file: the chain's files merged (spec §8.10.5)
            assert levels.header.previous == bytes.fromhex(case["previous_levels"])
            merged = merge_levels([opened[case["follows"]], levels])
            _check_rows(merged.rows, case["merged_rows"])
            _check_lookups(merged, case["merged_lookups"])
