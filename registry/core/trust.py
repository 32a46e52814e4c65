"""Identity levels and owner-outranks-stranger resolution (spec §9.4).

:class:`TrustState` holds verified declarations (spec §2) and trust records (spec §9.3:
bindings, platform attestations, rotations, revocations, counter-statements) and answers, per
subject, each claim's identity level and which claims count under a policy. Everything is a
function of the *set* of records held and of the resolving party's trust configuration (which
platform keys and which node keys it trusts), so every party holding the same records and the
same configuration computes the same answer whatever the arrival order (spec §9.4.8).

With no trust record, :meth:`TrustState.resolve` under any policy gives the claims and combined
preferences of :class:`registry.core.state.ConsentState` (spec §3.5), every claim at level
``none``.

Records are added already verified (``registry.core.records.load_entry``); the state does not
check signatures. Derived key data (revocations, rotations) is recomputed lazily after a trust
record of those kinds arrives; per-subject answers are computed on request.
"""

from __future__ import annotations

import itertools
from collections.abc import Iterable, Mapping
from typing import Final, Literal

import msgspec

from registry.core.errors import RecordError
from registry.core.prefs import DISALLOW, combine
from registry.core.records import (
    AnyRecord,
    Binding,
    CounterStatement,
    Declaration,
    PlatformAttestation,
    Revocation,
    Rotation,
    attested_hashes,
)
from registry.core.state import Claim, Resolution, Subject, subjects_of

__all__ = [
    "DEFAULT_POLICY",
    "LEVEL_NONE",
    "POLICIES",
    "Policy",
    "TrustState",
    "TrustedClaim",
    "TrustedResolution",
    "as_resolution",
    "attested_subjects",
    "parse_policy",
    "under_policy",
    "url_host",
]

Policy = Literal["any", "verified", "verified-only"]
POLICIES: Final[tuple[Policy, ...]] = ("any", "verified", "verified-only")
DEFAULT_POLICY: Final[Policy] = "verified"
"""spec §9.4.7: verified claims outrank unverified ones; with none, every claim counts."""
LEVEL_NONE: Final = "none"
_NEVER: Final = 2**63
_HEX: Final = frozenset("0123456789abcdef")


class TrustedClaim(msgspec.Struct, frozen=True, kw_only=True):
    """One principal's current claim on a subject, with its identity level (spec §9.4.5).

    ``creator`` is the key that signed the winning declaration; ``principal`` the first key of
    its rotation chain (spec §9.4.2). ``level`` is ``none``, ``platform:NAME`` or
    ``domain:HOST``; ``levels`` every level found, strongest first; ``evidence`` the ids of the
    binding and attestation records behind them. ``counted`` says whether the claim counts in
    the combined preferences under the policy; ``disputed_by`` lists the ids of counter-statements
    by owners verified for the subject (spec §9.4.6).
    """

    creator: str
    principal: str
    declaration_id: str
    issued_at: int
    prefs: dict[str, str]
    origins: tuple[str, ...]
    level: str
    levels: tuple[str, ...]
    evidence: tuple[str, ...]
    counted: bool
    disputed_by: tuple[str, ...] = ()


class TrustedResolution(msgspec.Struct, frozen=True, kw_only=True):
    """Every claim on a subject and the preferences combined under ``policy`` (spec §9.4.7)."""

    policy: str
    claims: tuple[TrustedClaim, ...] = ()
    prefs: dict[str, str] = msgspec.field(default_factory=dict)

    def reserved(self, category: str = "train-ai") -> bool:
        """True if the counted claims disallow ``category``."""
        return self.prefs.get(category) == DISALLOW


def parse_policy(text: str | None) -> Policy:
    """A crawler's policy parameter (spec §9.4.7); None or empty means the default.

    Raises:
        RecordError: not one of :data:`POLICIES`.
    """
    if not text:
        return DEFAULT_POLICY
    for policy in POLICIES:
        if text == policy:
            return policy
    raise RecordError(f"unknown policy {text!r}; one of {', '.join(POLICIES)}")


def as_resolution(resolved: TrustedResolution) -> Resolution:
    """A :class:`TrustedResolution` as the :class:`~registry.core.state.Resolution` answers
    carry: claims sorted by creator, each with its level, evidence and whether it counts."""
    claims = tuple(
        Claim(
            creator=c.creator,
            declaration_id=c.declaration_id,
            issued_at=c.issued_at,
            prefs=c.prefs,
            origins=c.origins,
            verified=c.level != LEVEL_NONE,
            principal=c.principal,
            level=c.level,
            levels=c.levels,
            evidence=c.evidence,
            counted=c.counted,
            disputed_by=c.disputed_by,
        )
        for c in sorted(resolved.claims, key=lambda c: (c.creator, c.declaration_id))
    )
    return Resolution(claims=claims, prefs=resolved.prefs)


