"""The node's database schema: one SQLAlchemy Core ``MetaData`` for SQLite and PostgreSQL.

The tables hold one transparency log (ADR 0005):

- ``entries``: every log entry, by index, with its record id (hex SHA-256 of the entry, the
  declaration id) and its bytes.
- ``tiles``: the current contents of every C2SP tlog-tiles hash tile, keyed by (level, index).
  A full tile (256 hashes) never changes; the right-edge partial tile of each level is
  overwritten as it grows, and every shorter partial tile is a prefix of the stored one.
- ``checkpoint``: one row (``id = 1``) with the tree size, root hash and signed checkpoint note,
  updated only by compare-and-swap on ``size`` in the transaction that appends entries.
- ``meta``: name/value facts about this database (the log origin, the verifier key of the node's
  signing key, the schema version). The signing key itself is never in the database (migration
  0004, ADR 0012): the log keeps it in a key file (:mod:`registry.log.custody`).

Federation (spec §7, ADR 0007; migration 0002) adds:

- ``peers``: the configured peers (origin, base URL, verifier keys) and their mirroring status.
- ``mirror_heads``: per peer origin, the latest checkpoint whose entries are all mirrored and
  verified (``size``, ``root``, ``note``), and ``pending``: how far entries and tiles of the
  mirror have been written ahead of that checkpoint (rows beyond ``size`` are not yet covered).
- ``mirror_entries`` and ``mirror_tiles``: the peer's entries and hash tiles, by origin.
- ``witness_heads``: per origin, the latest checkpoint this node cosigned as a C2SP witness.
- ``cosignatures``: witnesses' cosignature lines on this node's own checkpoints.
- ``evidence``: pairs of signed checkpoints of one origin that cannot both be true.

The persistent index (spec §6.11, ADR 0010; migration 0005) is derived from the logs and
written in the transaction that commits the entries it derives from:

- ``index_declarations``: per declaration id (32 raw bytes): creator, issued_at, preferences
  (canonical JSON), withdraw, whether a declaration of the same creator supersedes it, and the
  sorted origins of the logs it was seen in.
- ``index_supersessions``: (target id, superseder id) for every ``supersedes`` entry seen.
- ``index_subjects``: (kind 0 = SHA-256 as 32 raw bytes, 1 = normalised URL as UTF-8, key,
  declaration id) for every subject a declaration mentions, and ``winner``: whether it is its
  creator's winning declaration for that subject (spec §3.5.3).
- ``index_near``: the PDQ hashes and ISCC codes of newly seen works, keyed by the position of
  the entry that introduced them: (origin, ``''`` for the node's own log; entry index; item).

Column types are chosen to mean the same on both databases: ``BigInteger`` indexes (on SQLite
an ``INTEGER PRIMARY KEY`` so ``entries.idx`` is the rowid), ``LargeBinary`` bytes (BLOB /
BYTEA), ``String`` text. The Alembic migrations in :mod:`registry.migrations` create exactly
this schema; a test compares the two.
"""

from __future__ import annotations

import sqlalchemy as sa

__all__ = [
    "SINGLETON_ID",
    "checkpoint",
    "cosignatures",
    "entries",
    "evidence",
    "index_declarations",
    "index_near",
    "index_subjects",
    "index_supersessions",
    "meta",
    "metadata",
    "mirror_entries",
    "mirror_heads",
    "mirror_tiles",
    "peers",
    "tiles",
    "witness_heads",
]

SINGLETON_ID = 1
"""The primary key of the single row in ``checkpoint``."""

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

meta = sa.Table(
    "meta",
    metadata,
    sa.Column("name", sa.String(64), primary_key=True),
    sa.Column("value", sa.String(), nullable=False),
)

# --- federation (spec §7, migration 0002) ------------------------------------------------------

# A log origin is a note key name (spec §5.2); 255 characters is plenty and indexable everywhere.
Origin = sa.String(255)

peers = sa.Table(
    "peers",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("url", sa.String(), nullable=False),
    sa.Column("vkey", sa.String(), nullable=False),
    sa.Column("witness_vkey", sa.String(), nullable=True),
    sa.Column("source", sa.String(16), nullable=False),
    sa.Column("seen_size", sa.BigInteger(), nullable=False),
    sa.Column("last_error", sa.String(), nullable=True),
    sa.Column("last_attempt", sa.BigInteger(), nullable=True),
    sa.Column("last_success", sa.BigInteger(), nullable=True),
)

mirror_heads = sa.Table(
    "mirror_heads",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("root", sa.LargeBinary(), nullable=False),
    sa.Column("note", sa.LargeBinary(), nullable=True),
    sa.Column("pending", sa.BigInteger(), nullable=False),
)

