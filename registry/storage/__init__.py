"""The node's storage: schema, engine factory, migrations and the log's SQL operations.

- :mod:`~registry.storage.schema`: the tables (SQLAlchemy Core).
- :mod:`~registry.storage.engine`: ``create_engine`` (SQLite WAL / PostgreSQL asyncpg) and
  ``database_url_for_data_dir``.
- :mod:`~registry.storage.migrate`: ``upgrade`` (Alembic, programmatic).
- :mod:`~registry.storage.repository`: :class:`LogStore`, every statement the log issues.
"""

from __future__ import annotations

from registry.storage.engine import create_engine, database_url_for_data_dir, is_sqlite
from registry.storage.migrate import current_revision, head_revision, upgrade
from registry.storage.repository import Head, LogStore, StoredEntry

__all__ = [
    "Head",
    "LogStore",
    "StoredEntry",
    "create_engine",
    "current_revision",
    "database_url_for_data_dir",
    "head_revision",
    "is_sqlite",
    "upgrade",
]
