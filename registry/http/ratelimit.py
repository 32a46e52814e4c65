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

An IPv6 client is keyed by its /64 (spec §6.10.3): one subscriber usually gets a whole /64, and
rotating addresses inside it must not buy a fresh budget. Buckets are kept least recently used
first; beyond :data:`MAX_CLIENTS` keys the least recently used one is forgotten (a forgotten
client starts again with a full bucket, which is what an idle one would have anyway).
"""

from __future__ import annotations

import ipaddress
import time
from collections import OrderedDict
from collections.abc import Callable, Sequence
from typing import Final

import msgspec
from litestar.enums import ScopeType
from litestar.types import ASGIApp, Receive, Scope, Send

from registry.http.problems import PROBLEM_CONTENT_TYPE, make_problem, retry_after_header

__all__ = ["MAX_CLIENTS", "RateLimiter", "TokenBuckets", "TrustedProxies", "client_key"]

EXEMPT_PATHS: Final = frozenset({"/healthz", "/readyz"})
MAX_CLIENTS: Final = 100_000
"""Buckets kept per worker; beyond this many clients the least recently seen is forgotten."""
IPV6_PREFIX: Final = 64


def client_key(address: str) -> str:
    """The rate-limit key of a client address: an IPv4 address as is, an IPv6 address as its
    /64 network (an IPv4-mapped IPv6 address as its IPv4 address); anything else as is."""
    try:
        ip = ipaddress.ip_address(address)
    except ValueError:
        return address
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped is not None:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, IPV6_PREFIX), strict=False))
    return address


class TokenBuckets:
    """Token buckets keyed by client: ``take(key)`` spends one token or says how long to wait."""

    def __init__(
        self,
        per_minute: int,
        *,
        clock: Callable[[], float] = time.monotonic,
        max_clients: int = MAX_CLIENTS,
    ) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._clock = clock
        # key -> (tokens, last refill), least recently used first
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()

    def __len__(self) -> int:
        return len(self._buckets)

    def __contains__(self, key: object) -> bool:
        return key in self._buckets

    def take(self, key: str) -> float:
        """Spend a token of ``key``; return 0.0 if allowed, else the seconds until one is due."""
        now = self._clock()
        found = self._buckets.pop(key, None)
        tokens, last = found if found is not None else (self.capacity, now)
        tokens = min(self.capacity, tokens + (now - last) * self.rate)
        if found is None and len(self._buckets) >= self.max_clients:
            self._buckets.popitem(last=False)  # forget the least recently used client
        if tokens < 1.0:
            self._buckets[key] = (tokens, now)
            return (1.0 - tokens) / self.rate
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
        wait = self.buckets.take(client_key(self.proxies.client(scope)))
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
