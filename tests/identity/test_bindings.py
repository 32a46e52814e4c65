"""Bindings from domain checks (spec §9.2, §9.3.1): the signed record a check produces, the
errors it answers, and the re-check that lapses a binding (and when it must not)."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import httpx
import msgspec
import pytest
from litestar import Litestar, post
from litestar.params import JSONBody

from registry.config.settings import Settings, SettingsError
from registry.core.records import (
    Binding,
    TrustRecord,
    encode_record,
    load_entry,
    new_declaration,
    new_work,
    record_id,
    sign_declaration,
    sign_record,
)
from registry.core.trust import TrustState
from registry.http.problems import exception_handlers
from registry.identity import FetchPolicy
from registry.services.bindings import (
    LAPSE_AFTER_FAILURES,
    BindingContext,
    FailureStreak,
    RecheckLoop,
    bindings_in_force,
    check_domain,
    decode_streaks,
    encode_streaks,
    fetch_policy,
    recheck,
)
from registry.services.errors import BadBindingRequestError, DomainCheckFailedError
from registry.wire.problems import PROBLEM_TYPES
from tests.identity.conftest import NODE, OWNER, STRANGER, Site, did_document, key, serve

ALICE = "alice.example"
ORIGIN = "registry.test/log"
T0 = 1_767_225_600
DAY = 86400


class BindRequest(msgspec.Struct, frozen=True, forbid_unknown_fields=True):
    """The body of ``POST /v1/bindings``."""

    domain: str
    did: str


class Clock:
    """A settable clock (Unix seconds)."""

    def __init__(self, now: int = T0) -> None:
        self.now = now

    def __call__(self) -> float:
        return float(self.now)


def node_signer(record: Binding) -> TrustRecord:
    """What ``NodeLog.sign_record`` does: sign with the node key."""
    return sign_record(record, NODE)


def context(site: Site, clock: Clock, **policy: object) -> BindingContext:
    return BindingContext(
        node=NODE.public_key.did,
        origin=ORIGIN,
        sign=node_signer,
        policy=site.policy(**policy),
        clock=clock,
    )


async def test_check_domain_returns_a_node_signed_binding_any_verifier_accepts(
    site: Site,
) -> None:
    document = did_document(ALICE, also=[OWNER.public_key.did])
    site.publish(ALICE, serve(document))
    binding = await check_domain(context(site, Clock()), "Alice.Example", OWNER.public_key.did)
    assert binding.node == NODE.public_key.did
    assert binding.origin == ORIGIN
    assert binding.domain == ALICE
    assert binding.creator == OWNER.public_key.did
    assert binding.issued_at == T0
    assert not binding.lapsed
    assert binding.evidence == hashlib.sha256(document).hexdigest()
    entry = encode_record(binding)
    assert load_entry(entry) == binding  # canonical, valid, signature verifies (§9.3, §9.5)
    # and a resolving party trusting the node sees the owner at level domain:alice.example
    page = f"https://{ALICE}/art/1.png"
    work = new_work(hashlib.sha256(b"the image").hexdigest(), urls=[page])
    declaration = sign_declaration(
        new_declaration(
            creator=OWNER.public_key.did, issued_at=T0, works=[work], prefs={"train-ai": "y"}
        ),
        OWNER,
    )
    state = TrustState(nodes=[NODE.public_key.did])
    for record in (declaration, binding):
        data = encode_record(record)
        state.add(record_id(data), load_entry(data), origin=ORIGIN)
    (claim,) = state.resolve(("url", page)).claims
    assert claim.level == "domain:alice.example"


@pytest.mark.parametrize(
    ("domain", "did"),
    [
        ("alice.example:443", OWNER.public_key.did),
        ("127.0.0.1", OWNER.public_key.did),
        (ALICE, "did:web:alice.example"),
        (ALICE, "did:key:z6Mk"),
    ],
)
async def test_a_malformed_request_is_a_400(site: Site, domain: str, did: str) -> None:
    with pytest.raises(BadBindingRequestError) as raised:
        await check_domain(context(site, Clock()), domain, did)
    assert PROBLEM_TYPES[raised.value.slug][0] == 400
    assert site.requests == []


@pytest.mark.parametrize(
    ("setup", "verdict"),
    [
        ("stranger", "not-named"),
        ("missing", "not-named"),
        ("public-suffix", "refused"),
        ("loopback", "refused"),
        ("down", "unreachable"),
    ],
)
async def test_a_failed_check_is_a_422_with_the_reason(
    site: Site, setup: str, verdict: str
) -> None:
    domain, policy = ALICE, {}
    if setup == "stranger":
        site.publish(ALICE, serve(did_document(ALICE, also=[STRANGER.public_key.did])))
    elif setup == "public-suffix":
        domain = "github.io"
    elif setup == "loopback":
        site.publish(ALICE, serve(did_document(ALICE, also=[OWNER.public_key.did])))
        policy = {"allow_private": False}
    elif setup == "down":
        site.publish(ALICE, serve(b"", status=502))
    with pytest.raises(DomainCheckFailedError) as raised:
        await check_domain(context(site, Clock(), **policy), domain, OWNER.public_key.did)
    error = raised.value
    assert error.verdict == verdict
    assert error.detail.startswith(f"{verdict}: ")
    assert PROBLEM_TYPES[error.slug] == (422, "Domain check failed")


async def test_the_errors_answer_rfc_9457_problems(site: Site) -> None:
    # how the node's POST /v1/bindings answers them (the app's own exception handlers)
    ctx = context(site, Clock())

    @post("/v1/bindings", status_code=201)
    async def bind(data: JSONBody[BindRequest]) -> dict[str, str]:
        record = await check_domain(ctx, data.domain, data.did)
        return {"evidence": record.evidence}

    app = Litestar([bind], exception_handlers=exception_handlers())
    # in-process, on this event loop (the loopback site answers on it too)
    transport = httpx.ASGITransport(app=app)  # type: ignore[arg-type]
    async with httpx.AsyncClient(transport=transport, base_url="http://node.test") as client:
        owner = OWNER.public_key.did
        bad = await client.post("/v1/bindings", json={"domain": "a.example:1", "did": owner})
        assert bad.status_code == 400
        assert bad.headers["content-type"] == "application/problem+json"
        assert bad.json()["type"] == "/problems/bad-request"
        failed = await client.post("/v1/bindings", json={"domain": "co.uk", "did": owner})
        assert failed.status_code == 422
        assert failed.json()["type"] == "/problems/domain-check-failed"
        assert "co.uk is a public suffix" in failed.json()["detail"]
        site.publish(ALICE, serve(did_document(ALICE, also=[owner])))
        bound = await client.post("/v1/bindings", json={"domain": ALICE, "did": owner})
        assert bound.status_code == 201
        document = did_document(ALICE, also=[owner])
        assert bound.json() == {"evidence": hashlib.sha256(document).hexdigest()}


# --- bindings in force (§9.4.3) ---------------------------------------------------------------


def binding(
    creator: str = OWNER.public_key.did,
    *,
    at: int = T0,
    lapsed: bool = False,
    domain: str = ALICE,
    signer_name: str | None = None,
) -> Binding:
    signer = NODE if signer_name is None else key(signer_name)
    record = Binding(
        v=1,
        node=signer.public_key.did,
        origin=ORIGIN,
        domain=domain,
        creator=creator,
        issued_at=at,
        evidence=hashlib.sha256(b"seen").hexdigest(),
        lapsed=lapsed,
    )
    signed = sign_record(record, signer)
    assert isinstance(signed, Binding)
    return signed


def test_bindings_in_force_follow_the_event_order_of_9_4_3() -> None:
    owner, stranger = OWNER.public_key.did, STRANGER.public_key.did
    records = [
        binding(owner, at=T0),
        binding(owner, at=T0 + 10, lapsed=True),  # owner@alice lapsed...
        binding(owner, at=T0 + 20),  # ...and was bound again
        binding(stranger, at=T0),
        binding(stranger, at=T0 + 5, lapsed=True),  # stranger@alice lapsed for good
        binding(owner, at=T0, domain="bob.example"),
        binding(owner, at=T0, domain="bob.example", lapsed=True),  # same second: lapse last
        binding(owner, at=T0, domain="carol.example", signer_name="other-node"),
    ]
    in_force = bindings_in_force(reversed(records), NODE.public_key.did)
    assert [(b.domain, b.creator, b.issued_at) for b in in_force] == [(ALICE, owner, T0 + 20)]


# --- re-checks (§9.2) --------------------------------------------------------------------------


async def test_a_document_that_stops_naming_the_key_lapses_the_binding(site: Site) -> None:
    clock = Clock()
    ctx = context(site, clock)
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER.public_key.did])))
    first = await check_domain(ctx, ALICE, OWNER.public_key.did)
    failures: dict[tuple[str, str], FailureStreak] = {}
    clock.now += DAY
    report = await recheck(ctx, [first], failures)
    assert report.lapses == ()
    assert report.checked == ((ALICE, OWNER.public_key.did),)
    changed = did_document(ALICE, also=[STRANGER.public_key.did])
    site.publish(ALICE, serve(changed))
    clock.now += DAY
    report = await recheck(ctx, [first], failures)
    (lapse,) = report.lapses
    assert lapse.lapsed
    assert lapse.domain == ALICE
    assert lapse.creator == OWNER.public_key.did
    assert lapse.issued_at == T0 + 2 * DAY
    assert lapse.evidence == hashlib.sha256(changed).hexdigest()  # what the domain answered
    assert load_entry(encode_record(lapse)) == lapse
    # once lapsed, it is no longer in force: nothing more to re-check
    assert (await recheck(ctx, [first, lapse], failures)).checked == ()


async def test_one_fetch_per_domain_serves_all_its_creators(site: Site) -> None:
    clock = Clock()
    ctx = context(site, clock)
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER.public_key.did])))
    records = [binding(OWNER.public_key.did), binding(STRANGER.public_key.did)]
    report = await recheck(ctx, records, {})
    assert [lapse.creator for lapse in report.lapses] == [STRANGER.public_key.did]
    assert site.requests == [(ALICE, "/.well-known/did.json")]


async def test_an_unreachable_domain_lapses_only_after_seven_days_of_failures(
    site: Site,
) -> None:
    clock = Clock()
    ctx = context(site, clock)
    site.publish(ALICE, serve(b"", status=503))
    records = [binding()]
    failures: dict[tuple[str, str], FailureStreak] = {}
    pair = (ALICE, OWNER.public_key.did)
    for day in range(7):  # failures on days 0..6: less than 7 days since the first
        clock.now = T0 + day * DAY
        report = await recheck(ctx, records, failures)
        assert report.lapses == ()
        assert report.failing == (pair,)
    assert failures[pair].count == 7
    assert failures[pair].first == T0
    clock.now = T0 + LAPSE_AFTER_FAILURES
    report = await recheck(ctx, records, failures)
    (lapse,) = report.lapses
    assert report.failing == ()
    assert lapse.lapsed
    assert lapse.issued_at == T0 + LAPSE_AFTER_FAILURES
    assert lapse.evidence == hashlib.sha256(b"").hexdigest()  # nothing was answered
    # had appending the lapse failed, the next re-check would lapse the binding again...
    clock.now += DAY
    (again,) = (await recheck(ctx, records, failures)).lapses
    assert again.issued_at == T0 + LAPSE_AFTER_FAILURES + DAY
    # ...once it is in the log, the binding is no longer in force and its streak is dropped
    assert (await recheck(ctx, [*records, lapse], failures)).checked == ()
    assert failures == {}


async def test_an_answer_between_failures_restarts_the_streak(site: Site) -> None:
    clock = Clock()
    ctx = context(site, clock)
    records = [binding()]
    failures: dict[tuple[str, str], FailureStreak] = {}
    site.publish(ALICE, serve(b"", status=503))
    await recheck(ctx, records, failures)
    clock.now += 5 * DAY
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER.public_key.did])))
    assert (await recheck(ctx, records, failures)).failing == ()
    site.publish(ALICE, serve(b"", status=503))
    for _ in range(6):
        clock.now += DAY
        assert (await recheck(ctx, records, failures)).lapses == ()  # 5 days of a new streak
    assert failures[(ALICE, OWNER.public_key.did)].first == T0 + 6 * DAY


async def test_streaks_of_bindings_no_longer_in_force_are_forgotten(site: Site) -> None:
    failures = {("gone.example", OWNER.public_key.did): FailureStreak(T0, T0, 3, "timeout")}
    site.publish(ALICE, serve(did_document(ALICE, also=[OWNER.public_key.did])))
    report = await recheck(context(site, Clock()), [binding()], failures)
    assert failures == {}
    assert report.lapses == ()


async def test_the_loop_rechecks_and_appends_lapses(site: Site) -> None:
    clock = Clock()
    appended: list[Binding] = []
    records = [binding()]

    async def load() -> list[Binding]:
        return records + appended

    async def append(record: Binding) -> None:
        appended.append(record)

    site.publish(ALICE, serve(did_document(ALICE, also=[STRANGER.public_key.did])))
    loop = RecheckLoop(context(site, clock), load=load, append=append, interval=0.05)
    loop.start()
    loop.start()  # idempotent
    try:
        for _ in range(100):
            await asyncio.sleep(0.02)
            if appended and loop.last_report is not None and loop.last_report.checked == ():
                break
    finally:
        await loop.stop()
    assert len(appended) == 1
    assert appended[0].lapsed
    await loop.stop()  # stopping twice is harmless


def test_failure_streaks_round_trip_as_text_and_bad_text_gives_none() -> None:
    streaks = {
        (ALICE, OWNER.public_key.did): FailureStreak(T0, T0 + DAY, 2, "timeout"),
        ("bob.example", STRANGER.public_key.did): FailureStreak(T0, T0, 1, "503"),
    }
    text = encode_streaks(streaks)
    assert decode_streaks(text) == streaks
    assert encode_streaks(dict(reversed(list(streaks.items())))) == text  # sorted
    for bad in ("", "{", '{"a": 1}', "[[1, 2]]", '[["a", "b", "x", 0, 0, ""]]', "[1]"):
        assert decode_streaks(bad) == {}


async def test_failure_streaks_outlive_a_restart_of_the_loop(site: Site) -> None:
    """A node restarted daily still lapses a domain unreachable for 7 days (§9.2): the loop
    keeps its streaks through ``persist`` and a new loop takes them back through ``restore``."""
    clock = Clock()
    site.publish(ALICE, serve(b"", status=503))
    stored: list[str] = []
    appended: list[Binding] = []

    async def load() -> list[Binding]:
        return [binding(), *appended]

    async def append(record: Binding) -> None:
        appended.append(record)

    async def persist(text: str) -> None:
        stored.append(text)

    async def restore() -> str | None:
        return stored[-1] if stored else None

    def new_loop(*, keep: bool) -> RecheckLoop:
        if keep:
            return RecheckLoop(
                context(site, clock), load=load, append=append, restore=restore, persist=persist
            )
        return RecheckLoop(context(site, clock), load=load, append=append)

    for day in range(7):  # a restart every day, each loop re-checks once
        clock.now = T0 + day * DAY
        assert (await new_loop(keep=True).run_once()).lapses == ()
    assert len(stored) == 7  # each re-check changed the streak (count, last)
    assert decode_streaks(stored[-1])[(ALICE, OWNER.public_key.did)].first == T0
    clock.now = T0 + LAPSE_AFTER_FAILURES
    assert (await new_loop(keep=False).run_once()).lapses == ()  # without them: a new streak
    (lapse,) = (await new_loop(keep=True).run_once()).lapses
    assert lapse.lapsed
    assert appended == [lapse]
    # the next re-check finds the binding lapsed: no streak is left to keep
    loop = new_loop(keep=True)
    assert (await loop.run_once()).checked == ()
    assert stored[-1] == "[]"
    assert loop.failures == {}
    writes = len(stored)
    await loop.run_once()  # nothing changed: nothing written
    assert len(stored) == writes


async def test_the_loop_survives_a_failing_load(site: Site) -> None:
    calls = 0

    async def load() -> list[Binding]:
        nonlocal calls
        calls += 1
        raise RuntimeError("database away")

    async def append(record: Binding) -> None:
        raise AssertionError("nothing to append")

    loop = RecheckLoop(context(site, Clock()), load=load, append=append, interval=0.02)
    loop.start()
    await asyncio.sleep(0.15)
    await loop.stop()
    assert calls >= 2
    with pytest.raises(ValueError, match="interval"):
        RecheckLoop(context(site, Clock()), load=load, append=append, interval=0)


# --- settings ---------------------------------------------------------------------------------


def test_binding_settings_default_to_production_limits() -> None:
    settings = Settings()
    policy = fetch_policy(settings)
    assert policy == FetchPolicy()
    assert not policy.allow_http
    assert not policy.allow_private
    assert policy.timeout == 10.0
    assert settings.binding_recheck_interval == 86400.0


def test_binding_settings_come_from_the_environment() -> None:
    settings = Settings.from_env(
        {
            "REGISTRY_BINDING_ALLOW_HTTP": "true",
            "REGISTRY_BINDING_ALLOW_PRIVATE": "1",
            "REGISTRY_BINDING_TIMEOUT": "2.5",
            "REGISTRY_BINDING_RECHECK_INTERVAL": "3600",
        }
    )
    policy = fetch_policy(settings)
    assert policy.allow_http
    assert policy.allow_private
    assert policy.timeout == 2.5
    assert settings.binding_recheck_interval == 3600.0
    assert Settings.from_env(settings.to_env()) == settings
    with pytest.raises(SettingsError, match="binding_timeout"):
        Settings(binding_timeout=0)


def test_serve_flags_set_the_binding_settings_and_the_readme_documents_them() -> None:
    from registry.cli import serve  # noqa: PLC0415 - the CLI pulls in the server stack

    args = ["--binding-allow-http", "--binding-allow-private", "--binding-timeout", "3"]
    params = serve.make_context("serve", [*args, "--binding-recheck-interval", "60"]).params
    binding = {name: value for name, value in params.items() if name.startswith("binding_")}
    settings = Settings.from_env({}, **binding)
    assert fetch_policy(settings) == FetchPolicy(allow_http=True, allow_private=True, timeout=3)
    assert settings.binding_recheck_interval == 60
    defaults = serve.make_context("serve", []).params
    assert Settings.from_env({}, **{k: v for k, v in defaults.items() if "binding" in k}) == (
        Settings()
    )
    readme = (Path(__file__).parents[2] / "README.md").read_text(encoding="utf-8")
    for flag in (*args[:3], "--binding-recheck-interval"):
        assert f"`{flag}`" in readme
