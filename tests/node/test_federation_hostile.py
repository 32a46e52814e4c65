"""Hostile peers (issue 11 item 3, spec §7.3.1): a gzip bomb, a checkpoint claiming 2^63
entries, a peer dripping bytes, one redirecting, one serving an endless entry bundle, plain
http where the operator did not allow it. Each is bounded (the node drops the answer at its
byte limit counted after decompression, gives up at the request's deadline, follows no
redirect), reported in ``GET /v1/peers``, and a healthy peer beside it is mirrored all the same.

The peers are real HTTP servers on loopback (tests/node/test_federation_support.py), answering
the hostile paths by hand.
"""

from __future__ import annotations

import http.server
import time
import zlib
from collections.abc import Callable
from functools import cache
from pathlib import Path

import pytest

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.federation.client import MAX_CHECKPOINT_BYTES, MAX_TILE_BYTES, PeerClient
from registry.federation.errors import PeerMisbehavingError, PeerUnavailableError
from registry.federation.mirror import MAX_PEER_LOG_SIZE
from tests.conftest import make_entries
from tests.node.api_support import assert_problem, make_settings, running_node
from tests.node.test_cli import run
from tests.node.test_federation_faults import (
    HEALTHY,
    assert_healthy_peer_mirrored,
    erroring,
    eventually,
    node_with_peers,
)
from tests.node.test_federation_support import fake_peer, fake_signer

Handler = http.server.BaseHTTPRequestHandler
BOMB_INFLATED = 256 * MAX_CHECKPOINT_BYTES  # 256 MiB of zeros, about 256 KiB on the wire


@cache
def gzip_bomb() -> bytes:
    """A gzip stream of BOMB_INFLATED zero bytes."""
    deflater = zlib.compressobj(9, zlib.DEFLATED, 16 + zlib.MAX_WBITS)
    block = bytes(1 << 20)
    parts = [deflater.compress(block) for _ in range(BOMB_INFLATED >> 20)]
    return b"".join(parts) + deflater.flush()


def serve_bomb(handler: Handler) -> None:
    body = gzip_bomb()
    handler.send_response(200)
    handler.send_header("Content-Encoding", "gzip")
    handler.send_header("Content-Length", str(len(body)))
    handler.end_headers()
    handler.wfile.write(body)


def drip(handler: Handler) -> None:
    """Headers, then one byte every 0.2 s, for much longer than the deadline."""
    handler.send_response(200)
    handler.send_header("Content-Length", "1000")
    handler.end_headers()
    for _ in range(100):
        try:
            handler.wfile.write(b"x")
            handler.wfile.flush()
        except OSError:
            return
        time.sleep(0.2)


def redirect_to(url: str) -> Callable[[Handler], None]:
    def answer(handler: Handler) -> None:
        handler.send_response(302)
        handler.send_header("Location", url)
        handler.send_header("Content-Length", "0")
        handler.end_headers()

    return answer


def endless(handler: Handler) -> None:
    """A chunked answer that never ends (until the client hangs up)."""
    handler.protocol_version = "HTTP/1.1"
    handler.send_response(200)
    handler.send_header("Transfer-Encoding", "chunked")
    handler.end_headers()
    chunk = b"\x00\x01" + bytes(65535)
    sent = 0
    try:
        while sent < 64 * MAX_TILE_BYTES:  # never reached: the node hangs up long before
            handler.wfile.write(b"%x\r\n%s\r\n" % (len(chunk), chunk))
            sent += len(chunk)
    except OSError:
        return


async def test_gzip_bomb_is_stopped_at_the_limit_after_inflating(
    database_url: str, tmp_path: Path
) -> None:
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("bomb.test/log", []) as bomb:
        bomb.hostile["/checkpoint"] = serve_bomb
        async with node_with_peers(database_url, tmp_path, [good, bomb]) as client:
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "bomb.test/log", erroring("once inflated"))
    assert state["verified_size"] == 0
    assert f"larger than {MAX_CHECKPOINT_BYTES} bytes" in state["last_error"]


