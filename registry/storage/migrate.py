"""Run the Alembic migrations programmatically (no ``alembic.ini`` needed at run time)."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory
from sqlalchemy.engine import Connection
from sqlalchemy.ext.asyncio import AsyncEngine

import registry.migrations
from registry.storage.engine import create_engine

__all__ = [
    "alembic_config",
    "current_revision",
    "head_revision",
    "schema_revision",
    "upgrade",
]

MIGRATIONS_DIR = Path(registry.migrations.__file__).resolve().parent


def alembic_config(connection: Connection | None = None, *, custody: object = None) -> Config:
    """Return an Alembic ``Config`` for :mod:`registry.migrations`, bound to ``connection``.

    ``custody`` (a :class:`registry.log.custody.KeyCustody`): where migration 0004 moves a node
    signing key stored in the database (None: ``node.key`` beside an SQLite database).
    """
    config = Config()
    config.set_main_option("script_location", str(MIGRATIONS_DIR))
    if connection is not None:
        config.attributes["connection"] = connection
    config.attributes["custody"] = custody
    return config


def head_revision() -> str:
    """Return the newest migration revision shipped with this code."""
    head = ScriptDirectory.from_config(alembic_config()).get_current_head()
    if head is None:  # pragma: no cover - the package always ships revisions
        raise RuntimeError("no migrations found in registry.migrations")
    return head


async def upgrade(database_url: str, *, custody: object = None) -> None:
    """Migrate the database at ``database_url`` to the newest schema (``alembic upgrade head``).

    Idempotent; works for SQLite (creating the file and its directory) and PostgreSQL. An old
    database's node signing key is moved to ``custody`` (ADR 0012; a
    :class:`registry.log.custody.KeyCustody`, None: ``node.key`` beside an SQLite database);
    on SQLite the write-ahead log is then truncated, so no copy of the key
    is left in the database's files. Raises SQLAlchemy errors if the database is unreachable,
    and :class:`registry.log.errors.NodeConfigError` if the key cannot be moved.
    """
    engine = create_engine(database_url)
    moved = False

    def run(sync: Connection) -> None:
        nonlocal moved
        config = alembic_config(sync, custody=custody)
        command.upgrade(config, "head")
        moved = bool(config.attributes.get("key_moved"))

    try:
        async with engine.begin() as conn:
            await conn.run_sync(run)
        if moved and engine.dialect.name == "sqlite":
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


async def schema_revision(engine: AsyncEngine) -> tuple[str | None, str]:
    """Return (the database's current revision or None, this code's head revision)."""
    async with engine.connect() as conn:
        current = await conn.run_sync(
            lambda sync: MigrationContext.configure(sync).get_current_revision()
        )
    return current, head_revision()


async def current_revision(database_url: str) -> str | None:
    """Return the database's current migration revision, or None if it was never migrated."""
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            return await conn.run_sync(
                lambda sync: MigrationContext.configure(sync).get_current_revision()
            )
    finally:
        await engine.dispose()
