"""Litestar route handlers: thin adapters from HTTP onto the node (spec §6).

Each module groups one part of the API; :data:`ROUTE_HANDLERS` is everything the app mounts.
Handlers parse the request, call a function of :mod:`registry.services.submissions` or
:mod:`registry.services.queries`, and shape the response (status, headers, caching).
"""

from __future__ import annotations

from litestar.types import ControllerRouterHandler

from registry.http.controllers import (
    bindings,
    declarations,
    federation,
    meta,
    near,
    ops,
    queries,
    records,
    snapshots,
    tlog,
    web,
)

__all__ = ["ROUTE_HANDLERS"]

ROUTE_HANDLERS: list[ControllerRouterHandler] = [
    *meta.HANDLERS,
    *tlog.HANDLERS,
    *declarations.HANDLERS,
    *records.HANDLERS,
    *bindings.HANDLERS,
    *queries.HANDLERS,
    *near.HANDLERS,
    *snapshots.HANDLERS,
    *federation.HANDLERS,
    *ops.HANDLERS,
    *web.HANDLERS,
]
