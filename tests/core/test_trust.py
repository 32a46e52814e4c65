"""Identity levels and owner-outranks-stranger resolution (spec §9.4): scenarios a crawler
would notice, and order independence with trust records (spec §9.4.8)."""

from __future__ import annotations

import hashlib
import itertools
import json
from typing import Any

import msgspec
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from registry.core.errors import RecordError
from registry.core.records import (
    AnyRecord,
    Binding,
    CounterStatement,
    Declaration,
    PlatformAttestation,
    Revocation,
    Rotation,
    Work,
    attested_hashes,
    load_entry,
    pack_hashes,
    record_id,
)
from registry.core.state import EMPTY_RESOLUTION, ConsentState, Subject
from registry.core.trust import (
    POLICIES,
    TrustState,
    as_resolution,
    parse_policy,
    under_policy,
    url_host,
)
from tests.core.test_state import ALICE, BOB, CAROL, decl, declaration_sets, sha
from tests.core.vectors import SPEC_VECTORS, generated

NODE = "did:key:z6MkNode"
OTHER_NODE = "did:key:z6MkOtherNode"
ART = "did:key:z6MkArtPlatform"
ROGUE = "did:key:z6MkRoguePlatform"
ALICE2 = "did:key:z6MkAlice2"
PAGE = "https://alice.example/gallery/1"
WORK = (1, (PAGE,))


