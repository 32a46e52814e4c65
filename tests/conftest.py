"""Shared fixtures: fresh databases (SQLite and PostgreSQL) and valid log entries.

``database_url`` is parametrised over both databases: ``sqlite`` is a new file under
``tmp_path``; ``postgres`` a freshly created database on the local server
(``REGISTRY_TEST_POSTGRES_URL``, default ``postgresql+asyncpg://postgres@127.0.0.1:5432``),
dropped afterwards. If PostgreSQL is unreachable those tests FAIL, unless
``REGISTRY_TEST_SKIP_POSTGRES=1`` asks to skip them (CI must never skip silently).
"""

from __future__ import annotations

import hashlib
import os
import uuid
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path
from typing import Any

import asyncpg
import pytest
from sqlalchemy.engine import make_url

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.log import NodeLog, upgrade
from registry.log.custody import KeyFile

POSTGRES_URL = os.environ.get(
    "REGISTRY_TEST_POSTGRES_URL", "postgresql+asyncpg://postgres@127.0.0.1:5432"
)
"""Server URL (without database) of the PostgreSQL the tests create databases on."""

BACKENDS = [
    pytest.param("sqlite", id="sqlite"),
    pytest.param("postgres", id="postgres", marks=pytest.mark.postgres),
]


def make_entries(n: int, *, seed: int = 0, works_per_entry: int = 1) -> list[bytes]:
    """Return ``n`` distinct, validly signed declaration entries (deterministic in ``seed``).

    All are by one creator whose key is derived from ``seed``; entry i declares works whose
    SHA-256 values are derived from (seed, i), so different seeds give disjoint entries.
    """
    key = PrivateKey.from_seed(hashlib.sha256(f"creator-{seed}".encode()).digest())
    entries = []
    for i in range(n):
        works = [
            new_work(hashlib.sha256(f"work-{seed}-{i}-{j}".encode()).hexdigest())
            for j in range(works_per_entry)
        ]
        declaration = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=works,
            prefs={"train-ai": "n"},
        )
        entries.append(encode_record(sign_declaration(declaration, key)))
    return entries


async def _admin_connection() -> Any:
    """Connect to the PostgreSQL maintenance database (``postgres``, else ``test``).

    Fails the test (or skips it, if REGISTRY_TEST_SKIP_POSTGRES=1) when the server is down.
    """
    url = make_url(POSTGRES_URL)
    errors = []
    for maintenance_db in ("postgres", "test"):
        try:
            return await asyncpg.connect(
                host=url.host or "127.0.0.1",
                port=url.port or 5432,
                user=url.username or "postgres",
                password=url.password,
                database=maintenance_db,
                timeout=5,
            )
        except (OSError, asyncpg.PostgresError) as exc:
            errors.append(f"{maintenance_db}: {exc}")
    message = f"PostgreSQL at {POSTGRES_URL} is unreachable ({'; '.join(errors)})"
    if os.environ.get("REGISTRY_TEST_SKIP_POSTGRES") == "1":
        pytest.skip(message)
    pytest.fail(message + "; set REGISTRY_TEST_SKIP_POSTGRES=1 to skip the PostgreSQL tests")


async def create_postgres_database() -> str:
    """Create a fresh, uniquely named PostgreSQL database; return its SQLAlchemy URL."""
    name = f"registry_test_{uuid.uuid4().hex[:16]}"
    conn = await _admin_connection()
    try:
        await conn.execute(f'CREATE DATABASE "{name}"')
    finally:
        await conn.close()
    return f"{POSTGRES_URL.rstrip('/')}/{name}"


async def drop_postgres_database(database_url: str) -> None:
    """Drop the database ``database_url`` names, disconnecting any leftover session."""
    name = make_url(database_url).database
    conn = await _admin_connection()
    try:
        await conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
    finally:
        await conn.close()


@pytest.fixture(params=BACKENDS)
async def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[str]:
    """A fresh, empty (not migrated) database URL, on SQLite and on PostgreSQL."""
    if request.param == "sqlite":
        yield f"sqlite+aiosqlite:///{tmp_path / 'data' / 'registry.db'}"
        return
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.fixture
def key_file(tmp_path: Path) -> KeyFile:
    """The node key file of the test's log (ADR 0012): ``node.key`` in the test's data
    directory, where an SQLite database keeps it by default; a PostgreSQL log is told."""
    return KeyFile(tmp_path / "data" / "node.key")


@pytest.fixture
async def migrated_url(database_url: str) -> str:
    """``database_url`` with the schema migrated to head."""
    await upgrade(database_url)
    return database_url


OpenLog = Callable[..., Awaitable[NodeLog]]


@pytest.fixture
async def open_log(migrated_url: str, key_file: KeyFile) -> AsyncIterator[OpenLog]:
    """A factory opening NodeLogs on ``migrated_url`` (keyword options as NodeLog.open, the
    key in ``key_file``); every log it opened is closed at the end of the test."""
    opened: list[NodeLog] = []

    async def _open(**options: Any) -> NodeLog:
        options.setdefault("origin", "test.example/log")
        options.setdefault("custody", key_file)
        log = await NodeLog.open(migrated_url, **options)
        opened.append(log)
        return log

    yield _open
    for log in opened:
        await log.close()


@pytest.fixture
async def node_log(open_log: OpenLog) -> NodeLog:
    """An open NodeLog with origin ``test.example/log`` on a fresh database."""
    return await open_log()


MakeEntries = Callable[..., list[bytes]]


@pytest.fixture
def entry_maker() -> MakeEntries:
    """The :func:`make_entries` function, as a fixture (importing from conftest is fragile)."""
    return make_entries


# --- suite-wide policy: a test that should have run must not pass as "skipped" -----------------
# Skips hide missing services (PostgreSQL down, a dependency not installed) behind a green run.
# Any skipped test fails the session unless the run opted out on purpose:
# REGISTRY_TEST_SKIP_POSTGRES=1 (the PostgreSQL tests are skipped by request) or
# REGISTRY_TEST_ALLOW_SKIPS=1. pytest's own "no tests ran" exit status (5) already fails
# `make test`.
_skipped: list[str] = []


def pytest_runtest_logreport(report: pytest.TestReport) -> None:
    if report.skipped and not hasattr(report, "wasxfail"):
        _skipped.append(report.nodeid)


def pytest_sessionfinish(session: pytest.Session, exitstatus: int) -> None:
    allowed = os.environ.get("REGISTRY_TEST_SKIP_POSTGRES") == "1" or (
        os.environ.get("REGISTRY_TEST_ALLOW_SKIPS") == "1"
    )
    if _skipped and not allowed and exitstatus == 0:
        reporter = session.config.pluginmanager.get_plugin("terminalreporter")
        if reporter is not None:
            reporter.write_line(
                f"FAILED: {len(_skipped)} test(s) skipped that should have run, "
                f"e.g. {_skipped[0]}; set REGISTRY_TEST_ALLOW_SKIPS=1 to allow",
                red=True,
            )
        session.exitstatus = 1
