"""Issue 12 findings over HTTP: future-dated records (spec §2.11) and refused Ed25519 points
(spec §1.4.4) are 4xx problems, alone and inside a batch, and nothing of them is logged."""

from __future__ import annotations

import time
from pathlib import Path

import httpx

from registry.core.encoding import b58encode, b64encode, canonical_json
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    running_node,
    work_hash,
)

JSON = {"Content-Type": "application/json"}


def identity_key_forgery() -> bytes:
    """The audit's forgery: a did:key of the identity point, R = identity and S = 0, a
    "signature" OpenSSL accepts for any message."""
    identity = bytes.fromhex("01" + "00" * 31)
    return canonical_json({
        "type": "declaration", "v": 1, "issued_at": 1_700_000_000,
        "creator": "did:key:z" + b58encode(b"\xed\x01" + identity),
        "works": [{"sha256": work_hash(1)}], "prefs": {"train-ai": "n"},
        "sig": b64encode(identity + bytes(32)),
    })  # fmt: skip


async def log_size(client: httpx.AsyncClient) -> int:
    checkpoint = (await client.get("/checkpoint")).text
    return int(checkpoint.splitlines()[1])


async def test_small_order_key_is_refused(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        answer = await client.post("/v1/declarations", content=identity_key_forgery(), headers=JSON)
        body = assert_problem(answer, 422, "bad-key")
        assert "small-order" in body["detail"]
        assert await log_size(client) == 0


async def test_future_dated_declarations_are_refused(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, clock_skew=600)
    key = creator_key(1)
    now = int(time.time())
    async with running_node(settings) as client:
        for issued_at in (now + 3600, 2**53 - 1):
            entry = declaration(key, [work_hash(1)], issued_at=issued_at)
            answer = await client.post("/v1/declarations", content=entry, headers=JSON)
            assert (
                "ahead of this receiver's clock"
                in assert_problem(answer, 422, "future-dated")["detail"]
            )
        # Within the skew is accepted: a device clock a few minutes fast is fine.
        fine = declaration(key, [work_hash(2)], issued_at=now + 300)
        accepted = await client.post("/v1/declarations", content=fine, headers=JSON)
        assert accepted.status_code == 201, accepted.text
        # In a batch, only the future-dated item and the forged one are refused.
        late = declaration(key, [work_hash(3)], issued_at=now + 7200)
        ok = declaration(key, [work_hash(4)], issued_at=now)
        body = b'{"declarations":[' + b",".join([late, identity_key_forgery(), ok]) + b"]}"
        batch = await client.post("/v1/declarations:batch", content=body, headers=JSON)
        assert batch.status_code == 200, batch.text
        results = batch.json()["results"]
        assert [r["status"] for r in results] == [422, 422, 201]
        assert results[0]["problem"]["type"] == "/problems/future-dated"
        assert results[1]["problem"]["type"] == "/problems/bad-key"
        assert await log_size(client) == 2
        # The reserved work's state is the one accepted declaration, not the future one.
        work = (await client.get(f"/v1/works/sha256/{work_hash(1)}")).json()
        assert work.get("claims", []) == []
