"""The node's snapshot builder and its HTTP resources (spec §8.7, §8.8), on a real log.

Declarations include withdrawals and supersessions; after every refresh, every subject the
node resolves as reserved (a reference ConsentState over the same entries) is a hit of the
verified chain, and the snapshots are bound to the node's signed checkpoints.
"""

from __future__ import annotations

import asyncio
import hashlib
import random
from pathlib import Path

import httpx
import pytest

from registry.app import create_app
from registry.core.checkpoint import open_checkpoint
from registry.core.errors import SnapshotError
from registry.core.levels import SnapshotLevels, open_levels
from registry.core.merkle import EMPTY_ROOT
from registry.core.note import NoteSigner, NoteVerifier
from registry.core.records import (
    decode_record,
    encode_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from registry.core.snapshot import (
    SnapshotChain,
    make_snapshot,
    open_snapshot,
    sha256_key,
    subject_key,
    verify_chain,
)
from registry.core.state import ConsentState
from registry.http.runtime import Node
from registry.indexes.snapshots import (
    SnapshotBuilder,
    SnapshotPolicy,
    SnapshotService,
    load_node_signer,
)
from registry.log import NodeLog
from registry.log.custody import KeyFile
from registry.storage import reserved
from registry.storage.engine import read_snapshot
from registry.storage.federation import FederationStore
from registry.storage.index import ConsentStore
from registry.storage.trustconfig import TrustConfig
from tests.conftest import OpenLog
from tests.node.api_support import (
    BASE_URL,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    submit,
    work_hash,
)

URL = "https://example.org/art/"
PEER = "peer.test/log"


async def _reference(log: NodeLog) -> tuple[int, set[int], set[int]]:
    """(size, keys of reserved subjects, keys of subjects with claims) at the checkpoint."""
    size = open_checkpoint(await log.checkpoint(), _verifier(log)).checkpoint.size
    state = ConsentState()
    async for _, entry in log.entries(0, size):
        state.add(record_id(entry), decode_record(entry), origin=log.origin)
    reserved = {subject_key(*s) for s in state.subjects() if state.resolve(s).reserved()}
    known = {subject_key(*s) for s in state.subjects()}
    return size, reserved, known


def _verifier(log: NodeLog) -> NoteVerifier:
    return NoteVerifier.from_vkey(log.verifier_key)


def _chain(builder: SnapshotBuilder, log: NodeLog) -> SnapshotChain:
    return verify_chain([open_snapshot(s.data, _verifier(log)) for s in builder.chain])


async def _assert_covers(builder: SnapshotBuilder, log: NodeLog) -> SnapshotChain:
    size, reserved, _ = await _reference(log)
    chain = _chain(builder, log)
    assert chain.size == size
    checkpoint = open_checkpoint(await log.checkpoint(), _verifier(log)).checkpoint
    assert chain.root_hash == checkpoint.root_hash
    assert all(chain.contains_key(k) for k in reserved)
    return chain


async def test_builder_follows_withdrawals_supersessions_and_deltas(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile
) -> None:
    a, b, c = creator_key(1), creator_key(2), creator_key(3)
    w = [work_hash(i) for i in range(12)]
    first = [
        declaration(a, [w[0], w[1]], urls=[URL + "0"], issued_at=100),
        declaration(b, [w[2]], issued_at=100),
        declaration(a, [w[3]], prefs={"train-ai": "y"}, issued_at=100),
        declaration(c, [w[4]], issued_at=100),
    ]
    withdraw_w1 = declaration(a, [w[1]], withdraw=True, issued_at=200)
    first.append(withdraw_w1)
    old = declaration(b, [w[5]], issued_at=100)
    first.append(old)
    first.append(declaration(b, [w[5]], prefs={"train-ai": "y"}, issued_at=50,
                             supersedes=[record_id_of(old)]))  # fmt: skip
    await node_log.submit_many(first)

    signer = await load_node_signer(migrated_url, key_file)
    assert signer.verifier.vkey == node_log.verifier_key
    # pages of 3 index rows: a subject's rows may straddle two pages
    policy = SnapshotPolicy(max_deltas=2, min_rebuild_items=100, page=3)
    builder = SnapshotBuilder(signer, policy=policy)
    full = await builder.refresh(node_log)
    assert full is not None
    assert full.name == f"full-{len(first)}"
    assert await builder.refresh(node_log) is None  # nothing new
    chain = await _assert_covers(builder, node_log)
    # reserved: w0, URL0, w2, w4; not: w1 (withdrawn), w3 (allowed), w5 (superseded by a "y")
    assert full.header.items == 4
    hits = sum(chain.contains_sha256(w[i]) for i in (1, 3, 5, 6, 7, 8, 9, 10, 11))
    assert hits == 0  # 2^-16 false-positive odds per lookup

    # a withdrawal that is superseded brings a reservation back (spec §3.5.2); new reserves
    withdraw_w4 = declaration(c, [w[4]], withdraw=True, issued_at=300)
    await node_log.submit(withdraw_w4)
    delta_base = await builder.refresh(node_log)
    assert delta_base is not None
    assert delta_base.header.kind == "delta"
    assert delta_base.header.items == 0
    second = [
        declaration(c, [w[6]], issued_at=10, supersedes=[record_id_of(withdraw_w4)]),
        declaration(a, [w[7]], urls=[URL + "7"], issued_at=400),
        declaration(b, [w[2]], withdraw=True, issued_at=400),  # stale in the chain until rebuild
    ]
    await node_log.submit_many(second)
    delta = await builder.refresh(node_log)
    assert delta is not None
    assert delta.name == f"delta-{delta_base.header.size}-{delta.header.size}"
    assert (delta.header.base, delta.header.previous) == (full.header.size, delta_base.header.size)
    assert delta.header.items == 4  # w4 (again), w6, w7, URL7
    chain = await _assert_covers(builder, node_log)
    assert chain.contains_sha256(w[2])  # withdrawn after the full snapshot: a stale hit
    assert len(builder.chain) == 3

    # max_deltas reached: the next snapshot starts a new chain without the stale subject
    await node_log.submit(declaration(a, [w[8]], issued_at=500))
    rebuilt = await builder.refresh(node_log)
    assert rebuilt is not None
    assert rebuilt.header.kind == "full"
    chain = await _assert_covers(builder, node_log)
    _, reserved, _ = await _reference(node_log)
    assert rebuilt.header.items == len(reserved)
    assert not chain.contains_sha256(w[2])
    assert builder.get(full.name) is not None  # the previous chain is still served
    assert builder.get(delta.name) is not None
    assert builder.get("full-0") is None


async def test_the_builder_keeps_nothing_per_work(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile
) -> None:
    """The builder reads the persistent index at each refresh (ADR 0026): between refreshes
    it keeps its chains and counters, no declaration. Works with a PDQ, crops and an ISCC are
    covered by their SHA-256 and URLs (spec §3.5.1)."""
    owner = creator_key(40)
    crops = [hashlib.sha256(b"crop %d" % i).hexdigest() for i in range(16)]
    image = new_work(
        work_hash(40),
        pdq="ab" * 32,
        pdq_quality=90,
        pdq_variants=crops,
        urls=[URL + "40"],
        media_type="image/png",
    )
    text = new_work(work_hash(41), iscc="ISCC:KACYPXW445FTYNJ3", media_type="text/plain")
    plain = new_work(work_hash(42))
    entries = [
        encode_record(sign_declaration(new_declaration(creator=owner.public_key.did,
            issued_at=100, works=works, prefs={"train-ai": "n"}), owner))
        for works in ([image, text], [plain])
    ]  # fmt: skip
    await node_log.submit_many(entries)
    builder = SnapshotBuilder(await load_node_signer(migrated_url, key_file), trust=TrustConfig)
    full = await builder.refresh(node_log)
    assert full is not None
    chain = await _assert_covers(builder, node_log)  # the reference keeps the whole records
    assert all(chain.contains_sha256(work_hash(i)) for i in (40, 41, 42))
    assert chain.contains_url(URL + "40")
    assert full.header.items == 4
    # between refreshes: the chains (tuples) and counters; no collection holds anything (no
    # subject is revivable, none is marked so the last levels rows are none)
    held = {k: v for k, v in vars(builder).items() if isinstance(v, dict | set | list) and v}
    assert held == {}
    assert builder.revivable == set()


async def test_a_restarted_builder_publishes_the_same_files(
    open_log: OpenLog, migrated_url: str, key_file: KeyFile
) -> None:
    """A builder started over a log that already has entries (a restarted node, or a new
    federation leader) reads the index and publishes a full snapshot at the log's size; at the
    size of an earlier full snapshot it is the same file (spec §8.6: a name determines it)."""
    log = await open_log()
    a, b = creator_key(60), creator_key(61)
    w = [work_hash(600 + i) for i in range(6)]
    old = declaration(a, [w[0], w[1]], issued_at=100)
    await log.submit_many(
        [
            old,
            declaration(b, [w[2]], urls=[URL + "2"], issued_at=100),
            declaration(a, [w[5]], prefs={"train-ai": "y"}, issued_at=100),
            declaration(b, [w[5]], issued_at=100),  # two claims: any "n" wins (spec §3.5.4)
        ]
    )
    signer = await load_node_signer(migrated_url, key_file)
    first = SnapshotBuilder(signer)
    full = await first.refresh(log)
    assert full is not None
    await log.close()

    log = await open_log()  # the node restarts: a new builder over the same database
    second = SnapshotBuilder(signer)
    same = await second.refresh(log)
    assert same is not None
    assert (same.name, same.data) == (full.name, full.data)
    await log.submit_many(
        [
            declaration(a, [w[0]], prefs={"train-ai": "y"}, supersedes=[record_id_of(old)]),
            declaration(b, [w[3]], issued_at=200),
        ]
    )
    for builder in (first, second):
        delta = await builder.refresh(log)
        assert delta is not None
        assert delta.header.kind == "delta"
        assert delta.header.items == 1  # w3; w0 and w1 left the reserved set (stale hits)
    assert first.chain[-1].data == second.chain[-1].data

    third = SnapshotBuilder(signer)  # and once more, after the log grew
    again = await third.refresh(log)
    assert again is not None
    assert again.name == f"full-{first.size}"
    _, reserved, _ = await _reference(log)
    assert again.header.items == len(reserved) == 4  # w2, URL2, w3, w5
    chain = await _assert_covers(third, log)
    assert not chain.contains_sha256(w[0])
    assert not chain.contains_sha256(w[1])


async def test_a_node_that_mirrors_a_peer_publishes_its_own_log_only(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile
) -> None:
    """spec §8.1 item 6: a snapshot covers the own log, resolved over the own log's
    declarations only, although the node's index (and its online answer) resolves over the
    mirrored log too (spec §3.5.5)."""
    a, b, c = creator_key(70), creator_key(71), creator_key(72)
    w = [work_hash(700 + i) for i in range(8)]
    kept = declaration(a, [w[0]], issued_at=100)
    both = declaration(c, [w[4]], issued_at=100)
    await node_log.submit_many([kept, declaration(b, [w[1]], issued_at=100), both])
    peer = [
        declaration(c, [w[2]], urls=[URL + "2"], issued_at=100),  # reserved in the peer only
        declaration(a, [w[0]], withdraw=True, issued_at=200),  # withdrawn in the peer only
        declaration(b, [w[1]], prefs={"train-ai": "y"}, supersedes=[]),  # a later "y" there
        both,  # in both logs: it counts for the own log
        declaration(a, [w[3]], issued_at=100),  # then superseded in the peer only:
    ]
    peer.append(declaration(a, [w[3]], prefs={"train-ai": "y"}, issued_at=50,
                            supersedes=[record_id_of(peer[-1])]))  # fmt: skip
    store = FederationStore(node_log.engine)
    await store.init_mirror(PEER, EMPTY_ROOT)
    rows = [(i, record_id_of(entry), entry) for i, entry in enumerate(peer)]
    assert await store.write_chunk(PEER, 0, len(peer), rows, [])
    assert await store.commit_mirror(PEER, 0, len(peer), b"r" * 32, b"note")
    # the node's online answer, over both logs: w0 withdrawn, w1 "y" (later), w2 reserved
    online = await ConsentStore(node_log.engine).resolve_many_sha256(w[:4])
    assert [r.reserved() for r in online] == [False, False, True, False]

    # pages of 2 index rows: w0, w1, w3 have 2 mentions each, a page of their own
    policy = SnapshotPolicy(page=2)
    builder = SnapshotBuilder(await load_node_signer(migrated_url, key_file), policy=policy)
    full = await builder.refresh(node_log)
    assert full is not None
    chain = await _assert_covers(builder, node_log)
    assert full.header.items == 3  # w0, w1, w4 of the own log
    assert not chain.contains_sha256(w[2])
    assert not chain.contains_url(URL + "2")
    assert all(chain.contains_sha256(w[i]) for i in (0, 1, 4))
    assert not chain.contains_sha256(w[3])  # reserved in the peer only, then superseded

    # a delta: the own log reserves w3 and w2, withdraws w4; the peer's entries change nothing
    await node_log.submit_many(
        [declaration(a, [w[3]], issued_at=300), declaration(c, [w[2], w[4]], withdraw=True,
         issued_at=300), declaration(c, [w[5]], issued_at=300)]
    )  # fmt: skip
    delta = await builder.refresh(node_log)
    assert delta is not None
    assert delta.header.kind == "delta"
    assert delta.header.items == 2  # w3, w5 (w2 and w4 are withdrawn in the own log)
    chain = await _assert_covers(builder, node_log)
    assert chain.contains_sha256(w[3])
    assert chain.contains_sha256(w[5])
    rebuilt = await SnapshotBuilder(builder.signer).refresh(node_log)
    assert rebuilt is not None
    _, reserved, _ = await _reference(node_log)
    assert rebuilt.header.items == len(reserved) == 4  # w0, w1, w3, w5


async def test_stale_subjects_trigger_a_rebuild(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile
) -> None:
    a = creator_key(4)
    hashes = [work_hash(100 + i) for i in range(10)]
    await node_log.submit(declaration(a, hashes, issued_at=100))
    policy = SnapshotPolicy(fingerprint_bits=8, rebuild_fraction=0.2, min_rebuild_items=1)
    builder = SnapshotBuilder(await load_node_signer(migrated_url, key_file), policy=policy)
    assert (await builder.refresh(node_log)) is not None
    await node_log.submit(declaration(a, hashes[:3], withdraw=True, issued_at=200))
    again = await builder.refresh(node_log)
    assert again is not None
    assert again.header.kind == "full"  # 3 stale of 10 > 20 %
    assert again.header.items == 7
    assert again.header.fingerprint_bits == 8
    await _assert_covers(builder, node_log)


async def test_empty_log_has_an_empty_full_snapshot(
    open_log: OpenLog, migrated_url: str, key_file: KeyFile
) -> None:
    log = await open_log()
    builder = SnapshotBuilder(await load_node_signer(migrated_url, key_file))
    published = await builder.refresh(log)
    assert published is not None
    assert (published.name, published.header.items, published.header.array_length) == (
        "full-0",
        0,
        0,
    )
    assert not _chain(builder, log).contains_sha256(work_hash(1))


async def test_snapshots_over_http(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path / "data")
    app = create_app(settings)  # wired by the app itself (spec §6.13)
    async with app.lifespan():
        node: Node = app.state.node
        service: SnapshotService = app.state.snapshots
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            info = (await client.get("/.well-known/consent-registry")).json()
            assert info["endpoints"]["snapshots"] == "/v1/snapshots"
            await _exercise(client, service, node)


async def test_workers_list_the_leaders_chain(database_url: str, tmp_path: Path) -> None:
    """Two workers over one database: only the federation leader builds; the other serves the
    chain the leader shares in the data directory, so both list the same names and bytes."""
    settings = make_settings(database_url, tmp_path / "data")
    first, second = create_app(settings), create_app(settings)
    async with first.lifespan(), second.lifespan():
        services: list[SnapshotService] = [first.state.snapshots, second.state.snapshots]
        nodes: list[Node] = [first.state.node, second.state.node]
        for _ in range(200):
            if any(node.federation.is_leader for node in nodes):
                break
            await asyncio.sleep(0.02)
        leader = 0 if nodes[0].federation.is_leader else 1
        assert not nodes[1 - leader].federation.is_leader
        clients = [
            httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url=BASE_URL)  # type: ignore[arg-type]
            for app in (first, second)
        ]
        try:
            await submit(clients[1 - leader], declaration(creator_key(5), [work_hash(77)]))
            services[leader].poke()
            listings = [await _listing(client, 1) for client in clients]
            assert listings[0] == listings[1]
            name = listings[0]["chain"][-1]["name"]  # type: ignore[index]
            files = [(await client.get(f"/v1/snapshots/{name}")).content for client in clients]
            assert files[0] == files[1]
            # the levels file (spec §8.10) is shared beside its snapshot
            levels = [
                (await client.get(f"/v1/snapshots/{name}/levels")).content for client in clients
            ]
            assert levels[0] == levels[1]
            assert levels[0][4:].startswith(b"consent-registry/snapshot-levels/v1\n")
            assert services[leader].builds
            assert not services[1 - leader].builds
            assert (tmp_path / "data" / "snapshots" / "chain.json").exists()
        finally:
            for client in clients:
                await client.aclose()


