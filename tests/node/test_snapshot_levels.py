"""Levels files over HTTP (spec §8.10), on SQLite and PostgreSQL: a snapshot's hits decided
offline under each policy, with the claims' levels and evidence.

A work is attested by a trusted platform as its owner's upload; the owner says ``y``, a stranger
``n``. The snapshot holds the work (reserved under ``any``); with the levels file the SDK's
offline check answers "not reserved, the owner at level platform:art" under ``verified`` and
"reserved" under ``any``, without asking the node; a levels file that was tampered with, or that
belongs to another snapshot, is refused.
"""

from __future__ import annotations

import asyncio
import hashlib
import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
from consent import AsyncConsentClient
from consent.errors import VerificationError
from consent.offline import OfflineReport, acheck_offline

from registry.app import create_app
from registry.core.errors import SnapshotError, UnverifiedNoteError
from registry.core.levels import merge_levels, open_levels
from registry.core.note import NoteVerifier
from registry.core.snapshot import open_snapshot, sha256_key, verify_chain
from tests.node.api_support import BASE_URL, declaration, make_settings, record_id_of, work_hash
from tests.node.test_api_trust_records import (
    OWNER,
    PLATFORM,
    STRANGER,
    accepted,
    attestation,
    platforms_file,
)

SHA = work_hash(41)  # attested to the owner, who says y; a stranger says n
PLAIN = work_hash(42)  # one unverified n: the default answer
NOWHERE = work_hash(43)  # nobody said anything


class _Tamper(httpx.AsyncBaseTransport):
    """The node's answers, with every levels file changed by ``change`` and the listing's
    hashes made to match (so that only the signature or the binding can refuse it)."""

    def __init__(self, inner: httpx.AsyncBaseTransport, change: bytes | None = None) -> None:
        self.inner = inner
        self.change = change

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        response = await self.inner.handle_async_request(request)
        body = await response.aread()
        path = request.url.path
        if path.endswith("/levels"):
            body = self._changed(body)
        elif path == "/v1/snapshots":
            listing = json.loads(body)
            for entry in listing["chain"]:
                if entry["levels"] is not None:
                    levels = await self.inner.handle_async_request(
                        httpx.Request("GET", f"{BASE_URL}{entry['levels']['url']}")
                    )
                    data = self._changed(await levels.aread())
                    entry["levels"]["sha256"] = hashlib.sha256(data).hexdigest()
            body = json.dumps(listing).encode()
        headers = {k: v for k, v in response.headers.items() if k.lower() != "content-length"}
        return httpx.Response(response.status_code, headers=headers, content=body)

    def _changed(self, data: bytes) -> bytes:
        if self.change is not None:
            return self.change
        return data[:-1] + bytes([data[-1] ^ 1])


@asynccontextmanager
async def _node(database_url: str, tmp_path: Path) -> AsyncIterator[tuple[object, object]]:
    settings = make_settings(
        database_url,
        tmp_path,
        trusted_platforms=platforms_file(tmp_path),
        snapshot_interval=0.1,
    )
    app = create_app(settings)
    async with app.lifespan():
        transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
        yield app, transport


async def _snapshot_at(http: httpx.AsyncClient, size: int) -> dict[str, object]:
    for _ in range(300):
        response = await http.get("/v1/snapshots")
        if response.status_code == 200 and response.json()["size"] >= size:
            listing: dict[str, object] = response.json()
            return listing
        await asyncio.sleep(0.05)
    raise AssertionError("the node's snapshot never reached the log size")


async def _check(
    transport: httpx.AsyncBaseTransport, cache: Path, policy: str, *, levels: bool = True
) -> OfflineReport:
    async with AsyncConsentClient(BASE_URL, transport=transport) as client:
        return await acheck_offline(
            client,
            sha256s=[SHA, PLAIN, NOWHERE],
            cache_dir=cache,
            policy=policy,  # type: ignore[arg-type]
            levels=levels,
        )


