"""The node signing key lives in a key file, never in the database (issue 11 item 4, ADR 0012).

On SQLite and PostgreSQL: a new node's database holds only the public key, the key file is
0600 in a 0700 directory, a restart reuses the key, a missing or wrong key file is refused
with one line, and an old database (migration head 0002, key in ``node_key``) is upgraded by
moving the key out: file first, then the row, crash-safely and idempotently.
"""

from __future__ import annotations

import base64
import hashlib
import stat
from pathlib import Path

import pytest
import sqlalchemy as sa
from alembic import command

from registry.core.checkpoint import open_checkpoint
from registry.core.note import NoteSigner, NoteVerifier
from registry.log import NodeConfigError, NodeLog, upgrade, verify_log
from registry.log.custody import KeyFile, default_custody
from registry.storage import create_engine
from registry.storage.migrate import alembic_config, current_revision, head_revision
from tests.conftest import MakeEntries
from tests.node.test_cli import run

ORIGIN = "custody.test/log"


def signer(label: str, name: str = ORIGIN) -> NoteSigner:
    return NoteSigner.from_seed(name, hashlib.sha256(label.encode()).digest())


def secrets_of(key: NoteSigner) -> list[bytes]:
    """Every form the private key could be stored in: the string, its base64 material, the
    raw seed."""
    material = key.skey.split("+", 4)[4]
    seed = base64.b64decode(material)[1:]
    return [key.skey.encode(), material.encode(), seed]


async def database_dump(database_url: str) -> bytes:
    """Every row of every table, as text: what a logical backup (pg_dump) would hold."""
    engine = create_engine(database_url)
    parts: list[str] = []
    try:
        async with engine.connect() as conn:
            tables = await conn.run_sync(lambda sync: sa.inspect(sync).get_table_names())
            for table in tables:
                rows = await conn.execute(sa.text(f'SELECT * FROM "{table}"'))
                parts += [table, *(repr(tuple(row)) for row in rows)]
    finally:
        await engine.dispose()
    return "\n".join(parts).encode()


def database_files(database_url: str) -> bytes:
    """The raw bytes of an SQLite database's files (empty for PostgreSQL): a file backup."""
    if not database_url.startswith("sqlite"):
        return b""
    path = Path(database_url.split("///", 1)[1])
    return b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*") if p.is_file())


async def assert_no_private_key(database_url: str, key: NoteSigner) -> None:
    dump, files = await database_dump(database_url), database_files(database_url)
    for secret in secrets_of(key):
        assert secret not in dump
        assert secret not in files
    assert key.verifier.vkey.encode() in dump  # the public half is kept


def mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


async def test_new_node_keeps_only_the_public_key_in_the_database(
    migrated_url: str, key_file: KeyFile
) -> None:
    log = await NodeLog.open(migrated_url, origin=ORIGIN, custody=key_file)
    await log.close()
    key = key_file.load()
    assert key is not None
    assert key.verifier.vkey == log.verifier_key
    assert mode(key_file.path) == 0o600
    assert mode(key_file.path.parent) == 0o700
    await assert_no_private_key(migrated_url, key)


async def test_restart_reuses_the_key(
    migrated_url: str, key_file: KeyFile, entry_maker: MakeEntries
) -> None:
    first = await NodeLog.open(migrated_url, origin=ORIGIN, custody=key_file)
    await first.submit_many(entry_maker(3))
    await first.close()
    written = key_file.path.read_bytes()
    again = await NodeLog.open(migrated_url, custody=key_file)
    try:
        assert again.verifier_key == first.verifier_key
        await again.submit_many(entry_maker(2, seed=1))
        open_checkpoint(await again.checkpoint(), NoteVerifier.from_vkey(first.verifier_key))
    finally:
        await again.close()
    assert key_file.path.read_bytes() == written
    assert (await verify_log(migrated_url)).size == 5


async def test_a_wrong_or_missing_key_file_is_refused(migrated_url: str, key_file: KeyFile) -> None:
    await (await NodeLog.open(migrated_url, origin=ORIGIN, custody=key_file)).close()
    ours = key_file.load()
    assert ours is not None
    impostor = signer("impostor")
    key_file.path.write_text(impostor.skey + "\n")
    with pytest.raises(NodeConfigError, match="refusing to start") as refused:
        await NodeLog.open(migrated_url, custody=key_file)
    message = str(refused.value)
    assert "\n" not in message
    assert ours.verifier.vkey in message  # says which key the log needs
    for secret in secrets_of(impostor) + secrets_of(ours):
        assert secret.decode(errors="replace") not in message
    assert key_file.load() == impostor or key_file.path.read_text() == impostor.skey + "\n"
    key_file.path.unlink()
    with pytest.raises(NodeConfigError, match="signing key is missing"):
        await NodeLog.open(migrated_url, custody=key_file)
    assert not key_file.path.exists()  # never silently replaced by a new key


