"""Storage: migrations, engine settings and the compare-and-swap, on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa
from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext

from registry.log import database_url_for_data_dir, upgrade
from registry.storage import (
    Head,
    LogStore,
    StoredEntry,
    create_engine,
    current_revision,
    head_revision,
    schema,
)


async def test_upgrade_creates_the_schema_of_the_models(database_url: str) -> None:
    assert await current_revision(database_url) is None
    await upgrade(database_url)
    await upgrade(database_url)  # idempotent
    assert await current_revision(database_url) == head_revision()
    engine = create_engine(database_url)
    try:
        async with engine.connect() as conn:
            diff = await conn.run_sync(
                lambda sync: compare_metadata(MigrationContext.configure(sync), schema.metadata)
            )
            facts = {r.name: r.value for r in await conn.execute(sa.select(schema.meta))}
    finally:
        await engine.dispose()
    assert diff == []
    assert facts == {"hash": "sha256", "tile_height": "8"}


async def test_sqlite_is_durable_and_created_in_its_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet"
    url = database_url_for_data_dir(data_dir)
    assert url == f"sqlite+aiosqlite:///{data_dir.resolve() / 'registry.db'}"
    await upgrade(url)
    assert (data_dir / "registry.db").is_file()
    engine = create_engine(url)
    try:
        async with engine.connect() as conn:
            pragmas = [
                (await conn.exec_driver_sql(f"PRAGMA {name}")).scalar()
                for name in (
                    "journal_mode", "synchronous", "busy_timeout", "foreign_keys", "page_size"
                )
            ]  # fmt: skip
    finally:
        await engine.dispose()
    # synchronous=2 is FULL; a new database gets 8 KiB pages (ADR 0025)
    assert pragmas == ["wal", 2, 30_000, 1, 8192]


async def test_append_is_a_compare_and_swap(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = LogStore(engine)
    try:
        assert await store.head() is None
        assert await store.init_head(Head(0, b"r0", b"note0"))
        assert not await store.init_head(Head(0, b"other", b"other"))
        one = [StoredEntry(0, "aa" * 32, b"entry")]
        assert await store.append(0, Head(1, b"r1", b"note1"), one, [(0, 0, b"t" * 32)])
        # A second writer still at size 0 loses, and writes nothing.
        other = [StoredEntry(0, "bb" * 32, b"other")]
        assert not await store.append(0, Head(1, b"x", b"x"), other, [(0, 0, b"x" * 32)])
        assert await store.head() == Head(1, b"r1", b"note1")
        assert await store.entries(0, 10) == [(0, "aa" * 32, b"entry")]
        assert await store.tiles([(0, 0)]) == {(0, 0): b"t" * 32}
        # A tile is overwritten as it grows; an id already logged cannot be logged again.
        two = [StoredEntry(1, "cc" * 32, b"two")]
        assert await store.append(1, Head(2, b"r2", b"n2"), two, [(0, 0, b"t" * 64)])
        assert await store.tile(0, 0) == b"t" * 64
        again = [StoredEntry(2, "aa" * 32, b"entry")]
        assert not await store.append(2, Head(3, b"r3", b"n3"), again, [])
        assert await store.head() == Head(2, b"r2", b"n2")
        assert await store.indexes_of(["aa" * 32, "cc" * 32, "dd" * 32]) == {
            "aa" * 32: 0,
            "cc" * 32: 1,
        }
        assert (await store.max_index(), await store.entry_count(), await store.tile_count()) == (
            1,
            2,
            1,
        )
        assert await store.find("cc" * 32) == (1, b"two")
    finally:
        await engine.dispose()


async def test_first_stored_meta_wins(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = LogStore(engine)
    try:
        assert await store.init_meta("origin", "one") == "one"
        assert await store.init_meta("origin", "two") == "one"
        assert await store.meta("missing") is None
    finally:
        await engine.dispose()


async def test_put_meta_replaces_the_stored_value(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = LogStore(engine)
    try:
        await store.put_meta("binding_failures", "[]")
        await store.put_meta("binding_failures", '[["a.example"]]')
        assert await store.meta("binding_failures") == '[["a.example"]]'
        await store.put_meta("origin", "first")  # a fresh name is inserted
        assert await store.init_meta("origin", "second") == "first"
    finally:
        await engine.dispose()


async def test_batched_lookups_beyond_one_statement(migrated_url: str) -> None:
    engine = create_engine(migrated_url)
    store = LogStore(engine)
    try:
        await store.init_head(Head(0, b"", b""))
        entries = [StoredEntry(i, f"{i:064x}", b"e") for i in range(4500)]
        tiles = [(0, i, b"h" * 32) for i in range(4500)]
        assert await store.append(0, Head(4500, b"", b""), entries, tiles)
        wanted = [f"{i:064x}" for i in range(0, 9000, 2)]
        assert len(await store.indexes_of(wanted)) == 2250
        assert len(await store.tiles((0, i) for i in range(0, 9000, 2))) == 2250
    finally:
        await engine.dispose()


async def test_federation_migration_downgrades_to_the_log_alone(migrated_url: str) -> None:
    from alembic import command  # noqa: PLC0415

    from registry.storage.migrate import alembic_config  # noqa: PLC0415

    federation = {
        "peers",
        "mirror_heads",
        "mirror_entries",
        "mirror_tiles",
        "witness_heads",
        "cosignatures",
        "evidence",
    }
    engine = create_engine(migrated_url)
    try:
        async with engine.begin() as conn:
            tables = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
            assert federation <= tables
            await conn.run_sync(lambda sync: command.downgrade(alembic_config(sync), "0001"))
        async with engine.connect() as conn:
            left = set(await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names()))
    finally:
        await engine.dispose()
    assert not federation & left
    assert {"entries", "tiles", "checkpoint", "node_key", "meta"} <= left
    await upgrade(migrated_url)
    assert await current_revision(migrated_url) == head_revision() == "0006"
