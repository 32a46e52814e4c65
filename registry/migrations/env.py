"""Alembic environment: migrate the connection handed over by ``registry.storage.migrate``."""

from __future__ import annotations

from alembic import context

from registry.storage.schema import metadata

config = context.config
connection = config.attributes.get("connection")
if connection is None:
    raise RuntimeError(
        "registry migrations run through registry.storage.migrate.upgrade() "
        "(or `registry db upgrade`), which supplies the database connection"
    )

# render_as_batch lets later ALTERs run on SQLite (copy-and-move), and is a no-op elsewhere.
context.configure(connection=connection, target_metadata=metadata, render_as_batch=True)
with context.begin_transaction():
    context.run_migrations()
