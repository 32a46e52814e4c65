"""What the OpenAPI document says about error answers: RFC 9457 problems (spec §6.10).

Every error the node answers is an ``application/problem+json`` :class:`~registry.http.
problems.Problem`. Litestar documents only the success response of a handler (and a 400 as
``application/json``); each handler therefore declares the problem statuses it can answer with
``responses=problem_responses(...)``, so that clients and schema-driven tools (schemathesis in
``tests/ops``) know every status and content type a request can get.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Final

import msgspec
from litestar import Response
from litestar.enums import MediaType
from litestar.openapi.datastructures import ResponseSpec

from registry.http.problems import PROBLEM_CONTENT_TYPE, Problem

__all__ = [
    "COMMON_PROBLEMS",
    "encode_items",
    "json_object",
    "json_response",
    "problem_responses",
    "text_response",
]

COMMON_PROBLEMS: Final = (429, 500, 503)
"""Statuses any rate-limited route can answer: 429 ``rate-limited`` (§6.10.3), 500
``internal-error`` and 503 ``unavailable`` (the database cannot serve now)."""

_DESCRIPTIONS: Final[dict[int, str]] = {
    400: "Malformed request: bad-encoding, non-canonical, bad-tile, validation-error, bad-request",
    401: "unauthorized: the operator token is missing or wrong",
    403: "forbidden: the admin API is disabled, or the witness refuses the checkpoint",
    404: "not-found",
    409: "conflict",
    413: "payload-too-large or batch-too-large",
    415: "unsupported-media-type",
    422: "The input is well-formed but breaks a rule: bad-record, limit-exceeded, bad-key, "
    "bad-signature, bad-preference, bad-peer, bad-proof...",
    429: "rate-limited: see Retry-After",
    500: "internal-error",
    503: "overloaded or unavailable: nothing was done; see Retry-After",
}


def problem_responses(*statuses: int, common: bool = True) -> dict[int, ResponseSpec]:
    """The ``responses=`` of a handler answering problems with ``statuses`` (plus
    :data:`COMMON_PROBLEMS` unless ``common`` is false), each an RFC 9457 problem."""
    wanted = sorted({*statuses, *(COMMON_PROBLEMS if common else ())})
    return {
        status: ResponseSpec(
            data_container=Problem,
            media_type=PROBLEM_CONTENT_TYPE,
            description=_DESCRIPTIONS.get(status, "problem"),
            generate_examples=False,
        )
        for status in wanted
    }


def text_response(media_type: str, description: str) -> ResponseSpec:
    """A non-JSON answer (e.g. C2SP tlog-witness's 409 ``text/x.tlog.size``)."""
    return ResponseSpec(
        data_container=str, media_type=media_type, description=description, generate_examples=False
    )


_ENCODER: Final = msgspec.json.Encoder()


def encode_items(items: Sequence[msgspec.Struct]) -> bytes:
    """``items`` encoded as the inside of a JSON array (without its brackets).

    Large answers (spec §6.1.4) are encoded slice by slice with the event loop free between
    slices, rather than in one call that would hold it for the whole answer."""
    return _ENCODER.encode(items)[1:-1]


def json_object(members: dict[str, list[bytes]]) -> bytes:
    """A JSON object whose members are arrays given as slices from :func:`encode_items`."""
    out = [b"{"]
    for position, (name, parts) in enumerate(members.items()):
        out += [b"," if position else b"", _ENCODER.encode(name), b":["]
        out += [b",".join(part for part in parts if part), b"]"]
    out.append(b"}")
    return b"".join(out)


def json_response(body: bytes, headers: dict[str, str] | None = None) -> Response[bytes]:
    """An ``application/json`` answer of already encoded bytes."""
    return Response(content=body, media_type=MediaType.JSON, headers=headers)


def json_success(model: type[msgspec.Struct], description: str) -> dict[int, ResponseSpec]:
    """The ``responses=`` entry documenting a handler's 200 answer of encoded bytes as
    ``model`` (the handler itself returns bytes)."""
    return {
        200: ResponseSpec(data_container=model, description=description, generate_examples=False)
    }
