"""HTTP hygiene (issue 11 item 5, spec §6.1.3, §6.10.3): HEAD wherever GET is served, security
headers on every answer, malformed path parameters are 400s, the rate limiter's IPv6 /64 keys
and least-recently-used eviction. Over the real app (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

from registry.http.hygiene import CONTENT_SECURITY_POLICY
from registry.http.ratelimit import TokenBuckets, client_key
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    running_node,
    submit,
    work_hash,
)

GET_PATHS = (
    "/checkpoint",
    "/tile/0/000.p/1",
    "/tile/entries/000.p/1",
    "/healthz",
    "/readyz",
    "/.well-known/consent-registry",
    "/v1/works/sha256/" + work_hash(1),
    "/v1/works/url?url=https://example.com/a",
    "/v1/peers",
    "/v1/snapshots",
    "/problems/bad-request",
)


async def test_head_answers_like_get_without_a_body(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, declaration(creator_key(1), [work_hash(1)]))
        plain = {"Accept-Encoding": "identity"}  # Content-Length of the bytes httpx shows
        for path in GET_PATHS:
            got = await client.get(path, headers=plain)
            head = await client.head(path, headers=plain)
            assert got.status_code == 200, (path, got.text)
            assert head.status_code == 200, path
            assert head.content == b"", path
            assert head.headers["content-type"] == got.headers["content-type"], path
            assert head.headers["content-length"] == str(len(got.content)), path
        # a POST-only route still refuses HEAD, naming what it allows
        refused = await client.head("/v1/check")
        assert refused.status_code == 405
        assert "POST" in refused.headers["allow"]
        assert refused.content == b""


async def test_security_headers_on_every_answer(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        answers = [
            await client.get("/checkpoint"),
            await client.get("/no/such/path"),  # 404 from the router
            await client.delete("/checkpoint"),  # 405
            await client.post(
                "/v1/check", content=b"{", headers={"Content-Type": "application/json"}
            ),
            await client.head("/healthz"),
        ]
        docs = await client.get("/schema/openapi.json")
    for answer in answers:
        assert answer.headers["x-content-type-options"] == "nosniff"
        assert answer.headers["referrer-policy"] == "no-referrer"
        assert answer.headers["x-frame-options"] == "DENY"
        assert answer.headers["content-security-policy"] == CONTENT_SECURITY_POLICY
        assert "frame-ancestors 'none'" in CONTENT_SECURITY_POLICY
        assert "'unsafe-inline'" not in CONTENT_SECURITY_POLICY
    # the OpenAPI pages load their renderer from a CDN: no CSP there, the rest applies
    assert docs.headers["x-content-type-options"] == "nosniff"
    assert "content-security-policy" not in docs.headers


async def test_malformed_path_parameters_are_400(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        bad = {
            "/v1/works/sha256/zz": "bad-request",
            "/v1/works/sha256/" + work_hash(1).upper(): "bad-request",
            "/v1/works/sha256/" + work_hash(1) + "0": "bad-request",
            "/v1/declarations/xyz": "bad-request",
            "/v1/creators/did:key:nope": "bad-key",
            "/v1/works/pdq/zz": "bad-request",
            "/v1/works/iscc/nope": "bad-request",
            "/v1/snapshots/latest": "bad-request",
            "/tile/0/x": "bad-tile",
        }
        for path, slug in bad.items():
            answer = await client.get(path)
            assert answer.status_code == 400, path
            assert_problem(answer, 400, slug)
            assert "zz" not in answer.json().get("sha256", "")  # nothing echoed as an answer
        assert (await client.get("/v1/works/sha256/" + work_hash(1))).status_code == 200
        assert (await client.get("/v1/snapshots/full-999")).status_code == 404


def test_ipv6_clients_are_keyed_by_their_64() -> None:
    assert client_key("2001:db8:1:2:aaaa::1") == client_key("2001:db8:1:2:ffff:1:2:3")
    assert client_key("2001:db8:1:2::1") == "2001:db8:1:2::/64"
    assert client_key("2001:db8:1:3::1") != client_key("2001:db8:1:2::1")
    assert client_key("::ffff:192.0.2.7") == "192.0.2.7"
    assert client_key("192.0.2.7") == "192.0.2.7"
    assert client_key("unknown") == "unknown"


async def test_rotating_addresses_inside_a_64_shares_one_budget(tmp_path: Path) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'registry.db'}",
        tmp_path,
        rate_limit=5,
        trusted_proxies="127.0.0.1",
    )
    async with running_node(settings) as client:
        statuses = []
        for i in range(8):  # a new address of the same /64 for every request
            forwarded = {"X-Forwarded-For": f"2001:db8:5:6::{i + 1:x}"}
            statuses.append((await client.get("/checkpoint", headers=forwarded)).status_code)
        other = await client.get("/checkpoint", headers={"X-Forwarded-For": "2001:db8:5:7::1"})
    assert statuses[:5] == [200] * 5
    assert statuses[5:] == [429] * 3
    assert other.status_code == 200  # the next /64 has its own budget


def test_buckets_forget_the_least_recently_used_client_only() -> None:
    now = [0.0]
    buckets = TokenBuckets(60, clock=lambda: now[0], max_clients=3)
    for _ in range(60):
        assert buckets.take("busy") == 0.0
    assert buckets.take("busy") > 0  # empty
    buckets.take("a")
    buckets.take("b")
    buckets.take("busy")  # still limited, and now the most recently seen
    buckets.take("c")  # a fourth client: "a", the least recently used, is forgotten
    assert len(buckets) == 3
    assert "a" not in buckets
    assert "busy" in buckets
    assert buckets.take("busy") > 0  # its empty bucket was kept: no reset by eviction
    for i in range(100):
        buckets.take(f"rotating-{i}")
    assert len(buckets) == 3
