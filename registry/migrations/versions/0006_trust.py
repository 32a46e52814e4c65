"""Trust records in the persistent index (spec §9, ADR 0017): create their tables and index the
trust records already stored.

Revision ID: 0006
Revises: 0005
Create Date: 2026-12-04

Before this revision a node refused trust records (spec §0.3) and its mirrors did too, so the
logs hold none and the backfill usually finds nothing; it still runs
:func:`registry.storage.trust.apply_trust` over every stored entry, in the migration's
transaction, so that the index equals what ``registry index rebuild`` computes.
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0006"
down_revision: str | None = "0005"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

_PAGE = 5000


def upgrade() -> None:
    """Create the trust tables, then index the trust records already logged."""
    op.create_table(
        "index_trust",
        sa.Column("id", sa.LargeBinary(), primary_key=True),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("origins", sa.String(), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "index_trust_refs",
        sa.Column("ref", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.LargeBinary(), primary_key=True),
        sa.Column("record", sa.LargeBinary(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "index_trust_subjects",
        sa.Column("kind", sa.SmallInteger(), primary_key=True, autoincrement=False),
        sa.Column("key", sa.LargeBinary(), primary_key=True),
        sqlite_with_rowid=False,
    )
    op.create_table(
        "mirror_commits",
        sa.Column("origin", sa.String(255), primary_key=True),
        sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("accept_until", sa.BigInteger(), nullable=False),
    )
    # mirrored entries committed before this revision were indexed whatever their time
    op.execute(
        "INSERT INTO mirror_commits (origin, size, accept_until) "
        "SELECT origin, size, 4611686018427387904 FROM mirror_heads WHERE size > 0"
    )
    _backfill()


def _backfill() -> None:
    """Index the own log (up to its checkpoint) and every mirrored log (up to its commit)."""
    from registry.storage.trust import apply_trust  # noqa: PLC0415 - the code of this release

    conn = op.get_bind()
    size = conn.scalar(sa.text("SELECT size FROM checkpoint WHERE id = 1"))
    origin = conn.scalar(sa.text("SELECT value FROM meta WHERE name = 'origin'"))
    if size and origin is not None:
        for start in range(0, int(size), _PAGE):
            rows = conn.execute(
                sa.text("SELECT idx, data FROM entries WHERE idx >= :a AND idx < :b ORDER BY idx"),
                {"a": start, "b": min(int(size), start + _PAGE)},
            )
            apply_trust(conn, str(origin), [(int(r[0]), bytes(r[1])) for r in rows])
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
            apply_trust(conn, str(peer), [(int(r[0]), bytes(r[1])) for r in rows])


def downgrade() -> None:
    """Drop the trust tables (they are derived; the logs are untouched)."""
    op.drop_table("mirror_commits")
    op.drop_table("index_trust_subjects")
    op.drop_table("index_trust_refs")
    op.drop_table("index_trust")
