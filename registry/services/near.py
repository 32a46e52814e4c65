"""Near-duplicate answers (spec §6.8.3): index hits resolved through the consent state.

The near index (:class:`registry.indexes.near.NearIndex`) never deletes; each hit is resolved
through the persistent consent index when answering (the hits' works in one batch), so a match
reports the work's current resolution and claims, exactly like ``/v1/works/sha256/{sha256}``,
and hits whose work has no current claim (withdrawn everywhere) are dropped. A work indexed
several times (declared by several creators, or twice by one) answers once, at its smallest
distance.
"""

from __future__ import annotations

from collections.abc import Sequence

from registry.core.prefs import combine
from registry.core.state import Resolution
from registry.indexes.near import NearHit
from registry.indexes.persistent import NodeIndex
from registry.services.queries import claim_views, declaration_ids
from registry.wire import (
    ClaimView,
    IsccMatch,
    IsccResponse,
    IsccResult,
    PdqMatch,
    PdqResponse,
    PdqResult,
)

__all__ = ["iscc_response", "pdq_response"]


async def _resolved(index: NodeIndex, hits: Sequence[Sequence[NearHit]]) -> dict[str, Resolution]:
    """The current resolution of every hit's work, in one batch."""
    works = sorted({hit.sha256 for found in hits for hit in found})
    return dict(zip(works, await index.consent.resolve_many_sha256(works), strict=True))


def _matches(
    index: NodeIndex, hits: Sequence[NearHit], resolved: dict[str, Resolution]
) -> list[tuple[NearHit, Resolution, list[str], list[ClaimView]]]:
    """The hits whose work has a current claim, one per work at its smallest distance."""
    seen: set[str] = set()
    found: list[tuple[NearHit, Resolution, list[str], list[ClaimView]]] = []
    for hit in hits:  # sorted by distance: the first hit of a work is its nearest
        if hit.sha256 in seen:
            continue
        seen.add(hit.sha256)
        resolution = resolved[hit.sha256]
        if not resolution.claims:
            continue
        claims = claim_views(resolution.claims, index.flagged)
        found.append((hit, resolution, declaration_ids(resolution.claims), claims))
    return found


async def pdq_response(
    index: NodeIndex, queries: Sequence[str], hits: Sequence[Sequence[NearHit]]
) -> PdqResponse:
    """One :class:`PdqResult` per queried PDQ hash, in request order."""
    resolved = await _resolved(index, hits)
    results: list[PdqResult] = []
    for query, query_hits in zip(queries, hits, strict=True):
        matches = [
            PdqMatch(
                sha256=hit.sha256,
                pdq=hit.key,
                distance=hit.distance,
                prefs=dict(resolution.prefs),
                declarations=declarations,
                claims=claims,
            )
            for hit, resolution, declarations, claims in _matches(index, query_hits, resolved)
        ]
        prefs = combine(m.prefs for m in matches)  # spec §3.2: any disallow wins
        results.append(PdqResult(pdq=query, prefs=prefs, matches=matches))
    return PdqResponse(results=results)


async def iscc_response(
    index: NodeIndex, queries: Sequence[str], hits: Sequence[Sequence[NearHit]]
) -> IsccResponse:
    """One :class:`IsccResult` per queried ISCC code, in request order."""
    resolved = await _resolved(index, hits)
    results: list[IsccResult] = []
    for query, query_hits in zip(queries, hits, strict=True):
        matches = [
            IsccMatch(
                sha256=hit.sha256,
                iscc=hit.key,
                distance=hit.distance,
                prefs=dict(resolution.prefs),
                declarations=declarations,
                claims=claims,
            )
            for hit, resolution, declarations, claims in _matches(index, query_hits, resolved)
        ]
        prefs = combine(m.prefs for m in matches)  # spec §3.2: any disallow wins
        results.append(IsccResult(iscc=query, prefs=prefs, matches=matches))
    return IsccResponse(results=results)