async def _listing(client: httpx.AsyncClient, size: int) -> dict[str, object]:
    for _ in range(200):
        response = await client.get("/v1/snapshots")
        if response.status_code == 200 and response.json()["size"] >= size:
            body: dict[str, object] = response.json()
            assert response.headers["cache-control"] == "public, max-age=10"
            return body
        assert response.status_code in (200, 503), response.text
        await asyncio.sleep(0.02)
    raise AssertionError("no snapshot")  # pragma: no cover


async def _exercise(client: httpx.AsyncClient, service: SnapshotService, node: Node) -> None:
    key = creator_key(9)
    hashes = [work_hash(200 + i) for i in range(5)]
    await submit(client, declaration(key, hashes, urls=[URL + "x"]))
    info = (await client.get("/.well-known/consent-registry")).json()
    verifier = NoteVerifier.from_vkey(info["verifier_key"])
    service.poke()
    listing = await _listing(client, 1)
    chain_info = listing["chain"]
    assert isinstance(chain_info, list)
    assert listing["fingerprint_bits"] == 16
    snapshots = []
    for item in chain_info:
        response = await client.get(item["url"])
        assert response.status_code == 200
        assert response.headers["cache-control"] == "public, max-age=31536000, immutable"
        assert response.headers["content-type"] == "application/octet-stream"
        assert len(response.content) == item["bytes"]
        snapshots.append(open_snapshot(response.content, verifier))
    chain = verify_chain(snapshots)
    assert all(chain.contains_sha256(h) for h in hashes)
    assert chain.contains_url(URL + "x")

    # a delta after a new declaration
    more = work_hash(300)
    await submit(client, declaration(key, [more], issued_at=1_700_000_100))
    service.poke()
    listing = await _listing(client, listing["size"] + 1)  # type: ignore[operator]
    names = [item["name"] for item in listing["chain"]]  # type: ignore[attr-defined]
    assert names[0] == chain_info[0]["name"]
    assert names[-1].startswith("delta-")
    delta = await client.get(f"/v1/snapshots/{names[-1]}")
    assert open_snapshot(delta.content, verifier).contains_sha256(more)
    missing = await client.get("/v1/snapshots/full-999")
    assert missing.status_code == 404
    assert missing.json()["type"] == "/problems/not-found"


