"""The initial schema: entries, tiles, checkpoint, node_key, meta (ADR 0005).

Revision ID: 0001
Revises:
Create Date: 2025-11-21
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0001"
down_revision: str | None = None
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the types in registry.storage.schema as of this revision.
_INDEX64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")


def upgrade() -> None:
    """Create the log tables and record the fixed facts of the storage format."""
    op.create_table(
        "entries",
        sa.Column("idx", _INDEX64, primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sa.UniqueConstraint("id", name="uq_entries_id"),
    )
    op.create_table(
        "tiles",
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "checkpoint",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_checkpoint_singleton"),
    )
    op.create_table(
        "node_key",
        sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("signing_key", sa.String(), nullable=False),
        sa.CheckConstraint("id = 1", name="ck_node_key_singleton"),
    )
    meta = op.create_table(
        "meta",
        sa.Column("name", sa.String(64), primary_key=True),
        sa.Column("value", sa.String(), nullable=False),
    )
    op.bulk_insert(
        meta,
        [
            {"name": "hash", "value": "sha256"},
            {"name": "tile_height", "value": "8"},
        ],
    )


def downgrade() -> None:
    """Drop every table (this loses the log)."""
    for table in ("meta", "node_key", "checkpoint", "tiles", "entries"):
        op.drop_table(table)
