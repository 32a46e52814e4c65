"""Domain-control bindings (spec §9.2): checking a domain for a creator, re-checking bindings.

:func:`check_domain` is the use case behind ``POST /v1/bindings {"domain", "did"}``: it fetches
the domain's ``did:web`` document (:mod:`registry.identity`) and, if it names the key, returns
a ``binding`` record (§9.3.1) signed by the node, for the caller to append to the log. It
appends nothing itself and raises a domain error otherwise.

:func:`recheck` re-checks the bindings this node has in force and returns the lapses to append
(``lapsed: true``): at once when the domain answers without naming the key (a document that
does not name it, or 404/410), and after repeated failures to get an answer (unreachable, or
refused by a limit) spanning at least :data:`LAPSE_AFTER_FAILURES` (7 days). A re-check that
finds the key still named appends nothing: a binding stays in force until a lapse (§9.4.3).
:class:`RecheckLoop` runs it periodically.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, MutableMapping, Sequence
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Final

from registry.core.errors import KeyFormatError
from registry.core.keys import PublicKey
from registry.core.records import RECORD_VERSION, Binding, TrustRecord, encode_record, record_id
from registry.identity import (
    DomainCheck,
    FetchPolicy,
    InvalidDomainError,
    Verdict,
    checked_domain,
    fetch_document,
)
from registry.identity.didweb import fixed_resolver, parse_resolve
from registry.services.errors import BadBindingRequestError, DomainCheckFailedError

if TYPE_CHECKING:
    from registry.config.settings import Settings

__all__ = [
    "DEFAULT_RECHECK_INTERVAL",
    "LAPSE_AFTER_FAILURES",
    "BindingContext",
    "FailureStreak",
    "RecheckLoop",
    "RecheckReport",
    "Signer",
    "bindings_in_force",
    "check_domain",
    "decode_streaks",
    "encode_streaks",
    "fetch_policy",
    "recheck",
]

DEFAULT_RECHECK_INTERVAL: Final = 86400.0
"""Seconds between re-checks of the bindings in force (§9.2: RECOMMENDED daily)."""
LAPSE_AFTER_FAILURES: Final = 7 * 86400
"""Seconds a domain must fail to answer, repeatedly, before its bindings lapse (§9.2)."""
RECHECK_CONCURRENCY: Final = 4
"""Domains fetched at once by a re-check."""

_EMPTY_SHA256: Final = hashlib.sha256(b"").hexdigest()
_log = logging.getLogger("registry.bindings")

Signer = Callable[[Binding], TrustRecord]
"""Signs a record with the node key (``NodeLog.sign_record``); must return the ``Binding``."""
Pair = tuple[str, str]
"""(domain, creator ``did:key``): what one binding is about."""


@dataclass(frozen=True, kw_only=True)
class BindingContext:
    """Who checks and signs: the node's ``did:key`` (``node``), the log origin its bindings go
    to (``origin``), how it signs (``sign``), the fetch limits (``policy``) and the clock
    (``clock``: Unix seconds)."""

    node: str
    origin: str
    sign: Signer
    policy: FetchPolicy = field(default_factory=FetchPolicy)
    clock: Callable[[], float] = time.time

    def binding(self, check: DomainCheck, *, lapsed: bool = False) -> Binding:
        """The signed ``binding`` (§9.3.1) recording ``check``, dated now.

        For a lapse whose domain answered nothing, the evidence is the SHA-256 of the empty
        string (§9.3.1).
        """
        record = Binding(
            v=RECORD_VERSION,
            node=self.node,
            origin=self.origin,
            domain=check.domain,
            creator=check.did,
            issued_at=int(self.clock()),
            evidence=check.evidence or _EMPTY_SHA256,
            lapsed=lapsed,
        )
        signed = self.sign(record)
        if not isinstance(signed, Binding):  # pragma: no cover - a signer that changes kinds
            raise TypeError(f"the signer returned a {type(signed).__name__}, not a Binding")
        return signed


def fetch_policy(settings: Settings) -> FetchPolicy:
    """The fetch limits an operator configured (``--binding-allow-http``, ``--binding-allow-
    private``, ``--binding-timeout``)."""
    table = parse_resolve(settings.binding_resolve)
    return FetchPolicy(
        allow_http=settings.binding_allow_http,
        allow_private=settings.binding_allow_private,
        timeout=settings.binding_timeout,
        resolver=fixed_resolver(table) if table else None,
    )


async def check_domain(context: BindingContext, domain: str, did: str) -> Binding:
    """Check that ``domain`` names ``did`` (§9.2) and return the node-signed binding to append.

    Raises:
        BadBindingRequestError: ``domain`` is not a domain by §9.3.1, or ``did`` is not an
            Ed25519 ``did:key`` (400).
        DomainCheckFailedError: the document does not name the key, could not be fetched, or
            a limit of §9.2 refused it (422); ``verdict`` says which.
    """
    try:
        domain = checked_domain(domain)
        PublicKey.from_did(did)
    except (InvalidDomainError, KeyFormatError) as exc:
        raise BadBindingRequestError(str(exc)) from None
    check = (await fetch_document(domain, context.policy)).check(did)
    if not check.named:
        raise DomainCheckFailedError(f"{check.verdict}: {check.reason}", verdict=check.verdict)
    _log.info("domain %s names %s: binding (%s)", domain, did, check.reason)
    return context.binding(check)


def _event_order(record: Binding) -> tuple[int, bool, str]:
    # §9.4.3: by time, then a lapse after a non-lapse of the same second, then by record id
    return record.issued_at, record.lapsed, record_id(encode_record(record))


def bindings_in_force(bindings: Iterable[Binding], node: str) -> list[Binding]:
    """The bindings signed by ``node`` that are in force now: for each (domain, creator), its
    last event in the order of §9.4.3, unless that event is a lapse. Sorted by (domain,
    creator); bindings of other nodes are ignored."""
    last: dict[Pair, Binding] = {}
    for record in bindings:
        if record.node != node:
            continue
        pair = (record.domain, record.creator)
        if pair not in last or _event_order(record) > _event_order(last[pair]):
            last[pair] = record
    return [last[pair] for pair in sorted(last) if not last[pair].lapsed]


@dataclass(slots=True)
class FailureStreak:
    """A (domain, creator) whose re-checks got no usable answer since ``first`` (Unix
    seconds): ``count`` failed re-checks, the last at ``last``, for ``reason``."""

    first: int
    last: int
    count: int
    reason: str


def encode_streaks(failures: Mapping[Pair, FailureStreak]) -> str:
    """``failures`` as the JSON text the node keeps between restarts (sorted, so that equal
    streaks give equal text)."""
    return json.dumps(
        [
            [domain, creator, s.first, s.last, s.count, s.reason]
            for (domain, creator), s in sorted(failures.items())
        ],
        separators=(",", ":"),
    )


def decode_streaks(text: str) -> dict[Pair, FailureStreak]:
    """The failure streaks :func:`encode_streaks` wrote. Text that is not such a list (an
    older or damaged value) gives no streaks: that can only delay a lapse, never cause one."""
    try:
        rows = json.loads(text)
        streaks = {
            (str(domain), str(creator)): FailureStreak(
                first=int(first), last=int(last), count=int(count), reason=str(reason)
            )
            for domain, creator, first, last, count, reason in rows
        }
    except (ValueError, TypeError):
        _log.warning("stored binding failure streaks are unreadable; starting them again")
        return {}
    return streaks


@dataclass(frozen=True, kw_only=True)
class RecheckReport:
    """What one re-check did: the pairs it ``checked``, the signed ``lapses`` to append, and
    the pairs still ``failing`` (not lapsed yet)."""

    checked: tuple[Pair, ...]
    lapses: tuple[Binding, ...]
    failing: tuple[Pair, ...]


def _judge(
    context: BindingContext,
    check: DomainCheck,
    failures: MutableMapping[Pair, FailureStreak],
) -> Binding | None:
    """The lapse one re-check's outcome calls for, if any; updates ``failures``."""
    pair = (check.domain, check.did)
    now = int(context.clock())
    if check.verdict is Verdict.NAMED:
        failures.pop(pair, None)
        return None
    if check.verdict is Verdict.NOT_NAMED:
        # §9.2: the domain answered and does not name the key: the binding lapses now
        failures.pop(pair, None)
        _log.warning("binding of %s to %s lapses: %s", check.domain, check.did, check.reason)
        return context.binding(check, lapsed=True)
    streak = failures.get(pair)
    if streak is None:
        failures[pair] = FailureStreak(first=now, last=now, count=1, reason=check.reason)
        return None
    streak.last, streak.count, streak.reason = now, streak.count + 1, check.reason
    # §9.2: no answer is never a lapse by itself; repeated failures over at least 7 days are
    if now - streak.first < LAPSE_AFTER_FAILURES:
        return None
    # the streak stays until the lapse is in the log (the pair then leaves the bindings in
    # force and recheck drops it): if appending fails, the next re-check lapses it again
    _log.warning(
        "binding of %s to %s lapses after %d failed re-checks since %d: %s",
        check.domain,
        check.did,
        streak.count,
        streak.first,
        check.reason,
    )
    return context.binding(check, lapsed=True)


