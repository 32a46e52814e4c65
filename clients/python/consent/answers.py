"""What the SDK answers about one key of a batch check (the node's wire types are
:mod:`registry.wire`, shared with the node).

Since spec §9 every claim carries its identity: per-work answers list
:class:`~registry.wire.ClaimView` (``principal``, ``level``, ``levels``, ``evidence``,
``counted``, ``disputed_by``), batch checks :class:`~registry.wire.ClaimIdentity` (the claim's
declaration, level, evidence, whether it counts, disputes). A node without spec §9 omits them:
every claim is then at level ``none`` and counted.
"""

from __future__ import annotations

from typing import Literal

import msgspec

from registry.core.trust import LEVEL_NONE, POLICIES, Policy
from registry.wire import TRAIN_AI, CheckItem, ClaimIdentity

__all__ = [
    "LEVEL_NONE",
    "POLICIES",
    "Answer",
    "Kind",
    "Policy",
]

Kind = Literal["sha256", "url", "pdq"]


class CheckAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check`` as the SDK reads it: the items, and the policy they were resolved
    under if the node says (spec §9.4.7)."""

    sha256s: list[CheckItem]
    urls: list[CheckItem]
    policy: str | None = None


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
    """The policy the node resolved under (spec §9.4.7), when it says."""
    claims: list[ClaimIdentity] = msgspec.field(default_factory=list)
    """Each claim's identity: level, evidence, whether it counts (spec §9.4.5)."""

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if the registry says ``category`` is disallowed for this key."""
        return self.prefs.get(category) == "n"
