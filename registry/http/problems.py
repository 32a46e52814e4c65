"""RFC 9457 problem details: every error the node answers is ``application/problem+json``.

The problem object and its types are part of the wire contract (:mod:`registry.wire.problems`,
spec §6.10): a ``type`` is the relative URI reference ``/problems/<slug>`` (RFC 9457 §3.1.1),
served by ``GET /problems/<slug>`` as a short description. Errors from the protocol core carry
their own slug (:attr:`registry.core.errors.ProtocolError.slug`); the use cases raise domain
errors (:mod:`registry.services.errors`) that name theirs; HTTP-level errors (404, 405, 413, 429,
503...) use the slugs in :data:`PROBLEM_TYPES`.

The exception handlers registered by :func:`exception_handlers` turn Litestar's HTTP
exceptions, core errors, domain errors of the services, log overload and unexpected exceptions
into problem responses.
"""

from __future__ import annotations

import logging
import math
from http import HTTPStatus
from typing import Any, Final

import msgspec
from litestar import Request, Response
from litestar.exceptions import HTTPException, SerializationException, ValidationException
from litestar.types import ExceptionHandlersMap

from registry.core.errors import ProtocolError
from registry.services.errors import ServiceError
from registry.wire.problems import (
    PROBLEM_TYPES,
    Problem,
    make_problem,
    problem_for_protocol_error,
    problem_type,
)

__all__ = [
    "PROBLEM_CONTENT_TYPE",
    "PROBLEM_TYPES",
    "Problem",
    "ProblemError",
    "exception_handlers",
    "make_problem",
    "problem_for_protocol_error",
    "problem_response",
    "problem_type",
    "retry_after_header",
]

PROBLEM_CONTENT_TYPE: Final = "application/problem+json"

_log = logging.getLogger("registry.http")


_SLUG_FOR_STATUS: Final[dict[int, str]] = {
    400: "bad-request",
    401: "unauthorized",
    403: "forbidden",
    404: "not-found",
    409: "conflict",
    405: "method-not-allowed",
    413: "payload-too-large",
    415: "unsupported-media-type",
    429: "rate-limited",
    500: "internal-error",
    503: "unavailable",
}

_ENCODER: Final = msgspec.json.Encoder()


def problem_response(problem: Problem, headers: dict[str, str] | None = None) -> Response[bytes]:
    """Serialise ``problem`` as an ``application/problem+json`` response."""
    return Response(
        content=_ENCODER.encode(problem),
        status_code=problem.status,
        media_type=PROBLEM_CONTENT_TYPE,
        headers=headers,
    )


def retry_after_header(seconds: float) -> dict[str, str]:
    """A ``Retry-After`` header (RFC 9110 §10.2.3: whole seconds, at least 1)."""
    return {"Retry-After": str(max(1, math.ceil(seconds)))}


class ProblemError(HTTPException):
    """Raised by handlers to answer a problem with a given slug, detail and headers."""

    def __init__(self, slug: str, detail: str, *, headers: dict[str, str] | None = None) -> None:
        self.slug = slug
        status = PROBLEM_TYPES.get(slug, (500, ""))[0]
        super().__init__(detail=detail, status_code=status, headers=headers)


def _on_http_exception(request: Request[Any, Any, Any], exc: HTTPException) -> Response[bytes]:
    if isinstance(exc, ProblemError):
        return problem_response(make_problem(exc.slug, exc.detail), exc.headers)
    errors: tuple[dict[str, Any], ...] | None = None
    if isinstance(exc.__cause__, SerializationException):
        # Litestar wraps a request body that does not decode (malformed JSON, invalid UTF-8)
        # in a 400 whose wording follows msgspec's; spec §6.10.2 names it bad-encoding.
        slug = "bad-encoding"
    elif isinstance(exc, ValidationException):
        slug = "validation-error"
        if isinstance(exc.extra, list):
            errors = tuple(e for e in exc.extra if isinstance(e, dict))
    else:
        slug = _SLUG_FOR_STATUS.get(exc.status_code, "")
    if not slug:
        phrase = HTTPStatus(exc.status_code).phrase
        problem = Problem(
            type="about:blank", title=phrase, status=exc.status_code, detail=exc.detail
        )
    else:
        problem = make_problem(slug, exc.detail, status=exc.status_code, errors=errors)
    return problem_response(problem, exc.headers)


