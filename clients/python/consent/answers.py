"""What the SDK answers about one key of a batch check (the node's wire types are
:mod:`registry.wire`, shared with the node)."""

from __future__ import annotations

from typing import Literal

import msgspec

from registry.wire import TRAIN_AI

__all__ = ["Answer", "Kind"]

Kind = Literal["sha256", "url", "pdq"]


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

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if the registry says ``category`` is disallowed for this key."""
        return self.prefs.get(category) == "n"
