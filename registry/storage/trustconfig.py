"""The trust configuration a node resolves with (spec §9.1, §9.6)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field

__all__ = ["TrustConfig"]


@dataclass(frozen=True, slots=True)
class TrustConfig:
    """A resolving party's trust configuration (spec §9.1, §9.6): trusted platform keys
    (``did:key`` -> platform name) and the node keys whose bindings it trusts."""

    platforms: Mapping[str, str] = field(default_factory=dict)
    nodes: frozenset[str] = frozenset()