def under_policy(resolution: Resolution, policy: Policy) -> Resolution:
    """A resolution made without trust records (spec §3.5), as §9.4.7 answers it under
    ``policy``: every claim is at level ``none``, so under ``any`` and ``verified`` every
    claim counts (the same object is returned) and under ``verified-only`` none does."""
    if policy != "verified-only" or not resolution.claims:
        return resolution
    claims = tuple(msgspec.structs.replace(c, counted=False) for c in resolution.claims)
    return Resolution(claims=claims, prefs={})


def url_host(url: str) -> str | None:
    """The DNS host of a normalised URL (spec §2.5), without port or trailing dot; None for
    an IP literal."""
    authority = url.split("://", 1)[1].split("/", 1)[0]
    if authority.startswith("["):
        return None
    host = authority.rsplit(":", 1)[0] if ":" in authority else authority
    host = host.removesuffix(".")
    return None if all(c.isdigit() or c == "." for c in host) else host


def _within(host: str, domain: str) -> bool:
    # spec §9.4.4: a binding for a domain covers the domain and its subdomains.
    return host == domain or host.endswith("." + domain)


class _Keys:
    """Derived key data (spec §9.4.1, §9.4.2): revocation times, accepted rotations."""

    def __init__(
        self,
        revocations: Mapping[str, Revocation],
        rotations: Mapping[str, Rotation],
        attested: Mapping[str, frozenset[str]],
    ) -> None:
        # spec §9.4.1: a revocation counts if signed by the revoked key itself, or by a
        # trusted platform that attested that key; the earliest ``since`` wins.
        self.revoked: dict[str, int] = {}
        for revocation in revocations.values():
            if revocation.creator == revocation.key or revocation.creator in attested.get(
                revocation.key, frozenset()
            ):
                current = self.revoked.get(revocation.key, _NEVER)
                self.revoked[revocation.key] = min(current, revocation.since)
        # spec §9.4.2: rotations in (issued_at, id) order; each key rotates at most once and
        # is rotated to at most once; no cycles; a rotation the old key signed after its
        # revocation time does not count.
        self.successor: dict[str, tuple[str, int]] = {}
        self.predecessor: dict[str, str] = {}
        for _rotation_id, rotation in sorted(
            rotations.items(), key=lambda item: (item[1].issued_at, item[0])
        ):
            old, new = rotation.creator, rotation.new_key
            if (
                rotation.issued_at >= self.revoked.get(old, _NEVER)
                or old in self.successor
                or new in self.predecessor
                or new in self.chain(old)
            ):
                continue
            self.successor[old] = (new, rotation.issued_at)
            self.predecessor[new] = old

    def chain(self, key: str) -> list[str]:
        """``key`` and its predecessors, newest first."""
        out = [key]
        while (key := self.predecessor.get(key, "")) != "":
            out.append(key)
        return out

    def principal(self, key: str) -> str:
        return self.chain(key)[-1]

    def counts(self, key: str, issued_at: int) -> bool:
        """Whether what ``key`` signed at ``issued_at`` counts (spec §9.4.1, §9.4.2)."""
        if issued_at >= self.revoked.get(key, _NEVER):
            return False
        successor = self.successor.get(key)
        return successor is None or issued_at <= successor[1]


