"""HTTP client for one peer: its C2SP tlog-tiles resources, node description and witness.

One :class:`PeerClient` (one connection pool) per peer, so a peer that hangs ties up only its
own connections (spec §7.3 item 9). Every failure to get an answer, and every HTTP error
status, is a :class:`PeerUnavailableError`; what the answers contain is verified by the caller.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterable
from typing import Final

import httpx

import registry
from registry.core.tiles import TileCoord, entry_bundle_path, tile_path
from registry.federation.errors import PeerUnavailableError

__all__ = ["MAX_TILE_BYTES", "USER_AGENT", "PeerClient", "WitnessAnswer"]

USER_AGENT: Final = f"consent-registry/{registry.__version__} (federation)"
MAX_TILE_BYTES: Final = 256 * (2 + 65535)
"""Largest entry bundle a peer can legitimately serve (256 entries of at most 64 KiB)."""
MAX_CHECKPOINT_BYTES: Final = 1 << 20


class WitnessAnswer:
    """A tlog-witness ``add-checkpoint`` answer: status code, body and content type."""

    __slots__ = ("body", "content_type", "status")

    def __init__(self, status: int, body: bytes, content_type: str) -> None:
        self.status = status
        self.body = body
        self.content_type = content_type


class PeerClient:
    """Talks HTTP to one peer's base URL (its tlog-tiles prefix)."""

    def __init__(self, base_url: str, *, timeout: float = 10.0, concurrency: int = 8) -> None:
        self.base_url = base_url.rstrip("/")
        self._client = httpx.AsyncClient(
            base_url=self.base_url,
            timeout=httpx.Timeout(timeout, connect=min(timeout, 5.0)),
            limits=httpx.Limits(max_connections=concurrency, max_keepalive_connections=concurrency),
            headers={"User-Agent": USER_AGENT},
            follow_redirects=False,
        )
        self._semaphore = asyncio.Semaphore(concurrency)

    async def close(self) -> None:
        """Close the connection pool."""
        await self._client.aclose()

    async def _get(self, path: str, limit: int) -> bytes:
        async with self._semaphore:
            try:
                response = await self._client.get(path)
            except httpx.HTTPError as exc:
                raise PeerUnavailableError(f"GET {path}: {type(exc).__name__}: {exc}") from exc
        if response.status_code != httpx.codes.OK:
            raise PeerUnavailableError(f"GET {path}: HTTP {response.status_code}")
        if len(response.content) > limit:
            raise PeerUnavailableError(f"GET {path}: answer larger than {limit} bytes")
        return response.content

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
        data = await self._get("/.well-known/consent-registry", 1 << 16)
        try:
            value = httpx.Response(200, content=data).json()
        except ValueError as exc:
            raise PeerUnavailableError(f"node description is not JSON: {exc}") from exc
        if not isinstance(value, dict):
            raise PeerUnavailableError("node description is not a JSON object")
        return value

    async def add_checkpoint(self, body: bytes) -> WitnessAnswer:
        """``POST /add-checkpoint`` (C2SP tlog-witness) with a prepared request body."""
        try:
            response = await self._client.post(
                "/add-checkpoint", content=body, headers={"Content-Type": "text/plain"}
            )
        except httpx.HTTPError as exc:
            raise PeerUnavailableError(
                f"POST /add-checkpoint: {type(exc).__name__}: {exc}"
            ) from exc
        return WitnessAnswer(
            response.status_code, response.content, response.headers.get("content-type", "")
        )