async def recheck(
    context: BindingContext,
    bindings: Iterable[Binding],
    failures: MutableMapping[Pair, FailureStreak],
    *,
    concurrency: int = RECHECK_CONCURRENCY,
) -> RecheckReport:
    """Re-check the bindings of this node in force among ``bindings`` (§9.2); one fetch per
    domain serves all its creators. ``failures`` carries the failure streaks from one re-check
    to the next (the caller keeps it; pairs no longer in force are dropped from it).

    Returns the signed lapses to append, in (domain, creator) order.
    """
    in_force = bindings_in_force(bindings, context.node)
    pairs = [(record.domain, record.creator) for record in in_force]
    for stale in set(failures) - set(pairs):
        del failures[stale]
    creators: dict[str, list[str]] = {}
    for domain, creator in pairs:
        creators.setdefault(domain, []).append(creator)
    gate = asyncio.Semaphore(concurrency)

    async def one(domain: str) -> list[DomainCheck]:
        async with gate:
            fetched = await fetch_document(domain, context.policy)
        return [fetched.check(creator) for creator in creators[domain]]

    outcomes = await asyncio.gather(*(one(domain) for domain in creators))
    lapses = [
        lapse
        for checks in outcomes
        for check in checks
        if (lapse := _judge(context, check, failures)) is not None
    ]
    lapsed = {(lapse.domain, lapse.creator) for lapse in lapses}
    failing = tuple(sorted(pair for pair in failures if pair not in lapsed))
    return RecheckReport(checked=tuple(pairs), lapses=tuple(lapses), failing=failing)


