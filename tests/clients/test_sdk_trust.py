"""The SDK's trust records and offline evidence checks (spec §9.3 to §9.5), without a node:
records built and signed here with fixed keys, logged in a small local log whose receipts are
verified as a crawler verifies a node's."""

from __future__ import annotations

import base64
import hashlib
import json
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import msgspec
import pytest
from consent import ConsentClient, ReceiptStoreError
from consent.answers import Answer
from consent.client import _Api, _policy_params
from consent.creator import Creator
from consent.errors import VerificationError
from consent.evidence import averify_claim_evidence, check_evidence, subject_of
from consent.proofs import verifier_from_key, verify_record_entry
from consent.receipts import ReceiptStore
from consent.trust import (
    MAX_PACKED_PER_ATTESTATION,
    TrustConfig,
    attestations,
    counter_statement,
    did_document,
    did_json,
    packed_capacity,
    revocation,
    rotation,
)

from registry.core.errors import KeyFormatError, LimitError, RecordError
from registry.core.keys import PrivateKey
from registry.core.records import (
    MAX_ENTRY_BYTES,
    AnyRecord,
    Binding,
    CounterStatement,
    Declaration,
    PlatformAttestation,
    Revocation,
    Rotation,
    TrustRecord,
    attested_hashes,
    encode_record,
    load_entry,
    new_declaration,
    new_work,
    sign_declaration,
    sign_record,
)
from registry.wire import NodeInfo, TrustInfo
from tests.clients.sdk_support import in_process_node
from tests.clients.trust_support import T0, LocalLog, key

OWNER, STRANGER, NODE, PLATFORM = key("owner"), key("stranger"), key("node"), key("platform")
PAGE = "https://owner.example/art/1.png"
WORK_SHA = hashlib.sha256(b"the image bytes").hexdigest()


def digests(n: int, salt: str = "") -> list[str]:
    return [hashlib.sha256(f"{salt}{i}".encode()).hexdigest() for i in range(n)]


# --- record builders (spec §9.3.3 to §9.3.5) --------------------------------------------------


def test_rotation_revocation_and_counter_statement_are_signed_records_the_core_loads() -> None:
    new = key("owner new")
    made: list[AnyRecord] = [
        rotation(OWNER, new.public_key.did, issued_at=T0),
        revocation(OWNER, since=T0 - 3600, issued_at=T0),
        counter_statement(OWNER, "ab" * 32, issued_at=T0),
    ]
    loaded = [load_entry(encode_record(record)) for record in made]
    assert loaded == made
    turn, revoke, dispute = loaded
    assert isinstance(turn, Rotation)
    assert turn.new_key == new.public_key.did
    assert turn.creator == OWNER.public_key.did
    assert isinstance(revoke, Revocation)
    assert revoke.key == OWNER.public_key.did
    assert revoke.since == T0 - 3600
    assert isinstance(dispute, CounterStatement)
    assert dispute.statement == "not-rightsholder"


def test_a_platform_revokes_the_key_it_attested() -> None:
    record = revocation(PLATFORM, key=OWNER.public_key.did, since=T0, issued_at=T0)
    assert (record.creator, record.key) == (PLATFORM.public_key.did, OWNER.public_key.did)


@pytest.mark.parametrize(
    ("build", "error", "words"),
    [
        (lambda: rotation(OWNER, OWNER.public_key.did, issued_at=T0), RecordError, "different"),
        (lambda: rotation(OWNER, "did:key:zNope", issued_at=T0), KeyFormatError, None),
        (lambda: revocation(OWNER, since=T0 + 1, issued_at=T0), RecordError, "since"),
        (lambda: counter_statement(OWNER, "not-an-id", issued_at=T0), RecordError, "target"),
        (
            lambda: counter_statement(OWNER, "ab" * 32, issued_at=T0, statement="liar"),
            RecordError,
            "statement",
        ),
        (
            lambda: rotation(OWNER, STRANGER.public_key.did, issued_at=2**53),
            RecordError,
            "issued_at",
        ),
    ],
)
def test_invalid_trust_records_are_refused_before_signing(
    build: Callable[[], object], error: type[Exception], words: str | None
) -> None:
    with pytest.raises(error, match=words):
        build()


# --- platform attestations in bulk (spec §9.3.2 "How many fit") -------------------------------


def test_packed_capacity_is_the_spec_figure_for_a_short_account() -> None:
    capacity = packed_capacity(PLATFORM.public_key.did, "alice", OWNER.public_key.did, T0)
    assert capacity == MAX_PACKED_PER_ATTESTATION == 1528
    # a long account name leaves room for fewer
    long_name = packed_capacity(PLATFORM.public_key.did, "a" * 128, OWNER.public_key.did, T0)
    assert long_name < capacity