def test_numpy_batch_lookups_agree_with_the_core() -> None:
    import random  # noqa: PLC0415

    import numpy as np  # noqa: PLC0415
    from consent.snapshot_numpy import (  # noqa: PLC0415
        chain_contains,
        contains_keys,
        sha256_keys,
        url_keys,
    )

    from registry.core.snapshot import build_filter, sha256_key  # noqa: PLC0415

    rng = random.Random(3)
    digests = rng.randbytes(32 * 4000)
    members = [sha256_key(digests[i : i + 32]) for i in range(0, 32 * 2000, 32)]
    urls = [URL + str(i) for i in range(50)]
    for bits in (8, 16):
        fuse = build_filter([*members, *url_keys(urls).tolist()], fingerprint_bits=bits)
        keys = sha256_keys(digests)
        hits = contains_keys(fuse, keys)
        assert hits.tolist() == [fuse.contains(int(k)) for k in keys]
        assert hits[:2000].all()
        assert contains_keys(fuse, url_keys(urls)).all()
        as_rows = np.frombuffer(digests, dtype=np.uint8).reshape(-1, 32)
        assert (sha256_keys(as_rows) == keys).all()
    empty = build_filter([])
    assert not contains_keys(empty, keys).any()
    with pytest.raises(SnapshotError):
        sha256_keys(b"x" * 33)
    with pytest.raises(SnapshotError):
        sha256_keys(np.zeros((2, 31), dtype=np.uint8))
    signer = NoteSigner.from_seed("n.test/log", bytes(32))
    data = make_snapshot(origin="n.test/log", size=1, root_hash=bytes(32), fuse=fuse,
                         signers=[signer])  # fmt: skip
    chain = verify_chain([open_snapshot(data, signer.verifier)])
    assert chain_contains(chain, keys[:2000]).all()


