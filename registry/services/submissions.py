"""Accepting records (spec §6.4, §9.3): verify with the core, admit, submit to the log, index.

``POST /v1/declarations`` takes declarations only; ``POST /v1/records`` every kind of record
(:func:`registry.core.records.load_entry`): declarations and the trust records of spec §9.3. A
platform attestation is accepted only from a key in the trusted-platforms file, for works in its
scope and within its daily quota (spec §9.6); a binding only by ``POST /v1/bindings``, which the
node signs itself after checking the domain (spec §9.2). Admission by identity
(:class:`registry.services.quota.Admission`) caps what each unverified key and each client
address may write, and gives verified keys a larger cap.

A declaration is accepted only if :func:`registry.core.records.load_record` accepts its exact
bytes (canonical form, schema, limits, signature) and its ``issued_at`` is not beyond the node's
clock plus ``clock_skew`` (spec §2.11); those bytes become the log entry. After the
log answers, the index is caught up to the new entry so that the submitter can read its write
from this worker at once.

Abuse limits (issue 7): after its signature verifies, a declaration counts against its
creator key's hourly quota (:class:`registry.services.quota.CreatorQuota`); one over the quota
raises :class:`registry.services.errors.QuotaExceededError` (answered 429 ``rate-limited`` with
``Retry-After``; in a batch: that item only). Every outcome
is counted in the node's metrics (``registry_submissions_total{result, problem}``).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Mapping, Sequence
from typing import TYPE_CHECKING, Final, Literal, Protocol

import msgspec

from registry.core.errors import EncodingError, ProtocolError
from registry.core.records import (
    AnyRecord,
    Binding,
    PlatformAttestation,
    TrustRecord,
    attested_hashes,
    check_issued_at,
    encode_record,
    load_entry,
    load_record,
    record_id,
    signer_of,
)
from registry.core.trust import url_host
from registry.services.errors import (
    BatchTooLargeError,
    ForbiddenRecordError,
    QuotaExceededError,
    ServiceError,
    UntrustedPlatformError,
)
from registry.services.quota import Admission, Ticket
from registry.wire import (
    BatchItem,
    BatchResult,
    Problem,
    SubmitResult,
    make_problem,
    problem_for_protocol_error,
)

if TYPE_CHECKING:
    from registry.config.platforms import TrustedPlatform
    from registry.config.settings import Settings
    from registry.indexes.persistent import NodeIndex
    from registry.log import NodeLog
    from registry.observability.metrics import Metrics

__all__ = [
    "Accept",
    "Peers",
    "SubmissionContext",
    "append_own",
    "parse_batch",
    "submit_batch",
    "submit_one",
]

Accept = Literal["declarations", "records"]
"""What an endpoint accepts: declarations only (spec §6.4) or every record kind (§9.3)."""

# Verifying a signature takes ~0.1 ms; batches above this many items are verified in a thread
# so the worker keeps answering reads meanwhile.
_THREAD_THRESHOLD: Final = 64
JSON_WHITESPACE: Final = b" \t\r\n"


class _BatchBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/declarations:batch`` body; each item stays raw: its bytes are the entry."""

    declarations: list[msgspec.Raw]


class _RecordsBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/records:batch`` body; each item stays raw: its bytes are the entry."""

    records: list[msgspec.Raw]


_BATCH_DECODER: Final = msgspec.json.Decoder(_BatchBody)
_RECORDS_DECODER: Final = msgspec.json.Decoder(_RecordsBody)


class Peers(Protocol):
    """Who hears of a new checkpoint (spec §7.4): a
    :class:`registry.federation.service.Federation`."""

    def checkpoint_changed(self) -> None:
        """A new checkpoint of the node's own log is signed: push it to the peers."""


class SubmissionContext(Protocol):
    """What accepting declarations needs of the running node (``registry.http.runtime.Node``)."""

    @property
    def settings(self) -> Settings: ...
    @property
    def log(self) -> NodeLog: ...
    @property
    def index(self) -> NodeIndex: ...
    @property
    def federation(self) -> Peers: ...
    @property
    def metrics(self) -> Metrics: ...
    @property
    def admission(self) -> Admission: ...
    @property
    def platforms(self) -> Mapping[str, TrustedPlatform]: ...


def _load(entry: bytes, accept: Accept) -> AnyRecord:
    return load_record(entry) if accept == "declarations" else load_entry(entry)


