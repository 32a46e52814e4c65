"""Faulty peers (spec §7.3, §7.6): a node keeps working, accepts nothing invalid, and reports
each peer's state correctly in ``GET /v1/peers``.

The node runs in-process (its real lifespan, on SQLite and on PostgreSQL) and mirrors fake
peers over loopback HTTP: small servers serving C2SP tlog-tiles logs built with the core from a
real key (tests/node/test_federation_support.py), each corrupted in one way. A healthy fake peer
runs beside the broken one in every test, and must be mirrored regardless.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.encoding import b64decode
from registry.core.note import NoteSigner, NoteVerifier
from registry.core.tiles import TILE_WIDTH, TileCoord, tile_path
from registry.federation.evidence import ForkEvidence, verify_evidence
from tests.conftest import make_entries
from tests.node.api_support import make_settings, running_node
from tests.node.test_federation_support import FakePeer, build_log, fake_peer, fake_signer

Client = httpx.AsyncClient


@asynccontextmanager
async def node_with_peers(
    database_url: str, tmp_path: Path, peers: Sequence[FakePeer], **settings: Any
) -> AsyncIterator[Client]:
    """A node whose peers file lists ``peers``; polls every 0.2 s, gives up a request after 1 s."""
    peers_file = tmp_path / "peers"
    peers_file.write_text("".join(f"{p.url} {p.vkey}\n" for p in peers))
    options: dict[str, Any] = {
        "peers_file": peers_file,
        "peer_poll_interval": 0.2,
        "peer_timeout": 1.0,
        "peer_max_backoff": 0.5,
        **settings,
    }
    async with running_node(make_settings(database_url, tmp_path / "data", **options)) as client:
        yield client


async def peer_state(client: Client, origin: str) -> dict[str, Any]:
    """The node's ``/v1/peers`` entry for ``origin``."""
    response = await client.get("/v1/peers")
    assert response.status_code == 200, response.text
    states: dict[str, dict[str, Any]] = {p["origin"]: p for p in response.json()}
    return states[origin]


async def eventually(
    client: Client, origin: str, done: Callable[[dict[str, Any]], bool], timeout: float = 15.0
) -> dict[str, Any]:
    """Poll ``/v1/peers`` until ``done`` holds for ``origin``'s state."""
    deadline = time.monotonic() + timeout
    state = await peer_state(client, origin)
    while not done(state):
        assert time.monotonic() < deadline, f"timed out; last state of {origin}: {state}"
        await asyncio.sleep(0.05)
        state = await peer_state(client, origin)
    return state


def erroring(substring: str) -> Callable[[dict[str, Any]], bool]:
    """A state whose last error mentions ``substring``."""
    return lambda s: s["last_error"] is not None and substring in s["last_error"]


async def claims_of(client: Client, entry_seed: int, i: int) -> list[dict[str, Any]]:
    """The claims the node reports for work i of ``make_entries(.., seed=entry_seed)``."""
    import hashlib  # noqa: PLC0415

    digest = hashlib.sha256(f"work-{entry_seed}-{i}-0".encode()).hexdigest()
    claims: list[dict[str, Any]] = (await client.get(f"/v1/works/sha256/{digest}")).json()["claims"]
    return claims


async def indexed(client: Client, entry_seed: int, i: int) -> list[dict[str, Any]]:
    """:func:`claims_of`, once the index has caught up with the mirror (bounded delay)."""
    deadline = time.monotonic() + 5
    while not (claims := await claims_of(client, entry_seed, i)):
        assert time.monotonic() < deadline, "the index did not follow the mirror"
        await asyncio.sleep(0.05)
    return claims


HEALTHY = make_entries(40, seed=1)


async def assert_healthy_peer_mirrored(client: Client, healthy: FakePeer) -> None:
    """The healthy peer was mirrored completely and answers queries, whatever the other did."""
    state = await eventually(client, healthy.signer.name, lambda s: s["verified_size"] == 40)
    assert state["last_error"] is None
    assert state["flagged"] is False
    claims = await indexed(client, 1, 39)
    assert [c["origin"] for c in claims] == [healthy.signer.name]


async def test_bad_checkpoint_signature(database_url: str, tmp_path: Path) -> None:
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bad.test/log", []) as bad:
        impostor = NoteSigner.from_seed("bad.test/log", b"\x07" * 32)  # same name, other key
        bad.served = build_log(make_entries(10, seed=2), impostor)
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            state = await eventually(client, "bad.test/log", erroring("does not verify"))
            await assert_healthy_peer_mirrored(client, good)
            assert (state["verified_size"], state["seen_size"]) == (0, 0)
            assert state["flagged"] is False
            assert await claims_of(client, 2, 0) == []


