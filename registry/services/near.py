"""Near-duplicate answers (spec §6.8.3): index hits resolved through the consent state.

The near index (:class:`registry.indexes.near.NearIndex`) never deletes; each hit is resolved
through the persistent consent index when answering (the hits' works in one batch), so a match
reports the work's current resolution and claims, exactly like ``/v1/works/sha256/{sha256}``,
and hits whose work has no current claim (withdrawn everywhere) are dropped. A work indexed
several times (declared by several creators, or twice by one) answers once, at its smallest
distance.

Answers are bounded (spec §6.8.3, §6.1.4): each query lists its :data:`MAX_NEAR_MATCHES`
nearest works (``more_matches`` counts the others, whose preferences still count in the query's
combined ``prefs``), and each match at most :data:`MAX_MATCH_CLAIMS` claims (``claims_total``
counts them all; ``GET /v1/works/sha256/{sha256}`` pages through them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from registry.core.prefs import combine
from registry.core.state import Resolution
from registry.indexes.near import NearHit
from registry.indexes.persistent import NodeIndex
from registry.services.queries import claim_views, declaration_ids
from registry.wire import (
    MAX_MATCH_CLAIMS,
    MAX_NEAR_MATCHES,
    ClaimView,
    IsccMatch,
    IsccResponse,
    IsccResult,
    PdqMatch,
    PdqResponse,
    PdqResult,
)

__all__ = ["iscc_response", "pdq_response"]


_Match = tuple[NearHit, Resolution, list[str], list[ClaimView], int | None]


async def _resolved(index: NodeIndex, hits: Sequence[Sequence[NearHit]]) -> dict[str, Resolution]:
    """The current resolution of every hit's work, in one batch."""
    works = sorted({hit.sha256 for found in hits for hit in found})
    return dict(zip(works, await index.consent.resolve_many_sha256(works), strict=True))


def _matches(
    index: NodeIndex, hits: Sequence[NearHit], resolved: Mapping[str, Resolution]
) -> tuple[list[_Match], dict[str, str], int | None]:
    """The :data:`MAX_NEAR_MATCHES` nearest hits whose work has a current claim (one per work,
    at its smallest distance, with at most :data:`MAX_MATCH_CLAIMS` claims and their number
    when cut), the preferences combined over every such work, and how many were not listed."""
    seen: set[str] = set()
    found: list[_Match] = []
    every: list[Mapping[str, str]] = []
    for hit in hits:  # sorted by distance: the first hit of a work is its nearest
        if hit.sha256 in seen:
            continue
        seen.add(hit.sha256)
        resolution = resolved[hit.sha256]
        if not resolution.claims:
            continue
        every.append(resolution.prefs)
        if len(found) == MAX_NEAR_MATCHES:
            continue  # counted in more_matches; its preferences still count
        listed = resolution.claims[:MAX_MATCH_CLAIMS]
        total = len(resolution.claims)
        claims = claim_views(listed, index.flagged)
        cut = total if total > len(listed) else None
        found.append((hit, resolution, declaration_ids(listed), claims, cut))
    prefs = combine(every)  # spec §3.2: any disallow wins, listed or not
    return found, prefs, (len(every) - len(found)) or None


async def _per_query(
    index: NodeIndex, queries: Sequence[str], hits: Sequence[Sequence[NearHit]]
) -> list[tuple[str, list[_Match], dict[str, str], int | None]]:
    """For each query in request order: its listed matches, combined preferences and the number
    of matching works not listed; every hit's work resolved in one batch."""
    resolved = await _resolved(index, hits)
    return [
        (query, *_matches(index, query_hits, resolved))
        for query, query_hits in zip(queries, hits, strict=True)
    ]


async def pdq_response(
    index: NodeIndex, queries: Sequence[str], hits: Sequence[Sequence[NearHit]]
) -> PdqResponse:
    """One :class:`PdqResult` per queried PDQ hash, in request order."""
    return PdqResponse(
        results=[
            PdqResult(
                pdq=query,
                prefs=prefs,
                matches=[
                    PdqMatch(
                        sha256=hit.sha256,
                        pdq=hit.key,
                        distance=hit.distance,
                        prefs=dict(resolution.prefs),
                        declarations=declarations,
                        claims=claims,
                        claims_total=total,
                    )
                    for hit, resolution, declarations, claims, total in found
                ],
                more_matches=more,
            )
            for query, found, prefs, more in await _per_query(index, queries, hits)
        ]
    )


async def iscc_response(
    index: NodeIndex, queries: Sequence[str], hits: Sequence[Sequence[NearHit]]
) -> IsccResponse:
    """One :class:`IsccResult` per queried ISCC code, in request order."""
    return IsccResponse(
        results=[
            IsccResult(
                iscc=query,
                prefs=prefs,
                matches=[
                    IsccMatch(
                        sha256=hit.sha256,
                        iscc=hit.key,
                        distance=hit.distance,
                        prefs=dict(resolution.prefs),
                        declarations=declarations,
                        claims=claims,
                        claims_total=total,
                    )
                    for hit, resolution, declarations, claims, total in found
                ],
                more_matches=more,
            )
            for query, found, prefs, more in await _per_query(index, queries, hits)
        ]
    )
