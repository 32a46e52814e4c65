"""What the SDK answers about one key of a batch check (the node's wire types are
:mod:`registry.wire`, shared with the node), and the identity members of claims (spec §9.4.5)
that answers carry since spec §9: the SDK decodes them with the subclasses below, so that a
claim exposes ``principal``, ``level``, ``levels``, ``evidence``, ``counted`` and
``disputed_by`` (defaults: what an older node without spec §9 means)."""

from __future__ import annotations

from typing import Literal

import msgspec

from registry.wire import (
    TRAIN_AI,
    CheckItem,
    ClaimView,
    SubmitResult,
    WorkAnswer,
)

__all__ = [
    "LEVEL_NONE",
    "POLICIES",
    "Answer",
    "BindingResult",
    "Kind",
    "Policy",
    "TrustedClaim",
    "TrustedWorkAnswer",
]

Kind = Literal["sha256", "url", "pdq"]
Policy = Literal["any", "verified", "verified-only"]
"""Which claims count (spec §9.4.7); the node's default is ``verified``."""
POLICIES: tuple[Policy, ...] = ("any", "verified", "verified-only")
LEVEL_NONE = "none"


class TrustedClaim(ClaimView, frozen=True, kw_only=True):
    """A claim with its identity level (spec §9.4.5): ``principal`` is the first key of the
    creator's rotation chain, ``level`` the strongest of ``levels`` (``domain:HOST``,
    ``platform:NAME`` or ``none``), ``evidence`` the ids of the binding and attestation
    records behind them (:mod:`consent.evidence` checks them offline), ``counted`` whether
    the claim counts under the answer's policy, ``disputed_by`` the counter-statements shown
    on it (spec §9.4.6)."""

    principal: str = ""
    level: str = LEVEL_NONE
    levels: list[str] = msgspec.field(default_factory=list)
    evidence: list[str] = msgspec.field(default_factory=list)
    counted: bool = True
    disputed_by: list[str] = msgspec.field(default_factory=list)

    @property
    def verified_level(self) -> bool:
        """True if the claim has an identity level other than ``none`` (spec §9.4.4)."""
        return self.level != LEVEL_NONE


class TrustedWorkAnswer(WorkAnswer, frozen=True, kw_only=True, omit_defaults=True):
    """A per-work answer (spec §6.6) with the policy it was resolved under and its claims'
    identity levels (spec §9.4); ``policy`` is None from a node without spec §9."""

    # Narrower than the base's list[ClaimView]: the decoder builds TrustedClaims only, and the
    # answer stays a WorkAnswer for every caller that takes one.
    claims: list[TrustedClaim]  # type: ignore[assignment]
    policy: str | None = None


class TrustedCheckItem(CheckItem, frozen=True, kw_only=True, omit_defaults=True):
    """A batch-check item; ``claims`` if the node lists them (spec §9.4.5)."""

    claims: list[TrustedClaim] = msgspec.field(default_factory=list)


class TrustedCheckResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check`` with the policy the node resolved under (spec §9.4.7)."""

    sha256s: list[TrustedCheckItem]
    urls: list[TrustedCheckItem]
    policy: str | None = None


class BindingResult(SubmitResult, frozen=True, kw_only=True):
    """``POST /v1/bindings``: the node checked the domain and logged a binding (spec §9.2):
    its id, index, receipt, and the signed ``binding`` record's entry."""

    record: msgspec.Raw


class Answer(msgspec.Struct, frozen=True, kw_only=True):
    """One answer of a batch check, in the order asked: what is known about one key.

    ``kind`` says what ``key`` is (a SHA-256, a URL as given, a PDQ hash). ``error`` is set
    when the node could not answer for this key (e.g. a URL that does not normalise).
    """

    kind: Kind
    key: str
    prefs: dict[str, str] = msgspec.field(default_factory=dict)
    declarations: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    policy: str | None = None
    """The policy the node resolved under (spec §9.4.7); None from a node without spec §9."""
    claims: list[TrustedClaim] = msgspec.field(default_factory=list)
    """The claims with their identity levels, when the node lists them (spec §9.4.5)."""

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if the registry says ``category`` is disallowed for this key."""
        return self.prefs.get(category) == "n"