class RecheckLoop:
    """Re-checks this node's bindings every ``interval`` seconds (first run at start).

    ``load`` returns the bindings to consider (all of this node's bindings will do: the ones
    in force are picked by :func:`bindings_in_force`); ``append`` appends one signed lapse to
    the log and returns once it is durable. Failure streaks live in ``failures`` (a mapping
    the caller may supply); with ``restore`` and ``persist`` they also outlive the process:
    the first re-check adds the streaks ``restore`` returns (text of :func:`encode_streaks`,
    or None), and every re-check that changes them hands the new text to ``persist``, so a
    node restarted every day still lapses a domain unreachable for 7 days (§9.2). Run it in
    one process of a node only (the federation leader), or bindings lapse once per process.
    """

    def __init__(
        self,
        context: BindingContext,
        *,
        load: Callable[[], Awaitable[Sequence[Binding]]],
        append: Callable[[Binding], Awaitable[object]],
        interval: float = DEFAULT_RECHECK_INTERVAL,
        failures: MutableMapping[Pair, FailureStreak] | None = None,
        restore: Callable[[], Awaitable[str | None]] | None = None,
        persist: Callable[[str], Awaitable[object]] | None = None,
    ) -> None:
        if not interval > 0:
            raise ValueError(f"interval must be > 0 seconds, not {interval}")
        self.context = context
        self.interval = interval
        self.failures: MutableMapping[Pair, FailureStreak] = {} if failures is None else failures
        self.last_report: RecheckReport | None = None
        self._load = load
        self._append = append
        self._restore = restore
        self._persist = persist
        self._saved: str | None = None
        self._task: asyncio.Task[None] | None = None

    async def run_once(self) -> RecheckReport:
        """One re-check: load, check, append every lapse (in order), then keep the streaks.
        Returns its report."""
        if self._restore is not None:
            self._saved = await self._restore()
            self._restore = None
            if self._saved is not None:
                for pair, streak in decode_streaks(self._saved).items():
                    self.failures.setdefault(pair, streak)
        report = await recheck(self.context, await self._load(), self.failures)
        for lapse in report.lapses:
            await self._append(lapse)
        self.last_report = report
        if self._persist is not None:
            text = encode_streaks(self.failures)
            if text != self._saved:
                await self._persist(text)
                self._saved = text
        return report

    async def run(self) -> None:
        """Re-check forever, every ``interval`` seconds; an error is logged, not fatal."""
        while True:
            try:
                await self.run_once()
            except Exception:
                _log.exception("binding re-check failed; next try in %g s", self.interval)
            await asyncio.sleep(self.interval)

    def start(self) -> None:
        """Start :meth:`run` as a task of the running event loop (idempotent)."""
        if self._task is None or self._task.done():
            self._task = asyncio.get_running_loop().create_task(self.run(), name="binding-recheck")

    async def stop(self) -> None:
        """Cancel the task and wait for it to end."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
