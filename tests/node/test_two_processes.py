"""Two `registry serve` processes of one node over one PostgreSQL database answer alike at
once: the consent index lives in the database and is written with the log entries (ADR 0010),
so a declaration submitted to one process is answered by the other without waiting.

The two processes stand for two machines: each has a data directory of its own holding a copy
of the node's key file (docs/operations.md, "Growing past one machine"). On SQLite a node grows
by ``--workers`` inside one ``serve`` (a second ``serve`` is refused its data directory)."""

from __future__ import annotations

import shutil
from collections.abc import AsyncIterator
from pathlib import Path

import httpx
import pytest

from tests.conftest import create_postgres_database, drop_postgres_database
from tests.node.api_support import creator_key, declaration, record_id_of, work_hash
from tests.node.test_cli import ORIGIN, run, serving

OCTETS = {"Content-Type": "application/octet-stream"}


@pytest.fixture
async def postgres_url() -> AsyncIterator[str]:
    url = await create_postgres_database()
    try:
        yield url
    finally:
        await drop_postgres_database(url)


@pytest.mark.postgres
def test_two_node_processes_on_one_database_answer_alike(postgres_url: str, tmp_path: Path) -> None:
    first_dir, second_dir = tmp_path / "host-1", tmp_path / "host-2"
    run("init", "--database-url", postgres_url, "--data-dir", str(first_dir), "--origin", ORIGIN)
    second_dir.mkdir(mode=0o700)
    shutil.copy2(first_dir / "node.key", second_dir / "node.key")  # the node's key, copied
    host_1 = ["--database-url", postgres_url, "--data-dir", str(first_dir)]
    host_2 = ["--database-url", postgres_url, "--data-dir", str(second_dir)]
    alice, bob = creator_key(1), creator_key(2)
    hashes = [work_hash(i) for i in range(40)]
    first = declaration(alice, hashes[:20], urls=["https://example.com/a"])
    second = declaration(bob, hashes[10:30], prefs={"train-ai": "y"}, issued_at=1_700_000_500)
    later = declaration(alice, hashes[:5], prefs={"train-ai": "y"}, issued_at=1_700_000_900)
    with serving(*host_1, "--origin", ORIGIN) as one, serving(*host_2, "--origin", ORIGIN) as two:
        for base, entry in ((one, first), (two, second), (one, later)):
            response = httpx.post(
                base + "/v1/declarations",
                content=entry,
                headers={"Content-Type": "application/json"},
            )
            assert response.status_code == 201, response.text
            # the other process answers at once (no polling): the index is shared
            other = two if base == one else one
            known = httpx.get(other + "/v1/declarations/" + record_id_of(entry))
            assert known.status_code == 200
            work = hashes[25] if entry is second else hashes[0]
            assert httpx.get(f"{other}/v1/works/sha256/{work}").json()["claims"]
        answers = []
        for base in (one, two):
            check = httpx.post(
                base + "/v1/check",
                json={"sha256s": hashes, "urls": ["https://EXAMPLE.com/a", "https://x.test/"]},
            )
            binary = httpx.post(
                base + "/v1/check/sha256",
                content=b"".join(bytes.fromhex(h) for h in hashes),
                headers=OCTETS,
            )
            creator = httpx.get(f"{base}/v1/creators/{alice.public_key.did}")
            answers.append((check.json(), binary.content, creator.json()))
    assert answers[0] == answers[1]
    check, _, creator = answers[0]
    assert check["sha256s"][0]["prefs"] == {"train-ai": "y"}  # alice's later declaration
    assert check["sha256s"][15]["prefs"] == {"train-ai": "n"}  # any disallow wins
    assert [d["status"] for d in creator["declarations"]] == ["current", "current"]
