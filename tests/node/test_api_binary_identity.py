"""The binary batch check with identity (``POST /v1/check/sha256?identity=1``, spec §6.8.4,
ADR 0023) over HTTP, on SQLite and PostgreSQL: for works with trust records (a domain binding
the node signs after fetching a did.json from a loopback site, platform attestations, a
counter-statement, a revocation) each claim's level, evidence, ``counted`` and ``disputed_by``
are exactly the JSON batch check's under every policy; without the parameter the answer is the
one it always was."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any

import httpx
import pytest

from registry.core.batchcheck import CheckAnswer, CheckClaim, decode_answers, encode_answers
from registry.core.records import CounterStatement, Revocation, encode_record, sign_record
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    work_hash,
)
from tests.node.test_api_bindings import domain_site
from tests.node.test_api_trust_records import accepted, attestation, platforms_file

OCTETS = {"Content-Type": "application/octet-stream"}
OWNER, STRANGER, BOUND = creator_key(950), creator_key(951), creator_key(952)
PAGE = "https://owner.example/art/9.png"


def _json_claims(item: dict[str, Any]) -> list[CheckClaim]:
    """The JSON form's claims (§6.8.1; empty lists and ``counted: true`` omitted on the wire)."""
    return [
        CheckClaim(
            c["declaration"],
            c["level"],
            c.get("evidence", []),
            c.get("counted", True),
            c.get("disputed_by", []),
        )
        for c in item.get("claims", [])
    ]


def _claims(answer: CheckAnswer | None) -> list[CheckClaim]:
    assert answer is not None
    assert answer.claims is not None
    return answer.claims


async def _binary(
    client: httpx.AsyncClient, hashes: list[str], params: Mapping[str, str]
) -> httpx.Response:
    body = b"".join(bytes.fromhex(h) for h in hashes)
    response = await client.post("/v1/check/sha256", content=body, headers=OCTETS, params=params)
    assert response.status_code == 200, response.text
    return response


async def test_binary_identity_equals_the_json_claims(database_url: str, tmp_path: Path) -> None:
    verified_sha, bound_sha, revoked_sha, plain_sha, unknown_sha = (
        work_hash(n) for n in range(60, 65)
    )
    with domain_site(tmp_path / "site", BOUND.public_key.did) as port:
        settings = make_settings(
            database_url,
            tmp_path / "data",
            trusted_platforms=platforms_file(tmp_path),
            binding_allow_http=True,
            binding_allow_private=True,
            binding_resolve=f"owner.example=127.0.0.1:{port}",
        )
        async with running_node(settings) as client:
            # a work the owner's platform attested twice; a stranger's claim the owner disputes
            owner_says = declaration(OWNER, [verified_sha], prefs={"train-ai": "y"})
            stranger_says = declaration(
                STRANGER, [verified_sha, plain_sha], issued_at=1_700_000_100
            )
            for entry in (
                owner_says,
                stranger_says,
                attestation(OWNER, [verified_sha]),
                attestation(OWNER, [verified_sha], issued_at=1_700_000_050),
            ):
                await accepted(client, entry)
            counter = CounterStatement(
                v=1,
                creator=OWNER.public_key.did,
                target=record_id_of(stranger_says),
                statement="not-rightsholder",
                issued_at=1_700_000_700,
            )
            counter_entry = encode_record(sign_record(counter, OWNER))
            await accepted(client, counter_entry)
            # a work published on a domain its declarer proves, also attested by the platform
            bound_says = declaration(BOUND, [bound_sha], prefs={"train-ai": "n"}, urls=[PAGE])
            await accepted(client, bound_says)
            await accepted(client, attestation(BOUND, [bound_sha]))
            bound = await client.post(
                "/v1/bindings", json={"domain": "owner.example", "did": BOUND.public_key.did}
            )
            assert bound.status_code == 201, bound.text
            # a reservation, a thief's withdrawal, and the revocation that voids it
            reservation = declaration(STRANGER, [revoked_sha], issued_at=1_700_000_000)
            await accepted(client, reservation)
            theft = declaration(STRANGER, [revoked_sha], withdraw=True, issued_at=1_700_000_500)
            await accepted(client, theft)
            revocation = Revocation(
                v=1,
                creator=STRANGER.public_key.did,
                key=STRANGER.public_key.did,
                since=1_700_000_400,
                issued_at=1_700_000_600,
            )
            await accepted(client, encode_record(sign_record(revocation, STRANGER)))

            hashes = [unknown_sha, verified_sha, bound_sha, revoked_sha, plain_sha, unknown_sha]
            seen_levels: set[str] = set()
            for policy in (None, "any", "verified", "verified-only"):
                params = {} if policy is None else {"policy": policy}
                checked = await client.post("/v1/check", json={"sha256s": hashes}, params=params)
                items = checked.json()["sha256s"]
                with_identity = await _binary(client, hashes, {**params, "identity": "1"})
                assert with_identity.headers["consent-identity"] == "1"
                decoded = decode_answers(with_identity.content, len(hashes), identity=True)
                for item, answer in zip(items, decoded, strict=True):
                    if "declarations" not in item:
                        assert answer is None
                        continue
                    assert answer is not None
                    assert answer.prefs == item.get("prefs", {})
                    assert answer.declarations == item["declarations"]
                    assert answer.claims == _json_claims(item), (policy, item["sha256"])
                    seen_levels |= {c.level for c in answer.claims}
                # without identity: the answer it always was, the same hits without claims
                plain = await _binary(client, hashes, params)
                assert "consent-identity" not in plain.headers
                stripped = [None if a is None else CheckAnswer(*a[:2]) for a in decoded]
                assert plain.content == encode_answers(stripped)
                assert decode_answers(plain.content, len(hashes)) == stripped

            # what the JSON form says, in the binary one (default policy)
            final = decode_answers(
                (await _binary(client, hashes, {"identity": "1"})).content, 6, identity=True
            )
            owner_claims = {c.declaration: c for c in _claims(final[1])}
            owner = owner_claims[record_id_of(owner_says)]
            assert (owner.level, owner.counted, len(owner.evidence)) == ("platform:art", True, 2)
            assert owner.evidence == sorted(owner.evidence)
            stranger = owner_claims[record_id_of(stranger_says)]
            assert (stranger.level, stranger.counted) == ("none", False)
            assert stranger.disputed_by == [record_id_of(counter_entry)]
            (bound_claim,) = _claims(final[2])
            assert bound_claim.level == "domain:owner.example"
            assert bound.json()["id"] in bound_claim.evidence
            assert len(bound_claim.evidence) == 2  # the binding and the attestation
            (restored,) = _claims(final[3])
            assert restored.declaration == record_id_of(reservation)
            assert seen_levels == {"none", "platform:art", "domain:owner.example"}


@pytest.mark.parametrize("value", ["0", "true", "", "11"])
async def test_identity_takes_only_1(database_url: str, tmp_path: Path, value: str) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        response = await client.post(
            "/v1/check/sha256",
            content=bytes(32),
            headers=OCTETS,
            params={"identity": value},
        )
        assert "identity" in assert_problem(response, 400, "bad-request")["detail"]
        nothing = await _binary(client, [work_hash(1)], {"identity": "1", "policy": "any"})
        assert nothing.content == b"\x00"
