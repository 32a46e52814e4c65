"""Helpers shared by the API tests: a running app over httpx, creator keys, declarations.

The app runs with its real lifespan (migrations, log, index, follower) against the database
given by the ``database_url`` fixture (tests/conftest.py: SQLite file or fresh PostgreSQL
database), and is driven through ``httpx.AsyncClient`` with ``ASGITransport``.
"""

from __future__ import annotations

import hashlib
from collections.abc import AsyncIterator, Iterable
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx

from registry.app import create_app
from registry.config.settings import Settings
from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration

BASE_URL = "http://node.test"
ORIGIN = "node.test/log"


def make_settings(database_url: str, data_dir: Path, **overrides: Any) -> Settings:
    """Settings for a test node: fast batches, no rate limit unless asked."""
    values: dict[str, Any] = {
        "database_url": database_url,
        "data_dir": data_dir,
        "origin": ORIGIN,
        "batch_interval": 0.005,
        "rate_limit": 0,
        "address_hourly_limit": 0,
        "index_poll_interval": 0.05,
        "peer_allow_http": True,  # fake peers on loopback speak plain http
    }
    values.update(overrides)
    return Settings(**values)


@asynccontextmanager
async def running_node(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    """Start the app (lifespan included) and yield a client talking to it in-process."""
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as client:
            yield client


def creator_key(n: int) -> PrivateKey:
    """A deterministic creator key (test data only)."""
    return PrivateKey.from_seed(hashlib.sha256(b"creator %d" % n).digest())


def work_hash(n: int) -> str:
    """A deterministic work SHA-256."""
    return hashlib.sha256(b"work %d" % n).hexdigest()


def declaration(
    key: PrivateKey,
    hashes: Iterable[str],
    *,
    prefs: dict[str, str] | None = None,
    issued_at: int = 1_700_000_000,
    urls: Iterable[str] = (),
    supersedes: Iterable[str] = (),
    withdraw: bool = False,
) -> bytes:
    """A signed declaration's entry bytes."""
    url_list = list(urls)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=issued_at,
        works=[new_work(h, urls=url_list) for h in hashes],
        prefs={"train-ai": "n"} if prefs is None and not withdraw else (prefs or {}),
        supersedes=supersedes,
        withdraw=withdraw,
    )
    return encode_record(sign_declaration(record, key))


def record_id_of(entry: bytes) -> str:
    """The declaration id (hex SHA-256 of the entry)."""
    return hashlib.sha256(entry).hexdigest()


async def submit(client: httpx.AsyncClient, entry: bytes) -> dict[str, Any]:
    """POST one declaration; assert it was accepted; return the JSON answer."""
    response = await client.post(
        "/v1/declarations", content=entry, headers={"Content-Type": "application/json"}
    )
    assert response.status_code in (200, 201), response.text
    result: dict[str, Any] = response.json()
    return result


def assert_problem(response: httpx.Response, status: int, slug: str) -> dict[str, Any]:
    """Assert an RFC 9457 problem response with this status and type; return its body."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/problem+json")
    body: dict[str, Any] = response.json()
    assert body["type"] == f"/problems/{slug}", body
    assert body["status"] == status
    assert body["title"]
    assert isinstance(body["detail"], str)
    assert body["detail"]
    return body
