"""Helpers for the federation tests, and tests of the helpers themselves.

- :class:`NodeProcess`: a real ``registry serve`` process on a free loopback port, with keys
  made up front so that peers files can name each other before anyone starts.
- :class:`FakePeer`: a small threaded HTTP server on 127.0.0.1 serving a C2SP tlog-tiles log
  built with the core from a real key (:func:`build_log`), which a test then corrupts in one
  way (bad signature, tampered entry, truncated tile, fork) or makes hang or go away.
- :func:`wait_until`: poll with a deadline.
"""

from __future__ import annotations

import contextlib
import hashlib
import http.server
import os
import signal
import socketserver
import subprocess
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, TypeVar

import httpx

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.merkle import append_leaves, leaf_hash
from registry.core.note import NoteSigner
from registry.core.tiles import TILE_WIDTH, encode_entry_bundle, entry_bundle_path, tile_path
from registry.federation.keys import derive_witness_signer
from tests.conftest import make_entries
from tests.node.test_cli import REGISTRY, free_port

T = TypeVar("T")


def wait_until(
    probe: Callable[[], T | None], *, timeout: float = 20.0, interval: float = 0.1, what: str = ""
) -> T:
    """Call ``probe`` until it returns something other than None (or False); fail at timeout."""
    deadline = time.monotonic() + timeout
    last: T | None = None
    while time.monotonic() < deadline:
        last = probe()
        if last is not None and last is not False:
            return last
        time.sleep(interval)
    raise AssertionError(f"timed out after {timeout:g}s waiting for {what or probe}: {last!r}")


@dataclass(frozen=True)
class NodeKeys:
    """A node's identity made before it starts: signing key, verifier key, witness key."""

    origin: str
    skey: str
    vkey: str
    witness_vkey: str

    @classmethod
    def make(cls, origin: str) -> NodeKeys:
        """Deterministic keys for ``origin`` (test data only)."""
        signer = NoteSigner.from_seed(origin, hashlib.sha256(origin.encode()).digest())
        witness = derive_witness_signer(signer.skey)
        return cls(origin, signer.skey, signer.verifier.vkey, witness.verifier.vkey)


