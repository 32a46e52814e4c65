"""A cap on how many declarations one creator key may have logged per hour (issue 7, abuse).

Each creator (``did:key``) may have at most ``per_hour`` new declarations accepted by this worker
process in any sliding hour. The window is kept as per-minute counts (at most 60 integers per
active creator), so the cap is exact to the minute. A submission reserves its items before it
is logged and gives back those that turn out to be duplicates or fail: replaying someone's
existing declarations cannot use up their quota, and only signed declarations (the signature is
checked before the quota) count against a key.

The count is per worker process: with ``--workers N`` a key may get up to ``N * per_hour``
declarations an hour accepted by one node (documented in docs/operations.md).
"""

from __future__ import annotations

import time
from collections.abc import Callable
from typing import Final

__all__ = ["CreatorQuota"]

WINDOW: Final = 3600
"""Seconds of the sliding window."""
SLOT: Final = 60
"""Seconds per counted slot."""
_MAX_KEYS: Final = 200_000
"""Creators remembered at most; beyond, windows that have fully expired are forgotten."""


class CreatorQuota:
    """Sliding-hour counts of accepted declarations per creator key."""

    def __init__(self, per_hour: int, *, clock: Callable[[], float] = time.monotonic) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour = per_hour
        self._clock = clock
        self._slots: dict[str, dict[int, int]] = {}  # creator -> slot number -> count

    def _window(self, creator: str, now_slot: int) -> dict[int, int]:
        """The creator's live slots (expired ones dropped)."""
        slots = self._slots.get(creator)
        if slots is None:
            return {}
        oldest = now_slot - WINDOW // SLOT + 1
        for slot in [s for s in slots if s < oldest]:
            del slots[slot]
        return slots

    def reserve(self, creator: str, count: int = 1) -> float:
        """Reserve ``count`` declarations of ``creator``: 0.0 if granted, else the seconds
        until that many fit in the window (nothing is reserved then)."""
        now = self._clock()
        now_slot = int(now // SLOT)
        slots = self._window(creator, now_slot)
        used = sum(slots.values())
        if used + count <= self.per_hour:
            self._add(creator, slots, now_slot, count)
            return 0.0
        if count > self.per_hour:
            return float(WINDOW)
        # wait until enough of the oldest slots leave the window
        excess = used + count - self.per_hour
        for slot in sorted(slots):
            excess -= slots[slot]
            if excess <= 0:
                return max(1.0, (slot + 1) * SLOT + WINDOW - SLOT - now)
        return float(WINDOW)  # pragma: no cover - the loop always covers ``excess``

    def charge(self, creator: str, count: int = 1) -> None:
        """Count ``count`` declarations whatever the quota says (to be :meth:`release`d)."""
        now_slot = int(self._clock() // SLOT)
        self._add(creator, self._window(creator, now_slot), now_slot, count)

    def _add(self, creator: str, slots: dict[int, int], now_slot: int, count: int) -> None:
        if creator not in self._slots:
            if len(self._slots) >= _MAX_KEYS:
                self._forget_idle(now_slot)
            self._slots[creator] = slots
        slots[now_slot] = slots.get(now_slot, 0) + count

    def release(self, creator: str, count: int = 1) -> None:
        """Give back ``count`` reserved declarations (duplicates, failed submissions)."""
        slots = self._slots.get(creator)
        if not slots or count <= 0:
            return
        for slot in sorted(slots, reverse=True):  # newest first: that is what was reserved
            taken = min(count, slots[slot])
            slots[slot] -= taken
            count -= taken
            if not slots[slot]:
                del slots[slot]
            if not count:
                break

    def used(self, creator: str) -> int:
        """Declarations of ``creator`` counted in the current window."""
        return sum(self._window(creator, int(self._clock() // SLOT)).values())

    def _forget_idle(self, now_slot: int) -> None:
        for creator in list(self._slots):
            if not self._window(creator, now_slot):
                del self._slots[creator]
