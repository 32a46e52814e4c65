"""The node's answers as the SDK reads them (spec §6): msgspec Structs, decoded leniently.

These mirror the node's wire types without importing the node (which needs Litestar). Unknown
fields are ignored, so a newer node with more fields still works with this client.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import Final, Literal

import msgspec

from registry.core.prefs import combine

__all__ = [
    "ISCC_MATCH_DISTANCE",
    "PDQ_CUT_DISTANCE",
    "PDQ_MATCH_DISTANCE",
    "TRAIN_AI",
    "Answer",
    "BatchItem",
    "ClaimView",
    "CreatorAnswer",
    "CreatorDeclaration",
    "DeclarationView",
    "IsccAnswer",
    "IsccMatch",
    "IsccResult",
    "NearMatch",
    "NearResult",
    "NodeInfo",
    "PdqAnswer",
    "PdqMatch",
    "PdqResult",
    "PeerView",
    "Problem",
    "SubmitResult",
    "WorkAnswer",
    "merge_pdq_results",
]

TRAIN_AI: Final = "train-ai"
PDQ_MATCH_DISTANCE: Final = 31
"""Hamming distance up to which two PDQ hashes are taken as the same image (Meta's default)."""
PDQ_CUT_DISTANCE: Final = 31
"""Distance the cuts of a copy are asked at (spec §6.8.3, recommended check; ADR 0011). The
same as for whole images: over 11.4M non-matching pairs the 45 cuts per copy added no false
match at 31, and a tighter radius lost recall on crops."""
ISCC_MATCH_DISTANCE: Final = 12
"""Default Hamming distance between ISCC Content-Codes' first 64 bits (spec §6.8.3; at most 32)."""


class Problem(msgspec.Struct, frozen=True, kw_only=True):
    """An RFC 9457 problem details object."""

    type: str = "about:blank"
    title: str = ""
    status: int = 0
    detail: str = ""

    @property
    def slug(self) -> str:
        """The last path segment of ``type`` (``/problems/bad-signature`` -> ``bad-signature``)."""
        return self.type.rstrip("/").rsplit("/", 1)[-1]


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /.well-known/consent-registry``: the node's origin, key, endpoints and limits."""

    origin: str
    verifier_key: str
    protocol_version: int
    software: str = ""
    version: str = ""
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    limits: dict[str, int] = msgspec.field(default_factory=dict)


class SubmitResult(msgspec.Struct, frozen=True, kw_only=True):
    """One accepted declaration: its id, log index and receipt (C2SP tlog-proof)."""

    id: str
    index: int
    receipt: str
    duplicate: bool


class BatchItem(msgspec.Struct, frozen=True, kw_only=True):
    """One item of a batch submission's answer: a result, or a problem."""

    status: int
    id: str | None = None
    index: int | None = None
    receipt: str | None = None
    duplicate: bool | None = None
    problem: Problem | None = None

    @property
    def ok(self) -> bool:
        """True if the declaration is in the log (new or duplicate)."""
        return self.problem is None and self.id is not None and self.receipt is not None


class BatchAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/declarations:batch`` answer."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItem]


class DeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/declarations/{id}``: the entry, its index and a receipt against ``checkpoint``."""

    id: str
    index: int
    origin: str
    record: msgspec.Raw
    receipt: str
    checkpoint: str = ""
    origins: list[str] = msgspec.field(default_factory=list)
    flagged: bool = False


class PeerView(msgspec.Struct, frozen=True, kw_only=True):
    """One of the node's peers (``GET /v1/peers``): a log it mirrors, and that log's key."""

    origin: str
    url: str = ""
    verifier_key: str
    verified_size: int | None = None
    """Size of the peer's log the node verified and serves (spec §7.2.3); None if not said."""
    flagged: bool = False


class ClaimView(msgspec.Struct, frozen=True, kw_only=True):
    """One creator's current statement about a work (spec §3.5.4)."""

    creator: str
    declaration: str
    issued_at: int
    prefs: dict[str, str]
    origin: str = ""
    origins: list[str] = msgspec.field(default_factory=list)
    verified: bool = False


class WorkAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """A work's resolved preferences, the claims behind them and their declarations."""

    prefs: dict[str, str]
    claims: list[ClaimView] = msgspec.field(default_factory=list)
    declarations: list[str] = msgspec.field(default_factory=list)
    sha256: str | None = None
    url: str | None = None
    content_usage: str = ""

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if some current claim disallows ``category`` (spec §3.5.4)."""
        return self.prefs.get(category) == "n"


class CreatorDeclaration(msgspec.Struct, frozen=True, kw_only=True):
    """One of a creator's declarations as the node sees it (spec §3.5.3)."""

    id: str
    status: str
    issued_at: int
    prefs: dict[str, str]
    withdraw: bool
    works: list[str]
    supersedes: list[str] = msgspec.field(default_factory=list)
    superseded_by: list[str] = msgspec.field(default_factory=list)
    origins: list[str] = msgspec.field(default_factory=list)


class CreatorAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/creators/{did}``: the creator's declarations, oldest first."""

    creator: str
    verified: bool
    declarations: list[CreatorDeclaration]


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


class CheckItem(msgspec.Struct, frozen=True, kw_only=True):
    """One item of the node's ``POST /v1/check`` answer."""

    sha256: str | None = None
    url: str | None = None
    prefs: dict[str, str] = msgspec.field(default_factory=dict)
    declarations: list[str] = msgspec.field(default_factory=list)
    error: str | None = None


class CheckAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check`` answer."""

    sha256s: list[CheckItem]
    urls: list[CheckItem]


class NearMatch(msgspec.Struct, frozen=True, kw_only=True):
    """A declared work within the asked distance of a near-duplicate query (spec §6.8.3 item 4):
    its SHA-256, the distance, and its current resolution as ``/v1/works/sha256`` answers it."""

    sha256: str
    distance: int
    prefs: dict[str, str] = msgspec.field(default_factory=dict)
    declarations: list[str] = msgspec.field(default_factory=list)
    claims: list[ClaimView] = msgspec.field(default_factory=list)


class PdqMatch(NearMatch, frozen=True, kw_only=True):
    """A declared work whose PDQ hash (``pdq``) is within the asked distance of the query."""

    pdq: str


class IsccMatch(NearMatch, frozen=True, kw_only=True):
    """A declared work whose ISCC Content-Code is within the asked distance of the query;
    ``iscc`` is the code the node indexed for it."""

    iscc: str


class NearResult(msgspec.Struct, frozen=True, kw_only=True):
    """The near-duplicates of one query: their combined preferences (§3.2: any disallow wins)."""

    prefs: dict[str, str] = msgspec.field(default_factory=dict)

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if a near-duplicate's claims disallow ``category``."""
        return self.prefs.get(category) == "n"


class PdqResult(NearResult, frozen=True, kw_only=True):
    """The near-duplicates of one queried PDQ hash, nearest first, and their combined prefs."""

    pdq: str
    matches: list[PdqMatch] = msgspec.field(default_factory=list)


def merge_pdq_results(pdq: str, results: Iterable[PdqResult]) -> PdqResult:
    """One result for a copy asked about by several hashes (spec §6.8.3, recommended check):
    each declared work once, at its smallest distance, nearest first; prefs combined (any
    disallow wins, spec §3.2)."""
    best: dict[str, PdqMatch] = {}
    for result in results:
        for match in result.matches:
            if match.sha256 not in best or match.distance < best[match.sha256].distance:
                best[match.sha256] = match
    matches = sorted(best.values(), key=lambda m: (m.distance, m.sha256))
    return PdqResult(pdq=pdq, prefs=combine(m.prefs for m in matches), matches=matches)


class IsccResult(NearResult, frozen=True, kw_only=True):
    """The near-duplicates of one queried ISCC code, nearest first, and their combined prefs."""

    iscc: str
    matches: list[IsccMatch] = msgspec.field(default_factory=list)


class PdqAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The ``POST /v1/check/pdq`` answer (spec §6.8.3), in request order."""

    results: list[PdqResult]


class IsccAnswer(msgspec.Struct, frozen=True, kw_only=True):
    """The ``POST /v1/check/iscc`` answer (spec §6.8.3), in request order."""

    results: list[IsccResult]
