"""Issue 12 over HTTP, on SQLite and PostgreSQL: trust records submitted to a node change its
answers as spec §9.4 says (owner outranks stranger, platform attestations in bulk, revocation,
counter-statements, policies), platforms and bindings are admitted only as spec §9.6 allows, and
fresh keys from one address are held to the per-address quota."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from registry.core.keys import PrivateKey
from registry.core.records import (
    Binding,
    CounterStatement,
    PlatformAttestation,
    Revocation,
    encode_record,
    new_work,
    pack_hashes,
    sign_record,
)
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    work_hash,
)

JSON = {"Content-Type": "application/json"}
PLATFORM = creator_key(900)
ROGUE = creator_key(901)
OWNER, STRANGER = creator_key(910), creator_key(911)
PAGE = "https://art.example/works/1.png"


def platforms_file(tmp_path: Path, *, quota: int = 100_000, scope: Any = "*") -> Path:
    path = tmp_path / "platforms.json"
    entry = {"name": "art", "key": PLATFORM.public_key.did, "scope": scope, "quota": quota}
    path.write_text(json.dumps({"platforms": [entry]}), encoding="utf-8")
    return path


def attestation(
    creator: PrivateKey,
    hashes: list[str],
    *,
    platform: PrivateKey = PLATFORM,
    issued_at: int = 1_700_000_000,
) -> bytes:
    record = PlatformAttestation(
        v=1,
        platform=platform.public_key.did,
        account="@owner",
        creator=creator.public_key.did,
        issued_at=issued_at,
        hashes=pack_hashes(hashes),
    )
    return encode_record(sign_record(record, platform))


async def post_record(client: httpx.AsyncClient, entry: bytes) -> httpx.Response:
    return await client.post("/v1/records", content=entry, headers=JSON)


async def accepted(client: httpx.AsyncClient, entry: bytes) -> dict[str, Any]:
    response = await post_record(client, entry)
    assert response.status_code == 201, response.text
    assert response.headers["location"] == f"/v1/records/{record_id_of(entry)}"
    body: dict[str, Any] = response.json()
    return body


async def work(client: httpx.AsyncClient, sha256: str, policy: str | None = None) -> Any:
    params = {"policy": policy} if policy else {}
    response = await client.get(f"/v1/works/sha256/{sha256}", params=params)
    assert response.status_code == 200, response.text
    return response.json()


async def test_platform_owner_outranks_a_stranger(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, trusted_platforms=platforms_file(tmp_path))
    sha = work_hash(1)
    owner_says = declaration(OWNER, [sha], prefs={"train-ai": "y"})
    stranger_says = declaration(STRANGER, [sha], prefs={"train-ai": "n"}, issued_at=1_700_000_100)
    async with running_node(settings) as client:
        await accepted(client, owner_says)
        await accepted(client, stranger_says)
        # before any evidence: nobody is verified, any disallow wins (spec §3.5)
        before = await work(client, sha)
        assert before["prefs"] == {"train-ai": "n"}
        assert {c["level"] for c in before["claims"]} == {"none"}
        proof = attestation(OWNER, [sha])
        await accepted(client, proof)
        default = await work(client, sha)
        assert default["policy"] == "verified"
        assert default["prefs"] == {"train-ai": "y"}
        claims = {c["creator"]: c for c in default["claims"]}
        owner, stranger = claims[OWNER.public_key.did], claims[STRANGER.public_key.did]
        assert owner["level"] == "platform:art"
        assert owner["evidence"] == [record_id_of(proof)]
        assert owner["counted"] is True
        assert owner["verified"] is True
        assert stranger["level"] == "none"
        assert stranger["counted"] is False  # listed, not counted
        assert (await work(client, sha, "any"))["prefs"] == {"train-ai": "n"}
        assert (await work(client, sha, "verified-only"))["prefs"] == {"train-ai": "y"}
        # the batch check, the binary check and the node description agree
        check = await client.post("/v1/check", json={"sha256s": [sha]})
        item = check.json()["sha256s"][0]
        assert item["prefs"] == {"train-ai": "y"}
        levels = {c["declaration"]: (c["level"], c.get("counted", True)) for c in item["claims"]}
        assert levels == {
            record_id_of(owner_says): ("platform:art", True),
            record_id_of(stranger_says): ("none", False),
        }
        binary = await client.post(
            "/v1/check/sha256",
            content=bytes.fromhex(sha),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert binary.content[0] == 0x01 | 0x04  # known, train-ai y
        binary_any = await client.post(
            "/v1/check/sha256?policy=any",
            content=bytes.fromhex(sha),
            headers={"Content-Type": "application/octet-stream"},
        )
        assert binary_any.content[0] == 0x01 | 0x02  # known, train-ai n
        fetched = await client.get(f"/v1/records/{record_id_of(proof)}")
        assert fetched.status_code == 200
        assert json.dumps(fetched.json()["record"], separators=(",", ":")).encode() == proof
        described = (await client.get("/.well-known/consent-registry")).json()
        assert described["trust"]["platforms"] == [
            {"name": "art", "key": PLATFORM.public_key.did, "scope": ["*"], "quota": 100_000}
        ]
        assert described["node_key"] in described["trust"]["nodes"]
        bad = await client.get(f"/v1/works/sha256/{sha}", params={"policy": "strangers"})
        assert "verified-only" in assert_problem(bad, 400, "bad-request")["detail"]


async def test_one_attestation_covers_a_thousand_works(database_url: str, tmp_path: Path) -> None:
    settings = make_settings(database_url, tmp_path, trusted_platforms=platforms_file(tmp_path))
    hashes = sorted(work_hash(10_000 + n) for n in range(1000))
    async with running_node(settings) as client:
        for start in (0, 500):
            part = hashes[start : start + 500]
            await accepted(client, declaration(OWNER, part, prefs={"train-ai": "n"}))
        proof = attestation(OWNER, hashes)
        await accepted(client, proof)
        check = await client.post("/v1/check", json={"sha256s": hashes})
        items = check.json()["sha256s"]
        assert len(items) == 1000
        assert all(item["prefs"] == {"train-ai": "n"} for item in items)
        assert all(
            [c["level"] for c in item["claims"]] == ["platform:art"]
            and item["claims"][0]["evidence"] == [record_id_of(proof)]
            for item in items
        )


async def test_platforms_and_bindings_are_admitted_as_the_operator_says(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(
        database_url,
        tmp_path,
        trusted_platforms=platforms_file(tmp_path, quota=3, scope=["art.example"]),
    )
    async with running_node(settings) as client:
        rogue = await post_record(client, attestation(OWNER, [work_hash(1)], platform=ROGUE))
        assert ROGUE.public_key.did in assert_problem(rogue, 403, "untrusted-platform")["detail"]
        outside = PlatformAttestation(
            v=1,
            platform=PLATFORM.public_key.did,
            account="@owner",
            creator=OWNER.public_key.did,
            issued_at=1_700_000_000,
            works=(
                # a work published on another site than the platform's scope
                new_work(work_hash(2), urls=["https://elsewhere.example/2.png"]),
            ),
        )
        refused = await post_record(client, encode_record(sign_record(outside, PLATFORM)))
        assert "outside its scope" in assert_problem(refused, 403, "untrusted-platform")["detail"]
        await accepted(client, attestation(OWNER, [work_hash(n) for n in range(3)]))
        over = await post_record(
            client, attestation(OWNER, [work_hash(9)], issued_at=1_700_000_001)
        )
        assert "quota of 3" in assert_problem(over, 429, "rate-limited")["detail"]
        binding = await post_record(client, _binding_by(OWNER))
        assert "POST /v1/bindings" in assert_problem(binding, 403, "forbidden")["detail"]
        batch = await client.post(
            "/v1/records:batch",
            json={
                "records": [
                    json.loads(_binding_by(OWNER)),
                    json.loads(declaration(OWNER, [work_hash(5)])),
                ]
            },
        )
        results = batch.json()["results"]
        assert [r["status"] for r in results] == [403, 201]
        size = int((await client.get("/checkpoint")).text.splitlines()[1])
        assert size == 2  # the accepted attestation and the declaration, nothing refused


def _binding_by(key: PrivateKey) -> bytes:
    record = Binding(
        v=1,
        node=key.public_key.did,
        origin="node.test/log",
        domain="art.example",
        creator=key.public_key.did,
        issued_at=1_700_000_000,
        evidence="00" * 32,
    )
    return encode_record(sign_record(record, key))


async def test_after_revocation_the_thiefs_withdrawal_does_not_count(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, trusted_platforms=platforms_file(tmp_path))
    sha = work_hash(3)
    async with running_node(settings) as client:
        reservation = declaration(OWNER, [sha], prefs={"train-ai": "n"}, issued_at=1_700_000_000)
        await accepted(client, reservation)
        # the key leaks; the thief withdraws the reservation
        theft = declaration(OWNER, [sha], withdraw=True, issued_at=1_700_000_500)
        await accepted(client, theft)
        assert (await work(client, sha))["prefs"] == {}
        # the owner (or their platform, for a key they lost) revokes the key since the leak
        revocation = Revocation(
            v=1,
            creator=OWNER.public_key.did,
            key=OWNER.public_key.did,
            since=1_700_000_400,
            issued_at=1_700_000_600,
        )
        await accepted(client, encode_record(sign_record(revocation, OWNER)))
        restored = await work(client, sha)
        assert restored["prefs"] == {"train-ai": "n"}
        assert [c["declaration"] for c in restored["claims"]] == [record_id_of(reservation)]


async def test_a_verified_owner_disputes_a_strangers_claim(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, trusted_platforms=platforms_file(tmp_path))
    page_hash = work_hash(4)
    async with running_node(settings) as client:
        stranger_says = declaration(STRANGER, [work_hash(5)], urls=[PAGE])
        await accepted(client, stranger_says)
        # the owner's platform attests the page; the owner disputes the stranger's claim
        owner_work = PlatformAttestation(
            v=1,
            platform=PLATFORM.public_key.did,
            account="@owner",
            creator=OWNER.public_key.did,
            issued_at=1_700_000_000,
            works=(new_work(page_hash, urls=[PAGE]),),
        )
        await accepted(client, encode_record(sign_record(owner_work, PLATFORM)))
        counter = CounterStatement(
            v=1,
            creator=OWNER.public_key.did,
            target=record_id_of(stranger_says),
            statement="not-rightsholder",
            issued_at=1_700_000_700,
        )
        # the owner has no claim on the page: the stranger's claim is disputed, not counted
        counter_entry = encode_record(sign_record(counter, OWNER))
        await accepted(client, counter_entry)
        answer = (await client.get("/v1/works/url", params={"url": PAGE})).json()
        (claim,) = answer["claims"]
        assert claim["disputed_by"] == [record_id_of(counter_entry)]
        assert claim["counted"] is False
        assert answer["prefs"] == {}
        anyway = (await client.get("/v1/works/url", params={"url": PAGE, "policy": "any"})).json()
        assert anyway["prefs"] == {"train-ai": "n"}


async def test_fresh_keys_from_one_address_are_held_to_its_quota(
    database_url: str, tmp_path: Path
) -> None:
    settings = make_settings(database_url, tmp_path, address_hourly_limit=100)
    entries = [declaration(creator_key(5000 + n), [work_hash(20_000 + n)]) for n in range(500)]
    async with running_node(settings) as client:
        answer = await client.post(
            "/v1/records:batch", json={"records": [json.loads(e) for e in entries]}
        )
        statuses = [r["status"] for r in answer.json()["results"]]
        assert statuses.count(201) == 100
        assert statuses.count(429) == 400
        one_more = await client.post("/v1/declarations", content=entries[-1], headers=JSON)
        assert "per address" in assert_problem(one_more, 429, "rate-limited")["detail"]
        # another address is not held by this one's quota
