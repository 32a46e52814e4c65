"""Errors of the log engine (registry.log).

::

    LogError                   base of every error below
    ├── Overloaded             the submission pool is full; retry after ``retry_after`` seconds
    ├── LogClosedError         the NodeLog was closed
    ├── BatchError             integrating a batch failed; its submissions were not acknowledged
    ├── UnknownEntryError      no entry at that index (also a LookupError)
    ├── NodeConfigError        origin or signing key conflicts with what the database holds
    └── LogCorruptError        the stored log is damaged or inconsistent (refuse to serve it)
"""

from __future__ import annotations

__all__ = [
    "BatchError",
    "LogClosedError",
    "LogCorruptError",
    "LogError",
    "NodeConfigError",
    "Overloaded",
    "UnknownEntryError",
]


class LogError(Exception):
    """Base of every error raised by the log engine."""


class Overloaded(LogError):  # noqa: N818 - the name is fixed by the node interface contract
    """The submission pool is full; the caller should retry after ``retry_after`` seconds.

    The HTTP layer answers 503 with ``Retry-After``.
    """

    def __init__(self, retry_after: float, detail: str = "the submission pool is full") -> None:
        super().__init__(f"{detail}; retry after {retry_after:g} s")
        self.retry_after = retry_after


class LogClosedError(LogError):
    """The log was closed; it accepts no more submissions."""


class BatchError(LogError):
    """Integrating a batch failed: none of its entries was acknowledged.

    The cause is chained (``__cause__``). A batch is one transaction, so the log is consistent
    either way; the entries are usually not in the log, but may be if the failure came after
    the commit (while building receipts). Resubmitting is safe: it is idempotent.
    """


class UnknownEntryError(LogError, LookupError):
    """The log has no entry at the requested index (it is at or beyond the tree size)."""


class NodeConfigError(LogError):
    """The origin or signing key given conflicts with the database, or is malformed.

    Messages never include key material.
    """


class LogCorruptError(LogError):
    """The stored log is damaged: entries, tiles and checkpoint do not agree.

    Raised by ``NodeLog.open`` (cheap start-up check) and ``verify_log`` (full check).
    """
