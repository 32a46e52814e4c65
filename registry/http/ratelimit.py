"""Per-client rate limiting: a token bucket per client address, in the worker's memory.

Each client address may make ``per_minute`` requests a minute on average, with bursts of up to
``per_minute`` requests. A client over its budget is answered ``429`` as an RFC 9457 problem
with ``Retry-After`` (RFC 6585 §4) without reaching the application. The limit is per worker
process; health probes are never limited. Litestar's own middleware keeps a JSON history per
client in a store; a bucket is two floats, which keeps the check off the hot path's profile.

Behind a reverse proxy every request comes from the proxy's address. When that address is one
of the configured trusted proxies (``--trusted-proxies``), the client is the right-most address
of ``X-Forwarded-For`` that is not itself a trusted proxy (the left-most entries are whatever
the client chose to send, so they are never believed).
"""

from __future__ import annotations

import ipaddress
import time
from collections.abc import Callable, Sequence
from typing import Final

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.http.problems import PROBLEM_CONTENT_TYPE, make_problem, retry_after_header

__all__ = ["RateLimiter", "TokenBuckets", "TrustedProxies"]

EXEMPT_PATHS: Final = frozenset({"/healthz", "/readyz"})
_MAX_CLIENTS: Final = 100_000  # forget idle buckets beyond this many addresses


class TokenBuckets:
    """Token buckets keyed by client: ``take(key)`` spends one token or says how long to wait."""

    def __init__(self, per_minute: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self._clock = clock
        self._buckets: dict[str, tuple[float, float]] = {}  # key -> (tokens, last refill)

    def take(self, key: str) -> float:
        """Spend a token of ``key``; return 0.0 if allowed, else the seconds until one is due."""
        now = self._clock()
        tokens, last = self._buckets.get(key, (self.capacity, now))
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
        if len(self._buckets) >= _MAX_CLIENTS and key not in self._buckets:
            self._buckets.clear()  # crude bound on memory; a full bucket is the default anyway
        self._buckets[key] = (tokens - 1.0, now)
        return 0.0


class TrustedProxies:
    """Which peers' ``X-Forwarded-For`` headers to believe, and the client they name."""

    def __init__(self, networks: Sequence[str] = ()) -> None:
        self.networks = tuple(ipaddress.ip_network(n, strict=False) for n in networks)

    def trusts(self, address: str) -> bool:
        """Whether ``address`` is a trusted proxy."""
        try:
            ip = ipaddress.ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)

    def client(self, scope: Scope) -> str:
        """The client address of a request: the peer, or what trusted proxies forwarded."""
        peer = scope.get("client")
        address = peer[0] if peer else "unknown"
        if not self.networks or not self.trusts(address):
            return address
        forwarded: list[str] = []
        for name, value in scope.get("headers", ()):
            if name == b"x-forwarded-for":
                forwarded += [a.strip() for a in value.decode("latin-1").split(",")]
        for hop in reversed(forwarded):
            if not hop:
                continue
            if not self.trusts(hop):
                return hop
            address = hop
        return address


class RateLimiter:
    """ASGI middleware answering 429 to clients over their per-minute budget."""

    def __init__(
        self, app: ASGIApp, *, per_minute: int, trusted_proxies: Sequence[str] = ()
    ) -> None:
        self.app = app
        self.buckets = TokenBuckets(per_minute)
        self.proxies = TrustedProxies(trusted_proxies)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != ScopeType.HTTP or scope["path"] in EXEMPT_PATHS:
            await self.app(scope, receive, send)
            return
        wait = self.buckets.take(self.proxies.client(scope))
        if wait <= 0.0:
            await self.app(scope, receive, send)
            return
        problem = make_problem(
            "rate-limited",
            f"more than {int(self.buckets.capacity)} requests a minute from this address",
        )
        body = msgspec.json.encode(problem)
        headers = [
            (b"content-type", PROBLEM_CONTENT_TYPE.encode()),
            (b"content-length", str(len(body)).encode()),
        ]
        headers += [(k.lower().encode(), v.encode()) for k, v in retry_after_header(wait).items()]
        await send({"type": "http.response.start", "status": 429, "headers": headers})
        await send({"type": "http.response.body", "body": body, "more_body": False})