def test_attestations_are_chunked_at_the_entry_limit_and_cover_every_hash_once() -> None:
    hashes = digests(2 * 1528 + 1)
    made = attestations(
        PLATFORM,
        account="alice",
        creator=OWNER.public_key.did,
        issued_at=T0,
        sha256s=hashes + hashes[:10],  # repeats are attested once
    )
    assert [len(attested_hashes(a)) for a in made] == [1528, 1528, 1]
    entries = [encode_record(a) for a in made]
    assert all(len(e) <= MAX_ENTRY_BYTES for e in entries)
    # full: one more packed digest (42-43 bytes) would not fit
    assert len(entries[0]) > MAX_ENTRY_BYTES - 43
    covered = [h for a in made for h in attested_hashes(a)]
    assert sorted(covered) == sorted(hashes)
    for entry in entries:
        record = load_entry(entry)  # signature by the platform, sorted packed hashes
        assert isinstance(record, PlatformAttestation)
        assert (record.platform, record.account) == (PLATFORM.public_key.did, "alice")


def test_100000_uploads_take_66_attestations() -> None:
    made = attestations(
        PLATFORM,
        account="alice",
        creator=OWNER.public_key.did,
        issued_at=T0,
        sha256s=digests(100_000),
    )
    assert len(made) == 66  # spec §9.3.2: 100,000 uploads, 66 attestations


def test_works_with_urls_go_in_works_and_a_hash_given_both_ways_once() -> None:
    work = new_work(WORK_SHA, urls=[PAGE])
    made = attestations(
        PLATFORM,
        account="alice",
        creator=OWNER.public_key.did,
        issued_at=T0,
        sha256s=[WORK_SHA, *digests(3)],
        works=[work],
    )
    assert len(made) == 2
    packed, listed = made
    assert WORK_SHA not in attested_hashes(packed)
    assert len(attested_hashes(packed)) == 3
    assert listed.works == (work,)


def test_no_works_make_one_account_binding() -> None:
    (record,) = attestations(
        PLATFORM, account="alice", creator=key("owner new").public_key.did, issued_at=T0
    )
    assert record.hashes == ""
    assert record.works == ()
    assert load_entry(encode_record(record)) == record


@pytest.mark.parametrize(
    ("options", "words"),
    [
        ({"sha256s": ["ABC"]}, "64 lowercase hex"),
        ({"sha256s": ["A" * 64]}, "64 lowercase hex"),
        ({"account": "has space"}, "account"),
        ({"creator": "did:key:zBad"}, None),
    ],
)
def test_bad_attestation_input_is_refused(options: dict[str, object], words: str | None) -> None:
    arguments: dict[str, object] = {
        "account": "alice",
        "creator": OWNER.public_key.did,
        "issued_at": T0,
        **options,
    }
    with pytest.raises((RecordError, KeyFormatError), match=words):
        attestations(PLATFORM, **arguments)  # type: ignore[arg-type]


def test_a_work_too_big_for_an_entry_is_a_limit_error() -> None:
    urls = [f"https://owner.example/{'x' * 1900}/{n}" for n in range(16)]
    works = [new_work(h, urls=urls) for h in digests(3)]
    made = attestations(
        PLATFORM, account="alice", creator=OWNER.public_key.did, issued_at=T0, works=works
    )
    assert sum(len(a.works) for a in made) == 3  # ~31 KB each: one per entry at most 2
    assert all(len(encode_record(a)) <= MAX_ENTRY_BYTES for a in made)
    with pytest.raises(LimitError):
        attestations(
            PLATFORM,
            account="a" * 128,
            creator=OWNER.public_key.did,
            issued_at=T0,
            works=[new_work(digests(1)[0], urls=[u + "y" * 2100 for u in urls])],
        )


# --- did.json (spec §9.2) ---------------------------------------------------------------------


def test_did_document_names_the_key_both_ways_spec_9_2() -> None:
    did = OWNER.public_key.did
    document = did_document("Owner.Example.", did)
    assert document["id"] == "did:web:owner.example"
    assert document["alsoKnownAs"] == [did]
    methods = document["verificationMethod"]
    assert isinstance(methods, list)
    (method,) = methods
    assert method["type"] == "Multikey"
    assert method["publicKeyMultibase"] == did.removeprefix("did:key:")
    assert json.loads(did_json("owner.example", did)) == did_document("owner.example", did)


