"""The HTTP API's messages (spec §6, §7.2.3, §8.8): what the node answers and what it accepts.

One definition serves both sides: the node builds these Structs and encodes them, the SDK
decodes the node's answers into them. Fields the node always sends are required; fields a
client must tolerate missing have defaults. Unknown fields are ignored when decoding answers,
so a newer node with more fields still works with an older client; request Structs forbid
unknown fields.

Validation of hashes in the batch check is by length only (a regex on 10,000 hex strings costs
20x the decode, DESIGN "Measured"): a malformed hash simply matches nothing.
"""

from __future__ import annotations

from typing import Annotated, Final

import msgspec
from msgspec import Meta

from registry.wire.problems import Problem

__all__ = [
    "DEFAULT_CLAIMS_PAGE",
    "ISCC_MATCH_DISTANCE",
    "MAX_CHECK_DECLARATIONS",
    "MAX_CHECK_URL_LENGTH",
    "MAX_CLAIMS_PAGE",
    "MAX_MATCH_CLAIMS",
    "MAX_NEAR_BATCH",
    "MAX_NEAR_MATCHES",
    "PDQ_MATCH_DISTANCE",
    "PROTOCOL_VERSION",
    "TRAIN_AI",
    "BatchItem",
    "BatchResult",
    "BindingRequest",
    "BindingResult",
    "CheckItem",
    "CheckRequest",
    "CheckResponse",
    "ClaimIdentity",
    "ClaimView",
    "CreatorAnswer",
    "CreatorDeclarationView",
    "DeclarationView",
    "EvidenceView",
    "Health",
    "IsccCheckRequest",
    "IsccMatch",
    "IsccResponse",
    "IsccResult",
    "LevelsInfo",
    "NearMatch",
    "NearResult",
    "NodeInfo",
    "PdqCheckRequest",
    "PdqMatch",
    "PdqResponse",
    "PdqResult",
    "PeerRequest",
    "PeerView",
    "ProblemTypeInfo",
    "SnapshotInfo",
    "SnapshotListing",
    "SpawningItem",
    "SpawningResponse",
    "SubmitResult",
    "TrustInfo",
    "TrustedPlatformInfo",
    "WorkAnswer",
]

PROTOCOL_VERSION: Final = 1
MAX_CHECK_URL_LENGTH: Final = 8192
MAX_NEAR_BATCH: Final = 1000
"""Query hashes (or codes) per near-duplicate batch (spec §6.8.3)."""

# Bounded answers (spec §6.1.4): however many creators claim a work, an answer lists at most
# these many items; counts say how many there are, and per-work answers page through them.
DEFAULT_CLAIMS_PAGE: Final = 100
"""Claims listed by a per-work answer unless ``limit`` asks otherwise (spec §6.6)."""
MAX_CLAIMS_PAGE: Final = 1000
"""Largest ``limit`` of a per-work or per-creator answer (spec §6.6, §6.7)."""
MAX_CHECK_DECLARATIONS: Final = 16
"""Declaration ids listed per item of a batch check (spec §6.8.1)."""
MAX_NEAR_MATCHES: Final = 10
"""Matches listed per near-duplicate query, nearest first (spec §6.8.3)."""
MAX_MATCH_CLAIMS: Final = 4
"""Claims listed per near-duplicate match (spec §6.8.3)."""
PDQ_MATCH_DISTANCE: Final = 31
"""Default Hamming distance up to which two PDQ hashes are the same image (spec §6.8.3)."""
ISCC_MATCH_DISTANCE: Final = 12
"""Default Hamming distance between ISCC Content-Codes' first 64 bits (spec §6.8.3)."""
TRAIN_AI: Final = "train-ai"
"""The AI-training category (spec §3.1), the one :meth:`WorkAnswer.reserved` asks by default."""

Sha256Hex = Annotated[str, Meta(min_length=64, max_length=64, description="lowercase hex")]
CheckUrl = Annotated[str, Meta(min_length=1, max_length=MAX_CHECK_URL_LENGTH)]
PdqHex = Annotated[str, Meta(min_length=64, max_length=64, description="lowercase hex")]
IsccCode = Annotated[str, Meta(min_length=1, max_length=256, description="ISCC:...")]


class TrustedPlatformInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One platform a node trusts (spec §9.6): ``scope`` is ``["*"]`` for any host."""

    name: str
    key: str
    scope: list[str]
    quota: int


class TrustInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A node's trust configuration (spec §9.6 item 3): the platforms whose attestations and
    the node keys whose bindings its answers count, so crawlers can adopt or audit them."""

    platforms: list[TrustedPlatformInfo] = msgspec.field(default_factory=list)
    nodes: list[str] = msgspec.field(default_factory=list)