async def submit_one(
    node: SubmissionContext,
    body: bytes,
    *,
    accept: Accept = "declarations",
    address: str | None = None,
) -> SubmitResult:
    """Verify, admit and log one record; return its id, index, receipt and duplicate flag.

    ``address``: the client's rate-limit key (an IPv6 client's /64), for admission.

    Raises:
        ProtocolError: the record is rejected (answered as a problem by the app).
        ServiceError: the record is not admitted (a binding, an untrusted platform, a quota).
        registry.log.Overloaded: the log's pool is full (answered 503).
    """
    # RFC 8259 §2: whitespace around the JSON value is insignificant; the entry is the value.
    entry = body.strip(JSON_WHITESPACE)
    try:
        record = _load(entry, accept)
        check_issued_at(record, now=int(time.time()), skew=node.settings.clock_skew)
    except ProtocolError as exc:
        node.metrics.submitted("rejected", _slug(problem_for_protocol_error(exc)))
        raise
    try:
        ticket = await _admit(node, record, entry, address)
    except ServiceError as exc:
        node.metrics.submitted("rejected", exc.slug)
        raise
    try:
        submitted = await node.log.submit(entry)
    except BaseException as exc:
        Admission.release(ticket)
        node.metrics.submitted("rejected", _failure_slug(exc))
        raise
    if submitted.duplicate:
        Admission.release(ticket)
        node.metrics.submitted("duplicate")
    else:
        node.metrics.submitted("accepted")
        node.federation.checkpoint_changed()  # spec §7.4: push the new checkpoint to peers
    await node.index.catch_up(node.log, until=submitted.index + 1)
    return SubmitResult(
        id=submitted.id,
        index=submitted.index,
        receipt=submitted.receipt,
        duplicate=submitted.duplicate,
    )


async def append_own(node: SubmissionContext, record: TrustRecord) -> SubmitResult:
    """Log a record the node made and signed itself (a binding or its lapse, spec §9.2):
    no admission, the log's durability and receipt as for any submission.

    Raises:
        registry.log.Overloaded: the log's pool is full (answered 503).
    """
    entry = encode_record(record)
    submitted = await node.log.submit(entry)
    node.metrics.submitted("duplicate" if submitted.duplicate else "accepted")
    if not submitted.duplicate:
        node.federation.checkpoint_changed()  # spec §7.4: push the new checkpoint to peers
    await node.index.catch_up(node.log, until=submitted.index + 1)
    return SubmitResult(
        id=submitted.id,
        index=submitted.index,
        receipt=submitted.receipt,
        duplicate=submitted.duplicate,
    )


def parse_batch(body: bytes, max_items: int, accept: Accept = "declarations") -> list[bytes]:
    """Split a batch body into the raw bytes of each record.

    Raises:
        EncodingError: the body is not ``{"declarations": [...]}`` (``{"records": [...]}``)
            JSON.
        BatchTooLargeError: more than ``max_items`` items.
    """
    try:
        if accept == "declarations":
            items = _BATCH_DECODER.decode(body).declarations
        else:
            items = _RECORDS_DECODER.decode(body).records
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # invalid UTF-8 in a key, too
        raise EncodingError(f"batch body: {exc}") from exc
    if len(items) > max_items:
        raise BatchTooLargeError(f"{len(items)} {accept}; at most {max_items} per request")
    return [bytes(raw) for raw in items]


def _validate(
    entries: Sequence[bytes], now: int, skew: int, accept: Accept
) -> list[AnyRecord | ProtocolError]:
    """Check each entry with the core, and its issue time against ``now`` (spec §2.11): its
    record if valid, else its error."""
    outcome: list[AnyRecord | ProtocolError] = []
    for entry in entries:
        try:
            record = _load(entry, accept)
            check_issued_at(record, now=now, skew=skew)
            outcome.append(record)
        except ProtocolError as exc:
            outcome.append(exc)
    return outcome


def _slug(problem: Problem) -> str:
    return problem.type.rsplit("/", 1)[-1]


def _failure_slug(exc: BaseException) -> str:
    """The problem slug a failed submission is answered with (for metrics)."""
    from registry.log import Overloaded  # noqa: PLC0415 - keep this module light to import

    return "overloaded" if isinstance(exc, Overloaded) else "unavailable"


