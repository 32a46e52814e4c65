"""The node signing key leaves the database (issue 11 item 4, ADR 0012).

An existing node's key (the ``node_key`` row) is written to its key file, and only then is the
table dropped, in the migration's transaction: a crash before the commit leaves the row (and
perhaps an identical key file, which the retry accepts), a crash after it leaves the file. The
public half is recorded as ``meta.verifier_key``. On SQLite the freed pages are zeroed
(``secure_delete``) so the key does not linger in the database file; the caller
(:func:`registry.storage.migrate.upgrade`) then truncates the write-ahead log.

The key custody comes from the caller (``config.attributes["custody"]``: ``registry serve``,
``init`` and ``db upgrade`` pass the file ``REGISTRY_SIGNING_KEY_FILE`` names, or the data
directory's ``node.key``); for SQLite it defaults to ``node.key`` beside the database file.

Revision ID: 0004
Revises: 0002
Create Date: 2026-12-04
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import TYPE_CHECKING

import sqlalchemy as sa
from alembic import context, op

from registry.log.errors import NodeConfigError

if TYPE_CHECKING:
    from registry.log.custody import KeyCustody

revision: str = "0004"
down_revision: str | None = "0002"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_node_key = sa.table(
    "node_key", sa.column("id", sa.Integer()), sa.column("signing_key", sa.String())
)
_meta = sa.table("meta", sa.column("name", sa.String()), sa.column("value", sa.String()))


def _custody(bind: sa.Connection) -> KeyCustody:
    from registry.log.custody import default_custody  # noqa: PLC0415

    given: KeyCustody | None = context.config.attributes.get("custody")
    return given if given is not None else default_custody(str(bind.engine.url))


def upgrade() -> None:
    """Write the stored key to the key file, record its public half, drop ``node_key``."""
    from registry.log.custody import parse_signing_key  # noqa: PLC0415

    bind = op.get_bind()
    stored = bind.execute(sa.select(_node_key.c.signing_key)).scalar()
    if stored is not None:
        signer = parse_signing_key(str(stored), "the signing key stored in the database")
        _custody(bind).create(signer)  # durable before the row goes
        context.config.attributes["key_moved"] = True
        known = bind.execute(
            sa.select(_meta.c.value).where(_meta.c.name == "verifier_key")
        ).scalar()
        if known is None:
            op.execute(_meta.insert().values(name="verifier_key", value=signer.verifier.vkey))
    if bind.dialect.name == "sqlite":
        op.execute("PRAGMA secure_delete = ON")  # zero the pages the key was on
        op.execute(_node_key.delete())
    op.drop_table("node_key")


def downgrade() -> None:
    """Put the key back into a ``node_key`` table (from the key file, if it is there)."""
    table = op.create_table(
        "node_key",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("signing_key", sa.String(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_node_key_singleton"),
    )
    bind = op.get_bind()
    try:
        custody = _custody(bind)
    except NodeConfigError:  # a PostgreSQL database downgraded without its key file: no key
        custody = None
    signer = custody.load() if custody is not None else None
    if signer is not None:
        op.bulk_insert(table, [{"id": 1, "signing_key": signer.skey}])
    op.execute(_meta.delete().where(_meta.c.name == "verifier_key"))
