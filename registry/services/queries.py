"""Answering questions from the persistent index (spec §6.6-§6.8): works, creators, checks.

Answers come from the index tables every worker shares (:class:`registry.indexes.persistent.
NodeIndex`, ADR 0010), one query per batch and chunk, never one per item (spec §6.8).
Preferences are resolved by :mod:`registry.core.state` (spec §3.2: per creator and work the
latest declaration wins; across creators any disallow wins) and, for works trust records
concern, by :mod:`registry.core.trust` under the crawler's policy (spec §9.4.7; default
``verified``): every answer gives each claim's identity level and evidence (spec §9.4.5).
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Final

from registry.core.batchcheck import CheckAnswer, CheckClaim, encode_hits
from registry.core.errors import ProtocolError
from registry.core.keys import PublicKey
from registry.core.prefs import format_content_usage
from registry.core.state import Claim, Resolution
from registry.core.trust import DEFAULT_POLICY, Policy
from registry.core.urls import normalize_url
from registry.indexes.persistent import NodeIndex
from registry.wire import (
    DEFAULT_CLAIMS_PAGE,
    MAX_CHECK_DECLARATIONS,
    CheckItem,
    CheckRequest,
    CheckResponse,
    ClaimIdentity,
    ClaimView,
    CreatorAnswer,
    CreatorDeclarationView,
    SpawningItem,
    SpawningResponse,
    WorkAnswer,
)

__all__ = [
    "Page",
    "check",
    "check_binary",
    "claim_views",
    "creator_answer",
    "declaration_ids",
    "spawning_items",
    "spawning_query",
    "work_by_sha256",
    "work_by_url",
]

TRAIN_AI: Final = "train-ai"


@dataclass(frozen=True, slots=True)
class Page:
    """Which part of a long list an answer shows (spec §6.1.4): ``limit`` items from ``offset``."""

    offset: int = 0
    limit: int = DEFAULT_CLAIMS_PAGE

    def cut(self, total: int) -> tuple[slice, int | None]:
        """The slice of a list of ``total`` items to show, and where the next page starts."""
        stop = min(total, self.offset + self.limit)
        return slice(self.offset, stop), (stop if stop < total else None)


def _claim_view(claim: Claim, flagged: frozenset[str]) -> ClaimView:
    # spec §7.6.4: a claim is marked when logs flagged for equivocation attest it;
    # ``flagged`` when no other log does.
    marked = [origin for origin in claim.origins if origin in flagged]
    return ClaimView(
        creator=claim.creator,
        declaration=claim.declaration_id,
        issued_at=claim.issued_at,
        prefs=dict(claim.prefs),
        origin=claim.origin,
        origins=list(claim.origins),
        verified=claim.verified,
        flagged_origins=marked,
        flagged=len(marked) == len(claim.origins),
        principal=claim.principal or claim.creator,
        level=claim.level,
        levels=list(claim.levels),
        evidence=list(claim.evidence),
        counted=claim.counted,
        disputed_by=list(claim.disputed_by),
    )


def _identity(claim: Claim) -> ClaimIdentity:
    return ClaimIdentity(
        declaration=claim.declaration_id,
        level=claim.level,
        evidence=list(claim.evidence),
        counted=claim.counted,
        disputed_by=list(claim.disputed_by),
    )


def _declarations(claims: Iterable[Claim]) -> list[str]:
    return sorted({claim.declaration_id for claim in claims})


def claim_views(claims: Iterable[Claim], flagged: frozenset[str]) -> list[ClaimView]:
    """The wire form of claims, each marked if only flagged logs attest it (spec §7.6.4)."""
    return [_claim_view(c, flagged) for c in claims]


def declaration_ids(claims: Iterable[Claim]) -> list[str]:
    """The sorted, distinct declaration ids behind claims."""
    return _declarations(claims)


def _answer(
    resolution: Resolution,
    flagged: frozenset[str],
    page: Page,
    *,
    sha256: str | None = None,
    url: str | None = None,
    policy: Policy = DEFAULT_POLICY,
) -> WorkAnswer:
    total = len(resolution.claims)
    shown, next_offset = page.cut(total)
    claims = resolution.claims[shown]
    return WorkAnswer(
        sha256=sha256,
        url=url,
        prefs=dict(resolution.prefs),  # spec §3.5.4: over every claim, not only the page
        content_usage=format_content_usage(resolution.prefs),
        claims=[_claim_view(c, flagged) for c in claims],
        declarations=_declarations(claims),
        claims_total=total,
        next_offset=next_offset,
        policy=policy,
    )


async def work_by_sha256(
    index: NodeIndex, sha256: str, page: Page = Page(), policy: Policy = DEFAULT_POLICY
) -> WorkAnswer:
    """A page of the claims about the work with this SHA-256 (lowercase hex; others match
    nothing), combined under ``policy``."""
    (resolution,) = await index.consent.resolve_many_sha256([sha256], policy)
    return _answer(resolution, index.flagged, page, sha256=sha256, policy=policy)


async def work_by_url(
    index: NodeIndex, url: str, page: Page = Page(), policy: Policy = DEFAULT_POLICY
) -> WorkAnswer:
    """A page of the claims about works published at ``url``, after normalisation (§2.5).

    Raises:
        RecordError: the URL is not an http(s) URL that normalises.
    """
    normalized = normalize_url(url)
    (resolution,) = await index.consent.resolve_many_urls([normalized], policy)
    return _answer(resolution, index.flagged, page, url=normalized, policy=policy)


async def creator_answer(index: NodeIndex, did: str, page: Page = Page()) -> CreatorAnswer:
    """A page of the creator's declarations, oldest first, each current, overridden or
    superseded.

    Raises:
        KeyFormatError: ``did`` is not an Ed25519 did:key.
    """
    PublicKey.from_did(did)
    declarations = await index.consent.by_creator(did)
    shown, next_offset = page.cut(len(declarations))
    views = [
        CreatorDeclarationView(
            id=d.declaration_id,
            status=d.status,
            issued_at=d.record.issued_at,
            prefs=dict(d.record.prefs),
            withdraw=d.record.withdraw,
            works=[work.sha256 for work in d.record.works],
            supersedes=list(d.record.supersedes),
            superseded_by=list(d.superseded_by),
            origins=list(d.origins),
        )
        for d in declarations[shown]
    ]
    # spec §3.5.7, §9.1: the key has identity evidence this node trusts (for some work)
    verified = did in await index.consent.verified_keys([did])
    return CreatorAnswer(
        creator=did,
        verified=verified,
        declarations=views,
        declarations_total=len(declarations),
        next_offset=next_offset,
    )


async def check(
    index: NodeIndex, request: CheckRequest, policy: Policy = DEFAULT_POLICY
) -> CheckResponse:
    """Answer a batch check in request order, hashes then URLs; URLs that do not normalise are
    answered with an ``error`` and no preferences.

    Resolutions are shared objects (every unknown hash gets the same empty one), so each
    distinct resolution is turned into wire form once per request.
    """
    seen: dict[int, _Parts | None] = {}

    def parts(resolution: Resolution) -> _Parts | None:
        key = id(resolution)
        if key not in seen:
            seen[key] = _check_parts(resolution) if resolution.claims else None
        return seen[key]

    normalized: list[str | ProtocolError] = []
    for url in request.urls:
        try:
            normalized.append(normalize_url(url))
        except ProtocolError as exc:
            normalized.append(exc)
    resolutions = await index.consent.resolve_many(
        [("sha256", h) for h in request.sha256s]
        + [("url", u) for u in normalized if isinstance(u, str)],
        policy,
    )
    by_hash = resolutions[: len(request.sha256s)]
    by_url = iter(resolutions[len(request.sha256s) :])
    hashes = []
    for sha256, resolution in zip(request.sha256s, by_hash, strict=True):
        found = parts(resolution)
        if found is None:
            hashes.append(CheckItem(sha256=sha256))
        else:
            hashes.append(
                CheckItem(
                    sha256=sha256,
                    prefs=found[0],
                    declarations=found[1],
                    declarations_total=found[2],
                    claims=found[3],
                )
            )
    urls = []
    for url, value in zip(request.urls, normalized, strict=True):
        if isinstance(value, ProtocolError):
            urls.append(CheckItem(url=url, error=str(value)))
            continue
        found = parts(next(by_url))
        if found is None:
            urls.append(CheckItem(url=url))
        else:
            urls.append(
                CheckItem(
                    url=url,
                    prefs=found[0],
                    declarations=found[1],
                    declarations_total=found[2],
                    claims=found[3],
                )
            )
    return CheckResponse(sha256s=hashes, urls=urls)


_Parts = tuple[dict[str, str], list[str], int | None, list[ClaimIdentity]]


def _check_parts(resolution: Resolution) -> _Parts:
    """An item's preferences, at most :data:`MAX_CHECK_DECLARATIONS` declaration ids and, when
    there are more, their number (spec §6.8.1: bounded answers), and the identity of the
    listed declarations' claims (spec §9.4.5)."""
    ids = _declarations(resolution.claims)
    shown = ids[:MAX_CHECK_DECLARATIONS]
    wanted = set(shown)
    identities = sorted(
        (_identity(c) for c in resolution.claims if c.declaration_id in wanted),
        key=lambda i: i.declaration,
    )
    total = None if len(ids) <= MAX_CHECK_DECLARATIONS else len(ids)
    return dict(resolution.prefs), shown, total, identities