def rid(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def binding(
    creator: str, domain: str, at: int, *, lapsed: bool = False, node: str = NODE
) -> Binding:
    return Binding(v=1, node=node, origin="registry.example/log", domain=domain, creator=creator,
                   issued_at=at, evidence=rid("doc"), lapsed=lapsed)  # fmt: skip


def attestation(creator: str, works: tuple[int, ...] = (), *, platform: str = ART,
                urls: tuple[str, ...] = ()) -> PlatformAttestation:  # fmt: skip
    listed = (Work(sha256=sha(99), urls=urls),) if urls else ()
    return PlatformAttestation(v=1, platform=platform, account="@alice", creator=creator,
                               issued_at=50, hashes=pack_hashes(sha(w) for w in works),
                               works=listed)  # fmt: skip


def state(*records: AnyRecord, platforms: dict[str, str] | None = None) -> TrustState:
    built = TrustState(platforms={ART: "art"} if platforms is None else platforms, nodes=[NODE])
    for index, record in enumerate(records):
        built.add(rid(f"record-{index}"), record, origin="log-a")
    return built


def ids(*indexes: int) -> tuple[str, ...]:
    return tuple(sorted(rid(f"record-{i}") for i in indexes))


def summary(resolution: Any) -> list[tuple[str, str, bool]]:
    return [(c.principal, c.level, c.counted) for c in resolution.claims]


OWNER_Y = decl(ALICE, 100, [WORK], {"train-ai": "y"})
STRANGER_N = decl(BOB, 200, [WORK], {"train-ai": "n"})


# -- owner outranks stranger (spec §9.4.7) ------------------------------------------------------


def test_domain_owner_outranks_a_stranger_under_the_default_policy() -> None:
    trust = state(OWNER_Y, STRANGER_N, binding(ALICE, "alice.example", 10))
    for subject in (("url", PAGE), ("sha256", sha(1))):
        default = trust.resolve(subject)
        assert default.policy == "verified"
        assert default.prefs == {"train-ai": "y"}
        assert not default.reserved()
        assert summary(default) == sorted(
            [(ALICE, "domain:alice.example", True), (BOB, "none", False)]
        )
        owner = next(c for c in default.claims if c.principal == ALICE)
        assert owner.evidence == ids(2)
        # the stranger's claim is still listed, and counts under policy=any
        anything = trust.resolve(subject, "any")
        assert anything.prefs == {"train-ai": "n"}
        assert all(c.counted for c in anything.claims)
        assert trust.resolve(subject, "verified-only").prefs == {"train-ai": "y"}


def test_without_a_verified_claim_every_claim_counts_except_under_verified_only() -> None:
    trust = state(OWNER_Y, STRANGER_N)
    assert trust.resolve(("url", PAGE)).prefs == {"train-ai": "n"}
    assert trust.resolve(("url", PAGE), "verified-only").prefs == {}
    assert summary(trust.resolve(("url", PAGE), "verified-only")) == [
        (ALICE, "none", False),
        (BOB, "none", False),
    ]


def test_domain_binding_covers_subdomains_but_not_lookalikes() -> None:
    urls = ("https://www.alice.example/a", "https://evilalice.example/a", "http://[::1]/a")
    trust = state(decl(ALICE, 100, [(1, urls)]), binding(ALICE, "alice.example", 10))
    assert trust.resolve(("url", urls[0])).claims[0].level == "domain:alice.example"
    assert trust.resolve(("url", urls[1])).claims[0].level == "none"
    assert trust.resolve(("url", urls[2])).claims[0].level == "none"
    assert trust.resolve(("sha256", sha(1))).claims[0].levels == ("domain:alice.example",)


def test_bindings_count_only_from_trusted_nodes_and_for_the_bound_key() -> None:
    trust = state(
        OWNER_Y,
        binding(ALICE, "alice.example", 10, node=OTHER_NODE),
        binding(BOB, "alice.example", 10),
    )
    assert trust.resolve(("url", PAGE)).claims[0].level == "none"


def test_a_lapsed_binding_ends_from_then_on_and_history_stays() -> None:
    before = decl(ALICE, 100, [(1, (PAGE,))])
    after = decl(ALICE, 300, [(2, (PAGE + "2",))])
    same_second = decl(ALICE, 200, [(3, (PAGE + "3",))])
    records: list[AnyRecord] = [before, after, same_second, binding(ALICE, "alice.example", 10),
               binding(ALICE, "alice.example", 200, lapsed=True)]  # fmt: skip
    trust = state(*records)
    assert trust.resolve(("sha256", sha(1))).claims[0].level == "domain:alice.example"
    assert trust.resolve(("sha256", sha(2))).claims[0].level == "none"
    assert trust.resolve(("sha256", sha(3))).claims[0].level == "none"  # a lapse wins the tie
    # checked again later: what was declared in between is covered by the new binding
    rebound = state(*records, binding(ALICE, "alice.example", 400))
    assert rebound.resolve(("sha256", sha(2))).claims[0].level == "domain:alice.example"
    assert rebound.resolve(("sha256", sha(2))).claims[0].evidence == ids(5)


def test_a_binding_made_after_the_declaration_verifies_it() -> None:
    trust = state(OWNER_Y, binding(ALICE, "alice.example", 500))
    assert trust.resolve(("url", PAGE)).claims[0].level == "domain:alice.example"


def test_platform_attestation_verifies_the_works_it_lists() -> None:
    trust = state(
        decl(ALICE, 100, [1, 2, (3, ("https://art.example/@alice/3",))], {"train-ai": "y"}),
        decl(BOB, 100, [1, 2], {"train-ai": "n"}),
        attestation(ALICE, (1,), urls=("https://art.example/@alice/3",)),
        attestation(ALICE, (2,), platform=ROGUE),
    )
    one = trust.resolve(("sha256", sha(1)))
    assert summary(one) == sorted([(ALICE, "platform:art", True), (BOB, "none", False)])
    assert one.claims[0].evidence == ids(2)
    assert trust.resolve(("sha256", sha(2))).prefs == {"train-ai": "n"}  # rogue not trusted
    assert trust.resolve(("url", "https://art.example/@alice/3")).claims[0].level == (
        "platform:art"
    )


def test_domain_level_is_listed_before_platform_level() -> None:
    trust = state(OWNER_Y, binding(ALICE, "alice.example", 10), attestation(ALICE, (1,)))
    claim = trust.resolve(("sha256", sha(1))).claims[0]
    assert claim.levels == ("domain:alice.example", "platform:art")
    assert claim.level == "domain:alice.example"
    assert claim.evidence == ids(1, 2)


# -- revocation (spec §9.4.1) -------------------------------------------------------------------


def test_after_revocation_the_thiefs_withdrawal_and_supersession_do_not_count() -> None:
    owner = decl(ALICE, 100, [WORK], {"train-ai": "n"})
    owner_id = rid("record-0")
    thief_withdrawal = decl(ALICE, 300, [WORK], withdraw=True)
    thief_supersede = decl(ALICE, 310, [2], {"train-ai": "y"}, supersedes=(owner_id,))
    revocation = Revocation(v=1, creator=ALICE, key=ALICE, since=250, issued_at=400)
    without = state(owner, thief_withdrawal, thief_supersede)
    assert without.resolve(("url", PAGE)).claims == ()
    trust = state(owner, thief_withdrawal, thief_supersede, revocation)
    claims = trust.resolve(("url", PAGE)).claims
    assert [(c.declaration_id, c.prefs) for c in claims] == [(owner_id, {"train-ai": "n"})]
    assert trust.resolve(("sha256", sha(2))).claims == ()


def test_only_the_key_itself_or_a_platform_that_attested_it_can_revoke() -> None:
    owner = decl(ALICE, 100, [WORK])
    by_bob = Revocation(v=1, creator=BOB, key=ALICE, since=0, issued_at=1)
    assert len(state(owner, by_bob).resolve(("url", PAGE)).claims) == 1
    by_platform = Revocation(v=1, creator=ART, key=ALICE, since=50, issued_at=60)
    assert state(owner, attestation(ALICE), by_platform).resolve(("url", PAGE)).claims == ()
    # a platform revokes only keys it attested, and only if trusted
    assert len(state(owner, by_platform).resolve(("url", PAGE)).claims) == 1
    untrusted = state(owner, attestation(ALICE), by_platform, platforms={})
    assert len(untrusted.resolve(("url", PAGE)).claims) == 1


def test_the_earliest_revocation_time_wins() -> None:
    records: list[AnyRecord] = [decl(ALICE, 100, [WORK]),
               Revocation(v=1, creator=ALICE, key=ALICE, since=500, issued_at=600),
               Revocation(v=1, creator=ALICE, key=ALICE, since=50, issued_at=600)]  # fmt: skip
    assert state(*records).resolve(("url", PAGE)).claims == ()


# -- rotation (spec §9.4.2) ---------------------------------------------------------------------


def test_rotation_carries_standing_and_one_principal_has_one_claim() -> None:
    old = decl(ALICE, 100, [WORK], {"train-ai": "n"})
    rotation = Rotation(v=1, creator=ALICE, new_key=ALICE2, issued_at=150)
    new = decl(ALICE2, 200, [WORK], {"train-ai": "y"})
    late_old = decl(ALICE, 300, [WORK], {"train-ai": "n"})  # signed after the rotation
    trust = state(old, rotation, new, late_old, STRANGER_N, binding(ALICE, "alice.example", 10))
    resolution = trust.resolve(("url", PAGE))
    assert [(c.creator, c.principal, c.level, c.counted) for c in resolution.claims] == [
        (ALICE2, ALICE, "domain:alice.example", True),
        (BOB, BOB, "none", False),
    ]
    assert resolution.prefs == {"train-ai": "y"}


def test_the_new_key_can_supersede_and_withdraw_the_old_keys_declarations() -> None:
    old = decl(ALICE, 100, [WORK])
    rotation = Rotation(v=1, creator=ALICE, new_key=ALICE2, issued_at=150)
    supersede = decl(ALICE2, 50, [2], supersedes=(rid("record-0"),))
    assert state(old, rotation, supersede).resolve(("url", PAGE)).claims == ()
    withdraw = decl(ALICE2, 200, [WORK], withdraw=True)
    assert state(old, rotation, withdraw).resolve(("url", PAGE)).claims == ()
    # a stranger's supersession has no effect
    assert len(state(old, decl(BOB, 9, [2], supersedes=(rid("record-0"),)))
               .resolve(("url", PAGE)).claims) == 1  # fmt: skip


def test_rotations_after_revocation_forks_and_cycles_do_not_count() -> None:
    new = decl(ALICE2, 200, [WORK])
    revoked_first: list[AnyRecord] = [
        Revocation(v=1, creator=ALICE, key=ALICE, since=100, issued_at=100),
        Rotation(v=1, creator=ALICE, new_key=ALICE2, issued_at=150),
        new,
    ]
    assert summary(state(*revoked_first).resolve(("url", PAGE))) == [(ALICE2, "none", True)]
    fork: list[AnyRecord] = [
        Rotation(v=1, creator=ALICE, new_key=BOB, issued_at=10),
        Rotation(v=1, creator=ALICE, new_key=ALICE2, issued_at=20),  # ALICE already rotated
        Rotation(v=1, creator=CAROL, new_key=BOB, issued_at=30),  # BOB already has a predecessor
        Rotation(v=1, creator=BOB, new_key=ALICE, issued_at=40),  # a cycle
        new,
        decl(CAROL, 200, [WORK]),
        decl(BOB, 200, [WORK]),
    ]
    principals = sorted(c.principal for c in state(*fork).resolve(("url", PAGE)).claims)
    assert principals == sorted([ALICE, ALICE2, CAROL])


# -- counter-statements (spec §9.4.6) -----------------------------------------------------------


def test_a_verified_owners_counter_statement_disputes_a_strangers_claim() -> None:
    stranger_id = rid("record-0")
    counter = CounterStatement(v=1, creator=ALICE, target=stranger_id,
                               statement="not-rightsholder", issued_at=300)  # fmt: skip
    trust = state(STRANGER_N, attestation(ALICE, (1,)), counter)
    default = trust.resolve(("sha256", sha(1)))
    assert default.claims[0].disputed_by == ids(2)
    assert not default.claims[0].counted
    assert default.prefs == {}
    assert trust.resolve(("sha256", sha(1)), "any").prefs == {"train-ai": "n"}
    by_domain = state(STRANGER_N, binding(ALICE, "alice.example", 10), counter)
    assert by_domain.resolve(("url", PAGE)).claims[0].disputed_by == ids(2)
    # on a sha256 subject a domain owner needs its own claim listing the URL to be verified
    assert by_domain.resolve(("sha256", sha(1))).claims[0].disputed_by == ()


def test_counter_statements_by_strangers_revoked_keys_or_oneself_are_not_shown() -> None:
    stranger_id = rid("record-0")

    def counter(creator: str) -> CounterStatement:
        return CounterStatement(v=1, creator=creator, target=stranger_id,
                                statement="not-rightsholder", issued_at=300)  # fmt: skip

    assert state(STRANGER_N, counter(CAROL)).resolve(("url", PAGE)).claims[0].disputed_by == ()
    revoked = Revocation(v=1, creator=ALICE, key=ALICE, since=200, issued_at=400)
    trust = state(STRANGER_N, attestation(ALICE, (1,)), counter(ALICE), revoked)
    assert trust.resolve(("sha256", sha(1))).claims[0].disputed_by == ()
    own = state(STRANGER_N, attestation(BOB, (1,)), counter(BOB))
    assert own.resolve(("sha256", sha(1))).claims[0].disputed_by == ()


# -- the state itself ---------------------------------------------------------------------------


def test_add_checks_ids_and_counts_origins_once() -> None:
    trust = TrustState()
    assert trust.add(rid("a"), OWNER_Y, origin="log-b")
    assert not trust.add(rid("a"), OWNER_Y, origin="log-a")
    assert len(trust) == 1
    assert trust.resolve(("url", PAGE)).claims[0].origins == ("log-a", "log-b")
    with pytest.raises(RecordError, match="another record"):
        trust.add(rid("a"), STRANGER_N, origin="log-a")
    with pytest.raises(RecordError, match="64 lowercase hex"):
        trust.add("abc", OWNER_Y, origin="log-a")
    with pytest.raises(RecordError, match="unknown policy"):
        trust.resolve(("url", PAGE), "owner")  # type: ignore[arg-type]
    assert trust.resolve(("url", "https://nobody.example/")).claims == ()


def test_url_host() -> None:
    assert url_host("https://Alice.example:8443/x") == "Alice.example"
    assert url_host("https://alice.example./x") == "alice.example"
    assert url_host("https://192.0.2.1/x") is None
    assert url_host("https://[2001:db8::1]:8443/x") is None


# -- properties (spec §9.4.8) -------------------------------------------------------------------


def _plain(value: Any) -> Any:
    return json.loads(msgspec.json.encode(value))


@settings(max_examples=100, deadline=None)
@given(declaration_sets())
def test_without_trust_records_every_policy_answers_as_consent_state(
    added: list[tuple[str, Declaration, str]],
) -> None:
    consent = ConsentState()
    trust = TrustState(platforms={ART: "art"}, nodes=[NODE])
    for declaration_id, record, origin in added:
        consent.add(declaration_id, record, origin=origin)
        trust.add(declaration_id, record, origin=origin)
    subjects: set[Subject] = {s for _, r, _ in added for s in _subjects(r)}
    for subject, policy in itertools.product(subjects, ("any", "verified")):
        want = consent.resolve(subject)
        got = trust.resolve(subject, policy)  # type: ignore[arg-type]
        assert got.prefs == want.prefs
        assert [(c.creator, c.declaration_id, c.prefs, c.origins) for c in got.claims] == [
            (c.creator, c.declaration_id, c.prefs, c.origins) for c in want.claims
        ]
        assert all(c.level == "none" and c.principal == c.creator for c in got.claims)


def _subjects(record: Declaration) -> list[Subject]:
    out: list[Subject] = []
    for work in record.works:
        out.append(("sha256", work.sha256))
        out.extend(("url", url) for url in work.urls)
    return out


KEYS = [ALICE, BOB, CAROL, ALICE2]


@st.composite
def trust_records(draw: st.DrawFn, declaration_ids: list[str]) -> list[AnyRecord]:
    out: list[AnyRecord] = []
    for _ in range(draw(st.integers(0, 10))):
        kind = draw(st.sampled_from(["binding", "attestation", "rotation", "revocation",
                                     "counter"]))  # fmt: skip
        key = draw(st.sampled_from([*KEYS, ALICE, BOB]))
        at = draw(st.integers(0, 4))
        if kind == "binding":
            lapsed = draw(st.sampled_from([False, False, True]))
            node = draw(st.sampled_from([NODE, NODE, OTHER_NODE]))
            out.append(binding(key, "a.example", at, lapsed=lapsed, node=node))
        elif kind == "attestation":
            out.append(attestation(key, tuple(draw(st.sets(st.integers(1, 3), max_size=3))),
                                   platform=draw(st.sampled_from([ART, ART, ROGUE]))))  # fmt: skip
        elif kind == "rotation":
            new = draw(st.sampled_from([k for k in KEYS if k != key]))
            out.append(Rotation(v=1, creator=key, new_key=new, issued_at=at))
        elif kind == "revocation":
            signer = draw(st.sampled_from([key, ART]))
            out.append(Revocation(v=1, creator=signer, key=key, since=at, issued_at=4))
        else:
            out.append(CounterStatement(v=1, creator=key,
                                        target=draw(st.sampled_from(declaration_ids)),
                                        statement="not-rightsholder", issued_at=at))  # fmt: skip
    return out


@settings(max_examples=150, deadline=None)
@given(declaration_sets(), st.randoms(use_true_random=False), st.data())
def test_any_arrival_order_of_declarations_and_trust_records_gives_one_answer(
    added: list[tuple[str, Declaration, str]], rnd: Any, data: st.DataObject
) -> None:
    extra = data.draw(trust_records([d for d, _, _ in added]))
    everything: list[tuple[str, AnyRecord, str]] = [*added] + [
        (rid(f"trust-{i}"), record, "log-a") for i, record in enumerate(extra)
    ]
    subjects: set[Subject] = {s for _, r, _ in added for s in _subjects(r)}
    subjects.add(("url", "https://a.example/1"))
    answers: list[Any] = []
    sequence = everything + data.draw(st.lists(st.sampled_from(everything), max_size=4))
    for _ in range(3):
        rnd.shuffle(sequence)
        trust = TrustState(platforms={ART: "art"}, nodes=[NODE])
        for identifier, record, origin in sequence:
            trust.add(identifier, record, origin=origin)
            if rnd.random() < 0.3:  # answers asked mid-way must not leave stale caches
                trust.resolve(("sha256", sha(1)))
        answers.append(
            {
                f"{subject}/{policy}": _plain(trust.resolve(subject, policy))
                for subject in sorted(subjects)
                for policy in ("any", "verified", "verified-only")
            }
        )
    assert answers[0] == answers[1] == answers[2]


# -- vectors (spec/vectors/trust-resolution.json) -----------------------------------------------


def _trust_vector_files() -> list[dict[str, Any]]:
    out = [json.loads(json.dumps(generated("gen_trust")["trust-resolution.json"]))]
    committed = SPEC_VECTORS / "trust-resolution.json"
    if committed.exists():
        out.append(json.loads(committed.read_text(encoding="utf-8")))
    return out


def test_trust_resolution_vectors_in_every_order() -> None:
    for data in _trust_vector_files():
        assert len(data["cases"]) >= 8
        for case in data["cases"]:
            entries = [
                (e["id"], load_entry(e["entry"].encode()), e["origin"]) for e in case["entries"]
            ]
            assert all(record_id(e["entry"].encode()) == e["id"] for e in case["entries"])
            for sequence in (entries, entries[::-1], entries + entries):
                trust = TrustState(platforms=case["config"]["platforms"],
                                   nodes=case["config"]["nodes"])  # fmt: skip
                for identifier, record, origin in sequence:
                    trust.add(identifier, record, origin=origin)
                for want in case["expected"]:
                    subject: Subject = (want["subject"][0], want["subject"][1])
                    got = _plain(trust.resolve(subject, want["policy"]))
                    assert got == want["resolution"], case["name"]


# -- property: against a reference written from the spec text (spec §9.4) ----------------------


def reference_resolution(
    added: dict[str, AnyRecord],
    origins: dict[str, set[str]],
    platforms: dict[str, str],
    nodes: set[str],
    subject: Subject,
    policy: str,
) -> dict[str, Any]:
    never = float("inf")
    kinds: dict[type, list[tuple[str, Any]]] = {}
    for identifier, record in added.items():
        kinds.setdefault(type(record), []).append((identifier, record))
    attestations = [
        (i, r) for i, r in kinds.get(PlatformAttestation, []) if r.platform in platforms
    ]
    # §9.4.1
    revoked: dict[str, float] = {}
    for _, r in kinds.get(Revocation, []):
        if r.creator == r.key or any(a.platform == r.creator and a.creator == r.key
                                     for _, a in attestations):  # fmt: skip
            revoked[r.key] = min(revoked.get(r.key, never), r.since)
    # §9.4.2
    rotated: dict[str, int] = {}
    predecessor: dict[str, str] = {}

    def chain(key: str) -> list[str]:
        out = [key]
        while out[-1] in predecessor:
            out.append(predecessor[out[-1]])
        return out

    for _, r in sorted(kinds.get(Rotation, []), key=lambda p: (p[1].issued_at, p[0])):
        if r.issued_at >= revoked.get(r.creator, never) or r.creator in rotated:
            continue
        if r.new_key in predecessor or r.new_key in chain(r.creator):
            continue
        rotated[r.creator] = r.issued_at
        predecessor[r.new_key] = r.creator

    def counts(key: str, at: int) -> bool:
        return at < revoked.get(key, never) and (key not in rotated or at <= rotated[key])

    decls = {i: r for i, r in kinds.get(Declaration, []) if counts(r.creator, r.issued_at)}
    superseded = {
        t
        for s in decls.values()
        for t in s.supersedes
        if t in decls and chain(decls[t].creator)[-1] == chain(s.creator)[-1]
    }
    winners: dict[str, tuple[int, str]] = {}
    for i, r in decls.items():
        if i in superseded or subject not in _subjects(r):
            continue
        principal = chain(r.creator)[-1]
        winners[principal] = max(winners.get(principal, (-1, "")), (r.issued_at, i))

    # §9.4.3
    def covered(key: str, domain: str, at: int) -> str | None:
        events = sorted((b.issued_at, b.lapsed, i) for i, b in kinds.get(Binding, [])
                        if b.creator == key and b.domain == domain and b.node in nodes)  # fmt: skip

        def in_force(x: int) -> str | None:
            before = [e for e in events if e[0] <= x]
            return before[-1][2] if before and not before[-1][1] else None

        if in_force(at) is not None:
            return in_force(at)
        later = [in_force(e[0]) for e in events if e[0] > at and not e[1]]
        return next((i for i in later if i is not None), None)

    # §9.4.4
    def levels(key: str, at: int, hosts: list[str]) -> tuple[list[str], set[str]]:
        found: set[str] = set()
        evidence: set[str] = set()
        domains = {b.domain for _, b in kinds.get(Binding, [])}
        for member, domain, host in itertools.product(chain(key), domains, hosts):
            if host == domain or host.endswith("." + domain):
                binding_id = covered(member, domain, at)
                if binding_id is not None:
                    found.add(f"domain:{domain}")
                    evidence.add(binding_id)
        for i, a in attestations:
            listed = {("sha256", h) for h in attested_hashes(a)}
            listed |= {s for w in a.works for s in _subjects(_one_work(w))}
            if a.creator in chain(key) and subject in listed:
                found.add(f"platform:{platforms[a.platform]}")
                evidence.add(i)
        return sorted(found, key=lambda x: (not x.startswith("domain:"), x)), evidence

    def hosts_of(urls: list[str]) -> list[str]:
        return [h for u in urls if (h := url_host(u)) is not None]

    claims: list[dict[str, Any]] = []
    for principal in sorted(winners):
        i = winners[principal][1]
        r = decls[i]
        if r.withdraw:
            continue
        urls = ([subject[1]] if subject[0] == "url" else
                [u for w in r.works if w.sha256 == subject[1] for u in w.urls])  # fmt: skip
        found, evidence = levels(r.creator, r.issued_at, hosts_of(urls))
        # §9.4.6
        disputes = []
        for c_id, c in kinds.get(CounterStatement, []):
            if c.target != i or not counts(c.creator, c.issued_at):
                continue
            if chain(c.creator)[-1] == principal:
                continue
            c_hosts = hosts_of([subject[1]]) if subject[0] == "url" else []
            if levels(c.creator, c.issued_at, c_hosts)[0]:
                disputes.append(c_id)
        claims.append({"creator": r.creator, "principal": principal, "declaration_id": i,
                       "issued_at": r.issued_at, "prefs": dict(sorted(r.prefs.items())),
                       "origins": sorted(origins[i]), "level": found[0] if found else "none",
                       "levels": found, "evidence": sorted(evidence),
                       "disputed_by": sorted(disputes)})  # fmt: skip
    # §9.4.7
    any_verified = any(c["levels"] for c in claims)
    for c in claims:
        if policy == "any":
            c["counted"] = True
        elif policy == "verified-only" or any_verified:
            c["counted"] = bool(c["levels"])
        else:
            c["counted"] = not c["disputed_by"]
    combined: dict[str, str] = {}
    for c in claims:
        for category, value in c["prefs"].items() if c["counted"] else ():
            if value == "n" or combined.get(category) != "n":
                combined[category] = value
    return {"policy": policy, "claims": claims, "prefs": dict(sorted(combined.items()))}


def _one_work(work: Work) -> Declaration:
    return Declaration(v=1, creator=ALICE, issued_at=0, works=(work,), prefs={"x": "n"})


@settings(max_examples=150, deadline=None)
@given(declaration_sets(), st.data())
def test_trust_state_matches_the_reference_reading_of_the_spec(
    added: list[tuple[str, Declaration, str]], data: st.DataObject
) -> None:
    extra = data.draw(trust_records([d for d, _, _ in added]))
    trust = TrustState(platforms={ART: "art"}, nodes=[NODE])
    records: dict[str, AnyRecord] = {}
    origins: dict[str, set[str]] = {}
    everything = [*added, *((rid(f"trust-{i}"), r, "log-a") for i, r in enumerate(extra))]
    for identifier, record, origin in everything:
        trust.add(identifier, record, origin=origin)
        records[identifier] = record
        origins.setdefault(identifier, set()).add(origin)
    subjects: set[Subject] = {s for _, r, _ in added for s in _subjects(r)}
    for subject, policy in itertools.product(sorted(subjects), POLICY_NAMES):
        want = reference_resolution(records, origins, {ART: "art"}, {NODE}, subject, policy)
        got = _plain(trust.resolve(subject, policy))  # type: ignore[arg-type]
        for claim in want["claims"]:
            claim["levels"] = list(claim["levels"])
        assert got == want, (subject, policy)


POLICY_NAMES = ("any", "verified", "verified-only")


def test_the_spec_example_prints_what_the_spec_says(capsys: pytest.CaptureFixture[str]) -> None:
    text = (SPEC_VECTORS.parent / "09-trust.md").read_text(encoding="utf-8")
    section = text.split("## §9.7 Using the reference implementation")[1]
    code = section.split("```python\n")[1].split("```")[0]
    output = section.split("```text\n")[1].split("```")[0]
    exec(compile(code, "spec/09-trust.md", "exec"), {})  # the spec's own example
    assert capsys.readouterr().out == output


# -- what answers carry (spec §9.4.5, §9.4.7) ----------------------------------------------------


def test_parse_policy_defaults_to_verified_and_names_the_choices() -> None:
    assert parse_policy(None) == parse_policy("") == "verified"
    assert [parse_policy(p) for p in POLICIES] == list(POLICIES)
    with pytest.raises(RecordError, match="verified-only"):
        parse_policy("strangers")


def test_as_resolution_carries_levels_evidence_and_counted() -> None:
    trust = state(OWNER_Y, STRANGER_N, binding(ALICE, "alice.example", 10))
    answer = as_resolution(trust.resolve(("url", PAGE)))
    assert [c.creator for c in answer.claims] == sorted([ALICE, BOB])
    by_creator = {c.creator: c for c in answer.claims}
    owner, stranger = by_creator[ALICE], by_creator[BOB]
    assert (owner.level, owner.verified, owner.counted) == ("domain:alice.example", True, True)
    assert owner.evidence == ids(2)
    assert owner.principal == ALICE
    assert (stranger.level, stranger.verified, stranger.counted) == ("none", False, False)
    assert answer.prefs == {"train-ai": "y"}
    assert answer.reserved() is False


def test_under_policy_answers_a_resolution_without_trust_records() -> None:
    consent = ConsentState()
    consent.add(rid("x"), STRANGER_N, origin="log-a")
    plain = consent.resolve(("url", PAGE))
    assert under_policy(plain, "any") is plain
    assert under_policy(plain, "verified") is plain
    only = under_policy(plain, "verified-only")
    assert only.prefs == {}
    assert [c.counted for c in only.claims] == [False]
    assert under_policy(EMPTY_RESOLUTION, "verified-only") is EMPTY_RESOLUTION
    # the same as TrustState's answer with no trust record
    reference = state(STRANGER_N).resolve(("url", PAGE), "verified-only")
    assert only.prefs == reference.prefs
