"""Errors of federation (spec §7).

::

    FederationError            base of every error below
    ├── PeerConfigError        a peers file line, URL or key is malformed, or peers conflict
    ├── PeerUnavailableError        the peer could not be reached or answered with an HTTP error
    ├── PeerMisbehavingError        the peer served data that does not verify (bad signature,
    │   │                      tiles, entries, records): nothing of it was accepted
    │   └── EquivocationError  the peer signed two checkpoints that cannot both be true;
    │                          ``evidence`` holds the proof (spec §7.6)
    └── InvalidEvidenceError   a piece of equivocation evidence does not prove anything

A mirror task reports any of these as the peer's ``last_error`` and backs off; none of them
stops the node or another peer's task.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from registry.federation.evidence import ForkEvidence

__all__ = [
    "EquivocationError",
    "FederationError",
    "InvalidEvidenceError",
    "PeerConfigError",
    "PeerMisbehavingError",
    "PeerUnavailableError",
]


class FederationError(Exception):
    """Base of every federation error."""


class PeerConfigError(FederationError, ValueError):
    """A peer's configuration (peers file line, admin request) is malformed or conflicting."""


class PeerUnavailableError(FederationError):
    """The peer did not answer, or answered with an HTTP error status (back off, §7.3 item 9)."""


class PeerMisbehavingError(FederationError):
    """The peer served something that does not verify; nothing from this attempt is kept."""


class EquivocationError(PeerMisbehavingError):
    """The peer signed two checkpoints that cannot both be true (spec §7.6)."""

    def __init__(self, evidence: ForkEvidence) -> None:
        super().__init__(
            f"equivocation by {evidence.origin}: checkpoints of sizes {evidence.size_a} and "
            f"{evidence.size_b} are inconsistent ({evidence.kind})"
        )
        self.evidence = evidence


class InvalidEvidenceError(FederationError):
    """Equivocation evidence that does not verify (spec §7.6.3)."""
