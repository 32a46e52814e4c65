"""Accepting declarations (spec §6.4): verify with the core, submit to the log, index.

A declaration is accepted only if :func:`registry.core.records.load_record` accepts its exact
bytes (canonical form, schema, limits, signature); those bytes become the log entry. After the
log answers, the index is caught up to the new entry so that the submitter can read its write
from this worker at once.
"""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from typing import Final

import msgspec

from registry.core.errors import EncodingError, ProtocolError
from registry.core.records import load_record
from registry.http.problems import ProblemError, problem_for_protocol_error
from registry.http.runtime import Node
from registry.http.wire import BatchItemResult, BatchResult, SubmitResult

__all__ = ["submit_batch", "submit_one"]

# Verifying a signature takes ~0.1 ms; batches above this many items are verified in a thread
# so the worker keeps answering reads meanwhile.
_THREAD_THRESHOLD: Final = 64
JSON_WHITESPACE: Final = b" \t\r\n"


class _BatchBody(msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True):
    """``POST /v1/declarations:batch`` body; each item stays raw: its bytes are the entry."""

    declarations: list[msgspec.Raw]


_BATCH_DECODER: Final = msgspec.json.Decoder(_BatchBody)


async def submit_one(node: Node, body: bytes) -> SubmitResult:
    """Verify and log one declaration; return its id, index, receipt and duplicate flag.

    Raises:
        ProtocolError: the declaration is rejected (answered as a problem by the app).
        registry.log.Overloaded: the log's pool is full (answered 503).
    """
    # RFC 8259 §2: whitespace around the JSON value is insignificant; the entry is the value.
    entry = body.strip(JSON_WHITESPACE)
    load_record(entry)
    submitted = await node.log.submit(entry)
    if not submitted.duplicate:
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
        ProblemError: more than ``max_items`` declarations (413 batch-too-large).
    """
    try:
        parsed = _BATCH_DECODER.decode(body)
    except (msgspec.DecodeError, UnicodeDecodeError) as exc:  # invalid UTF-8 in a key, too
        raise EncodingError(f"batch body: {exc}") from exc
    if len(parsed.declarations) > max_items:
        raise ProblemError(
            "batch-too-large",
            f"{len(parsed.declarations)} declarations; at most {max_items} per request",
        )
    return [bytes(raw) for raw in parsed.declarations]


def _validate(entries: Sequence[bytes]) -> list[ProtocolError | None]:
    """Check each entry with the core; None for a valid one, else its error."""
    outcome: list[ProtocolError | None] = []
    for entry in entries:
        try:
            load_record(entry)
        except ProtocolError as exc:
            outcome.append(exc)
        else:
            outcome.append(None)
    return outcome


async def submit_batch(node: Node, body: bytes) -> BatchResult:
    """Verify every declaration of a batch, log the valid ones, answer each in order.

    Invalid items are reported individually (their problem); valid ones are submitted together.

    Raises:
        EncodingError, ProblemError: the batch itself is malformed or too large.
        registry.log.Overloaded: the log's pool cannot take the valid items (answered 503).
    """
    entries = parse_batch(body, node.settings.max_batch_items)
    if len(entries) > _THREAD_THRESHOLD:
        errors = await asyncio.to_thread(_validate, entries)
    else:
        errors = _validate(entries)
    valid = [entry for entry, error in zip(entries, errors, strict=True) if error is None]
    submitted = iter(await node.log.submit_many(valid) if valid else [])
    results: list[BatchItemResult] = []
    accepted = duplicates = 0
    last = -1
    for error in errors:
        if error is not None:
            problem = problem_for_protocol_error(error)
            results.append(BatchItemResult(status=problem.status, problem=problem))
            continue
        sub = next(submitted)
        last = max(last, sub.index)
        duplicates += sub.duplicate
        accepted += not sub.duplicate
        results.append(
            BatchItemResult(
                status=200 if sub.duplicate else 201,
                id=sub.id,
                index=sub.index,
                receipt=sub.receipt,
                duplicate=sub.duplicate,
            )
        )
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
