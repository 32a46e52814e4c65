"""The HTTP API's wire types (spec §6): msgspec Structs, built once, never ORM objects.

Request Structs forbid unknown fields; validation of hashes in the batch check is by length
only (a regex on 10,000 hex strings costs 20x the decode, DESIGN "Measured"): a malformed hash
simply matches nothing.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from registry.http.problems import Problem

__all__ = [
    "DEFAULT_CLAIMS_PAGE",
    "MAX_CHECK_DECLARATIONS",
    "MAX_CHECK_URL_LENGTH",
    "MAX_CLAIMS_PAGE",
    "MAX_MATCH_CLAIMS",
    "MAX_NEAR_BATCH",
    "MAX_NEAR_MATCHES",
    "PROTOCOL_VERSION",
    "BatchItemResult",
    "BatchResult",
    "CheckItem",
    "CheckRequest",
    "CheckResponse",
    "ClaimView",
    "CreatorAnswer",
    "CreatorDeclarationView",
    "DeclarationView",
    "EvidenceView",
    "Health",
    "IsccCheckRequest",
    "NearMatch",
    "NearResponse",
    "NearResult",
    "NodeInfo",
    "PdqCheckRequest",
    "PeerRequest",
    "PeerView",
    "ProblemTypeInfo",
    "SpawningItem",
    "SpawningResponse",
    "SubmitResult",
    "WorkAnswer",
]

PROTOCOL_VERSION: Final = 1
MAX_CHECK_URL_LENGTH: Final = 8192

Sha256Hex = Annotated[str, Meta(min_length=64, max_length=64, description="lowercase hex")]
CheckUrl = Annotated[str, Meta(min_length=1, max_length=MAX_CHECK_URL_LENGTH)]
PdqHex = Annotated[str, Meta(min_length=64, max_length=64, description="lowercase hex")]
IsccCode = Annotated[str, Meta(min_length=1, max_length=256, description="ISCC:...")]
MAX_NEAR_BATCH: Final = 1000
"""Query hashes (or codes) per near-duplicate batch (spec §6.8.3)."""

# Bounded answers (spec §6.1.4): however many creators claim a work, an answer lists at most
# these many items; counts say how many there are, and per-work answers page through them.
DEFAULT_CLAIMS_PAGE: Final = 100
"""Claims listed by a per-work answer unless ``limit`` asks otherwise (spec §6.6.1)."""
MAX_CLAIMS_PAGE: Final = 1000
"""Largest ``limit`` of a per-work or per-creator answer (spec §6.6.1, §6.7)."""
MAX_CHECK_DECLARATIONS: Final = 16
"""Declaration ids listed per item of a batch check (spec §6.8.1)."""
MAX_NEAR_MATCHES: Final = 10
"""Matches listed per near-duplicate query, nearest first (spec §6.8.3)."""
MAX_MATCH_CLAIMS: Final = 4
"""Claims listed per near-duplicate match (spec §6.8.3)."""


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /.well-known/consent-registry``: how to talk to and verify this node."""

    origin: str
    verifier_key: str
    protocol_version: int
    software: str
    version: str
    endpoints: dict[str, str]
    limits: dict[str, int]
    witness_key: str | None = None


class SubmitResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one accepted declaration: its id, log index and receipt."""

    id: str
    index: int
    receipt: str
    duplicate: bool


class BatchItemResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item of a batch submission: a result (status 200/201) or a problem."""

    status: int
    id: str | None = None
    index: int | None = None
    receipt: str | None = None
    duplicate: bool | None = None
    problem: Problem | None = None


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a batch submission: counts and per-item results in request order."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItemResult]


class DeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/declarations/{id}``: the record, where it is, and proof that it is there."""

    id: str
    index: int
    origin: str
    record: msgspec.Raw
    receipt: str
    checkpoint: str
    origins: list[str] = msgspec.field(default_factory=list)
    flagged: bool = False


class ClaimView(msgspec.Struct, frozen=True, kw_only=True):
    """One creator's statement about a work, as it stands after supersession (spec §3)."""

    creator: str
    declaration: str
    issued_at: int
    prefs: dict[str, str]
    origin: str
    origins: list[str]
    verified: bool
    flagged_origins: list[str] = msgspec.field(default_factory=list)
    flagged: bool = False


class WorkAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A work's resolved preferences, a page of the claims behind them and their declarations.

    ``prefs`` are resolved over every claim; ``claims`` lists at most ``limit`` of the
    ``claims_total`` claims from ``offset`` on (sorted by creator DID), ``declarations`` the
    declarations of the listed claims; ``next_offset`` is where the next page starts, absent
    on the last one (spec §6.6.1).
    """

    sha256: str | None = None
    url: str | None = None
    prefs: dict[str, str]
    content_usage: str
    claims: list[ClaimView]
    declarations: list[str]
    claims_total: int | None = None
    next_offset: int | None = None


class CreatorDeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """One of a creator's declarations and where it stands (spec §3.5.3)."""

    id: str
    status: str
    issued_at: int
    prefs: dict[str, str]
    withdraw: bool
    works: list[str]
    supersedes: list[str]
    superseded_by: list[str]
    origins: list[str]


class CreatorAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A page of a creator's declarations, oldest first, each with its status; of
    ``declarations_total``, and ``next_offset`` where the next page starts (spec §6.7)."""

    creator: str
    verified: bool
    declarations: list[CreatorDeclarationView]
    declarations_total: int | None = None
    next_offset: int | None = None


class CheckRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/check``: works to look up by SHA-256 and by URL."""

    sha256s: list[Sha256Hex] = msgspec.field(default_factory=list)
    urls: list[CheckUrl] = msgspec.field(default_factory=list)


class CheckItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One answer of a batch check: the resolved preferences and declarations of one key."""

    sha256: str | None = None
    url: str | None = None
    prefs: dict[str, str] = msgspec.field(default_factory=dict)
    declarations: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    declarations_total: int | None = None
    """Present when more than :data:`MAX_CHECK_DECLARATIONS` declarations are behind the item."""


class CheckResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check`` answer: items in request order, hashes first then URLs."""

    sha256s: list[CheckItem]
    urls: list[CheckItem]


class SpawningItem(msgspec.Struct, frozen=True, kw_only=True):
    """One URL of Spawning's ``/api/v2/query/urls/`` answer."""

    url: str
    opt_out: bool = msgspec.field(name="optOut")
    opt_in: bool = msgspec.field(name="optIn")


class SpawningResponse(msgspec.Struct, frozen=True, kw_only=True):
    """Spawning's answer shape: ``{"urls": [...]}`` in request order."""

    urls: list[SpawningItem]


class Health(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``/healthz`` and ``/readyz``."""

    status: str
    log_size: int | None = None
    indexed: int | None = None


class ProblemTypeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /problems/{slug}``: what a problem type means."""

    type: str
    title: str
    status: int


class PeerView(msgspec.Struct, frozen=True, kw_only=True):
    """One peer in ``GET /v1/peers`` (spec §7.2.3): who it is and how its mirror is doing."""

    origin: str
    url: str
    verifier_key: str
    witness_key: str | None
    source: str
    verified_size: int
    seen_size: int
    lag: int
    cosigned_size: int
    last_error: str | None
    last_attempt: int | None
    last_success: int | None
    flagged: bool
    evidence: int


class PeerRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/admin/peers``: a peer to add (spec §7.2.2)."""

    url: Annotated[str, Meta(min_length=1, max_length=2048)]
    verifier_key: Annotated[str, Meta(min_length=1, max_length=1024)]
    witness_key: Annotated[str, Meta(min_length=1, max_length=1024)] | None = None


class EvidenceView(msgspec.Struct, frozen=True, kw_only=True):
    """Two signed checkpoints of one origin that cannot both be true (spec §7.6.3).

    ``proof`` (base64 hashes) is the consistency proof from ``(size_a, root_in_b)`` to
    ``checkpoint_b``; the evidence holds when it verifies and ``root_in_b`` differs from
    ``checkpoint_a``'s root hash.
    """

    origin: str
    kind: str
    checkpoint_a: str
    checkpoint_b: str
    proof: list[str]
    root_in_b: str
    detected_at: int


class PdqCheckRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/check/pdq``: PDQ hashes to look up by Hamming distance (spec §6.8.3)."""

    hashes: list[PdqHex]
    max_distance: Annotated[int, Meta(ge=0, le=64)] = 31


class IsccCheckRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/check/iscc``: ISCC codes to look up by Content-Code distance (§6.8.3)."""

    codes: list[IsccCode]
    max_distance: Annotated[int, Meta(ge=0, le=32)] = 12


class NearMatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A declared work near the query: its hash or code, the distance and its resolution."""

    sha256: str
    pdq: str | None = None
    iscc: str | None = None
    distance: int
    prefs: dict[str, str]
    declarations: list[str]
    claims: list[ClaimView]
    claims_total: int | None = None
    """Present when more than :data:`MAX_MATCH_CLAIMS` claims are behind the match: the rest
    are listed by ``GET /v1/works/sha256/{sha256}``."""


class NearResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The near-duplicates of one query, nearest first, and their combined preferences."""

    pdq: str | None = None
    iscc: str | None = None
    prefs: dict[str, str]
    matches: list[NearMatch]
    more_matches: int | None = None
    """Present when more than :data:`MAX_NEAR_MATCHES` works match: how many more (farther)
    works were not listed; ``prefs`` combines them all."""


class NearResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check/pdq`` and ``/v1/check/iscc`` answer: results in request order."""

    results: list[NearResult]