async def test_tampered_entries_are_not_accepted(database_url: str, tmp_path: Path) -> None:
    entries = make_entries(300, seed=3)
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bad.test/log", entries) as bad:
        bundle_path = "tile/entries/001.p/44"
        # (1) one entry is altered in transit (tiles and checkpoint untouched)
        forged = bytearray(bad.served.files[bundle_path])
        forged[-5] ^= 0x01  # inside the last entry
        bad.served.files[bundle_path] = bytes(forged)
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            state = await eventually(client, "bad.test/log", erroring("entry 299"))
            assert state["verified_size"] == 0
            assert state["seen_size"] == 300
            assert state["lag"] == 300
            await assert_healthy_peer_mirrored(client, good)
            # (2) a valid, signed record substituted for another: the root does not match
            other = make_entries(1, seed=99)[0]
            substituted = build_log([*entries[:299], other], bad.signer).files[bundle_path]
            bad.served.files[bundle_path] = substituted
            state = await eventually(client, "bad.test/log", erroring("do not reproduce the root"))
            assert state["verified_size"] == 0
            assert await claims_of(client, 3, 0) == []
            assert await claims_of(client, 99, 0) == []
            # (3) the peer fixes its bundle: mirroring resumes from the stored state
            bad.served = build_log(entries, bad.signer)
            await eventually(client, "bad.test/log", lambda s: s["verified_size"] == 300)
            assert len(await indexed(client, 3, 299)) == 1


async def test_peer_logging_an_invalid_record_is_refused(database_url: str, tmp_path: Path) -> None:
    entries = make_entries(5, seed=4)
    broken = entries[2].replace(b'"train-ai":"n"', b'"train-ai":"y"')  # signature no longer valid
    assert broken != entries[2]
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bad.test/log", []) as bad:
        # The peer itself signed a checkpoint over a log holding a record that does not verify.
        bad.served = build_log([*entries[:2], broken, *entries[3:]], bad.signer)
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            state = await eventually(client, "bad.test/log", erroring("entry 2 is not a valid"))
            await assert_healthy_peer_mirrored(client, good)
            assert state["verified_size"] == 0
            assert await claims_of(client, 4, 0) == []  # nothing of that checkpoint is kept


async def test_truncated_tile_is_an_error_not_a_fork(database_url: str, tmp_path: Path) -> None:
    first, more = make_entries(300, seed=5), make_entries(300, seed=6)
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bad.test/log", first) as bad:
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            await eventually(client, "bad.test/log", lambda s: s["verified_size"] == 300)
            grown = build_log([*first, *more], bad.signer)
            # Every hash tile the consistency proof 300 -> 600 needs is cut short.
            for coord in [TileCoord(0, 0), TileCoord(0, 1), TileCoord(1, 0, 2)]:
                grown.files[tile_path(coord)] = grown.files[tile_path(coord)][:-7]
            bad.served = grown
            state = await eventually(client, "bad.test/log", erroring("tile"))
            await assert_healthy_peer_mirrored(client, good)
            assert state["verified_size"] == 300
            assert state["seen_size"] == 600
            assert state["flagged"] is False
            assert (await client.get("/v1/evidence")).json() == []
            bad.served = build_log([*first, *more], bad.signer)  # repaired: it catches up
            await eventually(client, "bad.test/log", lambda s: s["verified_size"] == 600)


