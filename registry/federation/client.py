"""HTTP client for one peer: its C2SP tlog-tiles resources, node description and witness.

One :class:`PeerClient` (one connection pool) per peer, so a peer that hangs ties up only its
own connections (spec §7.3 item 9). Every failure to get an answer, and every HTTP error
status, is a :class:`PeerUnavailableError`; what the answers contain is verified by the caller.

A peer is not trusted to be well behaved (spec §7.3.1): every request has one overall deadline
(connecting, waiting and reading together, so a peer dripping bytes cannot hold a request
open), redirects are not followed, and an answer is read as a stream and dropped as soon as it
exceeds the byte limit of what was asked, counted after decompression (a gzip bomb is stopped
after at most ``limit`` bytes of output, whatever it would inflate to). Only ``gzip`` is asked
for, and inflated here in bounded steps. Plain ``http://`` peers are refused unless the operator
allowed them (``peer_allow_http``).
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Iterable
from typing import Final

import httpx

import registry
from registry import net
from registry.core.tiles import TileCoord, entry_bundle_path, tile_path
from registry.federation.errors import PeerMisbehavingError, PeerUnavailableError

__all__ = [
    "MAX_CHECKPOINT_BYTES",
    "MAX_TILE_BYTES",
    "MAX_WITNESS_ANSWER_BYTES",
    "USER_AGENT",
    "PeerClient",
    "WitnessAnswer",
    "read_bounded",
]

USER_AGENT: Final = f"consent-registry/{registry.__version__} (federation)"
MAX_TILE_BYTES: Final = 256 * (2 + 65535)
"""Largest entry bundle a peer can legitimately serve (256 entries of at most 64 KiB)."""
MAX_CHECKPOINT_BYTES: Final = 1 << 20
MAX_NODE_INFO_BYTES: Final = 1 << 16
MAX_WITNESS_ANSWER_BYTES: Final = 1 << 16
"""A cosignature line, or a ``text/x.tlog.size`` body, or a short problem."""


class AnswerTooLargeError(PeerMisbehavingError):
    """A peer's answer is larger (after decompression) than anything it may legitimately send."""


async def read_bounded(response: httpx.Response, limit: int) -> bytes:
    """The body of a streamed ``response``, inflated if gzip-encoded, of at most ``limit``
    bytes (spec §7.3.1; the limiter is :func:`registry.net.read_bounded`).

    Raises:
        AnswerTooLargeError: the body, decompressed, exceeds ``limit`` bytes (reading stops at
            once: at most ``limit + 1`` bytes are ever held).
        PeerMisbehavingError: an encoding other than gzip, or a gzip stream that does not inflate.
    """
    try:
        return await net.read_bounded(response, limit)
    except net.BodyTooLargeError as exc:
        raise AnswerTooLargeError(str(exc)) from None
    except net.BodyEncodingError as exc:
        raise PeerMisbehavingError(str(exc)) from None


class WitnessAnswer:
    """A tlog-witness ``add-checkpoint`` answer: status code, body and content type."""

    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


class PeerClient:
    """Talks HTTP to one peer's base URL (its tlog-tiles prefix).

    ``timeout`` is the overall deadline of one request, in seconds; ``allow_http`` whether a
    plain ``http://`` base URL may be used.
    """

    def __init__(
        self,
        base_url: str,
        *,
        timeout: float = 10.0,
        concurrency: int = 8,
        allow_http: bool = False,
    ) -> None:
        self.base_url = base_url.rstrip("/")
        self.deadline = timeout
        self.plain_http = self.base_url.lower().startswith("http://")
        self.allow_http = allow_http
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": USER_AGENT, "Accept-Encoding": "gzip"},
            follow_redirects=False,
        )
        self._semaphore = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    def _check_scheme(self, what: str) -> None:
        if self.plain_http and not self.allow_http:
            raise PeerUnavailableError(
                f"{what}: plain http refused (use https, or allow it with peer_allow_http)"
            )

    async def _request(
        self, method: str, path: str, limit: int, *, content: bytes | None = None
    ) -> tuple[int, bytes, str]:
        """One request within the deadline: (status, body of at most ``limit`` bytes, type)."""
        what = f"{method} {path}"
        self._check_scheme(what)
        headers = {"Content-Type": "text/plain"} if content is not None else None
        try:
            async with asyncio.timeout(self.deadline):
                request = self._client.build_request(method, path, content=content, headers=headers)
                response = await self._client.send(request, stream=True)
                try:
                    if response.is_redirect:
                        location = response.headers.get("location", "?")
                        raise PeerUnavailableError(
                            f"{what}: HTTP {response.status_code} redirect to {location[:200]!r} "
                            "not followed"
                        )
                    try:
                        body = await read_bounded(response, limit)
                    except PeerMisbehavingError as exc:
                        raise type(exc)(f"{what}: {exc}") from None
                    return response.status_code, body, response.headers.get("content-type", "")
                finally:
                    await response.aclose()
        except TimeoutError:
            raise PeerUnavailableError(
                f"{what}: Timeout: no complete answer within {self.deadline:g} s"
            ) from None
        except httpx.HTTPError as exc:
            raise PeerUnavailableError(f"{what}: {type(exc).__name__}: {exc}") from exc

    async def _get(self, path: str, limit: int) -> bytes:
        async with self._semaphore:
            status, body, _ = await self._request("GET", path, limit)
        if status != httpx.codes.OK:
            raise PeerUnavailableError(f"GET {path}: HTTP {status}")
        return body

    async def checkpoint(self) -> bytes:
        """``GET /checkpoint`` (C2SP tlog-tiles): the peer's latest signed checkpoint."""
        return await self._get("/checkpoint", MAX_CHECKPOINT_BYTES)

    async def tile(self, coord: TileCoord) -> bytes:
        """``GET /tile/<L>/<N>[.p/<W>]``: a hash tile (unverified)."""
        return await self._get("/" + tile_path(coord), 256 * 32)

    async def tiles(self, coords: Iterable[TileCoord]) -> dict[TileCoord, bytes]:
        """Fetch several hash tiles concurrently."""
        wanted = sorted(set(coords))
        found = await asyncio.gather(*(self.tile(c) for c in wanted))
        return dict(zip(wanted, found, strict=True))

    async def entry_bundle(self, index: int, width: int) -> bytes:
        """``GET /tile/entries/<N>[.p/<W>]``: an entry bundle (unverified; gzip is undone)."""
        return await self._get("/" + entry_bundle_path(index, width), MAX_TILE_BYTES)

    async def node_info(self) -> dict[str, object]:
        """``GET /.well-known/consent-registry`` as a JSON object (spec §6.2)."""
        data = await self._get("/.well-known/consent-registry", MAX_NODE_INFO_BYTES)
        try:
            value = json.loads(data)
        except (ValueError, RecursionError) as exc:
            raise PeerUnavailableError(f"node description is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise PeerUnavailableError("node description is not a JSON object")
        return value

    async def add_checkpoint(self, body: bytes) -> WitnessAnswer:
        """``POST /add-checkpoint`` (C2SP tlog-witness) with a prepared request body."""
        status, answer, content_type = await self._request(
            "POST", "/add-checkpoint", MAX_WITNESS_ANSWER_BYTES, content=body
        )
        return WitnessAnswer(status, answer, content_type)
