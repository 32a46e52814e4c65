"""Federation storage (registry/storage/federation.py) on SQLite and PostgreSQL: every write
that must be atomic is a compare-and-swap (spec §7.2.4, §7.3 item 6, §7.5.2 item 6)."""

from __future__ import annotations

from registry.core.merkle import EMPTY_ROOT
from registry.storage import create_engine
from registry.storage.federation import (
    EvidenceRow,
    FederationStore,
    PeerRow,
    WitnessHead,
)

ORIGIN = "peer.test/log"


async def test_mirror_chunks_and_commit_are_compare_and_swaps(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = FederationStore(engine)
    try:
        head = await store.init_mirror(ORIGIN, EMPTY_ROOT)
        assert (head.size, head.pending, head.note) == (0, 0, None)
        assert await store.init_mirror(ORIGIN, b"x" * 32) == head  # idempotent
        rows = [(i, f"{i:064x}", b"entry %d" % i) for i in range(3)]
        assert await store.write_chunk(ORIGIN, 0, 3, rows, [(0, 0, b"t" * 96)])
        assert not await store.write_chunk(ORIGIN, 0, 3, rows, [])  # pending moved on
        # Written ahead but not committed: neither found nor listed as committed.
        assert await store.find_mirrored(f"{1:064x}") == []
        assert not await store.commit_mirror(ORIGIN, 0, 4, b"r" * 32, b"note")  # pending is 3
        assert await store.commit_mirror(ORIGIN, 0, 3, b"r" * 32, b"note")
        assert not await store.commit_mirror(ORIGIN, 0, 3, b"r" * 32, b"note")  # size moved
        assert await store.find_mirrored(f"{1:064x}") == [(ORIGIN, 1, b"entry 1")]
        assert await store.mirror_entries(ORIGIN, 1, 10) == [(1, b"entry 1"), (2, b"entry 2")]
        assert await store.mirror_tiles(ORIGIN, [(0, 0), (1, 0)]) == {(0, 0): b"t" * 96}
        # A round that wrote ahead and failed: its rows are dropped when the next one starts.
        more = [(3, f"{3:064x}", b"entry 3")]
        assert await store.write_chunk(ORIGIN, 3, 4, more, [(0, 0, b"u" * 128)])
        assert await store.reset_pending(ORIGIN, 3)
        assert not await store.reset_pending(ORIGIN, 2)
        assert await store.mirror_entries(ORIGIN, 0, 10) == [(i, b"entry %d" % i) for i in range(3)]
        heads = await store.mirror_heads()
        assert (heads[ORIGIN].size, heads[ORIGIN].pending) == (3, 3)
    finally:
        await engine.dispose()


async def test_witness_state_moves_only_from_the_expected_size(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = FederationStore(engine)
    try:
        first = WitnessHead(ORIGIN, 5, b"a" * 32, b"n5")
        assert await store.advance_witness(0, first)
        assert not await store.advance_witness(0, WitnessHead(ORIGIN, 6, b"b" * 32, b"n6"))
        assert await store.advance_witness(5, WitnessHead(ORIGIN, 9, b"c" * 32, b"n9"))
        assert not await store.advance_witness(5, WitnessHead(ORIGIN, 7, b"d" * 32, b"n7"))
        assert await store.witness_head(ORIGIN) == WitnessHead(ORIGIN, 9, b"c" * 32, b"n9")
        assert list(await store.witness_heads()) == [ORIGIN]
    finally:
        await engine.dispose()


async def test_peers_cosignatures_and_evidence(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = FederationStore(engine)
    try:
        await store.put_peer(PeerRow(ORIGIN, "http://a", "vk", None, "file"))
        await store.set_witness_vkey(ORIGIN, "wk")
        await store.put_peer(PeerRow(ORIGIN, "http://b", "vk", None, "admin"))  # keeps "wk"
        await store.record_attempt(ORIGIN, at=10, seen_size=7, error="boom")
        await store.record_attempt(ORIGIN, at=11, seen_size=None, error=None)
        (peer,) = await store.peers()
        assert (peer.url, peer.witness_vkey, peer.source, peer.seen_size) == (
            "http://b",
            "wk",
            "admin",
            7,
        )
        assert (peer.last_error, peer.last_attempt, peer.last_success) == (None, 11, 11)
        assert await store.remove_peer(ORIGIN)
        assert not await store.remove_peer(ORIGIN)
        # Cosignatures: the newest per witness wins; lines are served for their exact head.
        await store.put_cosignature("w1", 5, b"r5" * 16, "line w1 5")
        await store.put_cosignature("w1", 4, b"r4" * 16, "line w1 4")  # older: ignored
        await store.put_cosignature("w2", 5, b"r5" * 16, "line w2 5")
        assert await store.cosignature_lines(5, b"r5" * 16) == ["line w1 5", "line w2 5"]
        await store.put_cosignature("w1", 6, b"r6" * 16, "line w1 6")
        assert await store.cosignature_lines(5, b"r5" * 16) == ["line w2 5"]
        assert await store.cosignature_lines(6, b"r6" * 16) == ["line w1 6"]
        # Evidence is stored once per pair and flags its origin.
        row = EvidenceRow("d" * 64, ORIGIN, "same-size", b"a", b"b", "", b"r" * 32, 1)
        assert await store.add_evidence(row)
        assert not await store.add_evidence(row)
        assert await store.evidence(ORIGIN) == [row]
        assert await store.evidence("other") == []
        assert await store.flagged_origins() == {ORIGIN}
    finally:
        await engine.dispose()