@pytest.mark.parametrize(
    "domain", ["https://owner.example", "owner.example:8443", "127.0.0.1", "", "-bad-.example"]
)
def test_did_document_refuses_what_is_not_a_domain(domain: str) -> None:
    with pytest.raises(RecordError, match="not a domain"):
        did_document(domain, OWNER.public_key.did)


# --- answers with identity levels and policies (spec §9.4.5, §9.4.7) -------------------------


def test_batch_answers_carry_each_claims_identity_and_default_for_an_older_node() -> None:
    body = {
        "policy": "verified",
        "sha256s": [
            {
                "sha256": WORK_SHA,
                "prefs": {"train-ai": "y"},
                "declarations": ["aa" * 32, "bb" * 32],
                "claims": [
                    {
                        "declaration": "aa" * 32,
                        "level": "domain:owner.example",
                        "evidence": ["cc" * 32],
                    },
                    {"declaration": "bb" * 32, "level": "none", "counted": False},
                ],
            }
        ],
        "urls": [{"url": PAGE}],  # an older node: no claims, no policy
    }
    request = httpx.Request("POST", "http://node.test/v1/check")
    response = httpx.Response(200, content=json.dumps(body).encode(), request=request)
    owner_answer, page = _Api.check_answers([("sha256", WORK_SHA), ("url", PAGE)], response)
    assert owner_answer.policy == "verified"
    assert not owner_answer.reserved()
    owner, stranger = owner_answer.claims
    assert (owner.level, owner.counted, owner.evidence) == (
        "domain:owner.example",
        True,
        ["cc" * 32],
    )
    assert (stranger.level, stranger.counted) == ("none", False)
    assert page.claims == []
    assert Answer(kind="sha256", key=WORK_SHA).policy is None


def test_policy_parameter_is_checked_before_anything_is_sent() -> None:
    assert _policy_params(None) == {}
    assert _policy_params("verified-only") == {"policy": "verified-only"}
    with pytest.raises(ValueError, match="unknown policy 'strict'"):
        _policy_params("strict")  # type: ignore[arg-type]


def test_trust_config_from_a_node_description() -> None:
    described = {
        "platforms": [
            {"name": "cara", "key": PLATFORM.public_key.did, "scope": ["*"], "quota": 10}
        ],
        "nodes": [NODE.public_key.did],
    }
    config = TrustConfig.from_info(msgspec.convert(described, TrustInfo))
    assert config.nodes == {NODE.public_key.did}
    assert config.platforms == {PLATFORM.public_key.did: "cara"}
    mine = TrustConfig(platforms={PLATFORM.public_key.did: "cara-art"})
    assert config.merged(mine).platforms[PLATFORM.public_key.did] == "cara-art"
    assert (
        _Api.trust(
            msgspec.convert({"origin": "o", "verifier_key": "k", "protocol_version": 1}, NodeInfo)
        )
        == TrustConfig()
    )


# --- offline evidence (spec §9.5) -------------------------------------------------------------


def _declare(
    signer: PrivateKey, prefs: dict[str, str], at: int, urls: tuple[str, ...] = (PAGE,)
) -> Declaration:
    record = new_declaration(
        creator=signer.public_key.did,
        issued_at=at,
        works=[new_work(WORK_SHA, urls=urls)],
        prefs=prefs,
    )
    return sign_declaration(record, signer)


def _binding(
    at: int, *, node: PrivateKey = NODE, creator: str | None = None, lapsed: bool = False
) -> TrustRecord:
    return sign_record(
        Binding(
            v=1,
            node=node.public_key.did,
            origin="trust.test/log",
            domain="owner.example",
            creator=creator or OWNER.public_key.did,
            issued_at=at,
            evidence=hashlib.sha256(b"did.json").hexdigest(),
            lapsed=lapsed,
        ),
        node,
    )


TRUST = TrustConfig(
    nodes=frozenset({NODE.public_key.did}), platforms={PLATFORM.public_key.did: "cara"}
)


def test_a_domain_level_is_confirmed_from_the_log_alone() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "y"}, T0)))
    binding = log.verified(log.append(_binding(T0 + 60)))  # verified after it declared: covers
    for subject in (("url", PAGE), ("sha256", WORK_SHA)):
        report = check_evidence(
            subject, declaration, [binding], TRUST, claimed=["domain:owner.example"]
        )
        assert report.ok
        assert report.level == "domain:owner.example"
        assert report.problems == ()
        assert report.records[0].index == 1
        assert report.records[0].origin == log.origin


