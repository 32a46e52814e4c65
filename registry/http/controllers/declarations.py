"""Submitting and fetching declarations (spec §6.4, §6.5)."""

from __future__ import annotations

import re
from typing import Any, Final

import msgspec
from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, RawBody
from litestar.types import ControllerRouterHandler

from registry.core.proof import parse_receipt
from registry.http.problems import ProblemError
from registry.http.ratelimit import client_key
from registry.http.responses import problem_responses
from registry.http.runtime import Node
from registry.services.submissions import submit_batch, submit_one
from registry.wire import BatchResult, DeclarationView, SubmitResult

__all__ = [
    "HANDLERS",
    "client_address",
    "get_declaration",
    "post_batch",
    "post_declaration",
    "record_view",
]

_ID: Final = re.compile(r"[0-9a-f]{64}")


@post(
    "/v1/declarations",
    tags=["declarations"],
    summary="Submit a signed declaration",
    responses=problem_responses(400, 413, 415, 422),
)
async def post_declaration(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> Response[SubmitResult]:
    """Body: one signed declaration, its canonical JSON bytes (spec §2). Answers once the
    declaration is in the log and covered by a signed checkpoint: 201 if new, 200 if it was
    already logged (same id, index and a fresh receipt)."""
    result = await submit_one(node, body, address=client_address(node, request))
    return Response(
        result,
        status_code=200 if result.duplicate else 201,
        headers={"Location": f"/v1/declarations/{result.id}"},
    )


@post(
    "/v1/declarations:batch",
    tags=["declarations"],
    summary="Submit many signed declarations",
    status_code=200,
    responses=problem_responses(400, 413, 415),
)
async def post_batch(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> BatchResult:
    """Body: ``{"declarations": [<declaration>, ...]}``. Each item is answered in order with a
    result or a problem; invalid items do not fail the others."""
    return await submit_batch(node, body, address=client_address(node, request))


@post("/v1/declarations/batch", status_code=200, include_in_schema=False)
async def post_batch_alias(
    body: RawBody, request: Request[Any, Any, Any], node: NamedDependency[Node]
) -> BatchResult:
    """``/v1/declarations/batch``: the same as ``/v1/declarations:batch``, for clients whose
    URL templates do not allow a colon."""
    return await submit_batch(node, body, address=client_address(node, request))


@get(
    "/v1/declarations/{declaration_id:str}",
    tags=["declarations"],
    summary="Get a declaration",
    responses=problem_responses(400, 404),
)
async def get_declaration(
    declaration_id: FromPath[str], node: NamedDependency[Node]
) -> Response[DeclarationView]:
    """The declaration's record, log index and origin, with a fresh receipt (inclusion proof
    against the latest checkpoint of that origin) and that checkpoint. A declaration of a
    mirrored peer log is served from the mirror, with a proof against the peer's checkpoint
    (spec §7.7.2); ``origins`` lists every log known to hold it."""
    return await record_view(node, declaration_id)


def client_address(node: Node, request: Request[Any, Any, Any]) -> str:
    """The client's admission key: its address (through trusted proxies), an IPv6 client by
    its /64 (spec §6.10.3)."""
    return client_key(node.proxies.client(request.scope))


async def record_view(node: Node, record_id: str) -> Response[DeclarationView]:
    """``GET /v1/declarations/{id}`` and ``GET /v1/records/{id}`` (spec §6.5): a logged record
    of any kind, from the own log or a mirrored one, with a fresh receipt."""
    if not _ID.fullmatch(record_id):
        raise ProblemError("bad-request", "a record id is 64 lowercase hex digits")
    federation = node.federation
    mirrored_origins = await federation.origins_of(record_id)
    found = await node.log.find(record_id)
    if found is not None:
        index, entry = found
        receipt = await federation.cosigned_receipt(await node.log.receipt(index))
        origin = node.log.origin
        checkpoint = parse_receipt(receipt).checkpoint_note
    else:
        mirrored = await federation.find_mirrored(record_id)
        if mirrored is None:
            raise ProblemError("not-found", f"no record {record_id} in any log here")
        index, entry, origin = mirrored.index, mirrored.entry, mirrored.origin
        receipt, checkpoint = mirrored.receipt, mirrored.checkpoint
    origins = sorted({origin, *mirrored_origins})
    view = DeclarationView(
        id=record_id,
        index=index,
        origin=origin,
        record=msgspec.Raw(entry),
        receipt=receipt,
        checkpoint=checkpoint.decode(),
        origins=origins,
        flagged=origin in node.index.flagged,
    )
    return Response(view, headers={"Cache-Control": "no-store"})


HANDLERS: list[ControllerRouterHandler] = [
    post_declaration,
    post_batch,
    post_batch_alias,
    get_declaration,
]
