"""One running node per data directory and database (docs/operations.md, "Guard rails").

``registry serve`` takes, before it opens the database and keeps until it exits:

- an exclusive ``flock`` on ``<data dir>/registry.lock`` (the data directory holds the SQLite
  database, the snapshots and the key of every node, whatever its database), and for SQLite
  one on ``<database file>.lock`` too (a database named by ``--database-url`` elsewhere);
- for PostgreSQL, also a session-level advisory lock (``pg_try_advisory_lock``) on a connection
  held open by a thread of the serving process, so that a second node on another host, or with
  another data directory, cannot serve the same database either.

The kernel releases the file lock and PostgreSQL the advisory lock when the holder dies,
however it dies: a crashed node never leaves a stale lock behind. Both checks also guard what
the database's compare-and-swap writes cannot: two nodes serving one log under two keys or two
index states, each answering part of the clients.
"""

from __future__ import annotations

import asyncio
import contextlib
import fcntl
import os
import threading
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = ["ADVISORY_KEY", "LOCK_FILE", "NodeLockError", "hold_node_lock"]

LOCK_FILE: Final = "registry.lock"
ADVISORY_KEY: Final = 0x636F6E73656E74  # "consent": the advisory lock of a node's database


class NodeLockError(RuntimeError):
    """Another running node holds the data directory or the database."""


@contextlib.contextmanager
def _file_lock(path: Path, what: str) -> Iterator[None]:
    path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
    fd = os.open(path, os.O_RDWR | os.O_CREAT | os.O_CLOEXEC, 0o600)
    try:
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise NodeLockError(f"{what} is in use by a running node ({path} is locked)") from None
        os.ftruncate(fd, 0)
        os.write(fd, f"{os.getpid()}\n".encode())
        yield
    finally:
        os.close(fd)  # releases the lock


class _AdvisoryLock(threading.Thread):
    """Holds ``pg_try_advisory_lock`` on a connection of its own event loop until stopped."""

    def __init__(self, dsn: str) -> None:
        super().__init__(name="registry-node-lock", daemon=True)
        self.dsn = dsn
        self.ready = threading.Event()
        self.error: BaseException | None = None
        self.held = False
        self._loop: asyncio.AbstractEventLoop | None = None
        self._release: asyncio.Event | None = None

    def run(self) -> None:
        asyncio.run(self._hold())

    async def _hold(self) -> None:
        import asyncpg  # noqa: PLC0415 - only PostgreSQL nodes need it

        self._loop = asyncio.get_running_loop()
        self._release = asyncio.Event()
        try:
            connection = await asyncpg.connect(self.dsn, timeout=30)
        except BaseException as exc:
            self.error = exc
            self.ready.set()
            return
        try:
            self.held = bool(
                await connection.fetchval("SELECT pg_try_advisory_lock($1)", ADVISORY_KEY)
            )
            self.ready.set()
            if self.held:
                await self._release.wait()
        except BaseException as exc:
            self.error = exc
            self.ready.set()
        finally:
            with contextlib.suppress(Exception):
                await connection.close(timeout=5)

    def stop(self) -> None:
        if self._loop is not None and self._release is not None:
            with contextlib.suppress(RuntimeError):  # the loop has ended already
                self._loop.call_soon_threadsafe(self._release.set)
        self.join(timeout=10)


@contextlib.contextmanager
def _database_lock(database_url: str) -> Iterator[None]:
    from sqlalchemy.engine import make_url  # noqa: PLC0415

    url = make_url(database_url)
    if url.get_backend_name() == "sqlite":
        if url.database and url.database != ":memory:":
            database = Path(url.database)
            with _file_lock(database.with_name(database.name + ".lock"), f"database {database}"):
                yield
        else:
            yield
        return
    if url.get_backend_name() != "postgresql":
        yield
        return
    dsn = url.set(drivername="postgresql").render_as_string(hide_password=False)
    holder = _AdvisoryLock(dsn)
    holder.start()
    holder.ready.wait()
    try:
        if holder.error is not None:
            message = str(holder.error).splitlines()[0] if str(holder.error) else ""
            raise NodeLockError(
                f"cannot lock the database: {type(holder.error).__name__}: {message}"
            )
        if not holder.held:
            raise NodeLockError(
                "the database is in use by a running node (its advisory lock is held)"
            )
        yield
    finally:
        holder.stop()


@contextlib.contextmanager
def hold_node_lock(data_dir: Path, database_url: str) -> Iterator[None]:
    """Hold the data directory's lock and, for PostgreSQL, the database's advisory lock.

    Raises:
        NodeLockError: a running node holds either (nothing was changed).
    """
    with (
        _file_lock(data_dir / LOCK_FILE, f"data directory {data_dir}"),
        _database_lock(database_url),
    ):
        yield