async def test_client_reads_at_most_the_limit_of_a_bomb() -> None:
    with fake_peer("bomb.test/log", []) as bomb:
        bomb.hostile["/checkpoint"] = serve_bomb
        client = PeerClient(bomb.url, timeout=5.0, allow_http=True)
        try:
            with pytest.raises(PeerMisbehavingError, match="once inflated"):
                await client.checkpoint()
        finally:
            await client.close()


async def test_absurd_tree_size_is_refused_before_fetching(
    database_url: str, tmp_path: Path
) -> None:
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("huge.test/log", []) as huge:
        claim = Checkpoint(huge.signer.name, (1 << 63) - 1, bytes(32))
        huge.served.files["checkpoint"] = sign_checkpoint(claim, huge.signer)
        async with node_with_peers(database_url, tmp_path, [good, huge]) as client:
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "huge.test/log", erroring("claims"))
    assert str((1 << 63) - 1) in state["last_error"]
    assert str(MAX_PEER_LOG_SIZE) in state["last_error"]
    assert state["verified_size"] == 0
    assert not [r for r in huge.requests if r.startswith("/tile")]  # nothing fetched


async def test_dripping_peer_hits_the_overall_deadline(database_url: str, tmp_path: Path) -> None:
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("drip.test/log", []) as slow:
        slow.hostile["/checkpoint"] = drip  # every byte comes well within the read timeout
        async with node_with_peers(database_url, tmp_path, [good, slow]) as client:
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "drip.test/log", erroring("no complete answer"))
    assert "within 1 s" in state["last_error"]


async def test_redirects_are_not_followed(database_url: str, tmp_path: Path) -> None:
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("moved.test/log", []) as moved:
        moved.hostile["/checkpoint"] = redirect_to(good.url + "/checkpoint")
        async with node_with_peers(database_url, tmp_path, [good, moved]) as client:
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "moved.test/log", erroring("redirect"))
    assert "302" in state["last_error"]
    assert "not followed" in state["last_error"]


async def test_endless_entry_bundle_is_cut_at_the_limit(database_url: str, tmp_path: Path) -> None:
    entries = make_entries(3, seed=21)
    with fake_peer("good.test/log", HEALTHY) as good, fake_peer("tiles.test/log", entries) as bad:
        bad.hostile["/tile/entries/000.p/3"] = endless
        async with node_with_peers(database_url, tmp_path, [good, bad]) as client:
            await assert_healthy_peer_mirrored(client, good)
            state = await eventually(client, "tiles.test/log", erroring("larger than"))
    assert str(MAX_TILE_BYTES) in state["last_error"]
    assert state["verified_size"] == 0


async def test_plain_http_peers_need_the_operators_consent(tmp_path: Path) -> None:
    token = "hostile-test-operator-token-0123456789"
    with fake_peer("plain.test/log", make_entries(2, seed=3)) as plain:
        strict = make_settings(
            f"sqlite+aiosqlite:///{tmp_path / 'b.db'}",
            tmp_path / "b",
            peer_allow_http=False,
            admin_token=token,
        )
        async with running_node(strict) as client:
            answer = await client.post(
                "/v1/admin/peers",
                json={"url": plain.url, "verifier_key": plain.vkey},
                headers={"Authorization": f"Bearer {token}"},
            )
        client_refuses = PeerClient(plain.url, allow_http=False)
        try:
            with pytest.raises(PeerUnavailableError, match="plain http refused"):
                await client_refuses.checkpoint()
        finally:
            await client_refuses.close()
    problem = assert_problem(answer, 422, "bad-peer")
    assert "peer-allow-http" in problem["detail"]
    assert not plain.requests  # nothing was ever asked of it


def test_serve_refuses_plain_http_peers_unless_allowed(tmp_path: Path) -> None:
    peers = tmp_path / "peers"
    peers.write_text(f"http://peer.example {fake_signer('peer.example/log').verifier.vkey}\n")
    result = run("serve", "--data-dir", str(tmp_path / "d"), "--peers", str(peers), ok=False)
    assert result.returncode == 1
    assert "plain http" in result.stderr
    assert "--peer-allow-http" in result.stderr
    assert len(result.stderr.strip().splitlines()) == 1
