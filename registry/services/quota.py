"""Caps on what one key, one client address and one platform may have logged (issue 7, issue 12
item 6): admission by identity.

:class:`Admission` decides per signed record (docs/operations.md "Admission by identity"):

- an **unverified** key (no identity evidence, spec §9.1) may have ``per_key`` records accepted
  per sliding hour, and all unverified keys submitting from one client address (an IPv6
  client by its /64) together ``per_address``: minting keys does not multiply what one client
  may write;
- a **verified** key (a domain binding by a trusted node, or a trusted platform's attestation)
  ``per_verified_key``, and no address cap;
- a trusted platform's attestations count their attested works against its own daily quota
  (the trusted-platforms file, spec §9.6), not against the key caps.

:class:`CreatorQuota` is the sliding-window counter all of them use:

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
from dataclasses import dataclass
from typing import Final

__all__ = ["DAY", "Admission", "CreatorQuota", "Ticket"]

WINDOW: Final = 3600
"""Seconds of the default sliding window."""
DAY: Final = 86_400
SLOT: Final = 60
"""Seconds per counted slot."""
_MAX_KEYS: Final = 200_000
"""Creators remembered at most; beyond, windows that have fully expired are forgotten."""


class CreatorQuota:
    """Sliding-hour counts of accepted declarations per creator key."""

    def __init__(
        self,
        per_hour: int,
        *,
        window: int = WINDOW,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if per_hour < 1:
            raise ValueError("per_hour must be at least 1")
        self.per_hour = per_hour  # per window
        self.window = window
        self._clock = clock
        self._slots: dict[str, dict[int, int]] = {}  # creator -> slot number -> count

    def _window(self, creator: str, now_slot: int) -> dict[int, int]:
        """The creator's live slots (expired ones dropped)."""
        slots = self._slots.get(creator)
        if slots is None:
            return {}
        oldest = now_slot - self.window // SLOT + 1
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
            return float(self.window)
        # wait until enough of the oldest slots leave the window
        excess = used + count - self.per_hour
        for slot in sorted(slots):
            excess -= slots[slot]
            if excess <= 0:
                return max(1.0, (slot + 1) * SLOT + self.window - SLOT - now)
        return float(self.window)  # pragma: no cover - the loop always covers ``excess``

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


@dataclass(frozen=True, slots=True)
class Ticket:
    """What :meth:`Admission.reserve` counted, to give back with :meth:`Admission.release`."""

    counters: tuple[tuple[CreatorQuota, str, int], ...] = ()


class Admission:
    """Admission by identity: the key, address and platform caps of one worker process."""

    def __init__(
        self,
        *,
        per_key: int,
        per_verified_key: int,
        per_address: int,
        per_address_checks: int = 0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        def counter(limit: int) -> CreatorQuota | None:
            return CreatorQuota(limit, clock=clock) if limit > 0 else None

        self.keys = counter(per_key)
        self.verified_keys = counter(per_verified_key)
        self.addresses = counter(per_address)
        self.checks = counter(per_address_checks)
        self.platforms: dict[str, CreatorQuota] = {}
        self._clock = clock

    def reserve(self, key: str, *, verified: bool, address: str | None) -> tuple[float, Ticket]:
        """Count one record signed by ``key`` from ``address``: (0.0, ticket) if admitted,
        else (seconds to wait, an empty ticket) and nothing is counted."""
        plan: list[tuple[CreatorQuota, str]] = []
        if verified:
            if self.verified_keys is not None:
                plan.append((self.verified_keys, key))
        else:
            if self.keys is not None:
                plan.append((self.keys, key))
            if self.addresses is not None and address:
                plan.append((self.addresses, address))
        return self._take([(c, k, 1) for c, k in plan])

    def reserve_check(self, address: str) -> float:
        """Count one domain check (``POST /v1/bindings``, spec §9.2) asked from ``address``:
        0.0, or the seconds to wait. Checks make the node fetch from the network, so each
        address gets few of them an hour."""
        if self.checks is None:
            return 0.0
        return self.checks.reserve(address)

    def reserve_platform(self, platform: str, works: int, per_day: int) -> tuple[float, Ticket]:
        """Count ``works`` attested works of a trusted platform against its daily quota."""
        counter = self.platforms.get(platform)
        if counter is None or counter.per_hour != max(1, per_day):
            counter = self.platforms[platform] = CreatorQuota(
                max(1, per_day), window=DAY, clock=self._clock
            )
        if per_day == 0:
            return float(DAY), Ticket()
        return self._take([(counter, platform, works)])

    @staticmethod
    def _take(plan: list[tuple[CreatorQuota, str, int]]) -> tuple[float, Ticket]:
        taken: list[tuple[CreatorQuota, str, int]] = []
        for counter, key, count in plan:
            wait = counter.reserve(key, count)
            if wait:
                for done, done_key, done_count in taken:
                    done.release(done_key, done_count)
                return wait, Ticket()
            taken.append((counter, key, count))
        return 0.0, Ticket(tuple(taken))

    @staticmethod
    def charge(ticket: Ticket) -> None:
        """Count again what ``ticket`` counted (a duplicate answered despite the quota)."""
        for counter, key, count in ticket.counters:
            counter.charge(key, count)

    @staticmethod
    def release(ticket: Ticket) -> None:
        """Give back what ``ticket`` counted (duplicates, failed submissions)."""
        for counter, key, count in ticket.counters:
            counter.release(key, count)
