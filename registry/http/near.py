"""Near-duplicate answers (spec §6.8.3): index hits resolved through the consent state.

The near index (:class:`registry.nearindex.NearIndex`) never deletes; each hit is resolved
through the worker's :class:`registry.core.state.ConsentState` when answering, so a match
reports the work's current resolution and claims, exactly like ``/v1/works/sha256/{sha256}``,
and hits whose work has no current claim (withdrawn everywhere) are dropped. A work indexed
several times (declared by several creators, or twice by one) answers once, at its smallest
distance.

Answers are bounded (spec §6.8.3): each query lists its :data:`MAX_NEAR_MATCHES` nearest works
(``more_matches`` counts the others, whose preferences still count in the query's combined
``prefs``), and each match at most :data:`MAX_MATCH_CLAIMS` claims (``claims_total`` counts
them all; ``GET /v1/works/sha256/{sha256}`` pages through them).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Literal

from registry.core.prefs import combine
from registry.http.queries import claim_views, declaration_ids
from registry.http.wire import (
    MAX_MATCH_CLAIMS,
    MAX_NEAR_MATCHES,
    NearMatch,
    NearResponse,
    NearResult,
)
from registry.index import LogIndex
from registry.nearindex import NearHit

__all__ = ["near_response"]


def _result(
    index: LogIndex, kind: Literal["pdq", "iscc"], query: str, hits: Sequence[NearHit]
) -> NearResult:
    state = index.state
    seen: set[str] = set()
    matches: list[NearMatch] = []
    all_prefs: list[Mapping[str, str]] = []
    for hit in hits:  # sorted by distance: the first hit of a work is its nearest
        if hit.sha256 in seen:
            continue
        seen.add(hit.sha256)
        resolution = state.resolve_sha256(hit.sha256)
        if not resolution.claims:
            continue
        all_prefs.append(resolution.prefs)
        if len(matches) == MAX_NEAR_MATCHES:
            continue  # counted in more_matches; its preferences still count
        listed = resolution.claims[:MAX_MATCH_CLAIMS]
        total = len(resolution.claims)
        matches.append(
            NearMatch(
                sha256=hit.sha256,
                pdq=hit.key if kind == "pdq" else None,
                iscc=hit.key if kind == "iscc" else None,
                distance=hit.distance,
                prefs=dict(resolution.prefs),
                declarations=declaration_ids(listed),
                claims=claim_views(listed, index.flagged),
                claims_total=total if total > len(listed) else None,
            )
        )
    prefs = combine(all_prefs)  # spec §3.2: any disallow wins, listed or not
    more = len(all_prefs) - len(matches) or None
    if kind == "pdq":
        return NearResult(pdq=query, prefs=prefs, matches=matches, more_matches=more)
    return NearResult(iscc=query, prefs=prefs, matches=matches, more_matches=more)


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