async def test_a_revocation_brings_a_withdrawn_reservation_back_into_the_chain(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile
) -> None:
    """spec §8.1 item 7: after a revocation, the thief's withdrawal no longer counts (§9.4.1),
    so the owner's reservation is a hit again, whatever policy the crawler then asks with."""
    from registry.core.records import Revocation, encode_record, sign_record  # noqa: PLC0415

    owner = creator_key(40)
    w = [work_hash(400 + i) for i in range(3)]
    reservation = declaration(owner, [w[0], w[1]], issued_at=1_000)
    theft = declaration(owner, [w[0]], withdraw=True, issued_at=2_000)
    allowed = declaration(owner, [w[2]], prefs={"train-ai": "y"}, issued_at=1_000)
    await node_log.submit_many([reservation, theft, allowed])
    signer = await load_node_signer(migrated_url, key_file)
    builder = SnapshotBuilder(signer, trust=TrustConfig)  # with levels files (spec §8.10)
    await builder.refresh(node_log)
    chain = _chain(builder, node_log)
    assert _levels(builder, node_log).rows == ()  # no trust record: every hit is the default
    assert not chain.contains_sha256(w[0])  # withdrawn: not reserved by §3.5
    assert chain.contains_sha256(w[1])
    revocation = Revocation(
        v=1, creator=owner.public_key.did, key=owner.public_key.did, since=1_500, issued_at=2_500
    )
    await node_log.submit(encode_record(sign_record(revocation, owner)))
    delta = await builder.refresh(node_log)
    assert delta is not None
    assert delta.header.kind == "delta"
    chain = _chain(builder, node_log)
    assert chain.contains_sha256(w[0])  # revived
    assert not chain.contains_sha256(w[2])  # a "y" is never a hit
    # a later declaration of the revoked key reserving a work is a hit too
    await node_log.submit(declaration(owner, [w[2]], issued_at=3_000))
    await builder.refresh(node_log)
    assert _chain(builder, node_log).contains_sha256(w[2])
    # ... but the levels say what the node answers: that declaration, made after the
    # revocation time, does not count (§9.4.1), so the "y" stands under every policy
    levels = _levels(builder, node_log)
    row = levels.row(sha256_key(w[2]))
    assert row is not None
    assert row.reserved == frozenset()
    assert [(c.declaration_id, c.preference) for c in row.claims] == [(record_id_of(allowed), "y")]
    # the revived reservation is the default answer (one unverified claim): no row
    assert levels.row(sha256_key(w[0])) is None
    assert levels.reserved(sha256_key(w[0]), "verified")
    assert not levels.reserved(sha256_key(w[0]), "verified-only")


