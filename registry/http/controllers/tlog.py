"""The log served as C2SP tlog-tiles at the node's root: checkpoint, hash tiles, entry bundles.

C2SP tlog-tiles: ``<prefix>/checkpoint`` is mutable (caching at most a few seconds);
``<prefix>/tile/<L>/<N>[.p/<W>]`` and ``<prefix>/tile/entries/<N>[.p/<W>]`` are immutable and
``application/octet-stream``; entry bundles SHOULD be compressed at the HTTP layer.
"""

from __future__ import annotations

import gzip
from typing import Any, Final

from litestar import Request, Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from registry.core.tiles import TILE_WIDTH, parse_entry_bundle_path, parse_tile_path
from registry.http.problems import ProblemError
from registry.http.responses import problem_responses
from registry.http.runtime import Node

__all__ = ["HANDLERS", "IMMUTABLE", "checkpoint", "tile"]

IMMUTABLE: Final = "public, max-age=31536000, immutable"
CHECKPOINT_CACHE: Final = "no-store"
OCTET_STREAM: Final = "application/octet-stream"
CHECKPOINT_MEDIA_TYPE: Final = "text/plain"  # Litestar appends "; charset=utf-8"


@get(
    "/checkpoint",
    media_type=CHECKPOINT_MEDIA_TYPE,
    tags=["log"],
    summary="Latest checkpoint",
    responses=problem_responses(),
)
async def checkpoint(node: NamedDependency[Node]) -> Response[bytes]:
    """The latest signed checkpoint (C2SP tlog-checkpoint signed note), with the witness
    cosignatures collected for it (spec §7.5.3)."""
    note = await node.federation.cosigned(await node.log.checkpoint())
    return Response(
        content=note,
        media_type=CHECKPOINT_MEDIA_TYPE,
        headers={"Cache-Control": CHECKPOINT_CACHE},
    )


@get(
    "/tile/{path:path}",
    media_type=OCTET_STREAM,
    tags=["log"],
    summary="Hash tile or entries",
    responses=problem_responses(400, 404),
)
async def tile(
    path: FromPath[str], request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> Response[bytes]:
    """A hash tile ``/tile/<L>/<N>[.p/<W>]`` or entry bundle ``/tile/entries/<N>[.p/<W>]``.

    Malformed paths answer 400 ``bad-tile``; tiles the log does not have answer 404.
    """
    full_path = "tile" + path
    if path.startswith("/entries/"):
        index, width = parse_entry_bundle_path(full_path)
        data = await node.log.read_entry_bundle(index, None if width == TILE_WIDTH else width)
    else:
        coord = parse_tile_path(full_path)
        width = coord.width
        data = await node.log.read_tile(
            coord.level, coord.index, None if coord.is_full else coord.width
        )
    if data is None:
        raise ProblemError("not-found", f"{full_path} is not in the log")
    headers = {"Cache-Control": IMMUTABLE}
    if path.startswith("/entries/"):
        headers["Vary"] = "Accept-Encoding"
        if "gzip" in request.headers.get("accept-encoding", ""):
            data = gzip.compress(data, compresslevel=6, mtime=0)
            headers["Content-Encoding"] = "gzip"
    return Response(content=data, media_type=OCTET_STREAM, headers=headers)


HANDLERS: list[ControllerRouterHandler] = [checkpoint, tile]
