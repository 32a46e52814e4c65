"""Submitting and fetching records of every kind (spec §6.4.3, §9.3): declarations and trust
records (rotations, revocations, counter-statements, platform attestations)."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, RawBody
from litestar.types import ControllerRouterHandler

from registry.http.controllers.declarations import client_address, record_view
from registry.http.responses import problem_responses
from registry.http.runtime import Node
from registry.services.submissions import submit_batch, submit_one
from registry.wire import BatchResult, DeclarationView, SubmitResult

__all__ = ["HANDLERS"]


@post(
    "/v1/records",
    tags=["records"],
    summary="Submit a signed record of any kind",
    responses=problem_responses(400, 403, 413, 415, 422, 429),
)
async def post_record(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> Response[SubmitResult]:
    """Body: one signed record, its canonical JSON bytes: a declaration (spec §2) or a trust
    record (spec §9.3). Platform attestations only from platforms this node trusts (403
    ``untrusted-platform``); bindings only through ``POST /v1/bindings`` (403 ``forbidden``).
    Answered like ``POST /v1/declarations``."""
    result = await submit_one(node, body, accept="records", address=client_address(node, request))
    return Response(
        result,
        status_code=200 if result.duplicate else 201,
        headers={"Location": f"/v1/records/{result.id}"},
    )


@post(
    "/v1/records:batch",
    tags=["records"],
    summary="Submit many signed records of any kind",
    status_code=200,
    responses=problem_responses(400, 413, 415),
)
async def post_records_batch(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> BatchResult:
    """Body: ``{"records": [<record>, ...]}``. Each item is answered in order with a result or
    a problem, as ``POST /v1/declarations:batch``."""
    return await submit_batch(node, body, accept="records", address=client_address(node, request))


@post("/v1/records/batch", status_code=200, include_in_schema=False)
async def post_records_batch_alias(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> BatchResult:
    """``/v1/records/batch``: the same as ``/v1/records:batch``."""
    return await submit_batch(node, body, accept="records", address=client_address(node, request))


@get(
    "/v1/records/{record_id:str}",
    tags=["records"],
    summary="Get a record of any kind",
    responses=problem_responses(400, 404),
)
async def get_record(
    record_id: FromPath[str], node: NamedDependency[Node]
) -> Response[DeclarationView]:
    """The record (a declaration or a trust record), its log index and origin, with a fresh
    receipt against the latest checkpoint of that origin: how a crawler fetches the evidence
    behind an identity level to check it offline (spec §9.5)."""
    return await record_view(node, record_id)


HANDLERS: list[ControllerRouterHandler] = [
    post_record,
    post_records_batch,
    post_records_batch_alias,
    get_record,
]
