"""A real web server on loopback standing in for creators' domains (spec §9.2 tests).

One aiohttp server on ``127.0.0.1`` (plain http, and https with a ``trustme`` certificate)
answers for any host name: a test sets what each (host, path) serves. The node reaches it through
a resolver that maps the test's domains to the server's address and port, the one piece of the
network a test cannot own (public DNS); everything after the name lookup is real: sockets,
HTTP, TLS, gzip, redirects, timing.
"""

from __future__ import annotations

import gzip
import hashlib
import socket
import ssl
from collections.abc import AsyncIterator, Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

import pytest
import trustme
from aiohttp import web

from registry.core.keys import PrivateKey
from registry.identity import FetchPolicy, Resolver

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]

CA = trustme.CA()
"""The test certificate authority; the node trusts it through ``FetchPolicy.tls``."""


def key(name: str) -> PrivateKey:
    """A fixed Ed25519 key named ``name``."""
    return PrivateKey.from_seed(hashlib.sha256(name.encode()).digest())


OWNER = key("owner")
STRANGER = key("stranger")
NODE = key("node")


def did_document(domain: str, *, also: Sequence[str] = (), methods: Sequence[Any] = ()) -> bytes:
    """A ``did:web`` document for ``domain`` (the bytes a creator would publish)."""
    import json  # noqa: PLC0415

    document: dict[str, Any] = {
        "@context": ["https://www.w3.org/ns/did/v1"],
        "id": f"did:web:{domain}",
    }
    if also:
        document["alsoKnownAs"] = list(also)
    if methods:
        document["verificationMethod"] = list(methods)
    return json.dumps(document, indent=2).encode()


def serve(body: bytes, *, status: int = 200, headers: dict[str, str] | None = None) -> Handler:
    """A handler answering ``body`` as it is (headers as given, e.g. Content-Encoding)."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(
            body=body,
            status=status,
            headers={"Content-Type": "application/did+json", **(headers or {})},
        )

    return handler


def serve_gzip(body: bytes) -> Handler:
    """A handler answering ``body`` gzip-compressed (``Content-Encoding: gzip``)."""
    return serve(gzip.compress(body), headers={"Content-Encoding": "gzip"})


def redirect(location: str, status: int = 302) -> Handler:
    """A handler redirecting to ``location``."""

    async def handler(request: web.Request) -> web.StreamResponse:
        return web.Response(status=status, headers={"Location": location})

    return handler


@dataclass
class Site:
    """The loopback web server: ``routes[(host, path)]`` says what it answers."""

    port: int
    tls_port: int
    routes: dict[tuple[str, str], Handler] = field(default_factory=dict)
    requests: list[tuple[str, str]] = field(default_factory=list)
    lookups: list[str] = field(default_factory=list)

    def publish(self, domain: str, handler: Handler, path: str = "/.well-known/did.json") -> None:
        """Make ``domain`` answer ``handler`` at ``path``."""
        self.routes[(domain, path)] = handler

    def resolver(self, address: str = "127.0.0.1", *, tls: bool = False) -> Resolver:
        """Resolve every name ending in ``.example`` (or ``.test``) to ``address`` and this
        server's port; other names do not resolve."""
        port = self.tls_port if tls else self.port

        async def resolve(host: str, wanted: int) -> list[tuple[str, int]]:
            self.lookups.append(host)
            if not host.endswith((".example", ".test")):
                raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")
            return [(address, port)]

        return resolve

    def policy(self, **overrides: Any) -> FetchPolicy:
        """The test setting of §9.2: plain http and loopback allowed, names resolved here."""
        options: dict[str, Any] = {
            "allow_http": True,
            "allow_private": True,
            "timeout": 5.0,
            "resolver": self.resolver(tls=not overrides.get("allow_http", True)),
            "tls": client_tls(),
        }
        options.update(overrides)
        return FetchPolicy(**options)


def client_tls() -> ssl.SSLContext:
    """A client TLS context trusting the test CA only."""
    context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
    CA.configure_trust(context)
    return context


def server_tls(*names: str) -> ssl.SSLContext:
    """A server TLS context with a certificate for ``names`` signed by the test CA."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    CA.issue_cert(*names).configure_cert(context)
    return context


@pytest.fixture
async def site() -> AsyncIterator[Site]:
    """The loopback server, on two free ports: plain http and https (certificate for
    ``alice.example`` and ``bob.example``)."""
    state = Site(port=0, tls_port=0)

    async def dispatch(request: web.Request) -> web.StreamResponse:
        host = request.url.host or ""
        state.requests.append((host, request.path))
        handler = state.routes.get((host, request.path))
        if handler is None:
            return web.Response(status=404, text="no such document")
        return await handler(request)

    app = web.Application()
    app.router.add_route("GET", "/{tail:.*}", dispatch)
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    plain, secure = _listener(), _listener()
    state.port = plain.getsockname()[1]
    state.tls_port = secure.getsockname()[1]
    await web.SockSite(runner, plain).start()
    await web.SockSite(runner, secure, ssl_context=server_tls("alice.example")).start()
    try:
        yield state
    finally:
        await runner.cleanup()


def _listener() -> socket.socket:
    sock = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    sock.bind(("127.0.0.1", 0))
    return sock
