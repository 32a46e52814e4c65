"""Federation endpoints (spec §7): peers, evidence, the admin API and the tlog-witness endpoint.

- ``GET /v1/peers``: every peer with its mirroring state (spec §7.2.3);
- ``GET /v1/evidence[?origin=]``: stored equivocation evidence (spec §7.6.3);
- ``POST /v1/admin/peers`` and ``DELETE /v1/admin/peers/{origin}``: change the peers at run time,
  with the operator token as ``Authorization: Bearer`` (spec §7.2.2);
- ``POST /add-checkpoint``: C2SP tlog-witness (spec §7.5).
"""

from __future__ import annotations

import hmac
import logging
from typing import Annotated, Any, cast

from litestar import Response, delete, get, post
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency
from litestar.handlers import BaseRouteHandler
from litestar.params import FromPath, JSONBody, QueryParameter, RawBody
from litestar.types import ControllerRouterHandler

from registry.core.encoding import b64encode
from registry.federation.config import parse_peer
from registry.federation.errors import PeerConfigError
from registry.federation.service import PeerStatus
from registry.federation.witness import SIZE_CONTENT_TYPE
from registry.http.problems import ProblemError
from registry.http.responses import problem_responses, text_response
from registry.http.runtime import Node
from registry.wire import EvidenceView, PeerRequest, PeerView

__all__ = ["HANDLERS"]

_log = logging.getLogger("registry.admin")

_WITNESS_PROBLEMS = {
    400: "bad-request",
    403: "forbidden",
    404: "not-found",
    422: "bad-proof",
    500: "internal-error",
}


def peer_view(status: PeerStatus) -> PeerView:
    """The wire form of a peer's status."""
    return PeerView(
        origin=status.origin,
        url=status.url,
        verifier_key=status.verifier_key,
        witness_key=status.witness_key,
        source=status.source,
        verified_size=status.verified_size,
        seen_size=status.seen_size,
        lag=status.lag,
        cosigned_size=status.cosigned_size,
        last_error=status.last_error,
        last_attempt=status.last_attempt,
        last_success=status.last_success,
        flagged=status.flagged,
        evidence=status.evidence,
    )


@get(
    "/v1/peers",
    tags=["federation"],
    summary="Peers and their mirroring state",
    responses=problem_responses(),
)
async def list_peers(node: NamedDependency[Node]) -> Response[list[PeerView]]:
    """Every configured peer: origin, URL, keys, verified and seen sizes, lag, last error,
    whether it is flagged for equivocation."""
    statuses = await node.federation.peer_statuses()
    return Response([peer_view(s) for s in statuses], headers={"Cache-Control": "no-store"})


@get(
    "/v1/evidence",
    tags=["federation"],
    summary="Equivocation evidence",
    responses=problem_responses(400),
)
async def list_evidence(
    node: NamedDependency[Node],
    origin: Annotated[str | None, QueryParameter(max_length=255)] = None,
) -> list[EvidenceView]:
    """Pairs of signed checkpoints of one origin that cannot both be true, oldest first."""
    rows = await node.federation.evidence(origin)
    return [
        EvidenceView(
            origin=row.origin,
            kind=row.kind,
            checkpoint_a=row.note_a.decode("utf-8", "replace"),
            checkpoint_b=row.note_b.decode("utf-8", "replace"),
            proof=[b64encode(bytes.fromhex(h)) for h in row.proof.split("\n") if h],
            root_in_b=b64encode(row.root_in_b),
            detected_at=row.detected_at,
        )
        for row in rows
    ]


def require_operator(
    connection: ASGIConnection[Any, Any, Any, Any], handler: BaseRouteHandler
) -> None:
    """Guard: check ``Authorization: Bearer <operator token>`` (spec §7.2.2). A guard runs
    before Litestar reads the request body, so an unauthenticated client cannot make the node
    parse one.

    Raises:
        ProblemError: 403 ``forbidden`` when no token is configured (the admin API is off),
            401 ``unauthorized`` when the header is missing or wrong.
    """
    node = cast(Node, connection.app.state.node)
    token = node.settings.admin_token
    if not token:
        raise ProblemError("forbidden", "the admin API is disabled: no operator token is set")
    scheme, _, given = connection.headers.get("authorization", "").partition(" ")
    if scheme.lower() != "bearer" or not hmac.compare_digest(
        given.strip().encode(), token.encode()
    ):
        raise ProblemError(
            "unauthorized",
            "a valid operator token is required (Authorization: Bearer <token>)",
            headers={"WWW-Authenticate": 'Bearer realm="consent-registry admin"'},
        )


@post(
    "/v1/admin/peers",
    tags=["admin"],
    summary="Add or update a peer",
    status_code=201,
    responses=problem_responses(400, 401, 403, 413, 415, 422),
    guards=[require_operator],
)
async def add_peer(data: JSONBody[PeerRequest], node: NamedDependency[Node]) -> PeerView:
    """Add a peer (its base URL and verifier key; optionally its witness key). The mirror
    starts within the poll interval; the answer is the peer's state."""
    try:
        spec = parse_peer(data.url, data.verifier_key, data.witness_key)
        await node.federation.add_peer(spec)
    except PeerConfigError as exc:
        raise ProblemError("bad-peer", str(exc)) from None
    _log.info("operator added or updated peer %s at %s", spec.origin, spec.url)
    statuses = {s.origin: s for s in await node.federation.peer_statuses()}
    return peer_view(statuses[spec.origin])


@delete(
    "/v1/admin/peers/{origin:path}",
    tags=["admin"],
    summary="Remove a peer",
    responses=problem_responses(401, 403, 404),
    guards=[require_operator],
)
async def remove_peer(origin: FromPath[str], node: NamedDependency[Node]) -> None:
    """Stop mirroring a peer. Its verified entries stay served, and its evidence kept."""
    if not await node.federation.remove_peer(origin.lstrip("/")):
        raise ProblemError("not-found", f"no peer {origin.lstrip('/')!r}")
    _log.info("operator removed peer %s", origin.lstrip("/"))


@post(
    "/add-checkpoint",
    tags=["federation"],
    summary="C2SP tlog-witness add-checkpoint",
    status_code=200,
    media_type="text/plain",
    responses={
        **problem_responses(400, 403, 404, 413, 422),
        409: text_response(SIZE_CONTENT_TYPE, "the witness's latest cosigned size differs"),
    },
)
async def add_checkpoint(body: RawBody, node: NamedDependency[Node]) -> Response[bytes]:
    """Cosign a peer's checkpoint after checking its signature and its consistency with the
    checkpoint of that log we cosigned last (C2SP tlog-witness)."""
    result = await node.federation.add_checkpoint(body)
    if result.status in _WITNESS_PROBLEMS:
        raise ProblemError(_WITNESS_PROBLEMS[result.status], result.reason)
    # The exact media type (Litestar would add "; charset=utf-8" to a text/* media_type):
    # C2SP tlog-witness requires "text/x.tlog.size" for a 409.
    return Response(
        content=result.body,
        status_code=result.status,
        headers={"Cache-Control": "no-store", "Content-Type": result.content_type},
    )


HANDLERS: list[ControllerRouterHandler] = [
    list_peers,
    list_evidence,
    add_peer,
    remove_peer,
    add_checkpoint,
]