def test_a_database_that_is_not_an_sqlite_file_needs_the_key_file_named() -> None:
    with pytest.raises(NodeConfigError, match="REGISTRY_SIGNING_KEY_FILE"):
        default_custody("postgresql+asyncpg://registry@db/registry")
    assert default_custody("sqlite+aiosqlite:////srv/registry/registry.db").path == Path(
        "/srv/registry/node.key"
    )


async def old_node_database(database_url: str, key: NoteSigner) -> None:
    """A database as the previous release left it: schema 0002, the key in ``node_key``."""
    engine = create_engine(database_url)
    try:
        async with engine.begin() as conn:
            await conn.run_sync(lambda sync: command.upgrade(alembic_config(sync), "0002"))
            await conn.execute(
                sa.text("INSERT INTO node_key (id, signing_key) VALUES (1, :key)"),
                {"key": key.skey},
            )
            await conn.execute(
                sa.text("INSERT INTO meta (name, value) VALUES ('origin', :origin)"),
                {"origin": key.name},
            )
        if engine.dialect.name == "sqlite":  # as after a long run: the key is in the main file
            async with engine.connect() as conn:
                await conn.exec_driver_sql("PRAGMA wal_checkpoint(TRUNCATE)")
    finally:
        await engine.dispose()


async def test_upgrade_moves_an_old_nodes_key_out_of_the_database(
    database_url: str, key_file: KeyFile, entry_maker: MakeEntries
) -> None:
    old = signer("old node")
    await old_node_database(database_url, old)
    assert old.skey.encode() in await database_dump(database_url)  # the setting tested
    files = database_files(database_url)
    assert not files or old.skey.encode() in files  # SQLite: in the database file itself
    await upgrade(database_url, custody=key_file)
    assert await current_revision(database_url) == head_revision()
    assert key_file.load() == old or key_file.path.read_text() == old.skey + "\n"
    assert mode(key_file.path) == 0o600
    assert mode(key_file.path.parent) == 0o700
    await assert_no_private_key(database_url, old)
    assert b"node_key" not in await database_dump(database_url)  # the table is gone
    await upgrade(database_url, custody=key_file)  # idempotent
    log = await NodeLog.open(database_url, custody=key_file)
    try:
        assert (log.origin, log.verifier_key) == (old.name, old.verifier.vkey)
        await log.submit_many(entry_maker(4))
        open_checkpoint(await log.checkpoint(), old.verifier)  # still the same log identity
    finally:
        await log.close()
    assert (await verify_log(database_url)).verifier_key == old.verifier.vkey


async def test_upgrade_is_crash_safe_and_never_replaces_another_key(
    database_url: str, key_file: KeyFile
) -> None:
    old = signer("old node")
    await old_node_database(database_url, old)
    # Another key where the file goes: the upgrade stops, and nothing changed.
    key_file.path.parent.mkdir(parents=True, exist_ok=True)
    key_file.path.write_text(signer("someone else").skey + "\n")
    with pytest.raises(NodeConfigError, match="already holds another key"):
        await upgrade(database_url, custody=key_file)
    assert await current_revision(database_url) == "0002"
    assert old.skey.encode() in await database_dump(database_url)
    # A crash after the file was written, before the commit: the retry finds the same key.
    key_file.path.write_text(old.skey + "\n")
    await upgrade(database_url, custody=key_file)
    assert await current_revision(database_url) == head_revision()
    await assert_no_private_key(database_url, old)


def test_cli_keeps_the_key_in_a_private_data_dir_and_never_prints_it(tmp_path: Path) -> None:
    data = tmp_path / "data"
    data.mkdir(mode=0o755)
    data.chmod(0o755)  # an old node's data directory, readable by everyone
    init = run("init", "--data-dir", str(data), "--origin", ORIGIN)
    key = KeyFile(data / "node.key").load()
    assert key is not None
    assert f"verifier key: {key.verifier.vkey}" in init.stdout
    for secret in secrets_of(key):
        assert secret.decode(errors="replace") not in init.stdout + init.stderr
    assert mode(data) == 0o700
    assert mode(data / "node.key") == 0o600
    # A wrong key file is refused with one readable line, and left as it was.
    other = run("keygen", "--origin", ORIGIN).stdout.strip()
    (data / "node.key").write_text(other + "\n")
    refused = run("init", "--data-dir", str(data), ok=False)
    assert refused.returncode == 1
    lines = refused.stderr.strip().splitlines()
    assert len(lines) == 1, refused.stderr
    assert lines[0].startswith("registry: error: ")
    assert "refusing to start" in lines[0]
    assert other.split("+", 4)[4] not in refused.stderr
    assert (data / "node.key").read_text() == other + "\n"
