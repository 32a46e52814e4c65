"""Questions crawlers and creators ask (spec §6.6-§6.8), answered from the persistent index."""

from __future__ import annotations

import asyncio
import re
from typing import Annotated, Any, Final

from litestar import Request, Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter, RawBody
from litestar.types import ControllerRouterHandler

from registry.core.batchcheck import DIGEST
from registry.core.errors import KeyFormatError, RecordError
from registry.core.trust import POLICIES, Policy, parse_policy
from registry.http.problems import ProblemError
from registry.http.responses import (
    encode_items,
    json_object,
    json_response,
    json_success,
    problem_responses,
)
from registry.http.runtime import Node
from registry.services import queries
from registry.wire import (
    DEFAULT_CLAIMS_PAGE,
    MAX_CHECK_URL_LENGTH,
    MAX_CLAIMS_PAGE,
    CheckRequest,
    CheckResponse,
    CreatorAnswer,
    SpawningItem,
    SpawningResponse,
    WorkAnswer,
)

__all__ = ["HANDLERS", "SLICE", "Limit", "Offset", "sha256_path"]

OCTETS: Final = "application/octet-stream"
QUERY_CACHE: Final = "public, max-age=5"
"""Answers change as declarations arrive: allow brief shared caching only."""


def _work_response(answer: WorkAnswer) -> Response[WorkAnswer]:
    """A per-work answer with its AIPREF ``Content-Usage`` header (spec §3.3)."""
    headers = {"Cache-Control": QUERY_CACHE}
    if answer.content_usage:
        headers["Content-Usage"] = answer.content_usage
    return Response(answer, headers=headers)


Offset = Annotated[
    int, QueryParameter(ge=0, le=1 << 31, description="first item of the page (spec §6.1.4)")
]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_CLAIMS_PAGE, description="items per page (spec §6.1.4)"),
]

PolicyParam = Annotated[
    str | None,
    QueryParameter(
        description="which claims count (spec §9.4.7): "
        + ", ".join(POLICIES)
        + "; default verified (an owner verified for the work outranks strangers)",
    ),
]


IdentityParam = Annotated[
    str | None,
    QueryParameter(
        description="1: each known item's claims follow its declaration ids, with their "
        "identity level, evidence and counter-statements (spec §6.8.4); absent: no identity",
    ),
]

IDENTITY_HEADER: Final = "Consent-Identity"
"""Sent with ``1`` on a binary check answer that carries identity (spec §6.8.4), so that a
client can tell it from the answer of a node that ignored the parameter."""


def policy_param(value: str | None) -> Policy:
    """The ``policy`` query parameter, or a 400 ``bad-request`` naming the choices."""
    try:
        return parse_policy(value)
    except RecordError as exc:
        raise ProblemError("bad-request", str(exc)) from None


SLICE: Final = 1000
"""Items of a batch answered between two returns to the event loop: a 10,000-item batch never
holds the loop long enough to delay ``/healthz`` or other clients (spec §6.1.4)."""

_SHA256: Final = re.compile(r"[0-9a-f]{64}")


def sha256_path(value: str) -> str:
    """A SHA-256 path parameter, or a 400 ``bad-request`` (spec §6.6)."""
    if not _SHA256.fullmatch(value):
        raise ProblemError("bad-request", "a work's SHA-256 is 64 lowercase hex digits")
    return value


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
    sha256: FromPath[str],
    node: NamedDependency[Node],
    offset: Offset = 0,
    limit: Limit = DEFAULT_CLAIMS_PAGE,
    policy: PolicyParam = None,
) -> Response[WorkAnswer]:
    """Resolved preferences, a page of the claims (each with its identity level and evidence)
    and their declarations for the work with this hash (64 lowercase hex digits)."""
    sha256_path(sha256)
    chosen = policy_param(policy)
    node.metrics.checked("work_sha256", 1)
    page = queries.Page(offset, limit)
    return _work_response(await queries.work_by_sha256(node.index, sha256, page, chosen))


@get(
    "/v1/works/url",
    tags=["works"],
    summary="Works by URL",
    responses=problem_responses(400, 422),
)
async def work_by_url(
    node: NamedDependency[Node],
    url: Annotated[str, QueryParameter(min_length=1, max_length=MAX_CHECK_URL_LENGTH)],
    offset: Offset = 0,
    limit: Limit = DEFAULT_CLAIMS_PAGE,
    policy: PolicyParam = None,
) -> Response[WorkAnswer]:
    """Resolved preferences and a page of the claims for works published at ``url``
    (normalised first)."""
    chosen = policy_param(policy)
    node.metrics.checked("work_url", 1)
    page = queries.Page(offset, limit)
    return _work_response(await queries.work_by_url(node.index, url, page, chosen))