async def _admit(
    node: SubmissionContext,
    record: AnyRecord,
    entry: bytes,
    address: str | None,
    verified_keys: set[str] | None = None,
) -> Ticket:
    """Admit ``record`` (spec §9.6, issue 12 item 6): the ticket of what it counted.

    A record already logged is admitted whatever the quotas say: it is answered as a duplicate,
    with a fresh receipt, and adds nothing to the log.

    Raises:
        ForbiddenRecordError: a binding (only ``POST /v1/bindings`` makes them).
        UntrustedPlatformError: an attestation by a platform key this node does not trust, or
            listing a URL outside the platform's scope.
        QuotaExceededError: a key, address or platform quota is used up.
    """
    if isinstance(record, Binding):
        raise ForbiddenRecordError(
            "bindings are made by the node that checks the domain: ask it with "
            'POST /v1/bindings {"domain", "did"} (spec §9.2)'
        )
    if isinstance(record, PlatformAttestation):
        platform = node.platforms.get(record.platform)
        if platform is None:
            raise UntrustedPlatformError(
                f"{record.platform} is not a platform this node trusts (its operator lists "
                "trusted platforms in the trusted-platforms file, spec §9.6)"
            )
        for work in record.works:
            for url in work.urls:
                host = url_host(url)
                if host is None or not platform.covers(host):
                    raise UntrustedPlatformError(
                        f"platform {platform.name} may not attest works at {url}: outside its "
                        "scope on this node"
                    )
        works = len(record.works) + len(attested_hashes(record))
        wait, ticket = node.admission.reserve_platform(record.platform, works, platform.quota)
        detail = (
            f"platform {platform.name} reached its quota of {platform.quota} attested works a "
            "day on this node"
        )
    else:
        signer = signer_of(record)
        if verified_keys is None:  # one record: one look-up; a batch looks up all at once
            verified_keys = await node.index.consent.verified_keys([signer])
        verified = signer in verified_keys
        wait, ticket = node.admission.reserve(signer, verified=verified, address=address)
        detail = _quota_detail(node, verified=verified)
    if wait and await node.log.find(record_id(entry)) is not None:
        return Ticket()  # a duplicate: it adds nothing, so it costs nothing
    if wait:
        raise QuotaExceededError(f"{detail}; retry in {max(1, round(wait))} s", retry_after=wait)
    return ticket


def _quota_detail(node: SubmissionContext, *, verified: bool) -> str:
    settings = node.settings
    if verified:
        return (
            f"this key reached its limit of {settings.verified_hourly_limit} records an hour "
            "on this node"
        )
    return (
        f"this key or this client address reached its limit ({settings.creator_hourly_limit} "
        f"records an hour per unverified key, {settings.address_hourly_limit} per address) on "
        "this node; verified creators (spec §9.1) get more"
    )


async def submit_batch(
    node: SubmissionContext,
    body: bytes,
    *,
    accept: Accept = "declarations",
    address: str | None = None,
) -> BatchResult:
    """Verify every record of a batch, log the admitted ones, answer each in order.

    Invalid or refused items are reported individually (their problem); the others are
    submitted together.

    Raises:
        EncodingError, BatchTooLargeError: the batch itself is malformed or too large.
        registry.log.Overloaded: the log's pool cannot take the valid items (answered 503).
    """
    entries = parse_batch(body, node.settings.max_batch_items, accept)
    now, skew = int(time.time()), node.settings.clock_skew
    if len(entries) > _THREAD_THRESHOLD:
        checked = await asyncio.to_thread(_validate, entries, now, skew, accept)
    else:
        checked = _validate(entries, now, skew, accept)
    outcome: list[Ticket | Problem] = []
    signers = sorted({signer_of(r) for r in checked if not isinstance(r, ProtocolError)})
    verified = await node.index.consent.verified_keys(signers) if signers else set()
    for entry, item in zip(entries, checked, strict=True):
        if isinstance(item, ProtocolError):
            outcome.append(problem_for_protocol_error(item))
            continue
        try:
            outcome.append(await _admit(node, item, entry, address, verified))
        except ServiceError as exc:
            outcome.append(make_problem(exc.slug, exc.detail))
    valid = [e for e, o in zip(entries, outcome, strict=True) if not isinstance(o, Problem)]
    admitted = [o for o in outcome if not isinstance(o, Problem)]
    for problem in (o for o in outcome if isinstance(o, Problem)):
        node.metrics.submitted("rejected", _slug(problem))
    try:
        submitted = iter(await node.log.submit_many(valid) if valid else [])
    except BaseException as exc:
        for ticket in admitted:
            Admission.release(ticket)
        node.metrics.submitted("rejected", _failure_slug(exc), len(valid))
        raise
    results: list[BatchItem] = []
    accepted = duplicates = 0
    last = -1
    for answer in outcome:
        if isinstance(answer, Problem):
            results.append(BatchItem(status=answer.status, problem=answer))
            continue
        sub = next(submitted)
        last = max(last, sub.index)
        duplicates += sub.duplicate
        accepted += not sub.duplicate
        if sub.duplicate:
            Admission.release(answer)
        results.append(
            BatchItem(
                status=200 if sub.duplicate else 201,
                id=sub.id,
                index=sub.index,
                receipt=sub.receipt,
                duplicate=sub.duplicate,
            )
        )
    node.metrics.submitted("accepted", count=accepted)
    node.metrics.submitted("duplicate", count=duplicates)
    if accepted:
        node.federation.checkpoint_changed()  # spec §7.4: push the new checkpoint to peers
    if last >= 0:
        await node.index.catch_up(node.log, until=last + 1)
    return BatchResult(
        accepted=accepted,
        duplicates=duplicates,
        rejected=len(entries) - len(valid),
        results=results,
    )
