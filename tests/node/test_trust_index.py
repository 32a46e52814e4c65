"""Trust records in the persistent index (spec §9.4, ADR 0017) on SQLite and PostgreSQL: logged
with the declarations, in any order and any batching, the index answers every subject under
every policy exactly as the protocol core's :class:`registry.core.trust.TrustState` over the
same records; subjects no trust record touches keep the §3.5 answer."""

from __future__ import annotations

import hashlib
import json
import random
from collections.abc import Awaitable, Callable
from typing import Any

import pytest
import sqlalchemy as sa

from registry.core.keys import PrivateKey
from registry.core.merkle import EMPTY_ROOT
from registry.core.records import (
    AnyRecord,
    Binding,
    CounterStatement,
    PlatformAttestation,
    Revocation,
    Rotation,
    encode_record,
    load_entry,
    new_declaration,
    new_work,
    pack_hashes,
    record_id,
    sign_declaration,
    sign_record,
)
from registry.core.state import Subject, subjects_of
from registry.core.trust import POLICIES, TrustState, as_resolution
from registry.indexes.rebuild import check_index
from registry.log import NodeLog
from registry.storage import schema
from registry.storage.federation import FederationStore
from registry.storage.index import ConsentStore
from registry.storage.trustconfig import TrustConfig
from tests.core.vectors import SPEC_VECTORS

OpenLog = Callable[..., Awaitable[NodeLog]]


def _key(name: str) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"trust index " + name.encode()).digest())


CREATORS = [_key(f"creator {n}") for n in range(4)]
PLATFORM, ROGUE, NODE, OTHER = _key("platform"), _key("rogue"), _key("node"), _key("other node")
CONFIG = TrustConfig(
    platforms={PLATFORM.public_key.did: "art"}, nodes=frozenset({NODE.public_key.did})
)


def _work(n: int) -> str:
    return hashlib.sha256(b"trust index work %d" % n).hexdigest()


def _url(n: int) -> str:
    return f"https://owner{n % 2}.example/w/{n}"


def scenario(seed: int) -> list[bytes]:
    """Declarations by four keys over six works (with URLs on two hosts), and every kind of
    trust record about them: bindings (trusted and untrusted nodes, lapses), attestations
    (trusted and rogue platforms), rotations, revocations (by the key and by the platform) and
    counter-statements."""
    rng = random.Random(seed)
    entries: list[bytes] = []
    ids: list[str] = []
    for _ in range(14):
        who = rng.randrange(4)
        works = [
            new_work(_work(n), urls=[_url(n)] if rng.random() < 0.7 else [])
            for n in sorted(rng.sample(range(6), rng.randint(1, 2)))
        ]
        withdraw = rng.random() < 0.15
        supersedes = rng.sample(ids, 1) if ids and rng.random() < 0.2 else []
        record = new_declaration(
            creator=CREATORS[who].public_key.did,
            issued_at=100 + rng.randrange(8),
            works=works,
            prefs={} if withdraw else {"train-ai": rng.choice("ny")},
            supersedes=supersedes,
            withdraw=withdraw,
        )
        entry = encode_record(sign_declaration(record, CREATORS[who]))
        ids.append(record_id(entry))
        entries.append(entry)
    for _ in range(rng.randint(3, 10)):
        who = rng.randrange(4)
        did = CREATORS[who].public_key.did
        at = 100 + rng.randrange(8)
        kind = rng.choice(["binding", "attestation", "rotation", "revocation", "counter"])
        trust: AnyRecord
        signer = CREATORS[who]
        if kind == "binding":
            signer = rng.choice([NODE, NODE, OTHER])
            trust = Binding(
                v=1,
                node=signer.public_key.did,
                origin="node.example/log",
                domain=f"owner{rng.randrange(2)}.example",
                creator=did,
                issued_at=at,
                evidence="ab" * 32,
                lapsed=rng.random() < 0.25,
            )
        elif kind == "attestation":
            signer = rng.choice([PLATFORM, PLATFORM, ROGUE])
            listed = sorted(rng.sample(range(6), rng.randint(1, 3)))
            packed = [_work(n) for n in listed if n % 2]
            attested = [new_work(_work(n), urls=[_url(n)]) for n in listed if not n % 2]
            trust = PlatformAttestation(
                v=1,
                platform=signer.public_key.did,
                account=f"@user{who}",
                creator=did,
                issued_at=at,
                hashes=pack_hashes(packed),
                works=tuple(sorted(attested, key=lambda w: w.sha256)),
            )
        elif kind == "rotation":
            new = rng.choice([c for c in CREATORS if c is not signer]).public_key.did
            trust = Rotation(v=1, creator=did, new_key=new, issued_at=at)
        elif kind == "revocation":
            signer = rng.choice([signer, PLATFORM])
            trust = Revocation(
                v=1, creator=signer.public_key.did, key=did, since=at - 1, issued_at=at
            )
        else:
            trust = CounterStatement(
                v=1,
                creator=did,
                target=rng.choice(ids),
                statement="not-rightsholder",
                issued_at=at,
            )
        entries.append(encode_record(sign_record(trust, signer)))
    return entries


def reference(entries: list[bytes], origin: str, config: TrustConfig) -> TrustState:
    state = TrustState(platforms=config.platforms, nodes=config.nodes)
    for entry in entries:
        state.add(record_id(entry), load_entry(entry), origin=origin)
    return state