def test_a_binding_by_a_node_you_do_not_trust_confirms_nothing() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "y"}, T0)))
    rogue = log.verified(log.append(_binding(T0, node=key("rogue node"))))
    report = check_evidence(
        ("url", PAGE), declaration, [rogue], TRUST, claimed=["domain:owner.example"]
    )
    assert not report.ok
    assert report.level == "none"
    assert any("which you do not trust" in p for p in report.problems)
    assert any("domain:owner.example is not confirmed" in p for p in report.problems)


def test_a_binding_of_the_domain_does_not_vouch_for_a_work_published_elsewhere() -> None:
    log = LocalLog()
    elsewhere = "https://stranger.example/copy.png"
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "n"}, T0, (elsewhere,))))
    binding = log.verified(log.append(_binding(T0)))
    report = check_evidence(
        ("url", elsewhere), declaration, [binding], TRUST, claimed=["domain:owner.example"]
    )
    assert not report.ok
    assert report.confirmed == ()


def test_a_binding_for_another_key_confirms_nothing() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(STRANGER, {"train-ai": "n"}, T0)))
    binding = log.verified(log.append(_binding(T0)))  # binds OWNER, not the stranger
    report = check_evidence(
        ("url", PAGE), declaration, [binding], TRUST, claimed=["domain:owner.example"]
    )
    assert not report.ok


def test_a_lapsed_binding_does_not_cover_a_later_claim() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "y"}, T0 + 100)))
    bound = log.verified(log.append(_binding(T0)))
    lapsed = log.verified(log.append(_binding(T0 + 50, lapsed=True)))
    report = check_evidence(
        ("url", PAGE), declaration, [bound, lapsed], TRUST, claimed=["domain:owner.example"]
    )
    assert not report.ok


def test_a_platform_level_is_confirmed_and_needs_a_trusted_platform() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "n"}, T0)))
    (made,) = attestations(
        PLATFORM, account="alice", creator=OWNER.public_key.did, issued_at=T0, sha256s=[WORK_SHA]
    )
    attestation = log.verified(log.append(made))
    report = check_evidence(
        ("sha256", WORK_SHA), declaration, [attestation], TRUST, claimed=["platform:cara"]
    )
    assert report.ok
    assert report.level == "platform:cara"
    distrust = TrustConfig(nodes=TRUST.nodes)
    report = check_evidence(
        ("sha256", WORK_SHA), declaration, [attestation], distrust, claimed=["platform:cara"]
    )
    assert not report.ok
    assert "which you do not trust" in report.problems[0]


def test_a_level_through_a_rotated_key_needs_the_rotation_record() -> None:
    log = LocalLog()
    new = key("owner new")
    binding = log.verified(log.append(_binding(T0)))
    turn = log.verified(log.append(rotation(OWNER, new.public_key.did, issued_at=T0 + 10)))
    declaration = log.verified(log.append(_declare(new, {"train-ai": "y"}, T0 + 20)))
    claimed = ["domain:owner.example"]
    without = check_evidence(("url", PAGE), declaration, [binding], TRUST, claimed=claimed)
    assert not without.ok
    with_turn = check_evidence(
        ("url", PAGE), declaration, [binding], TRUST, claimed=claimed, extra=[turn]
    )
    assert with_turn.ok


def test_evidence_that_is_not_a_binding_or_attestation_is_refused() -> None:
    log = LocalLog()
    declaration = log.verified(log.append(_declare(OWNER, {"train-ai": "y"}, T0)))
    other = log.verified(log.append(_declare(STRANGER, {"train-ai": "n"}, T0)))
    with pytest.raises(VerificationError, match="not a binding or a platform attestation"):
        check_evidence(("url", PAGE), declaration, [other], TRUST)
    with pytest.raises(VerificationError, match="is not a declaration"):
        check_evidence(("url", PAGE), log.verified(log.append(_binding(T0))), [], TRUST)


def test_receipts_of_evidence_are_checked_against_the_pinned_log_key() -> None:
    log = LocalLog()
    entry = log.append(_binding(T0))
    receipt = log.receipt(entry)
    assert verify_record_entry(entry, receipt, verifier_from_key(log.vkey)).index == 0
    other = LocalLog("other.test/log")
    with pytest.raises(VerificationError):
        verify_record_entry(entry, receipt, verifier_from_key(other.vkey))
    with pytest.raises(VerificationError, match="not the record"):
        verify_record_entry(entry, receipt, verifier_from_key(log.vkey), expected_id="00" * 32)
    # a forged signature: the node's binding altered after signing
    forged = entry.replace(b"owner.example", b"other.example")
    log.entries.append(forged)
    with pytest.raises(VerificationError, match="signature"):
        verify_record_entry(forged, log.receipt(forged), verifier_from_key(log.vkey))


