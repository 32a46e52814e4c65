"""Abuse limits over the real app (issue 7): per-address and per-key rate limits, body, batch,
works and URL limits, the operator token of the admin API, CORS for browser clients."""

from __future__ import annotations

import hashlib
from collections.abc import Mapping, Sequence
from pathlib import Path

import pytest

from registry.config.settings import Settings, SettingsError
from registry.core.encoding import b64encode, canonical_json
from registry.core.keys import PrivateKey
from registry.core.note import NoteSigner
from registry.core.records import MAX_WORKS
from registry.core.urls import MAX_URL_LENGTH
from registry.http.ratelimit import TrustedProxies
from registry.services.quota import SLOT, WINDOW, CreatorQuota
from tests.node.api_support import (
    creator_key,
    declaration,
    make_settings,
    running_node,
    work_hash,
)

TOKEN = "abuse-test-operator-token-0123456789"


def sqlite_settings(tmp_path: Path, **overrides: object) -> Settings:
    return make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'registry.db'}", tmp_path / "data", **overrides
    )


def hand_signed(key: PrivateKey, works: Sequence[Mapping[str, object]]) -> bytes:
    """A declaration signed over its canonical form without the core's limit checks (spec
    §2.8), to see the node reject what the core's builders refuse to make."""
    record: dict[str, object] = {
        "creator": key.public_key.did,
        "issued_at": 1_700_000_000,
        "prefs": {"train-ai": "n"},
        "type": "declaration",
        "v": 1,
        "works": sorted(works, key=lambda w: str(w["sha256"])),
    }
    record["sig"] = b64encode(key.sign(canonical_json(record)))  # type: ignore[arg-type]
    return canonical_json(record)  # type: ignore[arg-type]


# --- per address --------------------------------------------------------------------------------


async def test_per_address_rate_limit_answers_429_with_retry_after(tmp_path: Path) -> None:
    async with running_node(sqlite_settings(tmp_path, rate_limit=5)) as client:
        statuses = [(await client.get("/v1/works/sha256/" + work_hash(1))).status_code]
        statuses += [(await client.get("/checkpoint")).status_code for _ in range(5)]
        assert statuses[:5] == [200] * 5
        limited = await client.get("/checkpoint")
        assert limited.status_code == 429
        assert limited.json()["type"] == "/problems/rate-limited"
        assert int(limited.headers["retry-after"]) >= 1
        assert limited.headers["x-request-id"]
        assert (await client.get("/healthz")).status_code == 200  # probes are never limited


def scope(peer: str, forwarded: str | None = None) -> dict[str, object]:
    headers = [(b"x-forwarded-for", forwarded.encode())] if forwarded else []
    return {"type": "http", "client": (peer, 1234), "headers": headers}


def test_trusted_proxies_name_the_client_untrusted_peers_do_not() -> None:
    proxies = TrustedProxies(["10.0.0.0/8", "::1"])
    assert proxies.client(scope("10.1.2.3", "198.51.100.7")) == "198.51.100.7"  # type: ignore[arg-type]
    # the left-most hops are the client's own claims: the right-most untrusted one counts
    assert proxies.client(scope("::1", "1.1.1.1, 203.0.113.9, 10.0.0.2")) == "203.0.113.9"  # type: ignore[arg-type]
    assert proxies.client(scope("192.0.2.1", "198.51.100.7")) == "192.0.2.1"  # type: ignore[arg-type]
    assert proxies.client(scope("10.1.2.3")) == "10.1.2.3"  # type: ignore[arg-type]
    assert TrustedProxies().client(scope("10.1.2.3", "1.2.3.4")) == "10.1.2.3"  # type: ignore[arg-type]
    with pytest.raises(SettingsError):
        Settings(trusted_proxies="10.0.0.0/8, not-an-address")


# --- per creator key ----------------------------------------------------------------------------


