"""Near-duplicate answers (spec §6.8.3): index hits resolved through the consent state.

The near index (:class:`registry.nearindex.NearIndex`) never deletes; each hit is resolved
through the worker's :class:`registry.core.state.ConsentState` when answering, so a match
reports the work's current resolution and claims, exactly like ``/v1/works/sha256/{sha256}``,
and hits whose work has no current claim (withdrawn everywhere) are dropped. A work indexed
several times (declared by several creators, or twice by one) answers once, at its smallest
distance.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Literal

from registry.core.prefs import combine
from registry.http.wire import NearMatch, NearResponse, NearResult
from registry.index import LogIndex
from registry.nearindex import NearHit
from registry.services.queries import claim_views, declaration_ids

__all__ = ["near_response"]


def _result(
    index: LogIndex, kind: Literal["pdq", "iscc"], query: str, hits: Sequence[NearHit]
) -> NearResult:
    state = index.state
    seen: set[str] = set()
    matches: list[NearMatch] = []
    for hit in hits:  # sorted by distance: the first hit of a work is its nearest
        if hit.sha256 in seen:
            continue
        seen.add(hit.sha256)
        resolution = state.resolve_sha256(hit.sha256)
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


def near_response(
    index: LogIndex,
    kind: Literal["pdq", "iscc"],
    queries: Sequence[str],
    hits: Sequence[Sequence[NearHit]],
) -> NearResponse:
    """One :class:`NearResult` per query, in request order."""
    return NearResponse(
        results=[_result(index, kind, q, h) for q, h in zip(queries, hits, strict=True)]
    )
