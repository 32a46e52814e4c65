"""Helpers for the SDK's tests: the real node app in process, and a real node process.

- ``node_app`` runs :func:`registry.app.create_app` with its real lifespan on a fresh SQLite
  data dir; ``async_client`` talks to it through ``httpx.ASGITransport``.
- ``sync_node`` runs the same app on an event loop in a background thread and gives a
  ``httpx.BaseTransport`` (:class:`ThreadLoopTransport`) so the *synchronous* client and the
  creator workflow run against the real app in process too.
- ``served_node`` starts ``registry serve`` on 127.0.0.1 and a free port (module scope) and
  yields its URL: the SDK and the ``consent`` CLI over real TCP.
"""

from __future__ import annotations

import asyncio
import datetime
import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
from consent import AsyncConsentClient, ConsentClient
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from registry.app import create_app
from registry.config.settings import Settings
from registry.core.keys import PrivateKey

ORIGIN = "sdk.test/log"
BIN = Path(sys.executable).parent
REGISTRY = shutil.which("registry", path=str(BIN)) or "registry"
CONSENT = shutil.which("consent", path=str(BIN)) or "consent"


def node_settings(data_dir: Path, **overrides: Any) -> Settings:
    """Settings of a test node on SQLite in ``data_dir``: fast batches, no rate limit."""
    values: dict[str, Any] = {
        "data_dir": data_dir,
        "origin": ORIGIN,
        "batch_interval": 0.005,
        "rate_limit": 0,
        "address_hourly_limit": 0,
        "index_poll_interval": 0.05,
    }
    values.update(overrides)
    return Settings(**values)


def creator_key(n: int) -> PrivateKey:
    """A deterministic creator key (test data only)."""
    return PrivateKey.from_seed(hashlib.sha256(b"sdk creator %d" % n).digest())


@asynccontextmanager
async def in_process_node(
    data_dir: Path, client_options: dict[str, Any] | None = None, **overrides: Any
) -> AsyncIterator[AsyncConsentClient]:
    """Start the node's app (migrations, log, index) on ``data_dir`` in this task and yield an
    async SDK client talking to it through ASGITransport. (A context manager, not a fixture:
    the app's lifespan must start and stop in the same task.)"""
    app = create_app(node_settings(data_dir, **overrides))
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with AsyncConsentClient(
            "http://node.test", transport=transport, **(client_options or {})
        ) as client:
            yield client


class ThreadLoopTransport(httpx.BaseTransport):
    """A synchronous httpx transport into an ASGI app running on another thread's loop."""

    def __init__(self, app: Any, loop: asyncio.AbstractEventLoop) -> None:
        self._inner = httpx.ASGITransport(app=app)
        self._loop = loop

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        body = request.read()

        async def call() -> tuple[int, list[tuple[bytes, bytes]], bytes]:
            forwarded = httpx.Request(
                request.method, request.url, headers=request.headers, content=body
            )
            response = await self._inner.handle_async_request(forwarded)
            content = await response.aread()
            return response.status_code, response.headers.raw, content

        future = asyncio.run_coroutine_threadsafe(call(), self._loop)
        status, headers, content = future.result(timeout=60)
        return httpx.Response(status, headers=headers, content=content, request=request)


