"""Bounded work per request (issue 11 item 2, spec §6.1.4): capped and paged answers, batches
answered in slices, malformed bodies of any shape answered 4xx, the admin API's token checked
before its (small) body is read. Over the real app on SQLite and PostgreSQL."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import httpx

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.http.controllers.federation import ADMIN_MAX_BODY
from registry.indexes.near import NearIndex
from registry.wire import MAX_CHECK_DECLARATIONS, MAX_MATCH_CLAIMS, MAX_NEAR_MATCHES
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    running_node,
    submit,
    work_hash,
)

TOKEN = "bounds-test-operator-token-0123456789"
QUERY = 0  # the PDQ hash every near test asks about


def _pdq_entry(key: PrivateKey, sha256: str, pdq: int, prefs: dict[str, str]) -> bytes:
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_700_000_000,
        works=[new_work(sha256, pdq=f"{pdq:064x}", pdq_quality=100)],
        prefs=prefs,
    )
    return encode_record(sign_declaration(record, key))


async def test_near_answers_list_the_nearest_and_count_the_rest(
    database_url: str, tmp_path: Path
) -> None:
    # MAX_NEAR_MATCHES + 3 works at distances 0, 1, 2...: the nearest allow training, the
    # farthest does not. Six creators claim the nearest work.
    count = MAX_NEAR_MATCHES + 3
    async with running_node(make_settings(database_url, tmp_path)) as client:
        for i in range(count):
            prefs = {"train-ai": "n" if i == count - 1 else "y"}
            pdq = (1 << i) - 1  # i bits set: distance i from QUERY
            await submit(client, _pdq_entry(creator_key(i), work_hash(i), pdq, prefs))
        for j in range(1, 6):
            await submit(
                client, _pdq_entry(creator_key(100 + j), work_hash(0), 0, {"train-ai": "y"})
            )
        answer = await client.post("/v1/check/pdq", json={"hashes": [f"{QUERY:064x}"] * 3})
        single = await client.get(f"/v1/works/pdq/{QUERY:064x}")
        paged = await client.get(f"/v1/works/sha256/{work_hash(0)}", params={"limit": 4})
    assert answer.status_code == 200, answer.text
    for result in [*answer.json()["results"], single.json()]:
        matches = result["matches"]
        assert [m["distance"] for m in matches] == list(range(MAX_NEAR_MATCHES))
        assert result["more_matches"] == count - MAX_NEAR_MATCHES
        # the unlisted farthest work still counts: any disallow wins (spec §3.2)
        assert result["prefs"] == {"train-ai": "n"}
        nearest = matches[0]
        assert len(nearest["claims"]) == MAX_MATCH_CLAIMS
        assert nearest["claims_total"] == 6
        assert len(nearest["declarations"]) == MAX_MATCH_CLAIMS
        assert "claims_total" not in matches[1]
    assert paged.json()["claims_total"] == 6


async def test_per_work_claims_are_paged(database_url: str, tmp_path: Path) -> None:
    keys = [creator_key(i) for i in range(6)]
    url = "https://example.com/shared"
    async with running_node(make_settings(database_url, tmp_path)) as client:
        for key in keys:
            await submit(client, declaration(key, [work_hash(1)], urls=[url]))
        for issued_at in (1_700_000_001, 1_700_000_002, 1_700_000_003):
            await submit(client, declaration(keys[0], [work_hash(9)], issued_at=issued_at))
        path = f"/v1/works/sha256/{work_hash(1)}"
        whole = (await client.get(path)).json()
        first = (await client.get(path, params={"limit": 4})).json()
        rest = (await client.get(path, params={"limit": 4, "offset": 4})).json()
        beyond = (await client.get(path, params={"offset": 100})).json()
        by_url = (await client.get("/v1/works/url", params={"url": url, "limit": 5})).json()
        did = keys[0].public_key.did
        creator = (await client.get(f"/v1/creators/{did}", params={"limit": 2})).json()
        creator_rest = (await client.get(f"/v1/creators/{did}", params={"offset": 2})).json()
        too_many = await client.get(path, params={"limit": 1001})
        zero = await client.get(path, params={"limit": 0})
        negative = await client.get(path, params={"offset": -1})
    assert whole["claims_total"] == 6
    assert "next_offset" not in whole
    assert first["claims"] + rest["claims"] == whole["claims"]
    assert first["next_offset"] == 4
    assert "next_offset" not in rest
    assert first["claims_total"] == rest["claims_total"] == 6
    # preferences are resolved over every claim, whatever the page shows
    assert first["prefs"] == rest["prefs"] == whole["prefs"]
    assert first["declarations"] == sorted(c["declaration"] for c in first["claims"])
    assert beyond["claims"] == []
    assert beyond["claims_total"] == 6
    assert len(by_url["claims"]) == 5
    assert by_url["next_offset"] == 5
    assert len(creator["declarations"]) == 2
    assert creator["declarations_total"] == 4
    assert creator["next_offset"] == 2
    assert len(creator_rest["declarations"]) == 2
    for answer in (too_many, zero, negative):
        assert_problem(answer, 400, "validation-error")


async def test_batch_check_lists_a_bounded_number_of_declarations(
    database_url: str, tmp_path: Path
) -> None:
    creators = MAX_CHECK_DECLARATIONS + 2
    async with running_node(make_settings(database_url, tmp_path)) as client:
        for i in range(creators):
            await submit(client, declaration(creator_key(i), [work_hash(1)]))
        await submit(client, declaration(creator_key(0), [work_hash(2)]))
        # more items than one slice of the event loop (SLICE): answered in order all the same
        hashes = [work_hash(1), work_hash(2)] + [work_hash(1000 + i) for i in range(2500)]
        answer = await client.post("/v1/check", json={"sha256s": hashes})
    items = answer.json()["sha256s"]
    assert [item["sha256"] for item in items] == hashes
    assert len(items[0]["declarations"]) == MAX_CHECK_DECLARATIONS
    assert items[0]["declarations_total"] == creators
    assert len(items[1]["declarations"]) == 1
    assert "declarations_total" not in items[1]
    assert all("prefs" not in item for item in items[2:])


DEEP_ARRAY = b"[" * 100_000 + b"]" * 100_000
DEEP_OBJECT = b'{"a":' * 50_000 + b"1" + b"}" * 50_000
MALFORMED = (
    DEEP_ARRAY,
    DEEP_OBJECT,
    b'{"sha256s": 5, "urls": {"a": []}}',
    b'{"hashes": [{"a": 1}], "codes": 1}',
    b"\xff\xfe",
    b'{"\xff": 1}',
    b'{"urls": ["\xed\xa0\x80"]}',
    b"[1, 2]",
    b"null",
    b'{"url": 1, "verifier_key": []}',
)
JSON_ENDPOINTS = (
    "/v1/check",
    "/v1/check/pdq",
    "/v1/check/iscc",
    "/v1/declarations",
    "/v1/declarations:batch",
    "/v1/admin/peers",
)


async def test_malformed_bodies_of_any_shape_are_4xx(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, admin_token=TOKEN)
    headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
    async with running_node(settings) as client:
        answers: dict[tuple[str, bytes], httpx.Response] = {}
        for path in JSON_ENDPOINTS:
            for body in MALFORMED:
                answers[path, body[:24]] = await client.post(path, content=body, headers=headers)
        still = await client.get("/healthz")
    for (path, body), answer in answers.items():
        assert 400 <= answer.status_code < 500, (path, body, answer.status_code, answer.text)
        problem: dict[str, Any] = answer.json()
        assert problem["type"].startswith("/problems/"), (path, body, problem)
    deep = answers["/v1/check", DEEP_ARRAY[:24]].json()
    assert deep["type"] == "/problems/bad-encoding"
    assert still.status_code == 200


async def test_admin_token_is_checked_before_the_body_and_the_body_is_small(
    database_url: str, tmp_path: Path
) -> None:
    big = b'{"url": "' + b"a" * (1 << 20) + b'"}'
    async with running_node(make_settings(database_url, tmp_path, admin_token=TOKEN)) as client:
        anonymous = await client.post(
            "/v1/admin/peers", content=big, headers={"Content-Type": "application/json"}
        )
        too_big = await client.post(
            "/v1/admin/peers",
            content=b" " * (ADMIN_MAX_BODY + 1) + b"{}",
            headers={"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"},
        )
        witness = await client.post("/add-checkpoint", content=b"x" * (1 << 20))
    assert_problem(anonymous, 401, "unauthorized")
    assert_problem(too_big, 413, "payload-too-large")
    assert_problem(witness, 413, "payload-too-large")


async def test_near_index_answers_each_work_once_even_with_a_shared_prefix() -> None:
    # Works whose SHA-256s share their first 8 bytes, each declared several times, at several
    # distances: every work once, at its smallest distance, nearest first.
    index = NearIndex()
    shared = "00" * 8
    works = {shared + "aa" * 24: (3, 1), shared + "bb" * 24: (2, 5), "cc" * 32: (0, 4)}
    for n, (sha256, distances) in enumerate(works.items()):
        for d in distances:
            record = new_declaration(
                creator=creator_key(n * 10 + d).public_key.did,
                issued_at=1_700_000_000,
                works=[new_work(sha256, pdq=f"{(1 << d) - 1:064x}", pdq_quality=100)],
                prefs={"train-ai": "n"},
            )
            index.add(record)
    index.flush()
    [hits] = await index.search_pdq([f"{QUERY:064x}"], 64)
    assert [(h.sha256, h.distance) for h in hits] == [
        ("cc" * 32, 0),
        (shared + "aa" * 24, 1),
        (shared + "bb" * 24, 2),
    ]