async def check_binary(
    index: NodeIndex, digests: bytes, policy: Policy = DEFAULT_POLICY, *, identity: bool = False
) -> bytes:
    """The binary batch check (spec §6.8.4) of concatenated 32-byte digests: status bytes,
    then details of the known items; the work beyond one statement is proportional to hits.

    ``identity`` (``?identity=1``, ADR 0023): each known item's declarations are followed by
    their claims' identity, the members the JSON form gives (spec §6.8.1), taken from the same
    resolutions: nothing more is looked up."""
    hits = await index.lookup_digests(digests, policy)  # a "certainly absent" bitmap first
    answers: dict[int, CheckAnswer] = {}
    for position, resolution in hits.items():
        claims = [_binary_claim(c) for c in resolution.claims] if identity else None
        answers[position] = CheckAnswer(
            dict(resolution.prefs), _declarations(resolution.claims), claims
        )
    return encode_hits(len(digests) // 32, answers, identity=identity)


def _binary_claim(claim: Claim) -> CheckClaim:
    return CheckClaim(
        claim.declaration_id,
        claim.level,
        list(claim.evidence),
        claim.counted,
        list(claim.disputed_by),
    )


async def spawning_query(
    index: NodeIndex, body: str, policy: Policy = DEFAULT_POLICY
) -> SpawningResponse:
    """Spawning's ``/api/v2/query/urls/``: one URL per line, answered in order.

    ``optOut`` is true when ``train-ai`` resolves to ``n``, ``optIn`` when it resolves to ``y``.
    Every line is answered, blank ones included, so that clients matching answers to their
    URLs by position stay aligned; a final newline does not start a line. URLs that do not
    normalise are neither opted out nor in.
    """
    return SpawningResponse(urls=await spawning_items(index, body.splitlines(), policy))


async def spawning_items(
    index: NodeIndex, raw_lines: Sequence[str], policy: Policy = DEFAULT_POLICY
) -> list[SpawningItem]:
    """The answers to lines of a Spawning query, in order (see :func:`spawning_query`)."""
    lines = [line.strip() for line in raw_lines]
    normalized: list[str | None] = []
    for url in lines:
        try:
            normalized.append(normalize_url(url))
        except ProtocolError:
            normalized.append(None)
    resolutions = iter(
        await index.consent.resolve_many_urls([u for u in normalized if u is not None], policy)
    )
    items = []
    for url, value_url in zip(lines, normalized, strict=True):
        if value_url is None:
            items.append(SpawningItem(url=url, opt_out=False, opt_in=False))
            continue
        resolution = next(resolutions)
        value = resolution.prefs.get(TRAIN_AI)
        claims = [_identity(c) for c in resolution.claims[:MAX_CHECK_DECLARATIONS]]
        items.append(
            SpawningItem(url=url, opt_out=value == "n", opt_in=value == "y", claims=claims)
        )
    return items
