"""Errors, limits, health and documentation (spec §6.1, §6.9, §6.10): every error is an
RFC 9457 problem; body size, batch size and request rate are bounded."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from registry.http.ratelimit import TokenBuckets
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    submit,
    work_hash,
)


async def test_unknown_route_and_wrong_method_are_problems(
    database_url: str, tmp_path: Path
) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        missing = await client.get("/v1/nothing-here")
        wrong_method = await client.delete("/v1/declarations")
        problem_type = await client.get("/problems/bad-signature")
        no_type = await client.get("/problems/no-such-thing")
    assert_problem(missing, 404, "not-found")
    assert_problem(wrong_method, 405, "method-not-allowed")
    assert problem_type.json() == {
        "type": "/problems/bad-signature",
        "title": "Signature does not verify",
        "status": 422,
    }
    assert_problem(no_type, 404, "not-found")


async def test_oversized_body_is_413(database_url: str, tmp_path: Path) -> None:
    entry = declaration(creator_key(1), [work_hash(1)])
    settings = make_settings(database_url, tmp_path, max_body_size=len(entry) - 1)
    async with running_node(settings) as client:
        response = await client.post("/v1/declarations", content=entry)
        check = await client.post("/v1/check", content=b"{" + b" " * len(entry) + b"}")
    assert_problem(response, 413, "payload-too-large")
    assert_problem(check, 413, "payload-too-large")


async def test_rate_limit_answers_429_with_retry_after(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, rate_limit=3)
    async with running_node(settings) as client:
        allowed = [await client.get(f"/v1/works/sha256/{work_hash(i)}") for i in range(3)]
        limited = await client.get(f"/v1/works/sha256/{work_hash(9)}")
        health = await client.get("/healthz")  # probes are never limited
    assert [r.status_code for r in allowed] == [200, 200, 200]
    assert_problem(limited, 429, "rate-limited")
    assert int(limited.headers["retry-after"]) >= 1
    assert health.status_code == 200


def test_token_buckets_refill_over_time() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, clock=lambda: now[0])  # one a second, bursts of 60
    assert all(buckets.take("a") == 0.0 for _ in range(60))
    assert buckets.take("a") == pytest.approx(1.0)
    assert buckets.take("b") == 0.0  # per client
    now[0] += 2.5
    assert buckets.take("a") == 0.0
    assert buckets.take("a") == 0.0
    assert buckets.take("a") > 0.0


async def test_health_readiness_and_openapi(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, declaration(creator_key(1), [work_hash(1)]))
        health = await client.get("/healthz")
        ready = await client.get("/readyz")
        schema = await client.get("/schema/openapi.json")
        docs = await client.get("/schema")
    assert health.json() == {"status": "ok"}
    assert ready.json() == {"status": "ready", "log_size": 1, "indexed": 1}
    paths = schema.json()["paths"]
    for path in (
        "/v1/declarations",
        "/v1/check",
        "/checkpoint",
        "/api/v2/query/urls",
        "/.well-known/consent-registry",
    ):
        assert path in paths, path
    assert docs.status_code == 200
    assert "text/html" in docs.headers["content-type"]


async def test_two_workers_on_one_database_follow_each_other(
    database_url: str, tmp_path: Path
) -> None:
    entry = declaration(creator_key(1), [work_hash(1)])
    settings = make_settings(database_url, tmp_path)
    async with running_node(settings) as first, running_node(settings) as second:
        await submit(first, entry)
        # the second worker's index follows the shared log within a few polls
        for _ in range(100):
            answer = (await second.get(f"/v1/works/sha256/{work_hash(1)}")).json()
            if answer["declarations"]:
                break
            await asyncio.sleep(0.05)
        view = await second.get(f"/v1/declarations/{record_id_of(entry)}")
        duplicate = await second.post("/v1/declarations", content=entry)
    assert answer["declarations"] == [record_id_of(entry)]
    assert view.status_code == 200
    assert duplicate.status_code == 200
    assert duplicate.json()["index"] == 0
