"""Near-duplicate answers (spec §6.8.3): index hits resolved through the consent state.

The near index (:class:`registry.indexes.near.NearIndex`) never deletes; each hit is resolved
through the persistent consent index when answering, so a match
reports the work's current resolution and claims, exactly like ``/v1/works/sha256/{sha256}``,
and hits whose work has no current claim (withdrawn everywhere) are dropped. A work indexed
several times (declared by several creators, or twice by one) answers once, at its smallest
distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from registry.core.prefs import combine
from registry.core.state import Resolution
from registry.http.queries import claim_views, declaration_ids
from registry.http.wire import NearMatch, NearResponse, NearResult
from registry.indexes.near import NearHit
from registry.indexes.persistent import NodeIndex

__all__ = ["near_response"]


def _result(
    index: NodeIndex,
    kind: Literal["pdq", "iscc"],
    query: str,
    hits: Sequence[NearHit],
    resolved: dict[str, Resolution],
) -> NearResult:
    seen: set[str] = set()
    matches: list[NearMatch] = []
    for hit in hits:  # sorted by distance: the first hit of a work is its nearest
        if hit.sha256 in seen:
            continue
        seen.add(hit.sha256)
        resolution = resolved[hit.sha256]
        if not resolution.claims:
            continue
        matches.append(
            NearMatch(
                sha256=hit.sha256,
                pdq=hit.key if kind == "pdq" else None,
                iscc=hit.key if kind == "iscc" else None,
                distance=hit.distance,
                prefs=dict(resolution.prefs),
                declarations=declaration_ids(resolution.claims),
                claims=claim_views(resolution.claims, index.flagged),
            )
        )
    prefs = combine(m.prefs for m in matches)  # spec §3.2: any disallow wins
    if kind == "pdq":
        return NearResult(pdq=query, prefs=prefs, matches=matches)
    return NearResult(iscc=query, prefs=prefs, matches=matches)


async def near_response(
    index: NodeIndex,
    kind: Literal["pdq", "iscc"],
    queries: Sequence[str],
    hits: Sequence[Sequence[NearHit]],
) -> NearResponse:
    """One :class:`NearResult` per query, in request order (the hits' works are resolved in
    one batch)."""
    works = sorted({hit.sha256 for found in hits for hit in found})
    resolved = dict(zip(works, await index.consent.resolve_many_sha256(works), strict=True))
    return NearResponse(
        results=[_result(index, kind, q, h, resolved) for q, h in zip(queries, hits, strict=True)]
    )
