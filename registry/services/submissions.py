"""Accepting declarations (spec §6.4): verify with the core, submit to the log, index.

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
from collections.abc import Sequence
from typing import TYPE_CHECKING, Final, Protocol

import msgspec

from registry.core.errors import EncodingError, ProtocolError
from registry.core.records import Record, check_issued_at, load_record, record_id
from registry.services.errors import BatchTooLargeError, QuotaExceededError
from registry.wire import (
    BatchItem,
    BatchResult,
    Problem,
    SubmitResult,
    make_problem,
    problem_for_protocol_error,
)

if TYPE_CHECKING:
    from registry.config.settings import Settings
    from registry.indexes.persistent import NodeIndex
    from registry.log import NodeLog
    from registry.observability.metrics import Metrics
    from registry.services.quota import CreatorQuota

__all__ = ["Peers", "SubmissionContext", "parse_batch", "submit_batch", "submit_one"]

# Verifying a signature takes ~0.1 ms; batches above this many items are verified in a thread
# so the worker keeps answering reads meanwhile.
_THREAD_THRESHOLD: Final = 64
JSON_WHITESPACE: Final = b" \t\r\n"


class _BatchBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/declarations:batch`` body; each item stays raw: its bytes are the entry."""

    declarations: list[msgspec.Raw]


_BATCH_DECODER: Final = msgspec.json.Decoder(_BatchBody)


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
    def quota(self) -> CreatorQuota | None: ...


async def submit_one(node: SubmissionContext, body: bytes) -> SubmitResult:
    """Verify and log one declaration; return its id, index, receipt and duplicate flag.

    Raises:
        ProtocolError: the declaration is rejected (answered as a problem by the app).
        QuotaExceededError: the creator key reached its hourly limit (answered 429).
        registry.log.Overloaded: the log's pool is full (answered 503).
    """
    # RFC 8259 §2: whitespace around the JSON value is insignificant; the entry is the value.
    entry = body.strip(JSON_WHITESPACE)
    try:
        record = load_record(entry)
        check_issued_at(record, now=int(time.time()), skew=node.settings.clock_skew)
    except ProtocolError as exc:
        node.metrics.submitted("rejected", _slug(problem_for_protocol_error(exc)))
        raise
    wait = await _reserve(node, record, entry)
    if wait:
        node.metrics.submitted("rejected", "rate-limited")
        raise QuotaExceededError(_quota_detail(node, wait), retry_after=wait)
    try:
        submitted = await node.log.submit(entry)
    except BaseException as exc:
        _release(node, [record])
        node.metrics.submitted("rejected", _failure_slug(exc))
        raise
    if submitted.duplicate:
        _release(node, [record])
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


def parse_batch(body: bytes, max_items: int) -> list[bytes]:
    """Split a batch body into the raw bytes of each declaration.

    Raises:
        EncodingError: the body is not ``{"declarations": [...]}`` JSON.
        BatchTooLargeError: more than ``max_items`` declarations.
    """
    try:
        parsed = _BATCH_DECODER.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # invalid UTF-8 in a key, too
        raise EncodingError(f"batch body: {exc}") from exc
    if len(parsed.declarations) > max_items:
        raise BatchTooLargeError(
            f"{len(parsed.declarations)} declarations; at most {max_items} per request"
        )
    return [bytes(raw) for raw in parsed.declarations]


def _validate(entries: Sequence[bytes], now: int, skew: int) -> list[Record | ProtocolError]:
    """Check each entry with the core, and its issue time against ``now`` (spec §2.11): its
    record if valid, else its error."""
    outcome: list[Record | ProtocolError] = []
    for entry in entries:
        try:
            record = load_record(entry)
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


async def _reserve(node: SubmissionContext, record: Record, entry: bytes) -> float:
    """Count ``record`` against its creator's hourly quota: 0.0, or seconds to wait.

    A creator over the quota may still resubmit a declaration already logged (it is answered
    as a duplicate, with a fresh receipt): that adds nothing to the log.
    """
    if node.quota is None:
        return 0.0
    wait = node.quota.reserve(record.creator)
    if wait and await node.log.find(record_id(entry)) is not None:
        node.quota.charge(record.creator)  # given back when it is answered as a duplicate
        return 0.0
    return wait


def _release(node: SubmissionContext, records: Sequence[Record]) -> None:
    """Give back the quota of records that were not added (duplicates, failures)."""
    if node.quota is not None:
        for record in records:
            node.quota.release(record.creator)


def _quota_detail(node: SubmissionContext, wait: float) -> str:
    limit = node.settings.creator_hourly_limit
    return (
        f"this creator key reached its limit of {limit} declarations an hour on this node; "
        f"retry in {max(1, round(wait))} s"
    )


async def submit_batch(node: SubmissionContext, body: bytes) -> BatchResult:
    """Verify every declaration of a batch, log the valid ones, answer each in order.

    Invalid items are reported individually (their problem); valid ones are submitted together.

    Raises:
        EncodingError, BatchTooLargeError: the batch itself is malformed or too large.
        registry.log.Overloaded: the log's pool cannot take the valid items (answered 503).
    """
    entries = parse_batch(body, node.settings.max_batch_items)
    now, skew = int(time.time()), node.settings.clock_skew
    if len(entries) > _THREAD_THRESHOLD:
        checked = await asyncio.to_thread(_validate, entries, now, skew)
    else:
        checked = _validate(entries, now, skew)
    outcome: list[Record | Problem] = []
    for entry, item in zip(entries, checked, strict=True):
        if isinstance(item, ProtocolError):
            outcome.append(problem_for_protocol_error(item))
        elif wait := await _reserve(node, item, entry):
            outcome.append(make_problem("rate-limited", _quota_detail(node, wait)))
        else:
            outcome.append(item)
    valid = [e for e, o in zip(entries, outcome, strict=True) if not isinstance(o, Problem)]
    admitted = [o for o in outcome if not isinstance(o, Problem)]
    for problem in (o for o in outcome if isinstance(o, Problem)):
        node.metrics.submitted("rejected", _slug(problem))
    try:
        submitted = iter(await node.log.submit_many(valid) if valid else [])
    except BaseException as exc:
        _release(node, admitted)
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
            _release(node, [answer])
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
