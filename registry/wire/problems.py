"""RFC 9457 problem details as the protocol names them (spec §6.10).

A problem's ``type`` is the relative URI reference ``/problems/<slug>`` (RFC 9457 §3.1.1); the
slugs, their HTTP status and title are :data:`PROBLEM_TYPES` (spec §6.10.2). Errors of the
protocol core carry their own slug (:attr:`registry.core.errors.ProtocolError.slug`). The node
answers these objects (:mod:`registry.http.problems` turns exceptions into them); the SDK
decodes them.
"""

from __future__ import annotations

from typing import Any, Final

import msgspec

from registry.core.errors import EncodingError, ProtocolError

__all__ = [
    "PROBLEM_TYPES",
    "Problem",
    "make_problem",
    "problem_for_protocol_error",
    "problem_type",
]


class Problem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """An RFC 9457 problem details object (§3.1 members plus the ``errors`` extension)."""

    type: str
    title: str = ""
    status: int
    detail: str = ""
    instance: str | None = None
    errors: tuple[dict[str, Any], ...] | None = None

    @property
    def slug(self) -> str:
        """The last path segment of ``type`` (``/problems/bad-signature`` -> ``bad-signature``)."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


# slug -> (status, title). Core slugs come from registry.core.errors; the rest are HTTP-level.
PROBLEM_TYPES: Final[dict[str, tuple[int, str]]] = {
    "protocol-error": (422, "Protocol error"),
    "bad-encoding": (400, "Malformed encoding"),
    "non-canonical": (400, "Record is not in canonical form"),
    "bad-key": (422, "Malformed key or identifier"),
    "bad-signature": (422, "Signature does not verify"),
    "bad-record": (422, "Invalid record"),
    "limit-exceeded": (422, "Record exceeds a limit"),
    "future-dated": (422, "Record dated in the future"),
    "bad-preference": (422, "Invalid preference"),
    "bad-structured-field": (422, "Invalid structured field"),
    "bad-proof": (422, "Invalid proof"),
    "bad-inclusion-proof": (422, "Invalid inclusion proof"),
    "bad-consistency-proof": (422, "Invalid consistency proof"),
    "bad-tile": (400, "Malformed tile path"),
    "bad-note": (422, "Malformed signed note"),
    "unverified-note": (422, "Signed note does not verify"),
    "bad-checkpoint": (422, "Malformed checkpoint"),
    "bad-receipt": (422, "Invalid receipt"),
    "bad-request": (400, "Bad request"),
    "bad-peer": (422, "Invalid peer configuration"),
    "bad-snapshot": (422, "Invalid snapshot"),
    "domain-check-failed": (422, "Domain check failed"),
    "unauthorized": (401, "Operator token required"),
    "forbidden": (403, "Forbidden"),
    "untrusted-platform": (403, "Platform not trusted by this node"),
    "conflict": (409, "Conflict"),
    "validation-error": (400, "Request does not match the schema"),
    "batch-too-large": (413, "Too many items in one request"),
    "not-found": (404, "Not found"),
    "method-not-allowed": (405, "Method not allowed"),
    "payload-too-large": (413, "Request body too large"),
    "unsupported-media-type": (415, "Unsupported media type"),
    "rate-limited": (429, "Too many requests"),
    "overloaded": (503, "Node overloaded"),
    "unavailable": (503, "Service unavailable"),
    "internal-error": (500, "Internal server error"),
}


def problem_type(slug: str) -> str:
    """The ``type`` URI reference of the problem named ``slug``."""
    return f"/problems/{slug}"


def make_problem(
    slug: str,
    detail: str,
    *,
    status: int | None = None,
    errors: tuple[dict[str, Any], ...] | None = None,
) -> Problem:
    """A :class:`Problem` for ``slug``, its status and title from :data:`PROBLEM_TYPES`."""
    default_status, title = PROBLEM_TYPES.get(slug, (500, "Error"))
    code = status or default_status
    return Problem(type=problem_type(slug), title=title, status=code, detail=detail, errors=errors)


def problem_for_protocol_error(exc: ProtocolError) -> Problem:
    """The problem reporting a core error: its slug as type, its message as detail.

    Malformed encodings answer 400; well-formed input that breaks a rule answers 422.
    """
    slug = exc.slug if exc.slug in PROBLEM_TYPES else "protocol-error"
    status = 400 if isinstance(exc, EncodingError) else PROBLEM_TYPES[slug][0]
    detail = str(exc) or (type(exc).__doc__ or slug).strip().splitlines()[0]
    return make_problem(slug, detail, status=status)
