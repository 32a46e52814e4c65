"""The persistent index (spec §6.11, ADR 0010): create its tables and backfill them from the logs.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-04

The backfill indexes every entry of the node's own log, then every committed entry of each
mirrored log, with :func:`registry.storage.index.apply_entries` (the code that indexes new
entries at integration), in the migration's transaction: an upgraded node starts with an index
equal to what ``registry index rebuild`` computes, and a failed upgrade leaves nothing behind.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0005"
down_revision: str | None = "0004"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_ORIGIN = sa.String(255)
_PAGE = 5000


def upgrade() -> None:
    """Create the index tables, then index the logs already stored."""
    op.create_table(
        "index_declarations",
        sa.Column("id", sa.LargeBinary(), primary_key=True),
        sa.Column("creator", sa.String(), nullable=False),
        sa.Column("issued_at", sa.BigInteger(), nullable=False),
        sa.Column("prefs", sa.String(), nullable=False),
        sa.Column("withdraw", sa.Boolean(), nullable=False),
        sa.Column("superseded", sa.Boolean(), nullable=False),
        sa.Column("origins", sa.String(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_index("ix_index_declarations_creator", "index_declarations", ["creator"])
    op.create_table(
        "index_supersessions",
        sa.Column("target", sa.LargeBinary(), primary_key=True),
        sa.Column("superseder", sa.LargeBinary(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "index_subjects",
        sa.Column("kind", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.LargeBinary(), primary_key=True),
        sa.Column("declaration", sa.LargeBinary(), primary_key=True),
        sa.Column("winner", sa.Boolean(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "index_near",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("item", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("kind", sa.SmallInteger(), nullable=False),
        sa.Column("sha256", sa.LargeBinary(), nullable=False),
        sa.Column("key", sa.LargeBinary(), nullable=False),
        sa.Column("quality", sa.SmallInteger(), nullable=False),
        sqlite_with_rowid=False,
    )
    backfill(op.get_bind())


def backfill(conn: sa.Connection) -> None:
    """Index the own log (up to its checkpoint) and every mirrored log (up to its commit)."""
    from registry.storage.index import apply_entries  # noqa: PLC0415 - the code of this release

    size = conn.scalar(sa.text("SELECT size FROM checkpoint WHERE id = 1"))
    origin = conn.scalar(sa.text("SELECT value FROM meta WHERE name = 'origin'"))
    if size and origin is not None:
        for start in range(0, int(size), _PAGE):
            rows = conn.execute(
                sa.text("SELECT idx, data FROM entries WHERE idx >= :a AND idx < :b ORDER BY idx"),
                {"a": start, "b": min(int(size), start + _PAGE)},
            )
            apply_entries(conn, str(origin), [(int(r[0]), bytes(r[1])) for r in rows], own=True)
    heads = conn.execute(sa.text("SELECT origin, size FROM mirror_heads ORDER BY origin")).all()
    for peer, committed in heads:
        for start in range(0, int(committed), _PAGE):
            rows = conn.execute(
                sa.text(
                    "SELECT idx, data FROM mirror_entries WHERE origin = :o AND idx >= :a "
                    "AND idx < :b ORDER BY idx"
                ),
                {"o": peer, "a": start, "b": min(int(committed), start + _PAGE)},
            )
            apply_entries(conn, str(peer), [(int(r[0]), bytes(r[1])) for r in rows], own=False)


def downgrade() -> None:
    """Drop the index tables (they are derived; the logs are untouched)."""
    op.drop_table("index_near")
    op.drop_table("index_subjects")
    op.drop_table("index_supersessions")
    op.drop_index("ix_index_declarations_creator", table_name="index_declarations")
    op.drop_table("index_declarations")
