"""The persistent index (ADR 0010) on SQLite and PostgreSQL: written with the log entries, it
answers exactly like the protocol core's in-memory state; ``registry index rebuild`` proves it
equal and repairs it; the migration backfills an existing log; a restarted node answers without
reading the log."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Awaitable, Callable
from pathlib import Path

import sqlalchemy as sa
from alembic import command

from registry.core.keys import PrivateKey
from registry.core.merkle import EMPTY_ROOT
from registry.core.records import (
    encode_record,
    load_record,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
)
from registry.core.state import ConsentState, subjects_of
from registry.http.runtime import Node
from registry.indexes.rebuild import check_index
from registry.log import NodeLog
from registry.services import queries
from registry.storage import create_engine, schema
from registry.storage.federation import FederationStore
from registry.storage.index import ConsentStore
from registry.storage.migrate import alembic_config, upgrade
from registry.wire import CheckRequest
from tests.node.api_support import make_settings

OpenLog = Callable[..., Awaitable[NodeLog]]


def _key(n: int) -> PrivateKey:
    return PrivateKey.from_seed(hashlib.sha256(b"index creator %d" % n).digest())


def _work(n: int) -> str:
    return hashlib.sha256(b"index work %d" % n).hexdigest()


def tangled_entries(count: int, seed: int = 7) -> list[bytes]:
    """Declarations by four creators over a small pool of works and URLs: overlapping
    subjects, ties on issued_at, supersessions (also across creators), withdrawals, PDQ."""
    rng = random.Random(seed)
    entries: list[bytes] = []
    by_creator: dict[int, list[str]] = {}
    for _ in range(count):
        creator = rng.randrange(4)
        works = []
        for n in sorted(rng.sample(range(12), rng.randint(1, 3))):
            pdq = hashlib.sha256(b"pdq %d" % n).hexdigest() if n % 3 == 0 else None
            urls = [f"https://example.test/w/{n % 5}"] if n % 2 else []
            works.append(new_work(_work(n), pdq=pdq, pdq_quality=90 if pdq else None, urls=urls))
        earlier = by_creator.get(creator, []) + by_creator.get((creator + 1) % 4, [])
        supersedes = rng.sample(earlier, 1) if earlier and rng.random() < 0.2 else []
        withdraw = rng.random() < 0.15
        prefs = {} if withdraw else {"train-ai": rng.choice("ny"), "search": rng.choice("ny")}
        record = new_declaration(
            creator=_key(creator).public_key.did,
            issued_at=1_700_000_000 + rng.randrange(6),
            works=works,
            prefs=prefs,
            supersedes=supersedes,
            withdraw=withdraw,
        )
        entry = encode_record(sign_declaration(record, _key(creator)))
        by_creator.setdefault(creator, []).append(record_id(entry))
        entries.append(entry)
    return entries


def reference(entries: list[bytes], origin: str) -> ConsentState:
    state = ConsentState()
    for entry in entries:
        state.add(record_id(entry), load_record(entry), origin=origin)
    return state


async def assert_answers_like(
    store: ConsentStore, state: ConsentState, entries: list[bytes]
) -> None:
    subjects = sorted({s for e in entries for s in subjects_of(load_record(e))})
    subjects.append(("sha256", "00" * 32))  # unknown
    assert await store.resolve_many(subjects) == [state.resolve(s) for s in subjects]
    creators = sorted({load_record(e).creator for e in entries})
    for did in creators:
        assert await store.by_creator(did) == state.by_creator(did)


async def test_index_written_with_the_entries_answers_like_the_core(
    open_log: OpenLog, migrated_url: str
) -> None:
    log = await open_log()
    entries = tangled_entries(120)
    # in several batches and in shuffled order: the index is order-independent
    shuffled = entries[:]
    random.Random(1).shuffle(shuffled)
    for start in range(0, len(shuffled), 17):
        await log.submit_many(shuffled[start : start + 17])
    store = ConsentStore(log.engine)
    await assert_answers_like(store, reference(entries, log.origin), entries)
    result = await check_index(log.engine, repair=False)
    assert result.equal, result.differences
    assert (result.entries, result.declarations) == (len(entries), len(entries))


async def test_rebuild_finds_and_repairs_a_damaged_index(open_log: OpenLog) -> None:
    log = await open_log()
    entries = tangled_entries(40, seed=3)
    await log.submit_many(entries)
    async with log.engine.begin() as conn:
        st = schema.index_subjects
        await conn.execute(sa.update(st).values(winner=sa.not_(st.c.winner)))
        await conn.execute(sa.delete(schema.index_near))
        await conn.execute(sa.delete(schema.index_supersessions))
    damaged = await check_index(log.engine, repair=False)
    assert not damaged.equal
    assert any(line.startswith("index_subjects: missing") for line in damaged.differences)
    assert any(line.startswith("index_near: missing") for line in damaged.differences)
    assert not damaged.repaired
    repaired = await check_index(log.engine, repair=True)
    assert repaired.repaired
    again = await check_index(log.engine, repair=False)
    assert again.equal, again.differences
    await assert_answers_like(ConsentStore(log.engine), reference(entries, log.origin), entries)


async def test_upgrade_backfills_the_index_of_an_existing_log(
    open_log: OpenLog, migrated_url: str
) -> None:
    log = await open_log()
    entries = tangled_entries(60, seed=5)
    await log.submit_many(entries)
    origin = log.origin
    await log.close()
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:  # back to a node of the previous release
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0004"))
        await upgrade(migrated_url)
        result = await check_index(engine, repair=False)
        assert result.equal, result.differences
        assert result.declarations == len(entries)
        await assert_answers_like(ConsentStore(engine), reference(entries, origin), entries)
    finally:
        await engine.dispose()


async def test_a_restarted_node_answers_without_reading_the_log(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path)
    pdq = hashlib.sha256(b"pdq restart").hexdigest()
    entries = tangled_entries(30, seed=9)
    key = _key(9)
    special = encode_record(
        sign_declaration(
            new_declaration(
                creator=key.public_key.did,
                issued_at=1_700_000_100,
                works=[new_work(_work(99), pdq=pdq, pdq_quality=80)],
                prefs={"train-ai": "n"},
            ),
            key,
        )
    )
    node = await Node.start(settings)
    try:
        await node.log.submit_many([*entries, special])
        before = await queries.check(node.index, CheckRequest(sha256s=[_work(99), _work(1)]))
    finally:
        await node.stop()

    restarted = await Node.start(settings)
    try:
        assert restarted.index.ready
        assert restarted.log.entries_read == 0  # nothing of the log was read to be ready
        after = await queries.check(restarted.index, CheckRequest(sha256s=[_work(99), _work(1)]))
        assert after == before
        assert after.sha256s[0].prefs == {"train-ai": "n"}
        # the near-duplicate index came from the index rows, not from the log
        (hits,) = await restarted.index.near.search_pdq([pdq], 0)
        assert [h.sha256 for h in hits] == [_work(99)]
        assert restarted.log.entries_read == 0
    finally:
        await restarted.stop()


async def test_mirrored_entries_are_indexed_when_the_mirror_commits(open_log: OpenLog) -> None:
    log = await open_log()
    peer = "peer.test/log"
    entries = tangled_entries(20, seed=11)
    await log.submit_many(entries[:5])  # the first five are in both logs
    store = FederationStore(log.engine)
    await store.init_mirror(peer, EMPTY_ROOT)
    rows = [(i, record_id(e), e) for i, e in enumerate(entries)]
    assert await store.write_chunk(peer, 0, len(rows), rows, [])
    consent = ConsentStore(log.engine)
    expected = reference(entries[:5], log.origin)
    for entry in entries:
        expected.add(record_id(entry), load_record(entry), origin=peer)
    own = {x for e in entries[:5] for x in subjects_of(load_record(e))}
    mirrored_only = min(
        x
        for e in entries[5:]
        for x in subjects_of(load_record(e))
        if x not in own and expected.resolve(x).claims
    )
    written_ahead = await consent.resolve_many([mirrored_only])
    assert await store.commit_mirror(peer, 0, len(rows), b"r" * 32, b"note")
    await assert_answers_like(consent, expected, entries)
    # not answered before the commit (written-ahead rows are not the mirror's yet)
    assert written_ahead == [reference([], peer).resolve(mirrored_only)]
    assert (await consent.resolve_many([mirrored_only]))[0].claims
    both = await consent.by_creator(load_record(entries[0]).creator)
    assert any(d.origins == tuple(sorted((log.origin, peer))) for d in both)
    result = await check_index(log.engine, repair=False)
    assert result.equal, result.differences
    assert (result.entries, result.mirrored) == (5, len(entries))
