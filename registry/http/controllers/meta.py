"""Node description, health, readiness and problem-type documentation (spec §6.1, §6.9)."""

from __future__ import annotations

from litestar import Response, get
from litestar.di import NamedDependency
from litestar.params import FromPath
from litestar.types import ControllerRouterHandler

import registry
from registry.http.problems import (
    DATABASE_RETRY_AFTER,
    PROBLEM_TYPES,
    ProblemError,
    problem_type,
    retry_after_header,
)
from registry.http.responses import problem_responses
from registry.http.runtime import Node
from registry.wire import (
    MAX_NEAR_BATCH,
    PROTOCOL_VERSION,
    Health,
    NodeInfo,
    ProblemTypeInfo,
    TrustedPlatformInfo,
    TrustInfo,
)

__all__ = ["HANDLERS", "healthz", "problem_type_info", "readyz", "well_known"]

ENDPOINTS = {
    "checkpoint": "/checkpoint",
    "tiles": "/tile/",
    "submit": "/v1/declarations",
    "submit_batch": "/v1/declarations:batch",
    "declaration": "/v1/declarations/{id}",
    "records": "/v1/records",
    "records_batch": "/v1/records:batch",
    "record": "/v1/records/{id}",
    "bindings": "/v1/bindings",
    "work_by_sha256": "/v1/works/sha256/{sha256}",
    "work_by_url": "/v1/works/url?url={url}",
    "creator": "/v1/creators/{did}",
    "check": "/v1/check",
    "check_pdq": "/v1/check/pdq",
    "check_iscc": "/v1/check/iscc",
    "work_by_pdq": "/v1/works/pdq/{pdq}",
    "work_by_iscc": "/v1/works/iscc/{iscc}",
    "snapshots": "/v1/snapshots",
    "spawning": "/api/v2/query/urls/",
    "peers": "/v1/peers",
    "evidence": "/v1/evidence",
    "admin_peers": "/v1/admin/peers",
    "add_checkpoint": "/add-checkpoint",
    "openapi": "/schema/openapi.json",
}


@get(
    "/.well-known/consent-registry",
    tags=["node"],
    summary="Describe this node",
    responses=problem_responses(),
)
async def well_known(node: NamedDependency[Node]) -> Response[NodeInfo]:
    """The node's origin, checkpoint verifier key, protocol version and endpoints."""
    settings = node.settings
    info = NodeInfo(
        origin=node.log.origin,
        verifier_key=node.log.verifier_key,
        protocol_version=PROTOCOL_VERSION,
        software="consent-registry",
        version=registry.__version__,
        endpoints=ENDPOINTS,
        limits={
            "max_body_size": settings.max_body_size,
            "max_batch_items": settings.max_batch_items,
            "max_near_batch": MAX_NEAR_BATCH,
            "rate_limit_per_minute": settings.rate_limit,
        },
        witness_key=node.federation.witness_key,
        node_key=node.log.node_did,
        trust=TrustInfo(
            platforms=[
                TrustedPlatformInfo(
                    name=p.name, key=p.key, scope=list(p.scope or ("*",)), quota=p.quota
                )
                for p in sorted(node.platforms.values(), key=lambda p: p.name)
            ],
            nodes=sorted(node.index.consent.trust.nodes),
        ),
    )
    return Response(info, headers={"Cache-Control": "public, max-age=300"})


@get("/healthz", tags=["node"], summary="Liveness")
async def healthz() -> Health:
    """Answers 200 while the process serves requests."""
    return Health(status="ok")


@get("/readyz", tags=["node"], summary="Readiness", responses=problem_responses(503, common=False))
async def readyz(node: NamedDependency[Node]) -> Health:
    """200 once the index is built and the database answers; else 503 ``unavailable``."""
    try:
        size = await node.log.size()
    except Exception as exc:
        raise ProblemError(
            "unavailable",
            f"database unreachable: {type(exc).__name__}",
            headers=retry_after_header(DATABASE_RETRY_AFTER),
        ) from exc
    if not node.index.ready:
        raise ProblemError("unavailable", "index not built yet", headers=retry_after_header(1))
    return Health(status="ready", log_size=size, indexed=node.index.size)


@get(
    "/problems/{slug:str}",
    tags=["node"],
    summary="Problem type",
    responses=problem_responses(404),
)
async def problem_type_info(slug: FromPath[str]) -> ProblemTypeInfo:
    """What the problem type ``/problems/<slug>`` means (RFC 9457 §3.1.1 type URI)."""
    if slug not in PROBLEM_TYPES:
        raise ProblemError("not-found", f"no problem type {slug!r}")
    status, title = PROBLEM_TYPES[slug]
    return ProblemTypeInfo(type=problem_type(slug), title=title, status=status)


HANDLERS: list[ControllerRouterHandler] = [well_known, healthz, readyz, problem_type_info]
