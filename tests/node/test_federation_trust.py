"""Trust records replicate (spec §7, §9): two real ``registry serve`` processes on 127.0.0.1, one
on PostgreSQL and one on SQLite, peering with each other and trusting the same platform. A
platform attestation submitted to one node, and a revocation submitted to the other, are
mirrored, verified and indexed by both: both answer the owner's claim at ``platform:art`` with the
same evidence, and neither counts the thief's withdrawal made after the revocation time. A
binding one node signs after checking a domain (a web server on loopback) counts on its peer."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest

from registry.core.records import (
    PlatformAttestation,
    Revocation,
    encode_record,
    pack_hashes,
    sign_record,
)
from tests.node.api_support import creator_key, declaration, record_id_of, work_hash
from tests.node.test_api_bindings import domain_site
from tests.node.test_federation_nodes import postgres_url  # noqa: F401 - a fixture
from tests.node.test_federation_support import NodeKeys, NodeProcess, wait_until

pytestmark = pytest.mark.slow

PLATFORM, OWNER, STRANGER = creator_key(920), creator_key(921), creator_key(922)
JSON = {"Content-Type": "application/json"}


def post_records(node: NodeProcess, entries: list[bytes]) -> None:
    body = b'{"records":[' + b",".join(entries) + b"]}"
    response = node.post("/v1/records:batch", content=body, headers=JSON)
    assert response.status_code == 200, response.text
    assert all(r["status"] == 201 for r in response.json()["results"]), response.text


def start_pair(
    tmp_path: Path, database_url: str, site_port: int
) -> tuple[NodeProcess, NodeProcess]:
    platforms = tmp_path / "platforms.json"
    entry = {"name": "art", "key": PLATFORM.public_key.did, "scope": "*", "quota": 1000}
    platforms.write_text(json.dumps({"platforms": [entry]}))
    a = NodeProcess(
        NodeKeys.make("a.trust.test/log"),
        ["--data-dir", str(tmp_path / "a"), "--database-url", database_url],
    )
    b = NodeProcess(NodeKeys.make("b.trust.test/log"), ["--data-dir", str(tmp_path / "b")])
    for node, other in ((a, b), (b, a)):
        peers = tmp_path / f"{node.keys.origin[0]}.peers"
        peers.write_text(other.peers_line() + "\n")
        node.extra_args = [
            "--peers",
            str(peers),
            "--peer-poll-interval",
            "1",
            "--trusted-platforms",
            str(platforms),
            # domain checks against this test's web server on loopback (tests only)
            "--binding-allow-http",
            "--binding-allow-private",
            "--binding-resolve",
            f"owner.example=127.0.0.1:{site_port}",
        ]
        node.start(wait=False)
    a.wait_ready()
    b.wait_ready()
    return a, b


def test_attestations_and_revocations_replicate_and_count_on_both_nodes(
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the fixture
) -> None:
    with domain_site(tmp_path / "site", OWNER.public_key.did) as port:
        _replicate(tmp_path, postgres_url, port)


def _replicate(tmp_path: Path, database_url: str, site_port: int) -> None:
    a, b = start_pair(tmp_path, database_url, site_port)
    try:
        owned, stolen = work_hash(30), work_hash(31)
        owner_says = declaration(OWNER, [owned], prefs={"train-ai": "y"})
        stranger_says = declaration(
            STRANGER, [owned], prefs={"train-ai": "n"}, issued_at=1_700_000_100
        )
        proof = PlatformAttestation(
            v=1,
            platform=PLATFORM.public_key.did,
            account="@owner",
            creator=OWNER.public_key.did,
            issued_at=1_700_000_000,
            hashes=pack_hashes([owned]),
        )
        proof_entry = encode_record(sign_record(proof, PLATFORM))
        post_records(a, [owner_says, stranger_says, proof_entry])
        # the owner's reservation of another work, then a thief's withdrawal, on node b
        reservation = declaration(OWNER, [stolen], issued_at=1_700_000_000)
        theft = declaration(OWNER, [stolen], withdraw=True, issued_at=1_700_000_500)
        revocation = Revocation(
            v=1,
            creator=OWNER.public_key.did,
            key=OWNER.public_key.did,
            since=1_700_000_400,
            issued_at=1_700_000_600,
        )
        post_records(b, [reservation, theft, encode_record(sign_record(revocation, OWNER))])

        def agreed() -> list[dict[str, Any]] | None:
            seen = [
                [n.get(f"/v1/works/sha256/{w}").json() for w in (owned, stolen)] for n in (a, b)
            ]
            for answers in seen:
                for answer in answers:
                    for claim in answer["claims"]:
                        del claim["origin"]  # which log a node names first is its own
            complete = all(len(x["claims"]) == 2 for x in (seen[0][0], seen[1][0]))
            return seen[0] if complete and seen[0] == seen[1] and seen[0][1]["claims"] else None

        owned_answer, stolen_answer = wait_until(agreed, timeout=30, what="both nodes agree")
        assert owned_answer["prefs"] == {"train-ai": "y"}
        levels = {c["creator"]: (c["level"], c["evidence"]) for c in owned_answer["claims"]}
        assert levels[OWNER.public_key.did] == ("platform:art", [record_id_of(proof_entry)])
        assert levels[STRANGER.public_key.did] == ("none", [])
        # the withdrawal after the revocation time does not count, on both nodes
        assert stolen_answer["prefs"] == {"train-ai": "n"}
        assert [c["declaration"] for c in stolen_answer["claims"]] == [record_id_of(reservation)]
        # the evidence is served, with a receipt, by the node that did not log it
        evidence = b.get(f"/v1/records/{record_id_of(proof_entry)}")
        assert evidence.status_code == 200
        assert evidence.json()["origin"] == a.keys.origin
        # a binding node a signs after checking the domain counts on node b, its peer
        page = "https://owner.example/art/9.png"
        post_records(b, [declaration(OWNER, [work_hash(32)], urls=[page])])
        bound = a.post(
            "/v1/bindings",
            json={"domain": "owner.example", "did": OWNER.public_key.did},
            headers=JSON,
        )
        assert bound.status_code == 201, bound.text

        def domain_level_on_b() -> list[str] | None:
            claims = b.get("/v1/works/url", params={"url": page}).json()["claims"]
            levels = [c["level"] for c in claims]
            return levels if levels == ["domain:owner.example"] else None

        assert wait_until(domain_level_on_b, timeout=30, what="node b counts a's binding")
    finally:
        a.stop()
        b.stop()