@pytest.mark.parametrize("fork_size", [300, 400])
async def test_forked_checkpoint_is_kept_as_evidence(
    database_url: str, tmp_path: Path, fork_size: int
) -> None:
    honest, other = make_entries(300, seed=7), make_entries(fork_size, seed=8)
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bad.test/log", honest) as bad:
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            await eventually(client, "bad.test/log", lambda s: s["verified_size"] == 300)
            assert len(await indexed(client, 7, 10)) == 1
            bad.served = build_log(other, bad.signer)  # the same key signs another history
            state = await eventually(
                client, "bad.test/log", lambda s: s["flagged"] and s["last_error"]
            )
            await assert_healthy_peer_mirrored(client, good)
            assert state["verified_size"] == 300  # nothing of the fork was accepted
            assert state["evidence"] == 1
            assert "equivocation" in (state["last_error"] or "")
            evidence = (await client.get("/v1/evidence", params={"origin": "bad.test/log"})).json()
            assert len(evidence) == 1
            assert evidence[0]["kind"] == ("same-size" if fork_size == 300 else "inconsistent")
            verify_evidence(_evidence(evidence[0]), bad.signer.verifier)
            # The honest history stays queryable, its claims marked; the fork's is not there.
            deadline = time.monotonic() + 5
            while not (claims := await claims_of(client, 7, 10))[0]["flagged"]:
                assert time.monotonic() < deadline, claims
                await asyncio.sleep(0.05)
            assert [(c["flagged"], c["flagged_origins"]) for c in claims] == [
                (True, ["bad.test/log"])
            ]
            assert await claims_of(client, 8, 10) == []
            # A witness does not cosign a flagged log any more.
            refused = await client.post("/add-checkpoint", content=_witness_body(bad))
            assert refused.status_code == 403


def _evidence(view: dict[str, Any]) -> ForkEvidence:
    a, b = view["checkpoint_a"].encode(), view["checkpoint_b"].encode()
    return ForkEvidence(
        origin=view["origin"],
        kind=view["kind"],
        note_a=a,
        note_b=b,
        size_a=int(a.split(b"\n")[1]),
        size_b=int(b.split(b"\n")[1]),
        proof=tuple(b64decode(h) for h in view["proof"]),
        root_in_b=b64decode(view["root_in_b"]),
    )


def _witness_body(peer: FakePeer) -> bytes:
    return b"old 0\n\n" + peer.served.files["checkpoint"]


async def test_hanging_and_vanishing_peers(database_url: str, tmp_path: Path) -> None:
    with (
        fake_peer("good.test/log", HEALTHY) as good,
        fake_peer("hang.test/log", make_entries(3, seed=9)) as hanging,
        fake_peer("gone.test/log", make_entries(20, seed=10)) as gone,
    ):
        hanging.hang = True
        async with node_with_peers(database_url, tmp_path, [good, hanging, gone]) as client:
            await eventually(client, "gone.test/log", lambda s: s["verified_size"] == 20)
            gone.stop()
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "hang.test/log", erroring("Timeout"))
            assert state["verified_size"] == 0
            state = await eventually(client, "gone.test/log", erroring("Connect"))
            assert state["verified_size"] == 20  # what was verified stays
            assert len(await indexed(client, 10, 19)) == 1
            # The node itself keeps answering and accepting submissions promptly.
            started = time.monotonic()
            entry = make_entries(1, seed=11)[0]
            response = await client.post(
                "/v1/declarations", content=entry, headers={"Content-Type": "application/json"}
            )
            assert response.status_code == 201
            assert time.monotonic() - started < 1.0


def test_fake_peer_fork_helpers_agree_with_the_core() -> None:
    signer = fake_signer("x.test/log")
    log = build_log(make_entries(TILE_WIDTH + 1, seed=12), signer)
    note = log.files["checkpoint"]
    text = Checkpoint(signer.name, log.size, log.root)
    assert note == sign_checkpoint(text, signer)
    assert NoteVerifier.from_vkey(signer.verifier.vkey) == signer.verifier


async def test_fork_shown_to_the_witness_stops_the_mirror(
    database_url: str, tmp_path: Path
) -> None:
    entries = make_entries(10, seed=13)
    with fake_peer("bad.test/log", entries[:5]) as bad:
        async with node_with_peers(database_url, tmp_path, [bad]) as client:
            await eventually(client, "bad.test/log", lambda s: s["verified_size"] == 5)
            # The peer pushes a different checkpoint of the same size to our witness endpoint.
            fork = build_log(make_entries(5, seed=14), bad.signer).files["checkpoint"]
            answer = await client.post("/add-checkpoint", content=b"old 0\n\n" + fork)
            assert answer.status_code == 409  # refused: it forks from the log we mirror
            bad.served = build_log(entries, bad.signer)  # an extension of what we mirrored
            state = await eventually(client, "bad.test/log", erroring("flagged"))
            assert (state["flagged"], state["verified_size"]) == (True, 5)
            evidence = (await client.get("/v1/evidence")).json()
            assert [e["kind"] for e in evidence] == ["same-size"]
            await asyncio.sleep(0.5)  # several poll intervals: still nothing accepted
            assert (await peer_state(client, "bad.test/log"))["verified_size"] == 5
