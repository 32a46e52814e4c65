"""Request ids and HTTP metrics: the outermost middleware of the node's routes.

Every request gets an id: the client's ``X-Request-ID`` if it is sane (1 to 128 characters
from ``A-Z a-z 0-9 . _ : - +``; anything else could forge or break log lines), else a fresh
random one. The id is in :data:`registry.observability.logs.request_id_var` while the request is
handled, so every line logged meanwhile carries it, and it is echoed in the response's
``X-Request-ID`` header (also on 429 answers of the rate limiter, which this middleware wraps).

With ``--log-level debug`` it logs one access line per request (``registry.access``: method,
path without the query, status, milliseconds). It also counts the request in
:class:`registry.observability.metrics.Metrics` by method, route template
(``/v1/works/sha256/{sha256:str}``, never the raw path: bounded label values) and status.
Litestar runs route middleware only for requests that match a route: 404 answers to unknown
paths are neither counted nor given an id.
"""

from __future__ import annotations

import logging
import re
import secrets
import time
from typing import Final

from litestar.enums import ScopeType
from litestar.types import ASGIApp, Message, Receive, Scope, Send

from registry.observability.logs import request_id_var
from registry.observability.metrics import Metrics

__all__ = ["REQUEST_ID_HEADER", "ObserveMiddleware", "sane_request_id"]

REQUEST_ID_HEADER: Final = "x-request-id"
_SANE: Final = re.compile(r"[A-Za-z0-9._:+\-]{1,128}")
_access = logging.getLogger("registry.access")


def sane_request_id(value: str | None) -> str | None:
    """``value`` if it is acceptable as a request id, else None."""
    if value is not None and _SANE.fullmatch(value):
        return value
    return None


def _incoming_id(scope: Scope) -> str | None:
    for name, value in scope.get("headers", ()):
        if name == b"x-request-id":
            try:
                return sane_request_id(value.decode("ascii"))
            except UnicodeDecodeError:
                return None
    return None


class ObserveMiddleware:
    """ASGI middleware: request id in context, log lines and response; HTTP metrics."""

    def __init__(self, app: ASGIApp, *, metrics: Metrics) -> None:
        self.app = app
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP:
            await self.app(scope, receive, send)
            return
        request_id = _incoming_id(scope) or secrets.token_hex(8)
        token = request_id_var.set(request_id)
        started = time.perf_counter()
        status = 500

        async def send_with_id(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = [h for h in message.get("headers", ()) if h[0] != b"x-request-id"]
                headers.append((b"x-request-id", request_id.encode("ascii")))
                message = {**message, "headers": headers}
            await send(message)

        try:
            await self.app(scope, receive, send_with_id)
        finally:
            seconds = time.perf_counter() - started
            route = scope.get("path_template") or "unmatched"
            self.metrics.request(scope["method"], route, status, seconds)
            # the path only: a query string may carry a URL someone asked about
            _access.debug("%s %s %d %.1fms", scope["method"], scope["path"], status, seconds * 1e3)
            request_id_var.reset(token)
