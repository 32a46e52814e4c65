"""Questions crawlers and creators ask (spec §6.6-§6.8), answered from the in-memory index."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, post
from litestar.params import Parameter
from litestar.types import ControllerRouterHandler

from registry.http import queries
from registry.http.problems import ProblemError
from registry.http.runtime import Node
from registry.http.wire import (
    CheckRequest,
    CheckResponse,
    CreatorAnswer,
    SpawningResponse,
    WorkAnswer,
)

__all__ = ["HANDLERS"]

# Answers change as declarations arrive; allow brief shared caching only.
QUERY_CACHE = "public, max-age=5"


def _work_response(answer: WorkAnswer) -> Response[WorkAnswer]:
    """A per-work answer with its AIPREF ``Content-Usage`` header (spec §3.3)."""
    headers = {"Cache-Control": QUERY_CACHE}
    if answer.content_usage:
        headers["Content-Usage"] = answer.content_usage
    return Response(answer, headers=headers)


@get("/v1/works/sha256/{sha256:str}", tags=["works"], summary="A work by SHA-256")
async def work_by_sha256(sha256: str, node: Node) -> Response[WorkAnswer]:
    """Resolved preferences, every claim and the declarations for the work with this hash."""
    return _work_response(queries.work_by_sha256(node.index, sha256))


@get("/v1/works/url", tags=["works"], summary="Works by URL")
async def work_by_url(
    node: Node, url: str = Parameter(query="url", min_length=1, max_length=8192)
) -> Response[WorkAnswer]:
    """Resolved preferences and claims for works published at ``url`` (normalised first)."""
    return _work_response(queries.work_by_url(node.index, url))


@get("/v1/creators/{did:str}", tags=["works"], summary="A creator's claims")
async def creator(did: str, node: Node) -> Response[CreatorAnswer]:
    """The creator's current claim on each work, keyed by SHA-256."""
    return Response(queries.creator_answer(node.index, did), headers={"Cache-Control": QUERY_CACHE})


@post("/v1/check", tags=["works"], summary="Batch check", status_code=200)
async def check(data: CheckRequest, node: Node) -> CheckResponse:
    """Up to ``max_batch_items`` SHA-256s and URLs in one request, answered in order."""
    count = len(data.sha256s) + len(data.urls)
    if count > node.settings.max_batch_items:
        raise ProblemError(
            "batch-too-large",
            f"{count} items; at most {node.settings.max_batch_items} per request",
        )
    return queries.check(node.index, data)


@post(
    ["/api/v2/query/urls", "/api/v2/query/urls/"],
    tags=["compatibility"],
    summary="Spawning-compatible URL query",
    status_code=200,
)
async def spawning(request: Request[Any, Any, Any], node: Node) -> SpawningResponse:
    """Spawning's Do-Not-Train API: ``text/plain`` body of URLs, one per line; any
    ``Authorization: API ...`` header is accepted and ignored."""
    body = await request.body()
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError("bad-request", "the body must be UTF-8 text") from None
    if (
        text.count("\n") + 1 > node.settings.max_batch_items
        and len([line for line in text.splitlines() if line.strip()])
        > node.settings.max_batch_items
    ):
        raise ProblemError(
            "batch-too-large", f"at most {node.settings.max_batch_items} URLs per request"
        )
    return queries.spawning_query(node.index, text)


HANDLERS: list[ControllerRouterHandler] = [work_by_sha256, work_by_url, creator, check, spawning]
