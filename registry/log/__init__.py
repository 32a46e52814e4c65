"""The node's transparency-log engine (ADR 0005), on :mod:`registry.storage`.

Public API (what the HTTP layer and CLI use)::

    NodeLog.open(database_url, *, origin=None, signing_key=None, batch_interval=0.05,
                 max_batch=1024, max_pending=10_000, clock=time.time,
                 on_batch=None) -> NodeLog
        .origin, .verifier_key
        .submit(entry) -> Submitted; .submit_many(entries) -> list[Submitted]
        .checkpoint() -> bytes; .size() -> int
        .read_tile(level, index, width) -> bytes | None
        .read_entry_bundle(index, width) -> bytes | None
        .find(declaration_id) -> (index, entry) | None
        .receipt(index) -> str
        .entries(start, stop) -> AsyncIterator[(index, entry)]
        .close()
    upgrade(database_url)                   # Alembic upgrade head (SQLite and PostgreSQL)
    database_url_for_data_dir(data_dir)     # sqlite+aiosqlite:///DIR/registry.db
    verify_log(database_url) -> LogReport   # full recomputation; LogCorruptError on damage

Errors (:mod:`registry.log.errors`): LogError > Overloaded (retry_after), LogClosedError,
BatchError, UnknownEntryError, NodeConfigError, LogCorruptError.

Modules: :mod:`~registry.log.keys` (origin and signing key), :mod:`~registry.log.sequencer`
(pool and batching), :mod:`~registry.log.integrator` (one batch, one transaction),
:mod:`~registry.log.reader` (reads and receipts), :mod:`~registry.log.verify` (verify_log),
:mod:`~registry.log.startup` (start-up checks), :mod:`~registry.log.node` (NodeLog).
"""

from __future__ import annotations

from registry.log.errors import (
    BatchError,
    LogClosedError,
    LogCorruptError,
    LogError,
    NodeConfigError,
    Overloaded,
    UnknownEntryError,
)
from registry.log.node import NodeLog
from registry.log.types import BatchObserver, BatchReport, LogReport, MirrorReport, Submitted
from registry.log.verify import verify_log
from registry.storage.engine import database_url_for_data_dir
from registry.storage.migrate import upgrade

__all__ = [
    "BatchError",
    "BatchObserver",
    "BatchReport",
    "LogClosedError",
    "LogCorruptError",
    "LogError",
    "LogReport",
    "MirrorReport",
    "NodeConfigError",
    "NodeLog",
    "Overloaded",
    "Submitted",
    "UnknownEntryError",
    "database_url_for_data_dir",
    "upgrade",
    "verify_log",
]
