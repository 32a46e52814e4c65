"""HTTP hygiene applied to every answer of the node, in one place (spec §6.1.3).

- ``HEAD`` is answered wherever ``GET`` is (RFC 9110 §9.3.2): the request is routed as a
  ``GET`` and the answer's body is dropped, its status and headers (``Content-Length``
  included) kept.
- Security headers (:data:`SECURITY_HEADERS`) are added to every answer that does not set the
  header itself. The Content-Security-Policy is the web app's (``/``, no inline script or
  style; :mod:`registry.http.controllers.web` uses this constant), and forbids framing,
  plugins and ``<base>`` changes everywhere. The JSON and tlog answers never run as a
  document, so the policy only ever matters for the web app and for a browser opening an API
  URL directly.

:class:`HygieneApp` wraps the node's Litestar app so that these rules also hold for answers
Litestar gives before any middleware runs (404 for unknown paths, 405).
"""

from __future__ import annotations

from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

__all__ = ["CONTENT_SECURITY_POLICY", "DOCS_PREFIX", "SECURITY_HEADERS", "hygienic"]

DOCS_PREFIX: Final = "/schema"
"""The OpenAPI document and its rendered pages, which load their renderer from a CDN: every
header but the Content-Security-Policy applies to them."""

CONTENT_SECURITY_POLICY: Final = (
    "default-src 'none'; script-src 'self'; style-src 'self'; "
    "img-src 'self' blob: data:; connect-src 'self'; worker-src 'self'; "
    "manifest-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
)
"""The one policy of every answer: what the web app at ``/`` needs (its scripts, styles and
hashing worker from the node, previews of the files it hashes as ``blob:`` images, ``fetch`` to
the node), nothing else, and no framing."""

SECURITY_HEADERS: Final[tuple[tuple[bytes, bytes], ...]] = (
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
    (b"content-security-policy", CONTENT_SECURITY_POLICY.encode()),
    (b"cross-origin-opener-policy", b"same-origin"),
)
"""Added to every answer (a header the answer already has is left alone)."""


def hygienic(app: ASGIApp) -> ASGIApp:
    """``app`` answering ``HEAD`` like ``GET`` without a body, with :data:`SECURITY_HEADERS`."""

    async def wrapped(scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await app(scope, receive, send)
            return
        head = scope["method"] == "HEAD"
        docs = scope["path"].startswith(DOCS_PREFIX)
        if head:
            scope = {**scope, "method": "GET"}

        async def send_hygienic(message: Message) -> None:
            if message["type"] == "http.response.start":
                present = {name.lower() for name, _ in message.get("headers", ())}
                if docs:  # the OpenAPI pages load their renderer from a CDN
                    present.add(b"content-security-policy")
                extra = [(k, v) for k, v in SECURITY_HEADERS if k not in present]
                message = {**message, "headers": [*message.get("headers", ()), *extra]}
            elif head and message["type"] == "http.response.body":
                if message.get("more_body", False):
                    return  # the body of a streamed answer: never sent for HEAD
                message = {"type": "http.response.body", "body": b"", "more_body": False}
            await send(message)

        await app(scope, receive, send_hygienic)

    return wrapped
