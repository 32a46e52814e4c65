"""Offline snapshots over HTTP (spec §8.8): the chain's listing and the immutable files.

``GET /v1/snapshots`` lists the current chain (a full snapshot and the deltas after it);
``GET /v1/snapshots/{name}`` serves one snapshot file (``u32be(len(note)) || note || filter``,
spec §8.6), immutable and cacheable forever: a name always denotes the same bytes;
``GET /v1/snapshots/{name}/levels`` its levels file (spec §8.10).

Wiring (``registry/app.py``): mount :data:`HANDLERS` and put a running
:class:`registry.indexes.snapshots.SnapshotService` in ``app.state.snapshots`` in the lifespan;
:data:`HANDLERS` provides the ``snapshots`` dependency itself.
"""

from __future__ import annotations

import re
from typing import Final, cast

from litestar import Response, Router, get
from litestar.datastructures import State
from litestar.di import NamedDependency, Provide
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

from registry.http.problems import ProblemError
from registry.http.responses import problem_responses
from registry.indexes.snapshots import PublishedSnapshot, SnapshotService
from registry.wire import LevelsInfo, SnapshotInfo, SnapshotListing

__all__ = ["HANDLERS", "snapshot_file", "snapshot_levels", "snapshot_listing"]

IMMUTABLE: Final = "public, max-age=31536000, immutable"
LISTING_CACHE: Final = "public, max-age=10"
SNAPSHOT_MEDIA_TYPE: Final = "application/octet-stream"
_NAME: Final = re.compile(r"full-[0-9]{1,20}|delta-[0-9]{1,20}-[0-9]{1,20}")


def _info(snapshot: PublishedSnapshot) -> SnapshotInfo:
    header = snapshot.header
    return SnapshotInfo(
        name=snapshot.name,
        kind=header.kind,
        size=header.size,
        base=header.base,
        previous=header.previous,
        items=header.items,
        bytes=len(snapshot.data),
        sha256=snapshot.sha256,
        url=f"/v1/snapshots/{snapshot.name}",
        levels=LevelsInfo(
            bytes=len(snapshot.levels),
            sha256=snapshot.levels_sha256,
            url=f"/v1/snapshots/{snapshot.name}/levels",
        )
        if snapshot.levels
        else None,
    )


@get(
    "/v1/snapshots",
    tags=["snapshots"],
    summary="List the offline snapshot chain",
    responses=problem_responses(),
)
async def snapshot_listing(
    snapshots: NamedDependency[SnapshotService],
) -> Response[SnapshotListing]:
    """The current chain; 503 ``unavailable`` until the first snapshot is built."""
    chain = snapshots.builder.chain
    if not chain:
        raise ProblemError("unavailable", "no snapshot built yet", headers={"Retry-After": "5"})
    last = chain[-1].header
    listing = SnapshotListing(
        origin=last.origin,
        size=last.size,
        category=last.category,
        fingerprint_bits=last.fingerprint_bits,
        fpr=sum(s.header.fpr for s in chain if s.header.items),
        chain=[_info(s) for s in chain],
    )
    return Response(listing, headers={"Cache-Control": LISTING_CACHE})


@get(
    "/v1/snapshots/{name:str}",
    media_type=SNAPSHOT_MEDIA_TYPE,
    tags=["snapshots"],
    summary="One snapshot file",
    responses=problem_responses(400, 404),
)
async def snapshot_file(
    name: FromPath[str], snapshots: NamedDependency[SnapshotService]
) -> Response[bytes]:
    """A snapshot file by name (``full-<size>`` or ``delta-<previous>-<size>``); 404 once its
    chain is older than the previous one."""
    if not _NAME.fullmatch(name):
        raise ProblemError("bad-request", "a snapshot is named full-<size> or delta-<from>-<size>")
    snapshot = snapshots.builder.get(name)
    if snapshot is None:
        raise ProblemError("not-found", f"no snapshot {name!r}; list /v1/snapshots")
    return Response(
        content=snapshot.data,
        media_type=SNAPSHOT_MEDIA_TYPE,
        headers={"Cache-Control": IMMUTABLE, "ETag": f'"{snapshot.sha256}"'},
    )


@get(
    "/v1/snapshots/{name:str}/levels",
    media_type=SNAPSHOT_MEDIA_TYPE,
    tags=["snapshots"],
    summary="The levels file of one snapshot",
    responses=problem_responses(400, 404),
)
async def snapshot_levels(
    name: FromPath[str], snapshots: NamedDependency[SnapshotService]
) -> Response[bytes]:
    """The levels file of a snapshot (spec §8.10): per subject the answer under each policy,
    with the claims' levels and evidence; 404 if the snapshot is unknown or has none."""
    if not _NAME.fullmatch(name):
        raise ProblemError("bad-request", "a snapshot is named full-<size> or delta-<from>-<size>")
    snapshot = snapshots.builder.get(name)
    if snapshot is None or not snapshot.levels:
        raise ProblemError("not-found", f"no levels file of snapshot {name!r}; list /v1/snapshots")
    return Response(
        content=snapshot.levels,
        media_type=SNAPSHOT_MEDIA_TYPE,
        # not immutable: its bytes also depend on the trust configuration (spec §8.10.4)
        headers={"Cache-Control": LISTING_CACHE, "ETag": f'"{snapshot.levels_sha256}"'},
    )


def _snapshots(state: State) -> SnapshotService:
    """Dependency provider: the worker's snapshot service (``app.state.snapshots``)."""
    return cast(SnapshotService, state.snapshots)


HANDLERS: list[ControllerRouterHandler] = [
    Router(
        path="/",
        route_handlers=[snapshot_listing, snapshot_file, snapshot_levels],
        dependencies={"snapshots": Provide(_snapshots, sync_to_thread=False)},
    )
]
