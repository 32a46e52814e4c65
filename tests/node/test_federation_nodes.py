"""Federation with real ``registry serve`` processes on 127.0.0.1 (spec §7).

Three nodes, one on PostgreSQL and two on SQLite, each listing the other two in its peers
file: declarations submitted to each node are answered identically by all three within a
bounded time; each node serves the others' declarations with proofs against their origin's
checkpoints; checkpoints carry the peers' cosignatures; a node stopped and restarted catches
up. And a node started empty backfills a peer's log of thousands of entries.
"""

from __future__ import annotations

import asyncio
import hashlib
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from registry.core.checkpoint import open_checkpoint
from registry.core.keys import PrivateKey
from registry.core.note import NoteVerifier
from registry.core.proof import verify_receipt
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.conftest import create_postgres_database, drop_postgres_database, make_entries
from tests.node.test_federation_support import NodeKeys, NodeProcess, wait_until

pytestmark = pytest.mark.slow

DEADLINE = 20.0
"""Seconds within which every node must answer the same (pushes make it ~1 s in practice)."""


def creator(n: int) -> PrivateKey:
    """A deterministic creator key."""
    return PrivateKey.from_seed(hashlib.sha256(b"federated creator %d" % n).digest())


def work(n: int) -> str:
    """A deterministic work hash."""
    return hashlib.sha256(b"federated work %d" % n).hexdigest()


def declare(
    key: PrivateKey,
    works: list[str],
    prefs: dict[str, str],
    issued_at: int,
    supersedes: tuple[str, ...] = (),
) -> bytes:
    """A signed declaration's entry bytes."""
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=issued_at,
        works=[new_work(w, urls=[f"https://example.com/{w[:8]}.png"]) for w in works],
        prefs=prefs,
        supersedes=supersedes,
    )
    return encode_record(sign_declaration(record, key))


def record_id(entry: bytes) -> str:
    """The declaration id."""
    return hashlib.sha256(entry).hexdigest()


def answers(node: NodeProcess, works: list[str]) -> list[dict[str, Any]]:
    """The node's answer for each work, without the per-node parts (there are none)."""
    out = []
    for w in works:
        response = node.get(f"/v1/works/sha256/{w}")
        assert response.status_code == 200, response.text
        out.append(response.json())
    return out


@pytest.fixture
def postgres_url() -> Iterator[str]:
    """A fresh PostgreSQL database for one node (tests/conftest.py), dropped afterwards."""
    url = asyncio.run(create_postgres_database())
    try:
        yield url
    finally:
        asyncio.run(drop_postgres_database(url))


def start_federation(
    tmp_path: Path, postgres_url: str, names: tuple[str, ...] = ("a", "b", "c")
) -> list[NodeProcess]:
    """Nodes named ``names`` (the first on PostgreSQL), each peering with all the others."""
    nodes = []
    for i, name in enumerate(names):
        db = ["--data-dir", str(tmp_path / name)]
        if i == 0:
            db += ["--database-url", postgres_url]
        nodes.append(NodeProcess(NodeKeys.make(f"{name}.fed.test/log"), db))
    for node in nodes:
        peers = tmp_path / f"{node.keys.origin.split('.')[0]}.peers"
        lines = ["# peers of " + node.keys.origin]
        lines += [other.peers_line() for other in nodes if other is not node]
        peers.write_text("\n".join(lines) + "\n")
        node.extra_args = ["--peers", str(peers), "--peer-poll-interval", "1"]
    for node in nodes:
        node.start(wait=False)
    for node in nodes:
        node.wait_ready()
    return nodes