def test_creator_quota_is_a_sliding_hour() -> None:
    now = [1000.0 * SLOT]
    quota = CreatorQuota(3, clock=lambda: now[0])
    assert [quota.reserve("did:a") for _ in range(3)] == [0.0, 0.0, 0.0]
    wait = quota.reserve("did:a")
    assert wait == pytest.approx(WINDOW)  # the oldest slot leaves the window in an hour
    assert quota.reserve("did:b") == 0.0  # other keys are not affected
    quota.release("did:a")  # a duplicate gives its reservation back
    assert quota.reserve("did:a") == 0.0
    now[0] += WINDOW - SLOT / 2
    assert quota.reserve("did:a") > 0.0
    now[0] += SLOT
    assert quota.reserve("did:a") == 0.0
    assert quota.used("did:a") == 1
    assert quota.reserve("did:c", 4) == float(WINDOW)  # more than the cap never fits
    quota.charge("did:c", 5)
    assert quota.used("did:c") == 5
    with pytest.raises(ValueError, match="per_hour"):
        CreatorQuota(0)


async def test_creator_hourly_limit_answers_429_and_lets_duplicates_through(
    tmp_path: Path,
) -> None:
    key, other = creator_key(70), creator_key(71)
    async with running_node(sqlite_settings(tmp_path, creator_hourly_limit=2)) as client:
        first = declaration(key, [work_hash(700)])
        for n in (700, 701):
            posted = await client.post("/v1/declarations", content=declaration(key, [work_hash(n)]))
            assert posted.status_code == 201, posted.text
        refused = await client.post("/v1/declarations", content=declaration(key, [work_hash(702)]))
        assert refused.status_code == 429
        problem = refused.json()
        assert problem["type"] == "/problems/rate-limited"
        assert "2 records an hour per unverified key" in problem["detail"]
        assert 3000 < int(refused.headers["retry-after"]) <= 3600
        again = await client.post("/v1/declarations", content=first)  # already logged
        assert again.status_code == 200
        assert again.json()["duplicate"] is True
        batch = {
            "declarations": [
                declaration(key, [work_hash(703)]).decode(),
                declaration(other, [work_hash(704)]).decode(),
            ]
        }
        body = '{"declarations":[' + ",".join(batch["declarations"]) + "]}"
        answer = await client.post("/v1/declarations:batch", content=body)
        assert answer.status_code == 200
        results = answer.json()["results"]
        assert [r["status"] for r in results] == [429, 201]
        assert results[0]["problem"]["type"] == "/problems/rate-limited"
        metrics = (await client.get("/metrics")).text
        assert 'registry_submissions_total{problem="rate-limited",result="rejected"} 2.0' in metrics


async def test_creator_hourly_limit_zero_is_off(tmp_path: Path) -> None:
    key = creator_key(72)
    async with running_node(sqlite_settings(tmp_path, creator_hourly_limit=0)) as client:
        for n in range(5):
            posted = await client.post("/v1/declarations", content=declaration(key, [work_hash(n)]))
            assert posted.status_code == 201


# --- sizes ---------------------------------------------------------------------------------------


async def test_body_batch_works_and_url_limits_answer_problems(tmp_path: Path) -> None:
    key = creator_key(73)
    settings = sqlite_settings(tmp_path, max_body_size=200_000, max_batch_items=3)
    async with running_node(settings) as client:
        big = await client.post("/v1/declarations", content=b" " * 200_001)
        assert big.status_code == 413
        assert big.json()["type"] == "/problems/payload-too-large"
        entries = [declaration(key, [work_hash(n)]).decode() for n in range(4)]
        batch = await client.post(
            "/v1/declarations:batch", content='{"declarations":[' + ",".join(entries) + "]}"
        )
        assert batch.status_code == 413
        assert batch.json()["type"] == "/problems/batch-too-large"
        check = await client.post("/v1/check", json={"sha256s": [work_hash(n) for n in range(4)]})
        assert check.status_code == 413
        works = [{"sha256": hashlib.sha256(b"%d" % n).hexdigest()} for n in range(MAX_WORKS + 1)]
        too_many = await client.post("/v1/declarations", content=hand_signed(key, works))
        assert too_many.status_code == 422, too_many.text
        assert too_many.json()["type"] == "/problems/limit-exceeded"
        long_url = "https://example.com/" + "a" * MAX_URL_LENGTH
        url_work = [{"sha256": work_hash(9), "urls": [long_url]}]
        too_long = await client.post("/v1/declarations", content=hand_signed(key, url_work))
        assert too_long.status_code == 422, too_long.text
        assert too_long.json()["type"] in {"/problems/limit-exceeded", "/problems/bad-record"}
        assert "url" in too_long.json()["detail"].lower()
        assert (await client.get("/v1/works/url", params={"url": long_url})).status_code == 422
        assert (await client.get("/readyz")).json()["log_size"] == 0  # nothing was logged


