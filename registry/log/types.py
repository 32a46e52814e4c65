"""Result types of the log engine: what a submission and a full verification return."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

__all__ = ["BatchObserver", "BatchReport", "LogReport", "Submitted"]


@dataclass(frozen=True, slots=True)
class Submitted:
    """An acknowledged submission: the entry is durably in the log under a signed checkpoint.

    ``id`` is the record id (hex SHA-256 of the entry), ``index`` its position in the log,
    ``receipt`` a C2SP tlog-proof against a checkpoint that covers it, and ``duplicate`` is True
    when the entry was already in the log (or earlier in the same batch), so nothing was added.
    """

    id: str
    index: int
    receipt: str
    duplicate: bool


@dataclass(frozen=True, slots=True)
class BatchReport:
    """One integration attempt, as told to a :data:`BatchObserver` (for metrics).

    ``entries`` submissions were in the batch, ``seconds`` the time its transaction (and
    receipts) took, ``ok`` False if it failed (then no submitter in it was acknowledged).
    """

    entries: int
    seconds: float
    ok: bool


BatchObserver = Callable[[BatchReport], None]
"""Called by the integrator task after every batch; must be quick and must not raise."""


@dataclass(frozen=True, slots=True)
class MirrorReport:
    """What :func:`registry.log.verify_log` checked of one mirrored peer log (spec §7.2)."""

    origin: str
    size: int
    root_hash: bytes
    entries_checked: int
    signed: bool
    """The stored checkpoint verified under the configured peer's key (False: the peer is no
    longer configured, so only the root was recomputed)."""


@dataclass(frozen=True, slots=True)
class LogReport:
    """What :func:`registry.log.verify_log` checked and found consistent."""

    origin: str
    verifier_key: str
    size: int
    root_hash: bytes
    entries_checked: int
    tiles_checked: int
    mirrors: tuple[MirrorReport, ...] = ()
    """Every mirrored log with committed entries, by origin."""