class NodeInfo(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /.well-known/consent-registry``: how to talk to and verify this node."""

    origin: str
    verifier_key: str
    protocol_version: int
    software: str = ""
    version: str = ""
    endpoints: dict[str, str] = msgspec.field(default_factory=dict)
    limits: dict[str, int] = msgspec.field(default_factory=dict)
    witness_key: str | None = None
    node_key: str | None = None
    """The node's ``did:key`` (its log key): the ``node`` of the bindings it signs (§9.3.1)."""
    trust: TrustInfo | None = None


class SubmitResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to one accepted declaration: its id, log index and receipt (C2SP tlog-proof)."""

    id: str
    index: int
    receipt: str
    duplicate: bool


class BindingRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/bindings``: the domain to check and the key it should name (spec §6.4.4)."""

    domain: Annotated[str, Meta(min_length=1, max_length=253)]
    did: Annotated[str, Meta(min_length=1, max_length=128)]


class BindingResult(msgspec.Struct, frozen=True, kw_only=True):
    """The answer to a domain check that named the key: the logged binding (spec §9.3.1)."""

    id: str
    index: int
    receipt: str
    duplicate: bool
    record: msgspec.Raw


class BatchItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One item of a batch submission's answer: a result (status 200/201) or a problem."""

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


class BatchResult(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/declarations:batch``: counts and per-item results in request order."""

    accepted: int
    duplicates: int
    rejected: int
    results: list[BatchItem]


class DeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/declarations/{id}``: the record, where it is, and proof that it is there."""

    id: str
    index: int
    origin: str
    record: msgspec.Raw
    receipt: str
    checkpoint: str = ""
    origins: list[str] = msgspec.field(default_factory=list)
    flagged: bool = False


class ClaimView(msgspec.Struct, frozen=True, kw_only=True):
    """One creator's statement about a work, as it stands after supersession (spec §3.5.4)."""

    creator: str
    declaration: str
    issued_at: int
    prefs: dict[str, str]
    origin: str = ""
    origins: list[str] = msgspec.field(default_factory=list)
    verified: bool = False
    flagged_origins: list[str] = msgspec.field(default_factory=list)
    flagged: bool = False
    principal: str = ""
    """The first key of the creator's rotation chain (spec §9.4.2)."""
    level: str = "none"
    """The claim's identity level for this work (spec §9.1): ``none``, ``domain:HOST``,
    ``platform:NAME``; ``levels`` every level found, strongest first."""
    levels: list[str] = msgspec.field(default_factory=list)
    evidence: list[str] = msgspec.field(default_factory=list)
    """Record ids of the bindings and attestations behind the levels (spec §9.5)."""
    counted: bool = True
    """Whether the claim counts in ``prefs`` under the request's policy (spec §9.4.7)."""
    disputed_by: list[str] = msgspec.field(default_factory=list)
    """Counter-statements by owners verified for this work (spec §9.4.6)."""


class WorkAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A work's resolved preferences, a page of the claims behind them and their declarations.

    ``prefs`` are resolved over every claim; ``claims`` lists at most ``limit`` of the
    ``claims_total`` claims from ``offset`` on (sorted by creator DID), ``declarations`` the
    declarations of the listed claims; ``next_offset`` is where the next page starts, absent
    on the last one (spec §6.6).
    """

    sha256: str | None = None
    url: str | None = None
    prefs: dict[str, str]
    content_usage: str
    claims: list[ClaimView]
    declarations: list[str]
    claims_total: int | None = None
    next_offset: int | None = None
    policy: str | None = None
    """The policy ``prefs`` were combined under (spec §9.4.7); nodes before spec §9 omit it."""

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if some current claim disallows ``category`` (spec §3.5.4)."""
        return self.prefs.get(category) == "n"


class CreatorDeclarationView(msgspec.Struct, frozen=True, kw_only=True):
    """One of a creator's declarations and where it stands (spec §3.5.3)."""

    id: str
    status: str
    issued_at: int
    prefs: dict[str, str]
    withdraw: bool
    works: list[str]
    supersedes: list[str] = msgspec.field(default_factory=list)
    superseded_by: list[str] = msgspec.field(default_factory=list)
    origins: list[str] = msgspec.field(default_factory=list)


class CreatorAnswer(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """``GET /v1/creators/{did}``: a page of a creator's declarations, oldest first, each with
    its status; of ``declarations_total``, and ``next_offset`` where the next page starts
    (spec §6.7)."""

    creator: str
    verified: bool
    declarations: list[CreatorDeclarationView]
    declarations_total: int | None = None
    next_offset: int | None = None


class CheckRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/check``: works to look up by SHA-256 and by URL."""

    sha256s: list[Sha256Hex] = msgspec.field(default_factory=list)
    urls: list[CheckUrl] = msgspec.field(default_factory=list)


class ClaimIdentity(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A claim's identity in a batch answer (spec §9.4.5): its declaration, level, evidence,
    whether it counts under the policy, and the counter-statements shown on it."""

    declaration: str
    level: str
    evidence: list[str] = msgspec.field(default_factory=list)
    counted: bool = True
    disputed_by: list[str] = msgspec.field(default_factory=list)


class CheckItem(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """One answer of a batch check: the resolved preferences and declarations of one key, and
    each claim's identity (``claims``, at most :data:`MAX_CHECK_DECLARATIONS`)."""

    sha256: str | None = None
    url: str | None = None
    prefs: dict[str, str] = msgspec.field(default_factory=dict)
    declarations: list[str] = msgspec.field(default_factory=list)
    error: str | None = None
    declarations_total: int | None = None
    """Present when more than :data:`MAX_CHECK_DECLARATIONS` declarations are behind the item."""
    claims: list[ClaimIdentity] = msgspec.field(default_factory=list)


class CheckResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check`` answer: items in request order, hashes first then URLs."""

    sha256s: list[CheckItem]
    urls: list[CheckItem]


class SpawningItem(msgspec.Struct, frozen=True, kw_only=True):
    """One URL of Spawning's ``/api/v2/query/urls/`` answer."""

    url: str
    opt_out: bool = msgspec.field(name="optOut")
    opt_in: bool = msgspec.field(name="optIn")
    claims: list[ClaimIdentity] = msgspec.field(default_factory=list)
    """Each claim's identity level and evidence (spec §9.4.5); an extension of Spawning's
    shape that its clients ignore."""


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
    witness_key: str | None = None
    source: str = ""
    verified_size: int
    """Size of the peer's log the node verified and serves (spec §7.2.3)."""
    seen_size: int = 0
    lag: int = 0
    cosigned_size: int = 0
    last_error: str | None = None
    last_attempt: int | None = None
    last_success: int | None = None
    flagged: bool = False
    evidence: int = 0


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
    max_distance: Annotated[int, Meta(ge=0, le=64)] = PDQ_MATCH_DISTANCE


class IsccCheckRequest(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/check/iscc``: ISCC codes to look up by Content-Code distance (§6.8.3)."""

    codes: list[IsccCode]
    max_distance: Annotated[int, Meta(ge=0, le=32)] = ISCC_MATCH_DISTANCE


class NearMatch(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """A declared work within the asked distance of a near-duplicate query (spec §6.8.3 item
    4): its SHA-256, the distance, and its resolution as ``/v1/works/sha256`` answers it, with
    at most :data:`MAX_MATCH_CLAIMS` claims (and ``claims_total`` when there are more)."""

    sha256: str
    distance: int
    prefs: dict[str, str]
    declarations: list[str]
    claims: list[ClaimView]
    claims_total: int | None = None


class PdqMatch(NearMatch, frozen=True, kw_only=True):
    """A declared work whose PDQ hash (``pdq``) is within the asked distance of the query."""

    pdq: str


class IsccMatch(NearMatch, frozen=True, kw_only=True):
    """A declared work whose ISCC Content-Code is within the asked distance of the query;
    ``iscc`` is the code the node indexed for it."""

    iscc: str


class NearResult(msgspec.Struct, frozen=True, kw_only=True, omit_defaults=True):
    """The near-duplicates of one query: their combined preferences (§3.2: any disallow wins),
    over every matching work; ``more_matches`` counts the works not listed beyond the
    :data:`MAX_NEAR_MATCHES` nearest (spec §6.8.3)."""

    prefs: dict[str, str]
    more_matches: int | None = None

    def reserved(self, category: str = TRAIN_AI) -> bool:
        """True if a near-duplicate's claims disallow ``category``."""
        return self.prefs.get(category) == "n"


class PdqResult(NearResult, frozen=True, kw_only=True):
    """The near-duplicates of one queried PDQ hash, nearest first, and their combined prefs."""

    pdq: str
    matches: list[PdqMatch]


class IsccResult(NearResult, frozen=True, kw_only=True):
    """The near-duplicates of one queried ISCC code, nearest first, and their combined prefs."""

    iscc: str
    matches: list[IsccMatch]


class PdqResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check/pdq`` answer (spec §6.8.3): results in request order."""

    results: list[PdqResult]


class IsccResponse(msgspec.Struct, frozen=True, kw_only=True):
    """``POST /v1/check/iscc`` answer (spec §6.8.3): results in request order."""

    results: list[IsccResult]


class LevelsInfo(msgspec.Struct, frozen=True, kw_only=True):
    """A snapshot's levels file, as listed (spec §8.10.6): its size in bytes, the SHA-256 of
    the whole file and where to fetch it."""

    bytes: int
    sha256: str
    url: str


class SnapshotInfo(msgspec.Struct, frozen=True, kw_only=True):
    """One snapshot of the chain, as listed (spec §8.8); ``levels`` its levels file, if the
    node builds them (spec §8.10)."""

    name: str
    kind: str
    size: int
    base: int
    previous: int
    items: int
    bytes: int
    sha256: str
    url: str
    levels: LevelsInfo | None = None


class SnapshotListing(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/snapshots``: the node's current snapshot chain, fetched in order (spec §8.7,
    §8.8); not signed: every file is."""

    origin: str
    size: int
    category: str
    fingerprint_bits: int
    fpr: float
    chain: list[SnapshotInfo]