mirror_entries = sa.Table(
    "mirror_entries",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("id", sa.String(64), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sa.Index("ix_mirror_entries_id", "id"),
)

mirror_tiles = sa.Table(
    "mirror_tiles",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("level", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
)

witness_heads = sa.Table(
    "witness_heads",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("root", sa.LargeBinary(), nullable=False),
    sa.Column("note", sa.LargeBinary(), nullable=False),
)

cosignatures = sa.Table(
    "cosignatures",
    metadata,
    sa.Column("witness", sa.String(), primary_key=True),
    sa.Column("size", sa.BigInteger(), nullable=False),
    sa.Column("root", sa.LargeBinary(), nullable=False),
    sa.Column("line", sa.String(), nullable=False),
)

evidence = sa.Table(
    "evidence",
    metadata,
    sa.Column("digest", sa.String(64), primary_key=True),
    sa.Column("origin", Origin, nullable=False),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("note_a", sa.LargeBinary(), nullable=False),
    sa.Column("note_b", sa.LargeBinary(), nullable=False),
    sa.Column("proof", sa.String(), nullable=False),
    sa.Column("root_in_b", sa.LargeBinary(), nullable=False),
    sa.Column("detected_at", sa.BigInteger(), nullable=False),
    sa.Index("ix_evidence_origin", "origin"),
)

# --- the persistent index (spec §6.11, ADR 0010, migration 0005) ------------------------------

index_declarations = sa.Table(
    "index_declarations",
    metadata,
    sa.Column("id", sa.LargeBinary(), primary_key=True),
    sa.Column("creator", sa.String(), nullable=False),
    sa.Column("issued_at", sa.BigInteger(), nullable=False),
    sa.Column("prefs", sa.String(), nullable=False),
    sa.Column("withdraw", sa.Boolean(), nullable=False),
    sa.Column("superseded", sa.Boolean(), nullable=False),
    sa.Column("origins", sa.String(), nullable=False),
    sa.Index("ix_index_declarations_creator", "creator"),
    sqlite_with_rowid=False,
)

index_supersessions = sa.Table(
    "index_supersessions",
    metadata,
    sa.Column("target", sa.LargeBinary(), primary_key=True),
    sa.Column("superseder", sa.LargeBinary(), primary_key=True),
    sqlite_with_rowid=False,
)

index_subjects = sa.Table(
    "index_subjects",
    metadata,
    sa.Column("kind", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("key", sa.LargeBinary(), primary_key=True),
    sa.Column("declaration", sa.LargeBinary(), primary_key=True),
    sa.Column("winner", sa.Boolean(), nullable=False),
    sqlite_with_rowid=False,
)

index_near = sa.Table(
    "index_near",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("idx", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("item", sa.Integer(), primary_key=True, autoincrement=False),
    sa.Column("kind", sa.SmallInteger(), nullable=False),
    sa.Column("sha256", sa.LargeBinary(), nullable=False),
    sa.Column("key", sa.LargeBinary(), nullable=False),
    sa.Column("quality", sa.SmallInteger(), nullable=False),
    sqlite_with_rowid=False,
)

# --- trust records in the persistent index (spec §9, ADR 0017, migration 0006) -----------------

index_trust = sa.Table(
    "index_trust",
    metadata,
    sa.Column("id", sa.LargeBinary(), primary_key=True),
    sa.Column("kind", sa.String(32), nullable=False),
    sa.Column("origins", sa.String(), nullable=False),
    sa.Column("data", sa.LargeBinary(), nullable=False),
    sqlite_with_rowid=False,
)
"""Every trust record (spec §9.3) of the own log and the mirrored logs: its entry bytes."""

index_trust_refs = sa.Table(
    "index_trust_refs",
    metadata,
    sa.Column("ref", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("key", sa.LargeBinary(), primary_key=True),
    sa.Column("record", sa.LargeBinary(), primary_key=True),
    sqlite_with_rowid=False,
)
"""What each trust record is about: ref 0 a SHA-256 subject, 1 a URL subject (attested works),
2 a ``did:key`` (its UTF-8), 3 a declaration id (a counter-statement's target)."""

index_trust_subjects = sa.Table(
    "index_trust_subjects",
    metadata,
    sa.Column("kind", sa.SmallInteger(), primary_key=True, autoincrement=False),
    sa.Column("key", sa.LargeBinary(), primary_key=True),
    sqlite_with_rowid=False,
)
"""Subjects whose answer trust records may change: they are resolved with spec §9.4; every
other subject with §3.5 (the same answer when no trust record applies)."""

mirror_commits = sa.Table(
    "mirror_commits",
    metadata,
    sa.Column("origin", Origin, primary_key=True),
    sa.Column("size", sa.BigInteger(), primary_key=True, autoincrement=False),
    sa.Column("accept_until", sa.BigInteger(), nullable=False),
)
"""Each commit of a mirrored log (spec §2.11, §7.3): entries below ``size`` (and at or above
the previous commit's) count only if their ``issued_at`` is at most ``accept_until``: the time
this node first saw a checkpoint covering them, plus its clock skew."""
