"""``GET /metrics``: Prometheus metrics of the node (issue 7; see
:mod:`registry.observability.metrics`).

Not part of the protocol (spec §6), so not in the OpenAPI document. It answers even while the
database is away (``registry_database_up 0``), so that an outage shows in the metrics.
"""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.types import ControllerRouterHandler

from registry.http.problems import database_unavailable_errors
from registry.http.runtime import Node
from registry.observability.metrics import CONTENT_TYPE, NodeState, PeerState

__all__ = ["HANDLERS", "metrics", "node_state"]


async def node_state(node: Node) -> NodeState:
    """The node's state for one scrape: log and peers from the database, the rest in memory."""
    index = node.index
    database_up = True
    try:
        log_size = await node.log.size()
        statuses = await node.federation.peer_statuses()
        declarations, sha256_subjects, url_subjects = await index.consent.counts()
    except database_unavailable_errors():
        database_up, log_size, statuses = False, index.size, []
        declarations, sha256_subjects, url_subjects = 0, 0, 0
    peers = [
        PeerState(
            origin=s.origin,
            verified_size=s.verified_size,
            seen_size=s.seen_size,
            lag=s.lag,
            failing=s.last_error is not None,
            flagged=s.flagged,
            evidence=s.evidence,
            last_success=s.last_success,
        )
        for s in statuses
    ]
    return NodeState(
        origin=node.log.origin,
        database_up=database_up,
        log_size=log_size,
        pending=node.log.pending,
        indexed_entries=index.size,
        declarations=declarations,
        skipped=0,  # the persistent index is written with the (verified) entries
        sha256_subjects=sha256_subjects,
        url_subjects=url_subjects,
        pdq_hashes=len(index.near.pdq),
        iscc_codes=len(index.near.iscc),
        mirrored=dict(index.mirrored),
        peers=peers,
    )


@get("/metrics", include_in_schema=False, media_type=CONTENT_TYPE)
async def metrics(node: NamedDependency[Node]) -> Response[bytes]:
    """Prometheus text exposition of the node's metrics (every worker's events)."""
    body = node.metrics.render(await node_state(node))
    return Response(content=body, media_type=CONTENT_TYPE, headers={"Cache-Control": "no-store"})


HANDLERS: list[ControllerRouterHandler] = [metrics]
