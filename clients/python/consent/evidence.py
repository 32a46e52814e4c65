"""Offline verification of a claim's identity evidence (spec §9.5).

A node's answer says, per claim, an identity level (``domain:HOST``, ``platform:NAME``) and the
ids of the binding and attestation records behind it (spec §9.4.5). A crawler need not believe
it: :func:`check_evidence` takes the claim's declaration and those records (log entries, each
verified with its receipt against the log's pinned key), checks every record's signature
(``registry.core.records.load_entry``), that each binding's ``node`` and each attestation's
``platform`` is one the crawler trusts (:class:`~consent.trust.TrustConfig`), and recomputes
the level with :class:`registry.core.trust.TrustState` over exactly those records. Nothing
asks the domain or the platform.

:func:`verify_claim_evidence` (and :func:`averify_claim_evidence`) fetch the records from a
node (``GET /v1/records/{id}``, receipts checked as for declarations) and then call
:func:`check_evidence`; given entries read from a log or a mirror instead, call
:func:`check_evidence` directly: it is pure.

Limits: the records are the claim's evidence only, so a level held through a rotated key
(spec §9.4.2) needs the rotation records passed as ``extra``; a lapse recorded after the
claim does not change its level (spec §9.4.3), so none is needed.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from consent.answers import LEVEL_NONE
from consent.client import AsyncConsentClient, ConsentClient
from consent.errors import VerificationError
from consent.proofs import VerifiedRecord
from consent.trust import TrustConfig
from registry.core.errors import ProtocolError
from registry.core.records import Binding, Declaration, PlatformAttestation
from registry.core.state import Subject
from registry.core.trust import TrustState
from registry.core.urls import normalize_url
from registry.wire import ClaimIdentity, ClaimView

Claim = ClaimView | ClaimIdentity
"""A claim as a per-work answer (:class:`~registry.wire.ClaimView`) or a batch check
(:class:`~registry.wire.ClaimIdentity`) lists it."""

__all__ = [
    "Claim",
    "EvidenceReport",
    "averify_claim_evidence",
    "check_evidence",
    "subject_of",
    "verify_claim_evidence",
]


@dataclass(frozen=True)
class EvidenceReport:
    """What the evidence of one claim proves to the crawler (spec §9.5).

    ``claimed``: the levels the node gave. ``confirmed``: the levels recomputed from the
    verified records under the crawler's configuration, strongest first. ``problems``: why a
    claimed level is not confirmed (an untrusted node or platform, a record that does not
    cover the work). ``records``: the verified evidence.
    """

    subject: Subject
    declaration_id: str
    claimed: tuple[str, ...]
    confirmed: tuple[str, ...]
    problems: tuple[str, ...]
    records: tuple[VerifiedRecord, ...]

    @property
    def level(self) -> str:
        """The strongest confirmed level, or ``none``."""
        return self.confirmed[0] if self.confirmed else LEVEL_NONE

    @property
    def ok(self) -> bool:
        """True if every level the node claimed is confirmed."""
        return set(self.claimed) <= set(self.confirmed)


def subject_of(kind: str, key: str) -> Subject:
    """The subject (spec §3.5) an answer is about: a SHA-256, or a URL in normal form.

    Raises:
        RecordError: the URL does not normalise (spec §2.5).
    """
    if kind == "sha256":
        return ("sha256", key)
    return ("url", normalize_url(key))


def check_evidence(
    subject: Subject,
    declaration: VerifiedRecord,
    evidence: Sequence[VerifiedRecord],
    config: TrustConfig,
    *,
    claimed: Iterable[str] = (),
    extra: Iterable[VerifiedRecord] = (),
) -> EvidenceReport:
    """Recompute a claim's identity level from verified records (spec §9.4.4, §9.5).

    ``declaration`` is the claim's winning declaration, ``evidence`` the records its
    ``evidence`` names, ``extra`` further records to consider (rotations); all already
    verified (signature and receipt: :func:`consent.proofs.verify_record_entry`).

    Raises:
        VerificationError: ``declaration`` is not a declaration, or an evidence record is
            neither a binding nor a platform attestation, or is about another creator than
            the declaration's key chain could reach.
    """
    if not isinstance(declaration.record, Declaration):
        raise VerificationError(f"record {declaration.id[:16]} is not a declaration")
    state = TrustState(platforms=config.platforms, nodes=config.nodes)
    problems: list[str] = []
    for item in evidence:
        if not isinstance(item.record, Binding | PlatformAttestation):
            raise VerificationError(
                f"evidence {item.id[:16]} is a {type(item.record).__name__}, not a binding or "
                "a platform attestation (spec §9.4.5)"
            )
    for item in [declaration, *evidence, *extra]:
        record = item.record
        if isinstance(record, Binding) and record.node not in config.nodes:
            problems.append(
                f"binding {item.id[:16]} ({record.domain}) was made by node {record.node}, "
                "which you do not trust"
            )
        if isinstance(record, PlatformAttestation) and record.platform not in config.platforms:
            problems.append(
                f"attestation {item.id[:16]} (@{record.account}) was signed by platform key "
                f"{record.platform}, which you do not trust"
            )
        try:
            state.add(item.id, record, origin=item.origin)
        except ProtocolError as exc:  # the same id bound to two records
            raise VerificationError(str(exc)) from exc
    resolved = state.resolve(subject, "any")
    claim = next((c for c in resolved.claims if c.declaration_id == declaration.id), None)
    confirmed = claim.levels if claim is not None else ()
    wanted = tuple(level for level in claimed if level != LEVEL_NONE)
    for level in wanted:
        if level not in confirmed:
            problems.append(f"{level} is not confirmed by the evidence for {subject[1][:80]}")
    return EvidenceReport(
        subject=subject,
        declaration_id=declaration.id,
        claimed=wanted,
        confirmed=tuple(confirmed),
        problems=tuple(problems),
        records=tuple(evidence),
    )


def _claimed(claim: Claim) -> list[str]:
    """The levels a node claimed: every level of a per-work claim, the strongest of a batch
    check's."""
    return list(claim.levels) if isinstance(claim, ClaimView) else [claim.level]