@get(
    "/v1/creators/{did:str}",
    tags=["works"],
    summary="A creator's declarations",
    responses=problem_responses(400, 422),
)
async def creator(
    did: FromPath[str],
    node: NamedDependency[Node],
    offset: Offset = 0,
    limit: Limit = DEFAULT_CLAIMS_PAGE,
) -> Response[CreatorAnswer]:
    """A page of the creator's declarations, oldest first, each current, overridden or
    superseded; a malformed ``did`` is a 400."""
    try:
        answer = await queries.creator_answer(node.index, did, queries.Page(offset, limit))
    except KeyFormatError as exc:
        # a malformed path parameter: 400, with the key's own problem type (spec §6.7)
        raise ProblemError("bad-key", str(exc), status=400) from None
    return Response(answer, headers={"Cache-Control": QUERY_CACHE})


@post(
    "/v1/check",
    tags=["works"],
    summary="Batch check",
    status_code=200,
    responses={
        **problem_responses(400, 413, 415, 422),
        **json_success(CheckResponse, "items in request order, hashes then URLs"),
    },
)
async def check(
    data: JSONBody[CheckRequest], node: NamedDependency[Node], policy: PolicyParam = None
) -> Response[bytes]:
    """Up to ``max_batch_items`` SHA-256s and URLs in one request, answered in order, each
    known item with its claims' identity levels (spec §9.4.5).

    Answered and encoded :data:`SLICE` items at a time, the event loop free between slices
    (spec §6.1.4)."""
    chosen = policy_param(policy)
    _check_count(len(data.sha256s) + len(data.urls), node)
    node.metrics.checked("check", len(data.sha256s) + len(data.urls))
    hashes: list[bytes] = []
    urls: list[bytes] = []
    for start in range(0, len(data.sha256s), SLICE):
        part = CheckRequest(sha256s=data.sha256s[start : start + SLICE])
        hashes.append(encode_items((await queries.check(node.index, part, chosen)).sha256s))
        await asyncio.sleep(0)  # let /healthz and other clients in
    for start in range(0, len(data.urls), SLICE):
        part = CheckRequest(urls=data.urls[start : start + SLICE])
        urls.append(encode_items((await queries.check(node.index, part, chosen)).urls))
        await asyncio.sleep(0)
    return json_response(json_object({"sha256s": hashes, "urls": urls}))


@post(
    "/v1/check/sha256",
    tags=["works"],
    summary="Binary batch check of SHA-256 digests",
    status_code=200,
    media_type="application/octet-stream",
    responses=problem_responses(400, 413, 415),
)
async def check_binary(
    request: Request[Any, Any, Any],
    body: RawBody,
    node: NamedDependency[Node],
    policy: PolicyParam = None,
    identity: IdentityParam = None,
) -> Response[bytes]:
    """Concatenated 32-byte SHA-256 digests in (``application/octet-stream``); one status byte
    per digest out, then details of the known ones only (spec §6.8.4), under ``policy``; with
    ``identity=1`` each known item's claims too (ADR 0023)."""
    chosen = policy_param(policy)
    if identity not in (None, "1"):
        raise ProblemError("bad-request", f"identity must be 1 or absent, not {identity!r}")
    if request.headers.get("content-type", "").split(";")[0].strip() != OCTETS:
        raise ProblemError("unsupported-media-type", f"the body must be {OCTETS}")
    if len(body) % DIGEST:
        raise ProblemError(
            "bad-request", f"the body must be 32-byte SHA-256 digests; got {len(body)} bytes"
        )
    count = len(body) // DIGEST
    _check_count(count, node)
    node.metrics.checked("check", count)
    answer = await queries.check_binary(node.index, body, chosen, identity=identity == "1")
    headers = {IDENTITY_HEADER: "1"} if identity == "1" else None
    return Response(answer, media_type=OCTETS, headers=headers)


@post(
    "/api/v2/query/urls/",
    tags=["compatibility"],
    summary="Spawning-compatible URL query",
    status_code=200,
    responses=problem_responses(400, 413, 415),
)
async def spawning(
    body: RawBody, node: NamedDependency[Node], policy: PolicyParam = None
) -> SpawningResponse:
    """Spawning's Do-Not-Train API: ``text/plain`` body of URLs, one per line; any
    ``Authorization: API ...`` header is accepted and ignored. Each URL also lists its claims'
    identity levels (spec §9.4.5)."""
    chosen = policy_param(policy)
    try:
        text = body.decode("utf-8")
    except UnicodeDecodeError:
        raise ProblemError("bad-request", "the body must be UTF-8 text") from None
    lines = text.splitlines()
    _check_count(len(lines), node)
    node.metrics.checked("spawning", len(lines))
    items: list[SpawningItem] = []
    for start in range(0, len(lines), SLICE):
        items += await queries.spawning_items(node.index, lines[start : start + SLICE], chosen)
        await asyncio.sleep(0)  # let /healthz and other clients in
    return SpawningResponse(urls=items)


HANDLERS: list[ControllerRouterHandler] = [
    work_by_sha256,
    work_by_url,
    creator,
    check,
    check_binary,
    spawning,
]
