"""Federation: peers, mirrored logs, witness state, cosignatures, evidence (spec §7, ADR 0007).

Revision ID: 0002
Revises: 0001
Create Date: 2025-12-01
"""

from __future__ import annotations

from collections.abc import Sequence

import sqlalchemy as sa
from alembic import op

revision: str = "0002"
down_revision: str | None = "0001"
branch_labels: str | Sequence[str] | None = None
depends_on: str | Sequence[str] | None = None

# Frozen copy of the types in registry.storage.schema as of this revision.
_ORIGIN = sa.String(255)


def upgrade() -> None:
    """Create the federation tables (the log's own tables are unchanged)."""
    op.create_table(
        "peers",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("url", sa.String(), nullable=False),
        sa.Column("vkey", sa.String(), nullable=False),
        sa.Column("witness_vkey", sa.String(), nullable=True),
        sa.Column("source", sa.String(16), nullable=False),
        sa.Column("seen_size", sa.BigInteger(), nullable=False),
        sa.Column("last_error", sa.String(), nullable=True),
        sa.Column("last_attempt", sa.BigInteger(), nullable=True),
        sa.Column("last_success", sa.BigInteger(), nullable=True),
    )
    op.create_table(
        "mirror_heads",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=True),
        sa.Column("pending", sa.BigInteger(), nullable=False),
    )
    op.create_table(
        "mirror_entries",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("id", sa.String(64), nullable=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_index("ix_mirror_entries_id", "mirror_entries", ["id"])
    op.create_table(
        "mirror_tiles",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
        sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
        sa.Column("data", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "witness_heads",
        sa.Column("origin", _ORIGIN, primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("note", sa.LargeBinary(), nullable=False),
    )
    op.create_table(
        "cosignatures",
        sa.Column("witness", sa.String(), primary_key=True),
        sa.Column("size", sa.BigInteger(), nullable=False),
        sa.Column("root", sa.LargeBinary(), nullable=False),
        sa.Column("line", sa.String(), nullable=False),
    )
    op.create_table(
        "evidence",
        sa.Column("digest", sa.String(64), primary_key=True),
        sa.Column("origin", _ORIGIN, nullable=False),
        sa.Column("kind", sa.String(32), nullable=False),
        sa.Column("note_a", sa.LargeBinary(), nullable=False),
        sa.Column("note_b", sa.LargeBinary(), nullable=False),
        sa.Column("proof", sa.String(), nullable=False),
        sa.Column("root_in_b", sa.LargeBinary(), nullable=False),
        sa.Column("detected_at", sa.BigInteger(), nullable=False),
    )
    op.create_index("ix_evidence_origin", "evidence", ["origin"])


def downgrade() -> None:
    """Drop the federation tables (mirrored logs and evidence are lost; the log is kept)."""
    op.drop_index("ix_evidence_origin", table_name="evidence")
    op.drop_index("ix_mirror_entries_id", table_name="mirror_entries")
    for table in (
        "evidence",
        "cosignatures",
        "witness_heads",
        "mirror_tiles",
        "mirror_entries",
        "mirror_heads",
        "peers",
    ):
        op.drop_table(table)