class TrustState:
    """Declarations and trust records, resolved with identity levels (spec §9.4).

    ``platforms``: trusted platform keys (``did:key``) -> platform name. ``nodes``: the node
    keys whose bindings the resolving party trusts. Not thread-safe.
    """

    def __init__(
        self, *, platforms: Mapping[str, str] | None = None, nodes: Iterable[str] = ()
    ) -> None:
        self._platforms: dict[str, str] = dict(platforms or {})
        self._nodes: frozenset[str] = frozenset(nodes)
        self._records: dict[str, AnyRecord] = {}
        self._origins: dict[str, tuple[str, ...]] = {}
        self._by_subject: dict[Subject, set[str]] = {}
        self._supersessions: dict[str, set[str]] = {}
        self._revocations: dict[str, Revocation] = {}
        self._rotations: dict[str, Rotation] = {}
        # creator key -> platform keys that attested it (for platform revocations)
        self._attested: dict[str, frozenset[str]] = {}
        # subject -> ids of attestations listing it
        self._attestations: dict[Subject, set[str]] = {}
        # (creator key, domain) -> binding ids
        self._bindings: dict[tuple[str, str], set[str]] = {}
        self._domains: dict[str, set[str]] = {}
        self._counters: dict[str, set[str]] = {}
        self._keys: _Keys | None = None

    def __len__(self) -> int:
        return len(self._records)

    def add(self, record_id: str, record: AnyRecord, *, origin: str) -> bool:
        """Add a verified record seen in the log ``origin``; True if it was not known before.

        Raises:
            RecordError: ``record_id`` is not 64 lowercase hex characters, or is already bound
                to a different record.
        """
        if len(record_id) != 64 or not _HEX.issuperset(record_id):
            raise RecordError("record id must be 64 lowercase hex characters")
        known = self._records.get(record_id)
        if known is not None:
            if known != record:
                raise RecordError(f"record {record_id} is bound to another record")
            self._origins[record_id] = tuple(sorted({*self._origins[record_id], origin}))
            return False
        self._records[record_id] = record
        self._origins[record_id] = (origin,)
        if isinstance(record, Declaration):
            for subject in subjects_of(record):
                self._by_subject.setdefault(subject, set()).add(record_id)
            for target in record.supersedes:
                self._supersessions.setdefault(target, set()).add(record_id)
        elif isinstance(record, PlatformAttestation):
            self._attested[record.creator] = self._attested.get(record.creator, frozenset()) | {
                record.platform
            }
            for subject in attested_subjects(record):
                self._attestations.setdefault(subject, set()).add(record_id)
            self._keys = None
        elif isinstance(record, Binding):
            self._bindings.setdefault((record.creator, record.domain), set()).add(record_id)
            self._domains.setdefault(record.creator, set()).add(record.domain)
        elif isinstance(record, Rotation):
            self._rotations[record_id] = record
            self._keys = None
        elif isinstance(record, Revocation):
            self._revocations[record_id] = record
            self._keys = None
        else:
            self._counters.setdefault(record.target, set()).add(record_id)
        return True

    # -- derived data --------------------------------------------------------------------------

    def _derived(self) -> _Keys:
        if self._keys is None:
            trusted = {
                key: frozenset(p for p in platforms if p in self._platforms)
                for key, platforms in self._attested.items()
            }
            self._keys = _Keys(self._revocations, self._rotations, trusted)
        return self._keys

    def _declaration(self, record_id: str) -> Declaration:
        record = self._records[record_id]
        assert isinstance(record, Declaration)  # indexed as one in add()
        return record

    def _covered(self, key: str, domain: str, issued_at: int) -> str | None:
        """The id of a trusted binding of ``key`` to ``domain`` covering a statement made at
        ``issued_at`` (spec §9.4.3), or None."""
        events = sorted(
            (record.issued_at, record.lapsed, binding_id)
            for binding_id in self._bindings.get((key, domain), ())
            if isinstance(record := self._records[binding_id], Binding)
            and record.node in self._nodes
        )

        def in_force(when: int) -> str | None:
            # the last event at or before ``when`` (a lapse sorts after a bind of the same
            # second, so it wins the tie) is a bind
            last = None
            for at, lapsed, binding_id in events:
                if at > when:
                    break
                last = None if lapsed else binding_id
            return last

        found = in_force(issued_at)
        for at, lapsed, _ in events:
            if found is not None:
                break
            if at > issued_at and not lapsed:
                found = in_force(at)
        return found

    def _levels(
        self, key: str, subject: Subject, issued_at: int, hosts: Iterable[str]
    ) -> tuple[list[str], list[str]]:
        """Levels and evidence of ``key`` (with its predecessors) for ``subject`` (spec §9.4.4)."""
        chain = self._derived().chain(key)
        levels: list[str] = []
        evidence: set[str] = set()
        for host, member in itertools.product(sorted(set(hosts)), chain):
            for domain in self._domains.get(member, ()):
                if not _within(host, domain):
                    continue
                binding_id = self._covered(member, domain, issued_at)
                if binding_id is not None:
                    levels.append(f"domain:{domain}")
                    evidence.add(binding_id)
        for attestation_id in self._attestations.get(subject, ()):
            record = self._records[attestation_id]
            assert isinstance(record, PlatformAttestation)
            name = self._platforms.get(record.platform)
            if name is not None and record.creator in chain:
                levels.append(f"platform:{name}")
                evidence.add(attestation_id)
        ordered = sorted(set(levels), key=lambda level: (not level.startswith("domain:"), level))
        return ordered, sorted(evidence)

    # -- resolution ----------------------------------------------------------------------------

    def resolve(self, subject: Subject, policy: Policy = DEFAULT_POLICY) -> TrustedResolution:
        """Every principal's claim on ``subject`` with its identity level, and the preferences
        combined under ``policy`` (spec §9.4.5 to §9.4.7).

        Raises:
            RecordError: ``policy`` is not one of :data:`POLICIES`.
        """
        if policy not in POLICIES:
            raise RecordError(f"unknown policy {policy!r}; one of {', '.join(POLICIES)}")
        keys = self._derived()
        counting = {
            record_id
            for record_id in self._by_subject.get(subject, ())
            if keys.counts((d := self._declaration(record_id)).creator, d.issued_at)
        }
        # spec §3.5.2 with §9.4.2: supersession between declarations of one principal, by
        # declarations that count.
        winners: dict[str, tuple[int, str]] = {}
        for record_id in counting:
            record = self._declaration(record_id)
            principal = keys.principal(record.creator)
            if any(
                keys.principal((sup := self._declaration(s)).creator) == principal
                and keys.counts(sup.creator, sup.issued_at)
                for s in self._supersessions.get(record_id, ())
            ):
                continue
            candidate = (record.issued_at, record_id)
            if principal not in winners or candidate > winners[principal]:
                winners[principal] = candidate
        draft: list[tuple[str, str, Declaration, list[str], list[str]]] = []
        for principal, (_, record_id) in winners.items():
            record = self._declaration(record_id)
            if record.withdraw:
                continue
            levels, evidence = self._levels(
                record.creator, subject, record.issued_at, _hosts(record, subject)
            )
            draft.append((principal, record_id, record, levels, evidence))
        disputes = {record_id: self._disputes(record_id, subject) for _, record_id, *_ in draft}
        verified = any(levels for *_, levels, _ in draft)
        claims: list[TrustedClaim] = []
        for principal, record_id, record, levels, evidence in sorted(draft):
            # spec §9.4.7: which claims count under the policy.
            if policy == "any" or levels:
                counted = True
            else:
                counted = policy == "verified" and not verified and not disputes[record_id]
            claims.append(
                TrustedClaim(
                    creator=record.creator,
                    principal=principal,
                    declaration_id=record_id,
                    issued_at=record.issued_at,
                    prefs=dict(sorted(record.prefs.items())),
                    origins=self._origins[record_id],
                    level=levels[0] if levels else LEVEL_NONE,
                    levels=tuple(levels),
                    evidence=tuple(evidence),
                    counted=counted,
                    disputed_by=disputes[record_id],
                )
            )
        prefs = combine(claim.prefs for claim in claims if claim.counted)
        return TrustedResolution(policy=policy, claims=tuple(claims), prefs=prefs)

    def _disputes(self, record_id: str, subject: Subject) -> tuple[str, ...]:
        """Counter-statements on a declaration by owners verified for ``subject`` (§9.4.6)."""
        keys = self._derived()
        target = self._declaration(record_id)
        out: list[str] = []
        for counter_id in self._counters.get(record_id, ()):
            counter = self._records[counter_id]
            assert isinstance(counter, CounterStatement)
            if not keys.counts(counter.creator, counter.issued_at):
                continue
            if keys.principal(counter.creator) == keys.principal(target.creator):
                continue
            hosts = [host] if subject[0] == "url" and (host := url_host(subject[1])) else []
            levels, _ = self._levels(counter.creator, subject, counter.issued_at, hosts)
            if levels:
                out.append(counter_id)
        return tuple(sorted(out))


def _hosts(record: Declaration, subject: Subject) -> list[str]:
    """The DNS hosts that can verify ``record``'s claim on ``subject`` (spec §9.4.4)."""
    if subject[0] == "url":
        urls: Iterable[str] = [subject[1]]
    else:
        urls = [url for work in record.works if work.sha256 == subject[1] for url in work.urls]
    return [host for url in urls if (host := url_host(url)) is not None]


def attested_subjects(record: PlatformAttestation) -> list[Subject]:
    """The subjects a platform attestation lists (spec §9.4.4): its packed hashes, and each
    work's SHA-256 and URLs."""
    subjects: list[Subject] = [("sha256", digest) for digest in attested_hashes(record)]
    for work in record.works:
        subjects.append(("sha256", work.sha256))
        subjects.extend(("url", url) for url in work.urls)
    return subjects