def test_three_nodes_converge_cosign_and_catch_up(tmp_path: Path, postgres_url: str) -> None:
    nodes = start_federation(tmp_path, postgres_url)
    a, b, c = nodes
    try:
        works = [work(i) for i in range(6)]
        alice, bob, carol = creator(1), creator(2), creator(3)
        first = declare(alice, works[:2], {"train-ai": "n"}, 1_700_000_000)
        # Alice changes her mind on another node; Bob and Carol claim overlapping works.
        later = declare(alice, works[:1], {"train-ai": "y"}, 1_700_000_100)
        a.submit([first, declare(bob, works[1:3], {"train-ai": "n", "search": "y"}, 5)])
        b.submit([later, declare(carol, works[2:4], {"search": "n"}, 7)])
        c.submit([declare(carol, works[3:6], {"train-ai": "y"}, 9), first])  # first: again
        started = time.monotonic()

        def converged() -> list[dict[str, Any]] | None:
            seen = [answers(node, works) for node in nodes]
            complete = all(len(x["claims"]) for x in seen[0])
            same = seen[0] == seen[1] == seen[2]
            return seen[0] if complete and same and _all_mirrored(nodes) else None

        agreed = wait_until(converged, timeout=DEADLINE, what="three nodes agree")
        elapsed = time.monotonic() - started
        # spec §3.5: Alice's later declaration wins work 0 wherever it was logged.
        assert agreed[0]["prefs"] == {"train-ai": "y"}
        assert [cl["declaration"] for cl in agreed[0]["claims"]] == [record_id(later)]
        assert agreed[1]["prefs"] == {"search": "y", "train-ai": "n"}
        assert {cl["origin"] for cl in agreed[1]["claims"]} == {a.keys.origin}
        # The same declaration logged by a and c is one claim with both origins.
        alices = [cl for cl in agreed[1]["claims"] if cl["declaration"] == record_id(first)]
        assert [cl["origins"] for cl in alices] == [sorted([a.keys.origin, c.keys.origin])]
        assert not any(cl["flagged"] for x in agreed for cl in x["claims"])
        assert elapsed < DEADLINE

        _check_declaration_served_with_origin_proof(c, a, record_id(first), later_node=b)
        _check_peer_states(nodes)
        _check_cosigned_checkpoints(nodes)
        _check_receipt_carries_cosignatures(a, [b, c], record_id(first))

        # Stop c, write to a and b meanwhile, restart c: it catches up from its stored state.
        c.stop()
        dave = creator(4)
        missed = [declare(dave, [work(100 + i)], {"train-ai": "n"}, 11 + i) for i in range(3)]
        a.submit(missed[:2])
        b.submit(missed[2:])
        c.start()
        wait_until(
            lambda: all(
                c.get(f"/v1/works/sha256/{work(100 + i)}").json()["claims"] for i in range(3)
            ),
            timeout=DEADLINE,
            what="restarted node caught up",
        )
        assert answers(c, works) == agreed  # nothing lost across the restart
    finally:
        for node in nodes:
            node.stop()


def _all_mirrored(nodes: list[NodeProcess]) -> bool:
    sizes = {node.keys.origin: node.size() for node in nodes}
    for node in nodes:
        for origin, peer in node.peers().items():
            if peer["verified_size"] != sizes[origin]:
                return False
    return True


def _check_declaration_served_with_origin_proof(
    reader: NodeProcess, origin_node: NodeProcess, declaration_id: str, later_node: NodeProcess
) -> None:
    """``reader`` serves a declaration it mirrored from ``origin_node`` (or holds itself) with
    a receipt against that origin's checkpoint, verifiable with that origin's key alone."""
    answer = later_node.get(f"/v1/declarations/{declaration_id}")
    assert answer.status_code == 200, answer.text
    view = answer.json()
    assert view["origin"] == origin_node.keys.origin  # b holds it only mirrored from a and c
    assert view["origins"] == sorted([origin_node.keys.origin, reader.keys.origin])
    entry = _raw_record(later_node, declaration_id)
    verified = verify_receipt(view["receipt"], entry, NoteVerifier.from_vkey(origin_node.keys.vkey))
    assert verified.signed_checkpoint.checkpoint.origin == origin_node.keys.origin


def _raw_record(node: NodeProcess, declaration_id: str) -> bytes:
    body = node.get(f"/v1/declarations/{declaration_id}").content
    start = body.index(b'"record":') + len(b'"record":')
    end = body.index(b',"receipt"')
    entry = body[start:end]
    assert hashlib.sha256(entry).hexdigest() == declaration_id
    return entry


