"""The sequencer: a bounded pool of submissions and the task that integrates them in batches.

A submission waits in the pool until the integrator task takes it. The task wakes when the
pool is non-empty, lets a batch gather for at most ``batch_interval`` seconds (or until
``max_batch`` entries are waiting), then integrates up to ``max_batch`` entries in one
transaction (:mod:`registry.log.integrator`). Each submitter's future is resolved only after
that transaction committed, with its receipt; if the batch fails, every submitter in it gets a
BatchError. When ``max_pending`` entries are waiting or being integrated, new submissions are
refused with Overloaded instead of queueing without bound.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Sequence
from dataclasses import dataclass, field

from registry.core.records import record_id
from registry.log.errors import BatchError, LogClosedError, Overloaded
from registry.log.integrator import Integrator
from registry.log.types import BatchObserver, BatchReport, Submitted

__all__ = ["Sequencer"]

_log = logging.getLogger("registry.log")


@dataclass(slots=True)
class _Pending:
    """One submission waiting in the pool."""

    id: str
    entry: bytes
    future: asyncio.Future[Submitted] = field(
        default_factory=lambda: asyncio.get_running_loop().create_future()
    )


class Sequencer:
    """Pools submissions and feeds them, in batches, to one :class:`Integrator`."""

    def __init__(
        self,
        integrator: Integrator,
        *,
        batch_interval: float,
        max_batch: int,
        max_pending: int,
        on_batch: BatchObserver | None = None,
    ) -> None:
        if batch_interval < 0 or max_batch < 1 or max_pending < 1:
            raise ValueError("batch_interval >= 0, max_batch >= 1 and max_pending >= 1 required")
        self._integrator = integrator
        self._batch_interval = batch_interval
        self._max_batch = max_batch
        self._max_pending = max_pending
        self._on_batch = on_batch
        self._pool: list[_Pending] = []
        self._in_flight = 0
        self._wake = asyncio.Event()
        self._full = asyncio.Event()
        self._closing = False
        self._task: asyncio.Task[None] | None = None

    def start(self) -> None:
        """Start the integrator task on the running event loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(
                self._run(), name="registry-log-integrator"
            )

    @property
    def pending(self) -> int:
        """Entries waiting in the pool or being integrated."""
        return len(self._pool) + self._in_flight

    def retry_after(self) -> float:
        """A hint, in seconds, for when a refused submission is worth retrying."""
        batches = -(-self.pending // self._max_batch)
        return max(1.0, round(batches * max(self._batch_interval, 0.05) * 4, 1))

    async def submit_many(self, entries: Sequence[bytes]) -> list[Submitted]:
        """Pool ``entries`` (all or none) and wait until they are integrated.

        Raises Overloaded if they do not fit in the pool, LogClosedError after close, and
        BatchError if integrating their batch failed.
        """
        if self._closing or self._task is None:
            raise LogClosedError("the log is closed")
        if not entries:
            return []
        if self.pending + len(entries) > self._max_pending:
            raise Overloaded(self.retry_after())
        items = [_Pending(record_id(entry), bytes(entry)) for entry in entries]
        self._pool.extend(items)
        self._wake.set()
        if len(self._pool) >= self._max_batch:
            self._full.set()
        return list(await asyncio.gather(*(item.future for item in items)))

    async def close(self) -> None:
        """Stop accepting submissions, integrate those already pooled, stop the task."""
        self._closing = True
        self._wake.set()
        self._full.set()
        if self._task is not None:
            await self._task

    async def _run(self) -> None:
        """The integrator task; if it ever dies, the log closes and waiters are failed."""
        try:
            await self._loop()
        except BaseException as exc:
            self._closing = True
            error = BatchError(f"the log's integrator stopped: {exc!r}")
            error.__cause__ = exc
            _fail(self._pool, error)
            self._pool.clear()
            raise

    async def _loop(self) -> None:
        """Take batches from the pool until closed and drained."""
        while True:
            await self._wake.wait()
            if not self._pool:
                if self._closing:
                    return
                self._wake.clear()
                continue
            if len(self._pool) < self._max_batch and not self._closing:
                # Let a batch gather: at most batch_interval after the first entry arrived.
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._full.wait(), self._batch_interval)
            batch = self._pool[: self._max_batch]
            del self._pool[: self._max_batch]
            if len(self._pool) < self._max_batch and not self._closing:
                self._full.clear()
            self._in_flight = len(batch)
            try:
                await self._integrate(batch)
            finally:
                self._in_flight = 0

    async def _integrate(self, batch: list[_Pending]) -> None:
        """Integrate one batch and resolve its futures; never raises (but re-raises cancel)."""
        started = time.perf_counter()
        try:
            results = await self._integrator.integrate([(p.id, p.entry) for p in batch])
        except asyncio.CancelledError:
            _fail(batch, BatchError("the log was shut down while integrating this batch"))
            raise
        except Exception as exc:
            self._integrator.reset()  # whatever happened, trust only the database from now on
            error = BatchError(f"integrating a batch of {len(batch)} entries failed: {exc}")
            error.__cause__ = exc
            _fail(batch, error)
            self._observe(len(batch), started, ok=False)
            return
        self._observe(len(batch), started, ok=True)
        for pending, result in zip(batch, results, strict=True):
            if not pending.future.done():  # the submitter may have given up (cancelled)
                pending.future.set_result(result)

    def _observe(self, entries: int, started: float, *, ok: bool) -> None:
        """Tell the observer about a batch; an observer's bug must not stop the integrator."""
        if self._on_batch is None:
            return
        try:
            self._on_batch(BatchReport(entries, time.perf_counter() - started, ok))
        except Exception:
            _log.exception("batch observer failed")


def _fail(batch: list[_Pending], error: BaseException) -> None:
    """Fail every still-waiting submitter of ``batch`` with ``error``."""
    for pending in batch:
        if not pending.future.done():
            pending.future.set_exception(error)