def verify_claim_evidence(
    client: ConsentClient,
    subject: Subject,
    claim: Claim,
    *,
    config: TrustConfig | None = None,
    extra_ids: Iterable[str] = (),
) -> EvidenceReport:
    """Fetch a claim's declaration and evidence records with their receipts from ``client``,
    verify each against its log's pinned key, and :func:`check_evidence` them under
    ``config`` (default: the node's own published configuration, :meth:`ConsentClient.trust`;
    pass your own to trust only what you chose).

    Raises:
        VerificationError: a record or receipt does not verify, or is of the wrong kind.
        NodeError, TransportError: the node failed.
    """
    trusted = config if config is not None else client.trust()
    declaration = client.verify_record(claim.declaration)
    evidence = [client.verify_record(record_id) for record_id in claim.evidence]
    extra = [client.verify_record(record_id) for record_id in extra_ids]
    return check_evidence(
        subject, declaration, evidence, trusted, claimed=_claimed(claim), extra=extra
    )


async def averify_claim_evidence(
    client: AsyncConsentClient,
    subject: Subject,
    claim: Claim,
    *,
    config: TrustConfig | None = None,
    extra_ids: Iterable[str] = (),
) -> EvidenceReport:
    """The asyncio twin of :func:`verify_claim_evidence`."""
    trusted = config if config is not None else await client.trust()
    declaration = await client.verify_record(claim.declaration)
    evidence = [await client.verify_record(record_id) for record_id in claim.evidence]
    extra = [await client.verify_record(record_id) for record_id in extra_ids]
    return check_evidence(
        subject, declaration, evidence, trusted, claimed=_claimed(claim), extra=extra
    )