class ThreadNode:
    """The node app served on a background event loop; ``client()`` makes sync clients."""

    def __init__(self, settings: Settings) -> None:
        self.settings = settings
        self.loop = asyncio.new_event_loop()
        self._thread = threading.Thread(target=self.loop.run_forever, daemon=True)
        self._stop: asyncio.Event | None = None
        self._done: Any = None
        self.app = create_app(settings)

    def start(self) -> None:
        self._thread.start()
        started = threading.Event()

        async def serve() -> None:
            self._stop = asyncio.Event()
            async with self.app.lifespan():
                started.set()
                await self._stop.wait()

        self._done = asyncio.run_coroutine_threadsafe(serve(), self.loop)
        if not started.wait(timeout=60):
            raise RuntimeError(f"node did not start: {self._done.exception()}")

    def stop(self) -> None:
        if self._stop is not None:
            self.loop.call_soon_threadsafe(self._stop.set)
            self._done.result(timeout=60)
        self.loop.call_soon_threadsafe(self.loop.stop)
        self._thread.join(timeout=10)
        self.loop.close()

    def transport(self) -> ThreadLoopTransport:
        return ThreadLoopTransport(self.app, self.loop)

    def client(self, **options: Any) -> ConsentClient:
        return ConsentClient("http://node.test", transport=self.transport(), **options)


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def start_registry(
    data_dir: Path, *extra: str, origin: str = ORIGIN, settings: dict[str, str] | None = None
) -> tuple[subprocess.Popen[str], str]:
    """Start ``registry serve`` on a free port; return the process and its base URL.

    ``settings``: more ``REGISTRY_*`` variables for the node."""
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith(("REGISTRY_", "CONSENT_"))}
    env["REGISTRY_PEER_ALLOW_HTTP"] = "1"  # peers on loopback speak plain http
    env.update(settings or {})
    process = subprocess.Popen(
        [
            REGISTRY,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(data_dir),
            "--origin",
            origin,
            *extra,
        ],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            output = process.stdout.read() if process.stdout else ""
            raise RuntimeError(f"registry serve exited: {output}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                return process, base
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            process.kill()
            raise RuntimeError("registry serve did not become ready")
        time.sleep(0.1)


def stop_registry(process: subprocess.Popen[str]) -> None:
    """Stop a ``registry serve`` process started by :func:`start_registry`."""
    process.send_signal(signal.SIGINT)
    try:
        process.wait(timeout=30)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()
    if process.stdout:
        process.stdout.close()


START = datetime.datetime(2025, 1, 1, tzinfo=datetime.UTC)


def _usage(*, sign: bool) -> x509.KeyUsage:
    return x509.KeyUsage(
        digital_signature=not sign,
        content_commitment=False,
        key_encipherment=False,
        data_encipherment=False,
        key_agreement=False,
        key_cert_sign=sign,
        crl_sign=sign,
        encipher_only=False,
        decipher_only=False,
    )


def c2pa_test_chain(*, ed25519_leaf: bool = False) -> tuple[bytes, bytes]:
    """A C2PA signing certificate for tests: (PEM chain of an ES256 leaf, or an Ed25519 one,
    with emailProtection and the test CA that issued it, PEM PKCS#8 private key of the leaf)."""
    ca_key = ec.generate_private_key(ec.SECP256R1())
    key: ec.EllipticCurvePrivateKey | ed25519.Ed25519PrivateKey = (
        ed25519.Ed25519PrivateKey.generate()
        if ed25519_leaf
        else ec.generate_private_key(ec.SECP256R1())
    )
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "consent tests CA")])
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "consent tests signer")])

    def build(
        subject: x509.Name,
        public: ec.EllipticCurvePublicKey | ed25519.Ed25519PublicKey,
        serial: int,
    ) -> x509.CertificateBuilder:
        return (
            x509.CertificateBuilder()
            .subject_name(subject)
            .issuer_name(ca_name)
            .public_key(public)
            .serial_number(serial)
            .not_valid_before(START)
            .not_valid_after(START + datetime.timedelta(days=3650))
        )

    ca = (
        build(ca_name, ca_key.public_key(), 1)
        .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
        .add_extension(_usage(sign=True), critical=True)
        .sign(ca_key, hashes.SHA256())
    )
    leaf = (
        build(name, key.public_key(), 2)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(_usage(sign=False), critical=True)
        .add_extension(
            x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False
        )
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(key.public_key()), critical=False)
        .sign(ca_key, hashes.SHA256())
    )
    chain = leaf.public_bytes(serialization.Encoding.PEM) + ca.public_bytes(
        serialization.Encoding.PEM
    )
    private = key.private_bytes(
        serialization.Encoding.PEM, serialization.PrivateFormat.PKCS8, serialization.NoEncryption()
    )
    return chain, private
