"""Two `registry serve` processes over one database (SQLite file, PostgreSQL) answer alike at
once: the consent index lives in the database and is written with the log entries (ADR 0010),
so a declaration submitted to one process is answered by the other without waiting."""

from __future__ import annotations

from pathlib import Path

import httpx

from tests.node.api_support import creator_key, declaration, record_id_of, work_hash
from tests.node.test_cli import ORIGIN, db_args, run, serving

OCTETS = {"Content-Type": "application/octet-stream"}


def test_two_node_processes_on_one_database_answer_alike(database_url: str, tmp_path: Path) -> None:
    args = db_args(database_url, tmp_path)
    run("init", *args, "--origin", ORIGIN)
    alice, bob = creator_key(1), creator_key(2)
    hashes = [work_hash(i) for i in range(40)]
    first = declaration(alice, hashes[:20], urls=["https://example.com/a"])
    second = declaration(bob, hashes[10:30], prefs={"train-ai": "y"}, issued_at=1_700_000_500)
    later = declaration(alice, hashes[:5], prefs={"train-ai": "y"}, issued_at=1_700_000_900)
    with serving(*args, "--origin", ORIGIN) as one, serving(*args, "--origin", ORIGIN) as two:
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
