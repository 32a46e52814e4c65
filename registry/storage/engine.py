"""Async engine factory for the node's database: SQLite (embedded default) or PostgreSQL.

SQLite is opened in WAL mode with ``synchronous=FULL``, so a committed transaction (and so an
acknowledged log entry) survives power loss, and readers never block the writer. PostgreSQL is
reached through asyncpg with its default ``synchronous_commit = on``.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

from sqlalchemy import event
from sqlalchemy.engine import URL, make_url
from sqlalchemy.ext.asyncio import AsyncConnection, AsyncEngine, create_async_engine

__all__ = [
    "SQLITE_BUSY_TIMEOUT_MS",
    "SQLITE_FILE_NAME",
    "SQLITE_PAGE_SIZE",
    "create_engine",
    "database_url_for_data_dir",
    "is_sqlite",
    "read_snapshot",
]

SQLITE_FILE_NAME = "registry.db"
"""The database file the node keeps in its data directory."""

SQLITE_BUSY_TIMEOUT_MS = 30_000
"""How long a SQLite connection waits for another writer's lock before failing."""

SQLITE_MMAP_BYTES = 1 << 36
"""Address space SQLite may map of the database file (64 GiB; resident only as read)."""
SQLITE_CACHE_KIB = 32_768
"""Page cache per connection for pages being written (32 MiB)."""

SQLITE_PAGE_SIZE = 8192
"""Page size of a new SQLite database (ADR 0025). With SQLite's default of 4096 bytes a
declaration of 10 works (~2.4 KB) fills a page of ``entries`` alone, wasting ~40% of the log's
space; 8192-byte pages hold three. It applies only when the file is created (before the first
table): an existing database keeps its page size (``VACUUM`` outside WAL mode changes it)."""

_SQLITE_PRAGMAS = (
    f"PRAGMA page_size={SQLITE_PAGE_SIZE}",  # first: before WAL mode and the first table
    "PRAGMA journal_mode=WAL",
    "PRAGMA synchronous=FULL",
    f"PRAGMA busy_timeout={SQLITE_BUSY_TIMEOUT_MS}",
    "PRAGMA foreign_keys=ON",
    # ADR 0010: the index tables are read through a shared memory map (the OS page cache,
    # shared by every worker process) rather than copied into each connection's page cache
    f"PRAGMA mmap_size={SQLITE_MMAP_BYTES}",
    f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}",
)


def database_url_for_data_dir(data_dir: Path) -> str:
    """Return the SQLAlchemy URL of the node's SQLite database inside ``data_dir``.

    The directory is not created here; :func:`create_engine` creates it on first use.
    """
    path = Path(data_dir).expanduser().resolve() / SQLITE_FILE_NAME
    return f"sqlite+aiosqlite:///{path}"


def is_sqlite(database_url: str | URL) -> bool:
    """Return True if ``database_url`` names a SQLite database."""
    return make_url(database_url).get_backend_name() == "sqlite"


def create_engine(database_url: str, **options: Any) -> AsyncEngine:
    """Create an async engine for ``database_url``, configured for durability.

    For a SQLite file, the parent directory is created if missing and every connection sets
    WAL mode, ``synchronous=FULL``, a busy timeout and foreign keys. Other URLs (PostgreSQL via
    ``postgresql+asyncpg://``) are passed to SQLAlchemy unchanged. Raises
    ``sqlalchemy.exc.ArgumentError`` for a malformed URL.
    """
    url = make_url(database_url)
    if url.get_backend_name() != "sqlite":
        return create_async_engine(url, pool_pre_ping=True, **options)
    if url.database and url.database != ":memory:":
        Path(url.database).expanduser().parent.mkdir(parents=True, exist_ok=True)
    engine = create_async_engine(url, **options)
    event.listen(engine.sync_engine, "connect", _configure_sqlite)
    return engine


def _configure_sqlite(dbapi_connection: Any, _record: Any) -> None:
    """Apply the node's SQLite pragmas to a new DBAPI connection."""
    cursor = dbapi_connection.cursor()
    try:
        for pragma in _SQLITE_PRAGMAS:
            cursor.execute(pragma)
    finally:
        cursor.close()


@asynccontextmanager
async def read_snapshot(engine: AsyncEngine) -> AsyncIterator[AsyncConnection]:
    """A connection whose reads all see ONE snapshot of the database, until the block ends
    (then it rolls back: it is for reading only).

    PostgreSQL: a ``REPEATABLE READ`` transaction. SQLite: pysqlite emits no ``BEGIN`` before a
    ``SELECT`` (its implicit transactions start at the first write), so without one every
    statement would read the latest commit; an explicit ``BEGIN`` makes the reads one read
    transaction, whose WAL snapshot is taken at its first read and held to the end (writers
    go on meanwhile; the WAL cannot be checkpointed past that snapshot until it ends).
    """
    async with engine.connect() as conn:
        if conn.dialect.name == "postgresql":
            await conn.execution_options(isolation_level="REPEATABLE READ")
            await conn.begin()
        else:
            await conn.exec_driver_sql("BEGIN")
        try:
            yield conn
        finally:
            await conn.rollback()
