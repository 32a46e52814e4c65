"""Queries over HTTP (spec §6.6-§6.8): works by SHA-256 and URL, creators, batch check,
Spawning compatibility; supersession and withdrawal as spec §3.5 resolves them."""

from __future__ import annotations

import hashlib

from pathlib import Path
from typing import Any

import httpx

from registry.core.batchcheck import KNOWN, TRAIN_AI_N, TRAIN_AI_Y, CheckAnswer, decode_answers
from registry.core.prefs import parse_content_usage
from tests.node.api_support import (
    ORIGIN,
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    submit,
    work_hash,
)

URL = "https://Example.COM:443/art/./piece.png"
NORMALISED = "https://example.com/art/piece.png"


async def _work(client: httpx.AsyncClient, sha256: str) -> httpx.Response:
    return await client.get(f"/v1/works/sha256/{sha256}")


def _claims(answer: dict[str, Any]) -> dict[str, dict[str, Any]]:
    return {claim["creator"]: claim for claim in answer["claims"]}


async def test_claims_combine_supersede_and_withdraw(database_url: str, tmp_path: Path) -> None:
    alice, bob = creator_key(1), creator_key(2)
    work = work_hash(1)
    a1 = declaration(
        alice, [work], prefs={"train-ai": "n", "search": "y"}, urls=[URL], issued_at=100
    )
    b1 = declaration(bob, [work], prefs={"train-ai": "y"}, issued_at=100)
    a2 = declaration(
        alice, [work], prefs={"train-ai": "y"}, issued_at=200, supersedes=[record_id_of(a1)]
    )
    a3 = declaration(alice, [work], withdraw=True, issued_at=300)
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, a1)
        await submit(client, b1)
        both = await _work(client, work)
        by_url = await client.get("/v1/works/url", params={"url": URL})
        await submit(client, a2)
        superseded = await _work(client, work)
        creator = await client.get(f"/v1/creators/{alice.public_key.did}")
        await submit(client, a3)
        withdrawn = await _work(client, work)
        url_after = await client.get("/v1/works/url", params={"url": NORMALISED})

    # two creators: any disallow wins; every claim is listed with its declaration
    assert both.status_code == 200
    answer = both.json()
    assert answer["sha256"] == work
    assert answer["prefs"] == {"search": "y", "train-ai": "n"}
    claims = _claims(answer)
    assert set(claims) == {alice.public_key.did, bob.public_key.did}
    assert claims[alice.public_key.did]["declaration"] == record_id_of(a1)
    assert claims[alice.public_key.did]["issued_at"] == 100
    assert claims[alice.public_key.did]["origin"] == ORIGIN
    assert claims[alice.public_key.did]["verified"] is False
    assert claims[bob.public_key.did]["prefs"] == {"train-ai": "y"}
    assert answer["declarations"] == sorted([record_id_of(a1), record_id_of(b1)])
    assert parse_content_usage(both.headers["content-usage"]) == {"train-ai": "n", "search": "y"}
    assert answer["content_usage"] == both.headers["content-usage"]

    # by URL: normalised (spec §2.5), only Alice listed the URL
    assert by_url.status_code == 200
    assert by_url.json()["url"] == NORMALISED
    assert list(_claims(by_url.json())) == [alice.public_key.did]
    assert parse_content_usage(by_url.headers["content-usage"])["train-ai"] == "n"

    # Alice supersedes her declaration: now both allow training
    assert superseded.json()["prefs"] == {"train-ai": "y"}
    assert _claims(superseded.json())[alice.public_key.did]["declaration"] == record_id_of(a2)
    statuses = {d["id"]: d["status"] for d in creator.json()["declarations"]}
    assert statuses == {record_id_of(a1): "superseded", record_id_of(a2): "current"}
    superseded_view = creator.json()["declarations"][0]
    assert superseded_view["superseded_by"] == [record_id_of(a2)]
    assert superseded_view["works"] == [work]

    # Alice withdraws: only Bob's claim is left; her URL has no claim at all
    assert list(_claims(withdrawn.json())) == [bob.public_key.did]
    assert withdrawn.json()["prefs"] == {"train-ai": "y"}
    assert url_after.json()["claims"] == []
    assert url_after.json()["prefs"] == {}
    assert "content-usage" not in url_after.headers


async def test_unknown_work_and_bad_identifiers(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        unknown = await _work(client, work_hash(99))
        bad_url = await client.get("/v1/works/url", params={"url": "ftp://example.com/x"})
        no_url = await client.get("/v1/works/url")
        bad_did = await client.get("/v1/creators/did:key:nope")
        empty_creator = await client.get(f"/v1/creators/{creator_key(5).public_key.did}")
    assert unknown.status_code == 200
    assert unknown.json()["claims"] == []
    assert unknown.json()["declarations"] == []
    assert_problem(bad_url, 422, "bad-record")
    assert_problem(no_url, 400, "validation-error")
    assert_problem(bad_did, 400, "bad-key")
    assert empty_creator.json()["declarations"] == []


async def test_batch_check_answers_in_request_order(database_url: str, tmp_path: Path) -> None:
    key = creator_key(1)
    reserved = [work_hash(i) for i in range(0, 10, 2)]
    entry = declaration(key, reserved, urls=["https://example.com/r"])
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, entry)
        hashes = [work_hash(i) for i in reversed(range(10))]
        response = await client.post(
            "/v1/check",
            json={
                "sha256s": hashes,
                "urls": ["https://EXAMPLE.com/r", "https://example.com/other", "mailto:x"],
            },
        )
    assert response.status_code == 200, response.text
    answer = response.json()
    assert [item["sha256"] for item in answer["sha256s"]] == hashes
    for item in answer["sha256s"]:
        if item["sha256"] in reserved:
            assert item["prefs"] == {"train-ai": "n"}
            assert item["declarations"] == [record_id_of(entry)]
        else:
            assert "prefs" not in item  # nothing known: omitted
    urls = answer["urls"]
    assert [u["url"] for u in urls] == [
        "https://EXAMPLE.com/r",
        "https://example.com/other",
        "mailto:x",
    ]
    assert urls[0]["prefs"] == {"train-ai": "n"}
    assert "prefs" not in urls[1]
    assert "error" in urls[2]


