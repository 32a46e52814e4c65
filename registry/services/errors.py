"""Domain errors of the use cases: what a service refuses, named by its problem type.

Services raise these (or :class:`registry.core.errors.ProtocolError` for a record the protocol
rejects); they know nothing of HTTP. :mod:`registry.http.problems` maps each to an RFC 9457
problem (spec §6.10.2) by its :attr:`ServiceError.slug`, with ``Retry-After`` when
:attr:`ServiceError.retry_after` is set.
"""

from __future__ import annotations

from typing import ClassVar

__all__ = [
    "BadBindingRequestError",
    "BatchTooLargeError",
    "DomainCheckFailedError",
    "ForbiddenRecordError",
    "QuotaExceededError",
    "ServiceError",
    "UntrustedPlatformError",
]


class ServiceError(Exception):
    """A request a use case refuses; ``detail`` says why in one line, without secrets."""

    slug: ClassVar[str] = "bad-request"
    """The problem type (spec §6.10.2) this refusal is answered with."""

    def __init__(self, detail: str, *, retry_after: float | None = None) -> None:
        super().__init__(detail)
        self.detail = detail
        self.retry_after = retry_after
        """Seconds after which the same request may succeed; None if it never will."""


class BatchTooLargeError(ServiceError):
    """More items in one request than the node takes (spec §6.4.2, §6.8)."""

    slug = "batch-too-large"


class QuotaExceededError(ServiceError):
    """A creator key reached its hourly limit of declarations on this node (issue 7)."""

    slug = "rate-limited"

    def __init__(self, detail: str, *, retry_after: float) -> None:
        super().__init__(detail, retry_after=retry_after)


class ForbiddenRecordError(ServiceError):
    """A record this endpoint never takes from a client (a binding, spec §9.2)."""

    slug = "forbidden"


class UntrustedPlatformError(ServiceError):
    """A platform attestation by a key this node does not trust, or outside the platform's
    scope (spec §9.6)."""

    slug = "untrusted-platform"


class BadBindingRequestError(ServiceError):
    """A domain-check request whose domain is not a domain by spec §9.3.1 (a port, a trailing
    dot, an IP address, a URL...), or whose ``did`` is not an Ed25519 ``did:key`` (§1.5.2)."""

    slug = "bad-request"


class DomainCheckFailedError(ServiceError):
    """The domain check of spec §9.2 did not find the key named: nothing was logged.

    ``verdict`` is :class:`registry.identity.Verdict`'s value (``not-named``, ``unreachable``,
    ``refused``); ``detail`` starts with it and says what the node saw.
    """

    slug = "domain-check-failed"

    def __init__(self, detail: str, *, verdict: str) -> None:
        super().__init__(detail)
        self.verdict = verdict
