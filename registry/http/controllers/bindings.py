"""Domain bindings (spec §6.4.4, §9.2): the node checks that a domain names a key, then logs
the binding it signs."""

from __future__ import annotations

from typing import Annotated, Any

import msgspec
from litestar import Request, Response, post
from litestar.di import NamedDependency
from litestar.params import Body
from litestar.types import ControllerRouterHandler

from registry.core.records import encode_record
from registry.http.controllers.declarations import client_address
from registry.http.responses import problem_responses
from registry.http.runtime import Node
from registry.services.bindings import check_domain
from registry.services.errors import QuotaExceededError
from registry.services.submissions import append_own
from registry.wire import BindingRequest, BindingResult

__all__ = ["HANDLERS"]


@post(
    "/v1/bindings",
    tags=["records"],
    summary="Check a domain and log a binding",
    responses=problem_responses(400, 413, 415, 422, 429),
)
async def post_binding(
    data: Annotated[BindingRequest, Body()],
    request: Request[Any, Any, Any],
    node: NamedDependency[Node],
) -> Response[BindingResult]:
    """Body: ``{"domain", "did"}``. The node fetches ``https://DOMAIN/.well-known/did.json``
    within the limits of spec §9.2 and, if it names the key, logs a binding signed with its own
    key: 201 with the binding, its id, log index and receipt. Otherwise 422
    ``domain-check-failed`` saying why; nothing is logged."""
    wait = node.admission.reserve_check(client_address(node, request))
    if wait:
        limit = node.settings.binding_checks_per_hour
        raise QuotaExceededError(
            f"this client address asked for {limit} domain checks in the last hour on this "
            f"node; retry in {max(1, round(wait))} s",
            retry_after=wait,
        )
    binding = await check_domain(node.binding_context, data.domain, data.did)
    result = await append_own(node, binding)
    answer = BindingResult(
        id=result.id,
        index=result.index,
        receipt=result.receipt,
        duplicate=result.duplicate,
        record=msgspec.Raw(encode_record(binding)),
    )
    return Response(
        answer,
        status_code=200 if result.duplicate else 201,
        headers={"Location": f"/v1/records/{result.id}"},
    )


HANDLERS: list[ControllerRouterHandler] = [post_binding]