def _check_peer_states(nodes: list[NodeProcess]) -> None:
    for node in nodes:
        peers = node.peers()
        assert set(peers) == {n.keys.origin for n in nodes if n is not node}
        for other in nodes:
            if other is node:
                continue
            state = peers[other.keys.origin]
            assert state["url"] == other.url
            assert state["verifier_key"] == other.keys.vkey
            assert state["witness_key"] == other.keys.witness_vkey
            assert state["verified_size"] == other.size()
            assert state["lag"] == 0
            assert state["last_error"] is None
            assert state["flagged"] is False
            assert state["evidence"] == 0


def _check_cosigned_checkpoints(nodes: list[NodeProcess]) -> None:
    """Every node's checkpoint carries both peers' cosignatures (spec §7.5.3)."""
    for node in nodes:
        witnesses = [
            NoteVerifier.from_vkey(other.keys.witness_vkey) for other in nodes if other is not node
        ]

        def cosigned(node: NodeProcess = node, witnesses: list[NoteVerifier] = witnesses) -> Any:
            note = node.get("/checkpoint").content
            try:
                return open_checkpoint(
                    note, NoteVerifier.from_vkey(node.keys.vkey), witnesses, min_witnesses=2
                )
            except Exception:
                return None

        signed = wait_until(cosigned, timeout=DEADLINE, what=f"{node.keys.origin} cosigned")
        assert {c.name for c in signed.cosignatures} == {w.name for w in witnesses}


def _check_receipt_carries_cosignatures(
    node: NodeProcess, witnesses: list[NodeProcess], declaration_id: str
) -> None:
    """A receipt for the node's own entry embeds its cosigned checkpoint (spec §7.5.3)."""
    entry = _raw_record(node, declaration_id)
    view = node.get(f"/v1/declarations/{declaration_id}").json()
    assert view["origin"] == node.keys.origin
    verified = verify_receipt(
        view["receipt"],
        entry,
        NoteVerifier.from_vkey(node.keys.vkey),
        [NoteVerifier.from_vkey(w.keys.witness_vkey) for w in witnesses],
        min_witnesses=len(witnesses),
    )
    assert len(verified.signed_checkpoint.cosignatures) == len(witnesses)


def test_empty_node_backfills_thousands_of_entries(tmp_path: Path) -> None:
    source = NodeProcess(NodeKeys.make("source.fed.test/log"), ["--data-dir", str(tmp_path / "s")])
    follower = NodeProcess(NodeKeys.make("empty.fed.test/log"), ["--data-dir", str(tmp_path / "e")])
    peers = tmp_path / "empty.peers"
    peers.write_text(source.peers_line() + "\n")
    # Two workers: one leads the mirror; both index the mirrored log from the database.
    follower.extra_args = ["--peers", str(peers), "--peer-poll-interval", "1", "--workers", "2"]
    source.start()
    try:
        entries = make_entries(3000, seed=42)
        for start in range(0, len(entries), 1000):
            source.submit(entries[start : start + 1000])
        assert source.size() == 3000
        follower.start()
        started = time.monotonic()

        def backfilled() -> dict[str, Any] | None:
            state = follower.peers()[source.keys.origin]
            return state if state["verified_size"] == 3000 else None

        state = wait_until(backfilled, timeout=60, what="backfill of 3000 entries")
        elapsed = time.monotonic() - started
        assert state["lag"] == 0
        assert state["last_error"] is None
        last = record_id(entries[-1])
        served = follower.get(f"/v1/declarations/{last}").json()
        assert served["origin"] == source.keys.origin
        assert served["index"] == 2999
        verify_receipt(served["receipt"], entries[-1], NoteVerifier.from_vkey(source.keys.vkey))
        hashes = [hashlib.sha256(f"work-42-{i}-0".encode()).hexdigest() for i in (0, 1500, 2999)]

        def all_indexed() -> bool:
            answer = follower.post("/v1/check", json={"sha256s": hashes}).json()
            return all(item.get("prefs") == {"train-ai": "n"} for item in answer["sha256s"])

        for _request in range(4):  # whichever worker answers has indexed the mirror
            wait_until(all_indexed, timeout=10, what="both workers indexed the mirror")
        print(f"backfilled 3000 entries in {elapsed:.2f}s")
    finally:
        follower.stop()
        source.stop()