def test_subject_of_normalises_urls() -> None:
    assert subject_of("url", "HTTPS://Owner.Example/art/1.png") == ("url", PAGE)
    assert subject_of("sha256", WORK_SHA) == ("sha256", WORK_SHA)


def test_packed_hashes_are_base64_of_sorted_digests() -> None:
    (made,) = attestations(
        PLATFORM, account="alice", creator=OWNER.public_key.did, issued_at=T0, sha256s=digests(3)
    )
    raw = base64.b64decode(made.hashes)
    assert [raw[i : i + 32].hex() for i in range(0, 96, 32)] == sorted(digests(3))


def test_a_rotated_key_record_names_its_predecessors(tmp_path: Path) -> None:
    store = ReceiptStore(tmp_path / "record")
    assert store.predecessors() == []
    store.set_predecessors([OWNER.public_key.did, STRANGER.public_key.did, OWNER.public_key.did])
    assert store.predecessors() == [OWNER.public_key.did, STRANGER.public_key.did]
    new = key("owner new")
    with ConsentClient("http://127.0.0.1:9") as client:
        creator = Creator(new, client, store)
        assert creator.keys == {new.public_key.did, OWNER.public_key.did, STRANGER.public_key.did}
    (tmp_path / "record" / ".predecessors.json").write_text("{")
    with pytest.raises(ReceiptStoreError, match="damaged"):
        store.predecessors()


# --- the async client against the real node app (in process) ---------------------------------


async def test_async_client_submits_trust_records_and_checks_evidence(tmp_path: Path) -> None:
    platforms = tmp_path / "platforms.json"
    entry = {"name": "cara", "key": PLATFORM.public_key.did, "scope": "*", "quota": 10_000}
    platforms.write_text(json.dumps({"platforms": [entry]}))
    now = int(time.time())
    made = attestations(
        PLATFORM,
        account="alice",
        creator=OWNER.public_key.did,
        issued_at=now,
        sha256s=[WORK_SHA, *digests(1600)],
    )
    assert len(made) == 2
    declaration = _declare(OWNER, {"train-ai": "y"}, now)
    stranger = _declare(STRANGER, {"train-ai": "n"}, now)
    async with in_process_node(tmp_path / "node", trusted_platforms=platforms) as node:
        trust = await node.trust()
        assert trust.platforms == {PLATFORM.public_key.did: "cara"}
        assert (await node.info()).node_key in trust.nodes  # it trusts its own bindings
        results = await node.submit_records([encode_record(a) for a in made])
        assert [r.ok for r in results] == [True, True]
        await node.submit_record(encode_record(declaration))
        await node.submit_record(encode_record(stranger))
        verified = await node.verify_record(results[0].id or "")
        assert isinstance(verified.record, PlatformAttestation)
        answer = await node.work_by_sha256(WORK_SHA)
        assert answer.policy == "verified"
        assert answer.prefs == {"train-ai": "y"}  # the owner outranks the stranger
        owner = next(c for c in answer.claims if c.creator == OWNER.public_key.did)
        assert owner.level == "platform:cara"
        report = await averify_claim_evidence(node, ("sha256", WORK_SHA), owner)
        assert report.ok
        assert report.confirmed == ("platform:cara",)
        anything = await node.check(sha256s=[WORK_SHA], policy="any")
        assert anything[0].prefs == {"train-ai": "n"}
        binary_any = await node.check_sha256s([WORK_SHA], policy="any")
        assert binary_any[0].prefs == {"train-ai": "n"}  # the binary form honours policy=
        assert (await node.check_sha256s([WORK_SHA]))[0].prefs == {"train-ai": "y"}
        assert (await node.check_sha256s([WORK_SHA]))[0].claims == []
        # with identity (spec §6.8.4) the binary answer carries the JSON check's claims
        asked = [WORK_SHA, digests(1, "unknown")[0]]
        for policy in (None, "any", "verified-only"):
            binary = await node.check_sha256s(asked, policy=policy, identity=True)
            checked = await node.check(sha256s=asked, policy=policy)
            assert [(a.prefs, a.declarations, a.claims) for a in binary] == [
                (a.prefs, a.declarations, a.claims) for a in checked
            ]
        levels = {c.level: c.counted for c in binary[0].claims}
        assert levels == {"platform:cara": True, "none": False}
        assert binary[1].claims == []