def subjects(entries: list[bytes]) -> list[Subject]:
    found: set[Subject] = {("sha256", "00" * 32), ("url", "https://nobody.example/")}
    for entry in entries:
        record = load_entry(entry)
        if hasattr(record, "supersedes"):
            found.update(subjects_of(record))  # type: ignore[arg-type]
    return sorted(found)


async def assert_like_trust_state(
    store: ConsentStore, state: TrustState, wanted: list[Subject]
) -> None:
    for policy in POLICIES:
        got = await store.resolve_many(wanted, policy)
        want = [as_resolution(state.resolve(s, policy)) for s in wanted]
        for subject, g, w in zip(wanted, got, want, strict=True):
            assert g == w, (subject, policy)
        # the binary batch check's path: positions of known digests only
        hashes = [s[1] for s in wanted if s[0] == "sha256"]
        by_hash = await store.resolve_many_sha256(hashes, policy)
        assert by_hash == [as_resolution(state.resolve(("sha256", h), policy)) for h in hashes], (
            policy
        )


@pytest.mark.parametrize("seed", range(8))
async def test_trust_records_in_the_index_answer_like_the_core(
    open_log: OpenLog, seed: int
) -> None:
    log = await open_log()
    entries = scenario(seed)
    shuffled = entries[:]
    random.Random(seed).shuffle(shuffled)
    for start in range(0, len(shuffled), 5):
        await log.submit_many(shuffled[start : start + 5])
    store = ConsentStore(log.engine, CONFIG)
    await assert_like_trust_state(store, reference(entries, log.origin, CONFIG), subjects(entries))
    # another trust configuration over the same index: the answers follow it
    bare = ConsentStore(log.engine)
    await assert_like_trust_state(
        bare, reference(entries, log.origin, TrustConfig()), subjects(entries)
    )
    result = await check_index(log.engine, repair=False)
    assert result.equal, result.differences


VECTORS: dict[str, Any] = json.loads((SPEC_VECTORS / "trust-resolution.json").read_text())


@pytest.mark.parametrize("case", VECTORS["cases"], ids=lambda case: str(case["name"]))
async def test_trust_resolution_vectors_through_the_index(
    open_log: OpenLog, case: dict[str, Any]
) -> None:
    log = await open_log()
    entries = [e["entry"].encode() for e in case["entries"]]
    await log.submit_many(entries[::-1])
    config = TrustConfig(
        platforms=case["config"]["platforms"], nodes=frozenset(case["config"]["nodes"])
    )
    store = ConsentStore(log.engine, config)
    for want in case["expected"]:
        subject: Subject = (want["subject"][0], want["subject"][1])
        (got,) = await store.resolve_many([subject], want["policy"])
        assert got.prefs == want["resolution"]["prefs"], case["name"]
        assert sorted(
            (c.declaration_id, c.level, c.counted, list(c.evidence)) for c in got.claims
        ) == sorted(
            (c["declaration_id"], c["level"], c["counted"], c["evidence"])
            for c in want["resolution"]["claims"]
        ), case["name"]


async def test_rebuild_finds_and_repairs_damaged_trust_tables(open_log: OpenLog) -> None:
    log = await open_log()
    entries = scenario(2)
    await log.submit_many(entries)
    async with log.engine.begin() as conn:
        await conn.execute(sa.delete(schema.index_trust_subjects))
        await conn.execute(sa.update(schema.index_trust).values(origins="forged.example/log"))
    broken = await check_index(log.engine, repair=False)
    assert any(d.startswith("index_trust_subjects: missing") for d in broken.differences)
    assert any(d.startswith("index_trust: unexpected") for d in broken.differences)
    store = ConsentStore(log.engine, CONFIG)
    repaired = await check_index(log.engine, repair=True)
    assert repaired.repaired
    assert not repaired.equal
    assert (await check_index(log.engine, repair=False)).equal
    await assert_like_trust_state(store, reference(entries, log.origin, CONFIG), subjects(entries))


async def test_mirrored_records_dated_beyond_their_commit_do_not_count(
    open_log: OpenLog,
) -> None:
    """spec §2.11, §7.3: a peer's record dated beyond the time this node first saw a checkpoint
    covering it (plus the skew) is mirrored but never counts, and the rebuild agrees."""
    log = await open_log()
    peer = "peer.test/log"
    owner = CREATORS[0]
    sha = _work(99)
    now = 1_800_000_000
    honest = encode_record(
        sign_declaration(
            new_declaration(
                creator=owner.public_key.did, issued_at=now, works=[new_work(sha)],
                prefs={"train-ai": "n"},
            ),
            owner,
        )
    )  # fmt: skip
    forever = encode_record(
        sign_declaration(
            new_declaration(
                creator=owner.public_key.did, issued_at=now + 3600, works=[new_work(sha)],
                prefs={"train-ai": "y"},
            ),
            owner,
        )
    )  # fmt: skip
    store = FederationStore(log.engine)
    await store.init_mirror(peer, EMPTY_ROOT)
    rows = [(i, record_id(e), e) for i, e in enumerate([honest, forever])]
    assert await store.write_chunk(peer, 0, 2, rows, [])
    assert await store.commit_mirror(peer, 0, 2, b"r" * 32, b"note", accept_until=now + 600)
    (answer,) = await ConsentStore(log.engine).resolve_many([("sha256", sha)])
    assert [c.declaration_id for c in answer.claims] == [record_id(honest)]
    assert answer.prefs == {"train-ai": "n"}
    result = await check_index(log.engine, repair=False)
    assert result.equal, result.differences