# --- admin API -----------------------------------------------------------------------------------

PEER = {
    "url": "https://peer.example",
    "verifier_key": NoteSigner.from_seed("peer.example", bytes(32)).verifier.vkey,
}


async def test_admin_api_needs_the_operator_token(tmp_path: Path) -> None:
    async with running_node(sqlite_settings(tmp_path)) as client:  # no token: disabled
        disabled = await client.post(
            "/v1/admin/peers", json=PEER, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert disabled.status_code == 403
        assert disabled.json()["type"] == "/problems/forbidden"
    async with running_node(sqlite_settings(tmp_path, admin_token=TOKEN)) as client:
        missing = await client.post("/v1/admin/peers", json=PEER)
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"].startswith("Bearer")
        wrong = await client.delete(
            "/v1/admin/peers/peer.example", headers={"Authorization": "Bearer wrong-token-xxxxxxx"}
        )
        assert wrong.status_code == 401
        added = await client.post(
            "/v1/admin/peers", json=PEER, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert added.status_code == 201, added.text


# --- CORS ----------------------------------------------------------------------------------------

PREFLIGHT = {
    "Access-Control-Request-Method": "POST",
    "Access-Control-Request-Headers": "content-type",
}


async def test_cors_preflight_allows_configured_origins_only(tmp_path: Path) -> None:
    settings = sqlite_settings(tmp_path, cors_origins="https://app.example, https://b.example")
    async with running_node(settings) as client:
        allowed = await client.options(
            "/v1/check", headers={"Origin": "https://app.example", **PREFLIGHT}
        )
        assert allowed.status_code == 204
        assert allowed.headers["access-control-allow-origin"] == "https://app.example"
        assert "POST" in allowed.headers["access-control-allow-methods"]
        assert "access-control-allow-credentials" not in allowed.headers
        refused = await client.options(
            "/v1/check", headers={"Origin": "https://evil.example", **PREFLIGHT}
        )
        assert refused.headers.get("access-control-allow-origin") != "https://evil.example"
        answer = await client.post(
            "/v1/check", json={"sha256s": [work_hash(1)]}, headers={"Origin": "https://b.example"}
        )
        assert answer.headers["access-control-allow-origin"] == "https://b.example"
        assert "retry-after" in answer.headers["access-control-expose-headers"].lower()
        # a browser reads which layout a binary check has (spec §6.8.4)
        binary = await client.post(
            "/v1/check/sha256?identity=1",
            content=bytes(32),
            headers={"Origin": "https://b.example", "Content-Type": "application/octet-stream"},
        )
        assert binary.headers["consent-identity"] == "1"
        exposed = binary.headers["access-control-expose-headers"].lower()
        assert "consent-identity" in exposed


async def test_no_cors_headers_by_default(tmp_path: Path) -> None:
    async with running_node(sqlite_settings(tmp_path)) as client:
        answer = await client.post(
            "/v1/check", json={"sha256s": [work_hash(1)]}, headers={"Origin": "https://app.example"}
        )
        assert answer.status_code == 200
        assert "access-control-allow-origin" not in answer.headers


@pytest.mark.parametrize("origins", ["app.example", "https://app.example/path", "ftp://x.test"])
def test_malformed_cors_origins_are_refused(origins: str) -> None:
    with pytest.raises(SettingsError, match="cors_origins"):
        Settings(cors_origins=origins)
