"""Questions crawlers and creators ask (spec §6.6-§6.8), answered from the persistent index."""

from __future__ import annotations

from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, RawBody
from litestar.types import ControllerRouterHandler

from registry.core.batchcheck import DIGEST
from registry.http.problems import ProblemError
from registry.http.responses import problem_responses
from registry.http.runtime import Node
from registry.services import queries
from registry.wire import (
    MAX_CHECK_URL_LENGTH,
    CheckRequest,
    CheckResponse,
    CreatorAnswer,
    SpawningResponse,
    WorkAnswer,
)

__all__ = ["HANDLERS"]

OCTETS: Final = "application/octet-stream"
QUERY_CACHE: Final = "public, max-age=5"
"""Answers change as declarations arrive: allow brief shared caching only."""


def _work_response(answer: WorkAnswer) -> Response[WorkAnswer]:
    """A per-work answer with its AIPREF ``Content-Usage`` header (spec §3.3)."""
    headers = {"Cache-Control": QUERY_CACHE}
    if answer.content_usage:
        headers["Content-Usage"] = answer.content_usage
    return Response(answer, headers=headers)


def _check_count(count: int, node: Node) -> None:
    if count > node.settings.max_batch_items:
        raise ProblemError(
            "batch-too-large",
            f"{count} items; at most {node.settings.max_batch_items} per request",
        )


@get(
    "/v1/works/sha256/{sha256:str}",
    tags=["works"],
    summary="A work by SHA-256",
    responses=problem_responses(400, 422),
)
async def work_by_sha256(
    sha256: FromPath[str], node: NamedDependency[Node]
) -> Response[WorkAnswer]:
    """Resolved preferences, every claim and the declarations for the work with this hash."""
    node.metrics.checked("work_sha256", 1)
    return _work_response(await queries.work_by_sha256(node.index, sha256))


@get(
    "/v1/works/url",
    tags=["works"],
    summary="Works by URL",
    responses=problem_responses(400, 422),
)
async def work_by_url(
    node: NamedDependency[Node],
    url: Annotated[str, QueryParameter(min_length=1, max_length=MAX_CHECK_URL_LENGTH)],
) -> Response[WorkAnswer]:
    """Resolved preferences and claims for works published at ``url`` (normalised first)."""
    node.metrics.checked("work_url", 1)
    return _work_response(await queries.work_by_url(node.index, url))


@get(
    "/v1/creators/{did:str}",
    tags=["works"],
    summary="A creator's declarations",
    responses=problem_responses(400, 422),
)
async def creator(did: FromPath[str], node: NamedDependency[Node]) -> Response[CreatorAnswer]:
    """The creator's declarations, oldest first, each current, overridden or superseded."""
    answer = await queries.creator_answer(node.index, did)
    return Response(answer, headers={"Cache-Control": QUERY_CACHE})


@post(
    "/v1/check",
    tags=["works"],
    summary="Batch check",
    status_code=200,
    responses=problem_responses(400, 413, 415, 422),
)
async def check(data: JSONBody[CheckRequest], node: NamedDependency[Node]) -> CheckResponse:
    """Up to ``max_batch_items`` SHA-256s and URLs in one request, answered in order."""
    _check_count(len(data.sha256s) + len(data.urls), node)
    node.metrics.checked("check", len(data.sha256s) + len(data.urls))
    return await queries.check(node.index, data)


@post(
    "/v1/check/sha256",
    tags=["works"],
    summary="Binary batch check of SHA-256 digests",
    status_code=200,
    media_type="application/octet-stream",
    responses=problem_responses(400, 413, 415),
)
async def check_binary(
    request: Request[Any, Any, Any], body: RawBody, node: NamedDependency[Node]
) -> Response[bytes]:
    """Concatenated 32-byte SHA-256 digests in (``application/octet-stream``); one status byte
    per digest out, then details of the known ones only (spec §6.8.4)."""
    if request.headers.get("content-type", "").split(";")[0].strip() != OCTETS:
        raise ProblemError("unsupported-media-type", f"the body must be {OCTETS}")
    if len(body) % DIGEST:
        raise ProblemError(
            "bad-request", f"the body must be 32-byte SHA-256 digests; got {len(body)} bytes"
        )
    count = len(body) // DIGEST
    _check_count(count, node)
    node.metrics.checked("check", count)
    answer = await queries.check_binary(node.index, body)
    return Response(answer, media_type=OCTETS)


@post(
    "/api/v2/query/urls/",
    tags=["compatibility"],
    summary="Spawning-compatible URL query",
    status_code=200,
    responses=problem_responses(400, 413, 415),
)
async def spawning(body: RawBody, node: NamedDependency[Node]) -> SpawningResponse:
    """Spawning's Do-Not-Train API: ``text/plain`` body of URLs, one per line; any
    ``Authorization: API ...`` header is accepted and ignored."""
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError("bad-request", "the body must be UTF-8 text") from None
    _check_count(len(text.splitlines()), node)
    node.metrics.checked("spawning", len(text.splitlines()))
    return await queries.spawning_query(node.index, text)


HANDLERS: list[ControllerRouterHandler] = [
    work_by_sha256,
    work_by_url,
    creator,
    check,
    check_binary,
    spawning,
]
