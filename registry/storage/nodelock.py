"""One running node per data directory and database (docs/operations.md, "Guard rails").

``registry serve`` takes, before it opens the database and keeps until it exits:

- an exclusive ``flock`` on ``<data dir>/registry.lock`` (the data directory holds the SQLite
  database, the snapshots and the key of every node, whatever its database), and for SQLite
  one on ``<database file>.lock`` too (a database named by ``--database-url`` elsewhere);
- for PostgreSQL, no lock: several processes of ONE node may serve one database (issue 15's
  scale-out), and a process of ANOTHER node is refused at start-up by the log's key check
  (its key file is missing, or is not the key the database's log is signed with; ADR 0012).

The kernel releases the file locks when the holder dies, however it dies: a crashed node never
leaves a stale lock behind.
"""

from __future__ import annotations

import contextlib
import fcntl
import os
from collections.abc import Iterator
from pathlib import Path
from typing import Final

__all__ = ["LOCK_FILE", "NodeLockError", "hold_node_lock"]

LOCK_FILE: Final = "registry.lock"


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
    # PostgreSQL: no lock. Several processes of one node may serve one database (more API
    # processes, on one host or several: docs/operations.md "Growing past one machine"); each
    # holds the node's key file, and a process of another node is refused at start-up because
    # its key file is missing or is not the key the database's log is signed with (ADR 0012).
    yield


@contextlib.contextmanager
def hold_node_lock(data_dir: Path, database_url: str) -> Iterator[None]:
    """Hold the data directory's lock and, for a SQLite file elsewhere, the file's lock.

    Raises:
        NodeLockError: a running node holds either (nothing was changed).
    """
    with (
        _file_lock(data_dir / LOCK_FILE, f"data directory {data_dir}"),
        _database_lock(database_url),
    ):
        yield
