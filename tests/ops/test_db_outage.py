"""A PostgreSQL outage seen from a real node (issue 7, faults): readiness, reads, writes.

``tests/ops/test_faults.py`` checks that index-backed reads survive an outage and that writes
recover. This file checks what an operator's probes and clients see meanwhile: ``/readyz``
turns 503 (with ``Retry-After``) while the database is away and 200 again once it is back, and
everything that needs the database (a submission, ``/checkpoint``, a declaration's receipt, a
tile, and the queries, whose index lives in the database: ADR 0010) answers 503
``unavailable`` with ``Retry-After``, never 500, then answers again by itself. The database
sits behind the cuttable TCP proxy of ``test_faults.py``; the shared server is never stopped.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx
import pytest

from tests.ops.support import declarations, record_id, serving
from tests.ops.test_faults import CuttableProxy, proxied_postgres

__all__ = ["proxied_postgres"]  # the fixture, imported for the tests below

JSON = {"Content-Type": "application/json"}


async def wait_status(client: httpx.AsyncClient, path: str, status: int, timeout: float) -> None:
    """Poll ``path`` until it answers ``status``; fail after ``timeout`` seconds."""
    deadline = time.monotonic() + timeout
    while True:
        answer = await client.get(path)
        if answer.status_code == status:
            return
        assert time.monotonic() < deadline, f"{path}: {answer.status_code} {answer.text}"
        await asyncio.sleep(0.2)


def assert_unavailable(answer: httpx.Response) -> None:
    """A 503 ``unavailable`` problem with a Retry-After of whole seconds."""
    assert answer.status_code == 503, answer.text
    assert answer.headers["content-type"].startswith("application/problem+json")
    assert answer.json()["type"] == "/problems/unavailable"
    assert int(answer.headers["retry-after"]) >= 1


@pytest.mark.postgres
async def test_readiness_reads_and_writes_through_a_postgres_outage(
    proxied_postgres: tuple[str, CuttableProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_postgres
    entries = declarations(41, 3)
    with serving(
        tmp_path, "--database-url", url, "--rate-limit", "0", "--address-hourly-limit", "0"
    ) as node:
        async with httpx.AsyncClient(base_url=node.base, timeout=30) as client:
            for entry in entries[:2]:
                posted = await client.post("/v1/declarations", content=entry, headers=JSON)
                assert posted.status_code == 201, posted.text
            found = (await client.get(f"/v1/declarations/{record_id(entries[0])}")).json()
            sha256 = found["record"]["works"][0]["sha256"]
            assert (await client.get("/readyz")).status_code == 200

            proxy.cut()
            await wait_status(client, "/readyz", 503, timeout=10)
            assert_unavailable(await client.get("/readyz"))
            assert (await client.get("/healthz")).status_code == 200  # alive, not ready
            assert_unavailable(await client.get(f"/v1/works/sha256/{sha256}"))
            assert_unavailable(await client.post("/v1/check", json={"sha256s": [sha256]}))
            for path in ("/checkpoint", f"/v1/declarations/{record_id(entries[0])}"):
                assert_unavailable(await client.get(path))
            assert_unavailable(await client.get("/tile/0/000.p/2"))
            assert_unavailable(
                await client.post("/v1/declarations", content=entries[2], headers=JSON)
            )

            proxy.restore()
            await wait_status(client, "/readyz", 200, timeout=30)
            deadline = time.monotonic() + 30
            while True:
                posted = await client.post("/v1/declarations", content=entries[2], headers=JSON)
                if posted.status_code in (200, 201):
                    break
                assert_unavailable(posted)
                assert time.monotonic() < deadline, "writes did not recover"
                await asyncio.sleep(0.5)
            assert (await client.get("/checkpoint")).status_code == 200
            work = await client.get(f"/v1/works/sha256/{sha256}")
            assert work.status_code == 200, work.text
            assert work.json()["declarations"] == [record_id(entries[0])]
            ready = (await client.get("/readyz")).json()
            assert ready["log_size"] == 3