def _levels(builder: SnapshotBuilder, log: NodeLog) -> SnapshotLevels:
    """The verified levels file of the builder's last snapshot."""
    last = _chain(builder, log).snapshots[-1]
    return open_levels(builder.chain[-1].levels, _verifier(log), last)


@pytest.mark.parametrize("seed", [1, 2])
async def test_reserved_sets_match_the_core_over_random_logs(
    node_log: NodeLog, migrated_url: str, key_file: KeyFile, seed: int
) -> None:
    """Random declarations (withdrawals, supersessions, equal issue times, shared works) in the
    own log, in a mirrored log, or in both: after each round, the keys the builder reads from
    the index are exactly R(N) of the core over the own entries (spec §8.1), and a delta holds
    exactly R(N) \\ R(P)."""
    rng = random.Random(seed)
    keys = [creator_key(80 + i) for i in range(4)]
    works = [work_hash(800 + i) for i in range(14)]
    own: list[bytes] = []
    seen: dict[str, list[str]] = {}  # creator -> ids of its declarations (either log)
    store = FederationStore(node_log.engine)
    await store.init_mirror(PEER, EMPTY_ROOT)
    mirrored = 0
    policy = SnapshotPolicy(page=4, max_deltas=100, rebuild_fraction=100.0)
    builder = SnapshotBuilder(await load_node_signer(migrated_url, key_file), policy=policy)
    previous: set[int] | None = None
    for _ in range(4):
        mine, theirs = [], []
        for _ in range(12):
            key = rng.choice(keys)
            did = key.public_key.did
            earlier = seen.get(did, [])
            withdraw = rng.random() < 0.15
            entry = declaration(
                key,
                rng.sample(works, rng.randint(1, 3)),
                prefs=None if withdraw else {"train-ai": rng.choice("ny")},
                withdraw=withdraw,
                issued_at=rng.randint(1, 6),
                urls=[URL + str(rng.randint(0, 3))] if rng.random() < 0.3 else [],
                supersedes=[rng.choice(earlier)] if earlier and rng.random() < 0.25 else [],
            )
            seen.setdefault(did, []).append(record_id_of(entry))
            where = rng.random()
            if where < 0.6 or where > 0.85:
                mine.append(entry)
            if where >= 0.6:
                theirs.append(entry)
        await node_log.submit_many(mine)
        own += mine
        rows = [(mirrored + i, record_id_of(e), e) for i, e in enumerate(theirs)]
        assert await store.write_chunk(PEER, mirrored, mirrored + len(theirs), rows, [])
        assert await store.commit_mirror(PEER, mirrored, mirrored + len(theirs), b"r" * 32, b"n")
        mirrored += len(theirs)

        size, expected, _ = await _reference(node_log)
        assert size == len(set(own))  # a repeated declaration is logged once
        async with read_snapshot(node_log.engine) as conn:
            found = await conn.run_sync(
                lambda c: reserved.reserved_keys(c, node_log.origin, "train-ai", mirrored=True)
            )
        assert sorted(found) == sorted(expected)
        published = await builder.refresh(node_log)
        assert published is not None
        if previous is None:
            assert published.header.kind == "full"
            assert published.header.items == len(expected)
        else:
            assert published.header.kind == "delta"
            assert published.header.items == len(expected - previous)
        await _assert_covers(builder, node_log)
        previous = expected
