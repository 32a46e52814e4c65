"""The node's database schema: one SQLAlchemy Core ``MetaData`` for SQLite and PostgreSQL.

The tables hold one transparency log (ADR 0005):

- ``entries``: every log entry, by index, with its record id (hex SHA-256 of the entry, the
  declaration id) and its bytes.
- ``tiles``: the current contents of every C2SP tlog-tiles hash tile, keyed by (level, index).
  A full tile (256 hashes) never changes; the right-edge partial tile of each level is
  overwritten as it grows, and every shorter partial tile is a prefix of the stored one.
- ``checkpoint``: one row (``id = 1``) with the tree size, root hash and signed checkpoint note,
  updated only by compare-and-swap on ``size`` in the transaction that appends entries.
- ``node_key``: one row (``id = 1``) with the node's C2SP signing key string. Never logged.
- ``meta``: name/value facts about this database (the log origin, the schema version).

Column types are chosen to mean the same on both databases: ``BigInteger`` indexes (on SQLite
an ``INTEGER PRIMARY KEY`` so ``entries.idx`` is the rowid), ``LargeBinary`` bytes (BLOB /
BYTEA), ``String`` text. The Alembic migrations in :mod:`registry.migrations` create exactly
this schema; a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = ["SINGLETON_ID", "checkpoint", "entries", "meta", "metadata", "node_key", "tiles"]

SINGLETON_ID = 1
"""The primary key of the single row in ``checkpoint`` and ``node_key``."""

metadata = sa.MetaData()

# A 64-bit integer everywhere, except that SQLite only makes a rowid alias of a column declared
# exactly "INTEGER PRIMARY KEY" (SQLite is 64-bit either way).
Index64 = sa.BigInteger().with_variant(sa.Integer(), "sqlite")

entries = sa.Table(
    "entries",
    metadata,
    sa.Column("idx", Index64, primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.UniqueConstraint("id", name="uq_entries_id"),
)

tiles = sa.Table(
    "tiles",
    metadata,
    sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
)

checkpoint = sa.Table(
    "checkpoint",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("root", sa.LargeBinary(), nullable=False),
    sa.Column("note", sa.LargeBinary(), nullable=False),
    sa.CheckConstraint("id = 1", name="ck_checkpoint_singleton"),
)

node_key = sa.Table(
    "node_key",
    metadata,
    sa.Column("id", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("signing_key", sa.String(), nullable=False),
    sa.CheckConstraint("id = 1", name="ck_node_key_singleton"),
)

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(), nullable=False),
)