@dataclass
class NodeProcess:
    """``registry serve`` on 127.0.0.1:<port>, started and stopped by the test."""

    keys: NodeKeys
    db_args: list[str]
    port: int = field(default_factory=free_port)
    extra_args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)
    process: subprocess.Popen[str] | None = None
    output: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        """The node's base URL."""
        return f"http://127.0.0.1:{self.port}"

    def peers_line(self) -> str:
        """This node's line in another node's peers file."""
        return f"{self.url} {self.keys.vkey} {self.keys.witness_vkey}"

    def start(self, *, wait: bool = True) -> None:
        """Start the process (and wait until ``/readyz`` answers 200)."""
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        # peers on loopback speak plain http, which the operator must allow (spec §7.1)
        env.update(
            {"REGISTRY_SIGNING_KEY": self.keys.skey, "REGISTRY_PEER_ALLOW_HTTP": "1", **self.env}
        )
        self.process = subprocess.Popen(
            [
                REGISTRY,
                "serve",
                "--host",
                "127.0.0.1",
                "--port",
                str(self.port),
                "--origin",
                self.keys.origin,
                "--rate-limit",
                "0",
                "--address-hourly-limit",
                "0",
                "--batch-interval",
                "0.01",
                *self.db_args,
                *self.extra_args,
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
        )
        threading.Thread(target=self._drain, daemon=True).start()
        if wait:
            self.wait_ready()

    def _drain(self) -> None:
        process = self.process
        if process is None or process.stdout is None:
            return
        for line in process.stdout:
            self.output.append(line)

    def wait_ready(self, timeout: float = 60.0) -> None:
        """Wait for ``/readyz``; fail with the process output if it exits first."""

        def ready() -> bool:
            assert self.process is not None
            assert self.process.poll() is None, "".join(self.output)
            try:
                return httpx.get(self.url + "/readyz", timeout=1).status_code == 200
            except httpx.HTTPError:
                return False

        wait_until(ready, timeout=timeout, what=f"{self.keys.origin} ready")

    def stop(self) -> None:
        """Stop the process (SIGINT, then SIGKILL after 30 s)."""
        if self.process is None:
            return
        self.process.send_signal(signal.SIGINT)
        try:
            self.process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.process.kill()
            self.process.wait()
        self.process = None

    def get(self, path: str, **kwargs: Any) -> httpx.Response:
        """GET a path of this node."""
        return httpx.get(self.url + path, timeout=10, **kwargs)

    def post(self, path: str, **kwargs: Any) -> httpx.Response:
        """POST to a path of this node."""
        return httpx.post(self.url + path, timeout=60, **kwargs)

    def submit(self, entries: Sequence[bytes]) -> list[dict[str, Any]]:
        """Submit declarations as one batch; assert every one was accepted."""
        body = b'{"declarations":[' + b",".join(entries) + b"]}"
        response = self.post(
            "/v1/declarations:batch", content=body, headers={"Content-Type": "application/json"}
        )
        assert response.status_code == 200, response.text
        results: list[dict[str, Any]] = response.json()["results"]
        assert all(r["status"] in (200, 201) for r in results), results
        return results

    def peers(self) -> dict[str, dict[str, Any]]:
        """``GET /v1/peers`` by origin."""
        response = self.get("/v1/peers")
        assert response.status_code == 200, response.text
        return {p["origin"]: p for p in response.json()}

    def size(self) -> int:
        """The node's own log size."""
        return int(self.get("/readyz").json()["log_size"])


# --- a fake peer serving a real tlog-tiles log ----------------------------------------------


@dataclass
class ServedLog:
    """What a fake peer serves: path (without leading slash) -> bytes."""

    files: dict[str, bytes]
    size: int
    root: bytes


def build_log(entries: Sequence[bytes], signer: NoteSigner) -> ServedLog:
    """A C2SP tlog-tiles log of ``entries`` signed by ``signer``: checkpoint, every tile at
    the tree's size (full and partial), every entry bundle. Made with the core's append step."""
    grown = append_leaves(0, {}, [leaf_hash(e) for e in entries])
    files = {tile_path(coord): data for coord, data in grown.tiles.items()}
    for start in range(0, len(entries), TILE_WIDTH):
        chunk = entries[start : start + TILE_WIDTH]
        files[entry_bundle_path(start // TILE_WIDTH, len(chunk))] = encode_entry_bundle(chunk)
    checkpoint = Checkpoint(signer.name, grown.size, grown.root)
    files["checkpoint"] = sign_checkpoint(checkpoint, signer)
    return ServedLog(files, grown.size, grown.root)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    block_on_close = False
    allow_reuse_address = True


class FakePeer:
    """A loopback HTTP server serving a :class:`ServedLog`, replaceable at any time.

    ``hang``: every request waits (until the server stops) without answering.
    ``hostile``: path (with its leading slash) -> a function answering that request itself
    through the request handler (a gzip bomb, a drip, a redirect...).
    """

    def __init__(self, signer: NoteSigner, served: ServedLog) -> None:
        self.signer = signer
        self.served = served
        self.hang = False
        self.hostile: dict[str, Callable[[http.server.BaseHTTPRequestHandler], None]] = {}
        self.requests: list[str] = []
        self._stop = threading.Event()
        peer = self

        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                peer.requests.append(self.path)
                if peer.hang:
                    peer._stop.wait(60)
                    return
                answer = peer.hostile.get(self.path)
                if answer is not None:
                    answer(self)
                    return
                data = peer.served.files.get(self.path.lstrip("/"))
                if data is None:
                    self.send_error(404)
                    return
                self.send_response(200)
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def do_POST(self) -> None:  # tlog-witness pushes from the node: not a witness
                peer.requests.append("POST " + self.path)
                self.send_error(404)

            def log_message(self, *_args: Any) -> None:
                pass

        self._server = _Server(("127.0.0.1", 0), Handler)
        self.port = self._server.server_address[1]
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL."""
        return f"http://127.0.0.1:{self.port}"

    @property
    def vkey(self) -> str:
        """The verifier key of the log it serves."""
        return self.signer.verifier.vkey

    def stop(self) -> None:
        """Go away: close the listening socket and release hanging requests."""
        self._stop.set()
        self._server.shutdown()
        self._server.server_close()


def fake_signer(origin: str) -> NoteSigner:
    """A fixed log key for a fake peer."""
    return NoteSigner.from_seed(origin, hashlib.sha256(b"fake " + origin.encode()).digest())


@contextlib.contextmanager
def fake_peer(origin: str, entries: Sequence[bytes]) -> Iterator[FakePeer]:
    """A running :class:`FakePeer` for ``origin`` serving ``entries``; stopped afterwards."""
    signer = fake_signer(origin)
    peer = FakePeer(signer, build_log(entries, signer))
    try:
        yield peer
    finally:
        peer.stop()


# --- the helpers themselves -----------------------------------------------------------------


def test_fake_peer_serves_a_log_the_core_verifies() -> None:
    from registry.core.checkpoint import open_checkpoint  # noqa: PLC0415
    from registry.core.merkle import root_from_tiles, tiles_for_root  # noqa: PLC0415
    from registry.core.tiles import decode_entry_bundle, tile_at  # noqa: PLC0415

    entries = make_entries(300, seed=7)
    with fake_peer("fake.test/log", entries) as peer:
        note = httpx.get(peer.url + "/checkpoint").content
        checkpoint = open_checkpoint(note, peer.signer.verifier).checkpoint
        tiles = {
            coord: httpx.get(f"{peer.url}/{tile_path(coord)}").content
            for coord in tiles_for_root(checkpoint.size)
        }
        bundle = httpx.get(peer.url + "/" + entry_bundle_path(1, 44)).content
        missing = httpx.get(peer.url + "/tile/0/005").status_code
    assert checkpoint.size == 300
    assert root_from_tiles(300, tiles) == checkpoint.root_hash
    assert tile_at(0, 1, 300).width == 44
    assert decode_entry_bundle(bundle, 44) == entries[256:]
    assert missing == 404


def test_node_keys_are_deterministic_and_distinct() -> None:
    a, again, b = NodeKeys.make("a.test/log"), NodeKeys.make("a.test/log"), NodeKeys.make("b.x/l")
    assert a == again
    assert a.vkey.startswith("a.test/log+")
    assert a.witness_vkey.startswith("a.test/log/witness+")
    assert len({a.vkey, b.vkey, a.witness_vkey, b.witness_vkey}) == 4