async def test_batch_check_validates_lengths_and_limits(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, max_batch_items=3)
    async with running_node(settings) as client:
        short = await client.post("/v1/check", json={"sha256s": ["abc"]})
        unknown = await client.post("/v1/check", json={"sha256s": [], "md5s": []})
        too_many = await client.post(
            "/v1/check",
            json={"sha256s": [work_hash(i) for i in range(3)], "urls": ["https://a.b/"]},
        )
        uppercase = await client.post("/v1/check", json={"sha256s": [work_hash(1).upper()]})
    body = assert_problem(short, 400, "validation-error")
    assert body["errors"]
    assert_problem(unknown, 400, "validation-error")
    assert_problem(too_many, 413, "batch-too-large")
    assert uppercase.status_code == 200  # length-only validation: it simply matches nothing
    assert "prefs" not in uppercase.json()["sha256s"][0]


async def test_spawning_compatible_endpoint(database_url: str, tmp_path: Path) -> None:
    out = declaration(creator_key(1), [work_hash(1)], urls=["https://example.com/out.jpg"])
    opt_in = declaration(
        creator_key(2), [work_hash(2)], prefs={"train-ai": "y"}, urls=["https://example.com/in.jpg"]
    )
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, out)
        await submit(client, opt_in)
        body = (
            "https://example.com/in.jpg\nhttps://EXAMPLE.com/out.jpg\n\n"
            "https://x.org/none\nnot a url\n"
        )
        response = await client.post(
            "/api/v2/query/urls/",
            content=body.encode(),
            headers={"Content-Type": "text/plain", "Authorization": "API some-key"},
        )
        no_slash = await client.post("/api/v2/query/urls", content=b"https://example.com/out.jpg")
    assert response.status_code == 200, response.text
    out_id, in_id = (hashlib.sha256(entry).hexdigest() for entry in (out, opt_in))
    assert response.json() == {
        "urls": [
            {
                "url": "https://example.com/in.jpg",
                "optOut": False,
                "optIn": True,
                "claims": [{"declaration": in_id, "level": "none"}],  # spec §9.4.5
            },
            {
                "url": "https://EXAMPLE.com/out.jpg",
                "optOut": True,
                "optIn": False,
                "claims": [{"declaration": out_id, "level": "none"}],
            },
            {"url": "", "optOut": False, "optIn": False, "claims": []},  # positions stay aligned
            {"url": "https://x.org/none", "optOut": False, "optIn": False, "claims": []},
            {"url": "not a url", "optOut": False, "optIn": False, "claims": []},
        ]
    }
    assert no_slash.json()["urls"][0]["optOut"] is True


async def test_binary_check_agrees_with_the_json_check(database_url: str, tmp_path: Path) -> None:
    alice, bob = creator_key(1), creator_key(2)
    first = declaration(alice, [work_hash(i) for i in range(0, 8)])
    allowed = declaration(bob, [work_hash(i) for i in range(4, 12)], prefs={"train-ai": "y"})
    other = declaration(bob, [work_hash(20)], prefs={"search": "n"})
    settings = make_settings(database_url, tmp_path, max_batch_items=64)
    async with running_node(settings) as client:
        for entry in (first, allowed, other):
            await submit(client, entry)
        hashes = [work_hash(i) for i in range(25)]
        as_json = (await client.post("/v1/check", json={"sha256s": hashes})).json()["sha256s"]
        raw = b"".join(bytes.fromhex(h) for h in hashes)
        response = await client.post(
            "/v1/check/sha256",
            content=raw,
            headers={"Content-Type": "application/octet-stream"},
        )
        assert response.status_code == 200, response.text
        assert response.headers["content-type"] == "application/octet-stream"
        ragged = await client.post(
            "/v1/check/sha256",
            content=raw[:-1],
            headers={"Content-Type": "application/octet-stream"},
        )
        as_text = await client.post(
            "/v1/check/sha256", content=raw, headers={"Content-Type": "text/plain"}
        )
        too_many = await client.post(
            "/v1/check/sha256",
            content=raw * 3,
            headers={"Content-Type": "application/octet-stream"},
        )
    answers = decode_answers(response.content, len(hashes))
    for item, answer in zip(as_json, answers, strict=True):
        if "prefs" not in item:
            assert answer is None
        else:
            assert answer == CheckAnswer(item["prefs"], item["declarations"])
    status = response.content[: len(hashes)]
    assert status[0] == KNOWN | TRAIN_AI_N  # alice alone: train-ai=n
    assert status[5] == KNOWN | TRAIN_AI_N  # both: any disallow wins
    assert status[10] == KNOWN | TRAIN_AI_Y  # bob alone: train-ai=y
    assert status[20] == KNOWN  # known, nothing said about train-ai
    assert status[21] == 0
    assert_problem(ragged, 400, "bad-request")
    assert_problem(as_text, 415, "unsupported-media-type")
    assert_problem(too_many, 413, "batch-too-large")
