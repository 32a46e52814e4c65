"""Which worker process runs the federation tasks (spec §7.2).

``registry serve --workers N`` runs N processes over one database. Each of them answers the
federation endpoints (everything they need is in the database), but only one, the *leader*,
runs the mirror tasks and the pusher: N copies would fetch the same tiles N times. The leader
is the process holding an exclusive ``flock`` on a lock file named after the database; when it
dies the kernel releases the lock and another worker takes over at its next try. Correctness
never depends on the lock: every write is a compare-and-swap in the database, so two leaders
(e.g. on two hosts sharing one PostgreSQL database) are wasteful, never wrong.
"""

from __future__ import annotations

import contextlib
import fcntl
import hashlib
import os
import tempfile
from pathlib import Path

__all__ = ["LeaderLock", "lock_path"]


def lock_path(database_url: str) -> Path:
    """The lock file of the database at ``database_url`` (in the system's temp directory)."""
    digest = hashlib.sha256(database_url.encode()).hexdigest()[:24]
    return Path(tempfile.gettempdir()) / f"consent-registry-federation-{digest}.lock"


class LeaderLock:
    """A non-blocking exclusive lock; :meth:`try_acquire` until it returns True."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._fd: int | None = None

    @property
    def held(self) -> bool:
        """True while this process holds the lock."""
        return self._fd is not None

    def try_acquire(self) -> bool:
        """Take the lock if it is free; True if this process holds it now."""
        if self._fd is not None:
            return True
        fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            os.close(fd)
            return False
        self._fd = fd
        return True

    def release(self) -> None:
        """Give the lock up (closing the file releases the flock)."""
        if self._fd is not None:
            with contextlib.suppress(OSError):
                fcntl.flock(self._fd, fcntl.LOCK_UN)
            os.close(self._fd)
            self._fd = None
