"""Near-duplicate search over HTTP (spec §6.8.3): PDQ hashes and ISCC Content-Codes.

Batches (``POST /v1/check/pdq``, ``POST /v1/check/iscc``, at most :data:`MAX_NEAR_BATCH`
queries) and single queries (``GET /v1/works/pdq/{pdq}``, ``GET /v1/works/iscc/{iscc}``) answer
every declared work within ``max_distance`` bits, with its current resolution and claims.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from typing import Annotated, Final, Literal

from litestar import Response, get, post
from litestar.di import NamedDependency
from litestar.params import FromPath, JSONBody, QueryParameter
from litestar.types import ControllerRouterHandler

from registry.http.controllers.queries import QUERY_CACHE
from registry.http.problems import ProblemError
from registry.http.responses import (
    encode_items,
    json_object,
    json_response,
    json_success,
    problem_responses,
)
from registry.http.runtime import Node
from registry.indexes.near import ISCC_SEARCH_LIMIT, PDQ_SEARCH_LIMIT, NearHit
from registry.indexes.persistent import NodeIndex
from registry.neardup import ISCC_MAX_DISTANCE, PDQ_MAX_DISTANCE, NearDupError
from registry.services.near import iscc_response, pdq_response
from registry.wire import (
    MAX_NEAR_BATCH,
    IsccCheckRequest,
    IsccResponse,
    IsccResult,
    PdqCheckRequest,
    PdqResponse,
    PdqResult,
)

__all__ = ["HANDLERS", "NEAR_SLICE"]

NEAR_SLICE: Final = 50
"""Queries resolved and encoded between two returns to the event loop (spec §6.1.4)."""


async def _search(
    node: Node, kind: Literal["pdq", "iscc"], queries: list[str], max_distance: int
) -> list[list[NearHit]]:
    if len(queries) > MAX_NEAR_BATCH:
        raise ProblemError(
            "batch-too-large", f"{len(queries)} queries; at most {MAX_NEAR_BATCH} per request"
        )
    near = node.index.near
    try:
        if kind == "pdq":
            hits = await near.search_pdq(queries, max_distance)
        else:
            hits = await near.search_iscc(queries, max_distance)
    except NearDupError as exc:
        raise ProblemError("bad-request", str(exc)) from None
    node.metrics.checked(f"near_{kind}", len(queries))
    return hits


async def _sliced(
    node: Node,
    queries: list[str],
    hits: list[list[NearHit]],
    answer: Callable[
        [NodeIndex, list[str], list[list[NearHit]]], Awaitable[PdqResponse | IsccResponse]
    ],
) -> Response[bytes]:
    """A batch answer, resolved and encoded :data:`NEAR_SLICE` queries at a time with the
    event loop free between slices (spec §6.1.4)."""
    parts: list[bytes] = []
    for start in range(0, len(queries), NEAR_SLICE):
        stop = start + NEAR_SLICE
        parts.append(
            encode_items((await answer(node.index, queries[start:stop], hits[start:stop])).results)
        )
        await asyncio.sleep(0)  # let /healthz and other clients in
    return json_response(json_object({"results": parts}))


@post(
    "/v1/check/pdq",
    tags=["works"],
    summary="Near-duplicates by PDQ hash",
    status_code=200,
    responses={
        **problem_responses(400, 413, 415),
        **json_success(PdqResponse, "one result per query, in request order"),
    },
)
async def check_pdq(
    data: JSONBody[PdqCheckRequest], node: NamedDependency[Node]
) -> Response[bytes]:
    """Declared works within ``max_distance`` (default 31, at most 64) bits of each of up to
    1,000 PDQ hashes, answered in request order."""
    hits = await _search(node, "pdq", data.hashes, data.max_distance)
    return await _sliced(node, data.hashes, hits, pdq_response)


@post(
    "/v1/check/iscc",
    tags=["works"],
    summary="Near-duplicates by ISCC",
    status_code=200,
    responses={
        **problem_responses(400, 413, 415),
        **json_success(IsccResponse, "one result per query, in request order"),
    },
)
async def check_iscc(
    data: JSONBody[IsccCheckRequest], node: NamedDependency[Node]
) -> Response[bytes]:
    """Declared works whose ISCC Content-Code of the same kind is within ``max_distance``
    (default 12, at most 32) bits of each of up to 1,000 codes, in request order."""
    hits = await _search(node, "iscc", data.codes, data.max_distance)
    return await _sliced(node, data.codes, hits, iscc_response)


@get(
    "/v1/works/pdq/{pdq:str}",
    tags=["works"],
    summary="Near-duplicates of one PDQ hash",
    responses=problem_responses(400),
)
async def work_by_pdq(
    pdq: FromPath[str],
    node: NamedDependency[Node],
    max_distance: Annotated[int, QueryParameter(ge=0, le=PDQ_SEARCH_LIMIT)] = PDQ_MAX_DISTANCE,
) -> Response[PdqResult]:
    """Declared works within ``max_distance`` bits of this PDQ hash (64 lowercase hex)."""
    answer = await pdq_response(node.index, [pdq], await _search(node, "pdq", [pdq], max_distance))
    return Response(answer.results[0], headers={"Cache-Control": QUERY_CACHE})


@get(
    "/v1/works/iscc/{iscc:str}",
    tags=["works"],
    summary="Near-duplicates of one ISCC code",
    responses=problem_responses(400),
)
async def work_by_iscc(
    iscc: FromPath[str],
    node: NamedDependency[Node],
    max_distance: Annotated[int, QueryParameter(ge=0, le=ISCC_SEARCH_LIMIT)] = ISCC_MAX_DISTANCE,
) -> Response[IsccResult]:
    """Declared works whose Content-Code is within ``max_distance`` bits of this code's."""
    hits = await _search(node, "iscc", [iscc], max_distance)
    answer = await iscc_response(node.index, [iscc], hits)
    return Response(answer.results[0], headers={"Cache-Control": QUERY_CACHE})


HANDLERS: list[ControllerRouterHandler] = [check_pdq, check_iscc, work_by_pdq, work_by_iscc]