async def test_levels_decide_hits_offline_with_the_owners_level(
    database_url: str, tmp_path: Path
) -> None:
    owner_says = declaration(OWNER, [SHA], prefs={"train-ai": "y"})
    stranger_says = declaration(STRANGER, [SHA], prefs={"train-ai": "n"}, issued_at=1_700_000_100)
    plain = declaration(STRANGER, [PLAIN], prefs={"train-ai": "n"})
    proof = attestation(OWNER, [SHA])
    async with _node(database_url, tmp_path) as (_, transport):
        assert isinstance(transport, httpx.ASGITransport)
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            for entry in (owner_says, stranger_says, plain, proof):
                await accepted(http, entry)
            listing = await _snapshot_at(http, 4)
            info = (await http.get("/.well-known/consent-registry")).json()
            verifier = NoteVerifier.from_vkey(info["verifier_key"])
            entries: list[dict[str, Any]] = listing["chain"]  # type: ignore[assignment]
            chain = verify_chain(
                [open_snapshot((await http.get(e["url"])).content, verifier) for e in entries]
            )
            # the chain holds the work: possibly reserved, whatever the policy
            assert chain.contains_sha256(SHA)
            assert chain.contains_sha256(PLAIN)
            # every snapshot has a levels file; the last one's is complete (spec §8.10.1)
            assert all(e["levels"] is not None for e in entries)
            full, snapshot = entries[-1], chain.snapshots[-1]
            levels_response = await http.get(full["levels"]["url"])
            assert levels_response.status_code == 200
            assert levels_response.headers["cache-control"] == "public, max-age=10"
            assert levels_response.headers["etag"] == f'"{full["levels"]["sha256"]}"'
            levels = open_levels(levels_response.content, verifier, snapshot)
            assert levels.header.platforms == (("art", PLATFORM.public_key.did),)
            row = levels.row(sha256_key(SHA))
            assert row is not None
            assert row.reserved == frozenset({"any"})
            assert levels.row(sha256_key(PLAIN)) is None  # the default: no trust record
            missing = await http.get(f"/v1/snapshots/full-{full['size'] + 7}/levels")
            assert missing.status_code == 404

        # the SDK under "verified": the owner's y decides; nothing asked of the node but PLAIN
        report = await _check(transport, tmp_path / "cache", "verified")
        answer, plain_answer, nowhere = report.answers
        assert not answer.reserved()
        assert answer.prefs == {"train-ai": "y"}
        claims = {c.declaration: c for c in answer.claims}
        owner = claims[record_id_of(owner_says)]
        assert (owner.level, owner.evidence, owner.counted) == (
            "platform:art",
            [record_id_of(proof)],
            True,
        )
        stranger = claims[record_id_of(stranger_says)]
        assert (stranger.level, stranger.counted) == ("none", False)
        assert plain_answer.reserved()  # asked: the node says reserved
        assert not nowhere.reserved()
        assert (report.decided, report.asked) == (1, 1)
        # under "any" the stranger's n counts: reserved, decided locally too
        anything = await _check(transport, tmp_path / "cache", "any")
        assert anything.answers[0].reserved()
        assert anything.decided == 1
        # under "verified-only" an unverified reservation counts for nothing: decided
        strict = await _check(transport, tmp_path / "cache", "verified-only")
        assert [a.reserved() for a in strict.answers] == [False, False, False]
        assert (strict.decided, strict.asked) == (2, 0)
        # without levels: hits are asked, as before
        asked = await _check(transport, tmp_path / "cache", "verified", levels=False)
        assert (asked.decided, asked.asked) == (0, 2)
        assert not asked.answers[0].reserved()

        # a tampered levels file is refused, though the listing's hash matches it
        with pytest.raises(VerificationError, match="levels file"):
            await _check(_Tamper(transport), tmp_path / "tampered", "verified")

        # a levels file of another snapshot is refused
        async with httpx.AsyncClient(transport=transport, base_url=BASE_URL) as http:
            await accepted(http, declaration(OWNER, [work_hash(44)], issued_at=1_700_000_200))
            later = await _snapshot_at(http, 5)
            newest = later["chain"][-1]  # type: ignore[index]
            assert newest["name"] != full["name"]
            other = open_snapshot((await http.get(newest["url"])).content, verifier)
            with pytest.raises(SnapshotError, match="not bound"):
                open_levels(levels_response.content, verifier, other)
            forged = levels_response.content.replace(full["name"].encode(), newest["name"].encode())
            with pytest.raises(UnverifiedNoteError):
                open_levels(forged, verifier, other)
            # the delta's levels file names the one before it and holds only what changed
            # (spec §8.10.1 item 4): the attested work's row is not repeated
            chain_entries: list[dict[str, Any]] = later["chain"]  # type: ignore[assignment]
            assert chain_entries[-2]["name"] == full["name"]
            assert other.header.kind == "delta"
            files = [
                open_levels(
                    (await http.get(e["levels"]["url"])).content,
                    verifier,
                    open_snapshot((await http.get(e["url"])).content, verifier),
                )
                for e in chain_entries
            ]
            delta = files[-1]
            assert delta.header.previous == hashlib.sha256(levels_response.content).digest()
            assert delta.row(sha256_key(SHA)) is None
            merged = merge_levels(files)
            assert merged.row(sha256_key(SHA)) == levels.row(sha256_key(SHA))
            assert merged.header == delta.header
            # out of order, or without the file it follows, the chain is refused
            with pytest.raises(SnapshotError, match="does not follow"):
                merge_levels(files[1:])
            with pytest.raises(SnapshotError, match="does not follow"):
                merge_levels([*files, delta])
        # the SDK merges the chain's files: the attested hit is still decided offline
        after_delta = await _check(transport, tmp_path / "cache", "verified")
        assert after_delta.checker.chain.snapshots[-1].header.kind == "delta"
        assert (after_delta.decided, after_delta.asked) == (1, 1)
        assert not after_delta.answers[0].reserved()
        with pytest.raises(VerificationError, match="levels file"):
            await _check(
                _Tamper(transport, levels_response.content), tmp_path / "stale", "verified"
            )