def _on_protocol_error(request: Request[Any, Any, Any], exc: ProtocolError) -> Response[bytes]:
    return problem_response(problem_for_protocol_error(exc))


def _on_service_error(request: Request[Any, Any, Any], exc: ServiceError) -> Response[bytes]:
    headers = None if exc.retry_after is None else retry_after_header(exc.retry_after)
    return problem_response(make_problem(exc.slug, exc.detail), headers)


def _on_bad_text(request: Request[Any, Any, Any], exc: UnicodeDecodeError) -> Response[bytes]:
    # msgspec raises UnicodeDecodeError (not DecodeError) for invalid UTF-8 inside a JSON
    # object key of a request body: a malformed encoding, not a server error.
    return problem_response(make_problem("bad-encoding", f"the body is not valid UTF-8: {exc}"))


def _on_unexpected(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    _log.exception("unhandled error on %s %s", request.method, request.url.path, exc_info=exc)
    return problem_response(make_problem("internal-error", "the node failed to answer"))


def exception_handlers() -> ExceptionHandlersMap:
    """The app-level handlers mapping every exception to a problem response."""
    # Imported here so that this module (and the batch code using its Structs) stays
    # importable without the log engine.
    from registry.log import Overloaded  # noqa: PLC0415
    from registry.log.errors import BatchError, LogClosedError  # noqa: PLC0415

    def on_overloaded(request: Request[Any, Any, Any], exc: Overloaded) -> Response[bytes]:
        detail = "the node's submission pool is full; retry later"
        return problem_response(
            make_problem("overloaded", detail), retry_after_header(exc.retry_after)
        )

    def on_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
        _log.warning("log unavailable on %s: %s", request.url.path, exc)
        detail = "the log could not take this submission now; nothing was logged, retry"
        return problem_response(make_problem("unavailable", detail), retry_after_header(1))

    return {
        HTTPException: _on_http_exception,
        ProtocolError: _on_protocol_error,
        ServiceError: _on_service_error,
        UnicodeDecodeError: _on_bad_text,
        Overloaded: on_overloaded,
        BatchError: on_unavailable,
        LogClosedError: on_unavailable,
        **dict.fromkeys(database_unavailable_errors(), _on_database_unavailable),
        Exception: _on_unexpected,
    }


DATABASE_RETRY_AFTER: Final = 2.0
"""Seconds a client is told to wait when the database cannot answer (a brief outage)."""


def database_unavailable_errors() -> tuple[type[Exception], ...]:
    """Exceptions meaning "the database cannot answer now" rather than a bug: lost or refused
    connections, timeouts, a locked or full SQLite file (SQLAlchemy ``OperationalError``)."""
    from sqlalchemy import exc  # noqa: PLC0415 - keep this module free of the storage stack

    return (
        exc.OperationalError,
        exc.InterfaceError,
        exc.DisconnectionError,
        exc.TimeoutError,
        OSError,  # a connection refused or reset before SQLAlchemy could wrap it
    )


def _on_database_unavailable(request: Request[Any, Any, Any], exc: Exception) -> Response[bytes]:
    # spec §6.10.2: 503 unavailable, "the log or database cannot serve now; retry". Only the
    # class name is logged: driver messages can carry connection strings.
    _log.warning(
        "database unavailable on %s %s: %s", request.method, request.url.path, type(exc).__name__
    )
    return problem_response(
        make_problem("unavailable", "the database cannot answer now; retry"),
        retry_after_header(DATABASE_RETRY_AFTER),
    )
