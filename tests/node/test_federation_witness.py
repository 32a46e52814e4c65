"""The C2SP tlog-witness ``add-checkpoint`` endpoint (spec §7.5) and the admin API (§7.2.2),
against the real app on SQLite and PostgreSQL.

Every status code of c2sp.org/tlog-witness is exercised: 200 with a cosignature/v1 line that
verifies under the node's published witness key, 400, 403, 404, 409 (with the latest cosigned
size as ``text/x.tlog.size``) and 422; a same-size fork is kept as evidence.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from pathlib import Path

import httpx

from registry.core.checkpoint import Checkpoint, add_cosignatures, sign_checkpoint
from registry.core.merkle import append_leaves, consistency_proof, leaf_hash
from registry.core.note import NoteSigner, NoteVerifier
from registry.federation.push import witness_request_body
from tests.conftest import make_entries
from tests.node.api_support import assert_problem, make_settings, running_node
from tests.node.test_federation_support import fake_signer

PEER = fake_signer("peer.test/log")
ENTRIES = make_entries(20, seed=21)
TOKEN = "s3cret-operator-token-0123456789"


def checkpoint_of(entries: Sequence[bytes], signer: NoteSigner = PEER) -> bytes:
    """The signed checkpoint of a log of ``entries``."""
    grown = append_leaves(0, {}, [leaf_hash(e) for e in entries])
    return sign_checkpoint(Checkpoint(signer.name, grown.size, grown.root), signer)


def proof(old: int, new: int, entries: Sequence[bytes] = ENTRIES) -> list[bytes]:
    """The consistency proof from ``old`` to ``new`` entries of ``entries``."""
    grown = append_leaves(0, {}, [leaf_hash(e) for e in entries[:new]])
    return consistency_proof(old, new, grown.tiles)


@asynccontextmanager
async def witness_node(database_url: str, tmp_path: Path) -> AsyncIterator[httpx.AsyncClient]:
    """A node whose only peer is ``peer.test/log`` (unreachable: only its checkpoints matter).

    (A context manager, not a fixture: the app's lifespan must end in the task it began in.)
    """
    peers = tmp_path / "peers"
    peers.write_text(f"http://127.0.0.1:9 {PEER.verifier.vkey}\n")
    settings = make_settings(
        database_url, tmp_path / "data", peers_file=peers, admin_token=TOKEN, peer_timeout=0.5
    )
    async with running_node(settings) as node:
        yield node


async def post(client: httpx.AsyncClient, body: bytes) -> httpx.Response:
    """POST /add-checkpoint."""
    return await client.post("/add-checkpoint", content=body)


async def test_cosigns_after_checking_consistency(database_url: str, tmp_path: Path) -> None:
    async with witness_node(database_url, tmp_path) as client:
        await _test_cosigns_after_checking_consistency(client)


async def _test_cosigns_after_checking_consistency(client: httpx.AsyncClient) -> None:
    witness = NoteVerifier.from_vkey(
        (await client.get("/.well-known/consent-registry")).json()["witness_key"]
    )
    first = checkpoint_of(ENTRIES[:5])
    answer = await post(client, witness_request_body(0, [], first))
    assert answer.status_code == 200, answer.text
    cosigned = add_cosignatures(first, answer.text, PEER.verifier, [witness])
    assert cosigned.startswith(first.rstrip(b"\n"))
    # The same checkpoint again from "old 0": 409 with the size it cosigned.
    again = await post(client, witness_request_body(0, [], first))
    assert again.status_code == 409
    assert again.headers["content-type"] == "text/x.tlog.size"
    assert again.content == b"5\n"
    # Growing with a valid proof from 5.
    second = checkpoint_of(ENTRIES[:12])
    grown = await post(client, witness_request_body(5, proof(5, 12), second))
    assert grown.status_code == 200, grown.text
    add_cosignatures(second, grown.text, PEER.verifier, [witness])
    # A wrong proof: 422, and the state does not move.
    third = checkpoint_of(ENTRIES[:20])
    bad = proof(12, 20)
    bad[0] = bytes(32)
    assert_problem(await post(client, witness_request_body(12, bad, third)), 422, "bad-proof")
    stale = await post(client, witness_request_body(5, proof(5, 20), third))
    assert (stale.status_code, stale.content) == (409, b"12\n")
    # The same size with an equal root and an empty proof is cosigned again.
    same = await post(client, witness_request_body(12, [], second))
    assert same.status_code == 200
    peers = (await client.get("/v1/peers")).json()
    assert [(p["origin"], p["cosigned_size"]) for p in peers] == [("peer.test/log", 12)]


async def test_rejections(database_url: str, tmp_path: Path) -> None:
    async with witness_node(database_url, tmp_path) as client:
        await _test_rejections(client)


async def _test_rejections(client: httpx.AsyncClient) -> None:
    note = checkpoint_of(ENTRIES[:5])
    stranger = fake_signer("stranger.test/log")
    assert_problem(
        await post(client, witness_request_body(0, [], checkpoint_of(ENTRIES[:5], stranger))),
        404,
        "not-found",
    )
    impostor = NoteSigner.from_seed("peer.test/log", b"\x09" * 32)
    assert_problem(
        await post(client, witness_request_body(0, [], checkpoint_of(ENTRIES[:5], impostor))),
        403,
        "forbidden",
    )
    assert_problem(await post(client, witness_request_body(6, [], note)), 400, "bad-request")
    for body in (
        b"old 0\n" + note,  # no empty line
        b"old 00\n\n" + note,  # leading zero
        b"old -1\n\n" + note,
        b"new 0\n\n" + note,
        witness_request_body(0, [bytes(32)], note),  # a proof with old 0
        b"old 0\n" + b"AAAA\n" + b"\n" + note,  # not a 32-byte hash
        witness_request_body(1, [bytes(32)] * 64, note),  # more than 63 proof lines
        b"old 0\n\nnot a note\n",
    ):
        assert_problem(await post(client, body), 400, "bad-request")


async def test_same_size_fork_is_evidence(database_url: str, tmp_path: Path) -> None:
    async with witness_node(database_url, tmp_path) as client:
        await _test_same_size_fork_is_evidence(client)


async def _test_same_size_fork_is_evidence(client: httpx.AsyncClient) -> None:
    honest = checkpoint_of(ENTRIES[:5])
    assert (await post(client, witness_request_body(0, [], honest))).status_code == 200
    forked = checkpoint_of(make_entries(5, seed=22))
    answer = await post(client, witness_request_body(5, [], forked))
    assert (answer.status_code, answer.content) == (409, b"5\n")
    evidence = (await client.get("/v1/evidence")).json()
    assert [(e["origin"], e["kind"]) for e in evidence] == [("peer.test/log", "same-size")]
    assert evidence[0]["checkpoint_a"].encode() == honest
    assert evidence[0]["checkpoint_b"].encode() == forked
    peers = (await client.get("/v1/peers")).json()
    assert (peers[0]["flagged"], peers[0]["evidence"]) == (True, 1)
    # A flagged log gets no more cosignatures.
    later = checkpoint_of(ENTRIES[:12])
    refused = await post(client, witness_request_body(5, proof(5, 12), later))
    assert_problem(refused, 403, "forbidden")


async def test_admin_api_needs_the_operator_token(database_url: str, tmp_path: Path) -> None:
    async with witness_node(database_url, tmp_path) as client:
        await _test_admin_api_needs_the_operator_token(client)


async def _test_admin_api_needs_the_operator_token(client: httpx.AsyncClient) -> None:
    other = fake_signer("other.test/log")
    body = {"url": "http://127.0.0.1:9/", "verifier_key": other.verifier.vkey}
    missing = await client.post("/v1/admin/peers", json=body)
    assert_problem(missing, 401, "unauthorized")
    assert missing.headers["www-authenticate"].startswith("Bearer")
    wrong = {"Authorization": "Bearer " + TOKEN[:-1] + "x"}
    assert_problem(
        await client.post("/v1/admin/peers", json=body, headers=wrong), 401, "unauthorized"
    )
    auth = {"Authorization": f"Bearer {TOKEN}"}
    added = await client.post("/v1/admin/peers", json=body, headers=auth)
    assert added.status_code == 201, added.text
    assert added.json()["origin"] == "other.test/log"
    assert added.json()["url"] == "http://127.0.0.1:9"
    assert added.json()["source"] == "admin"
    listed = {p["origin"] for p in (await client.get("/v1/peers")).json()}
    assert listed == {"peer.test/log", "other.test/log"}
    for bad, slug in (
        ({**body, "verifier_key": "nope"}, "bad-peer"),
        ({**body, "url": "ftp://x/"}, "bad-peer"),
        ({**body, "verifier_key": "node.test/log+00000000+AAAA"}, "bad-peer"),
        ({**body, "extra": 1}, "validation-error"),
    ):
        answer = await client.post("/v1/admin/peers", json=bad, headers=auth)
        assert_problem(answer, 422 if slug == "bad-peer" else 400, slug)
    # Regressions found by tests/ops fuzzing (were 500s): invalid UTF-8 in a key, bad URLs.
    raw = await client.post(
        "/v1/admin/peers",
        content=b'{"\x80":1}',
        headers={**auth, "Content-Type": "application/json"},
    )
    assert_problem(raw, 400, "bad-encoding")
    ipv6 = await client.post(
        "/v1/admin/peers", json={**body, "url": "http://[a.test"}, headers=auth
    )
    assert_problem(ipv6, 422, "bad-peer")
    own = NoteSigner.from_seed("node.test/log", b"\x01" * 32)
    assert_problem(
        await client.post(
            "/v1/admin/peers", json={**body, "verifier_key": own.verifier.vkey}, headers=auth
        ),
        422,
        "bad-peer",
    )
    assert_problem(await client.delete("/v1/admin/peers/other.test/log"), 401, "unauthorized")
    removed = await client.delete("/v1/admin/peers/other.test/log", headers=auth)
    assert removed.status_code == 204
    assert_problem(
        await client.delete("/v1/admin/peers/other.test/log", headers=auth), 404, "not-found"
    )
    listed = {p["origin"] for p in (await client.get("/v1/peers")).json()}
    assert listed == {"peer.test/log"}


async def test_admin_api_is_off_without_a_token(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path / "data")) as node:
        answer = await node.post(
            "/v1/admin/peers",
            json={"url": "http://x.test", "verifier_key": PEER.verifier.vkey},
            headers={"Authorization": "Bearer anything-at-all-long-enough"},
        )
        assert_problem(answer, 403, "forbidden")
        assert (await node.get("/v1/peers")).json() == []
