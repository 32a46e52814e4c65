"""``POST /v1/bindings`` over HTTP (spec §6.4.4, §9.2), on SQLite and PostgreSQL: a web server on
loopback plays the creator's domain (the node's test settings allow plain http, loopback and a
fixed address for the domain; production refuses all three). The node logs the binding it signs,
the owner verified by domain outranks a stranger, a domain that does not name the key is a 422
saying why, and each client address gets a bounded number of checks."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from registry.config.settings import Settings
from registry.core.records import Binding, load_entry
from registry.services.bindings import FailureStreak, decode_streaks
from registry.storage.engine import create_engine
from registry.storage.repository import LogStore
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    work_hash,
)

OWNER, STRANGER = creator_key(930), creator_key(931)
JSON = {"Content-Type": "application/json"}


class _Quiet(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def domain_site(root: Path, did: str) -> Iterator[int]:
    """A web server on 127.0.0.1 serving ``root`` with a did.json naming ``did``; its port."""
    document = {"@context": ["https://www.w3.org/ns/did/v1"], "id": "did:web:owner.example",
                "alsoKnownAs": [did]}  # fmt: skip
    (root / ".well-known").mkdir(parents=True)
    (root / ".well-known" / "did.json").write_text(json.dumps(document))
    server = ThreadingHTTPServer(("127.0.0.1", 0), partial(_Quiet, directory=str(root)))
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()


def site_settings(database_url: str, tmp_path: Path, port: int, **extra: Any) -> Settings:
    """A node that may check ``owner.example`` on the loopback site at ``port`` over http."""
    return make_settings(
        database_url,
        tmp_path / "data",
        binding_allow_http=True,
        binding_allow_private=True,
        binding_resolve=f"owner.example=127.0.0.1:{port}",
        **extra,
    )


async def bind_owner(client: Any) -> dict[str, Any]:
    """Have the node check owner.example for OWNER's key; it must bind (201). The answer."""
    bound = await client.post(
        "/v1/bindings", json={"domain": "owner.example", "did": OWNER.public_key.did}
    )
    assert bound.status_code == 201, bound.text
    answer: dict[str, Any] = bound.json()
    return answer


async def test_a_domain_owner_is_bound_and_outranks_a_stranger(
    database_url: str, tmp_path: Path
) -> None:
    page = "https://owner.example/art/1.png"
    with domain_site(tmp_path / "site", OWNER.public_key.did) as port:
        settings = site_settings(database_url, tmp_path, port, binding_checks_per_hour=3)
        async with running_node(settings) as client:
            owner_says = declaration(OWNER, [work_hash(1)], prefs={"train-ai": "y"}, urls=[page])
            stranger_says = declaration(STRANGER, [work_hash(2)], urls=[page])
            for entry in (owner_says, stranger_says):
                posted = await client.post("/v1/records", content=entry, headers=JSON)
                assert posted.status_code == 201, posted.text
            before = (await client.get("/v1/works/url", params={"url": page})).json()
            assert before["prefs"] == {"train-ai": "n"}  # nobody verified: any disallow wins
            # the stranger's key is not named by the domain: nothing is logged
            refused = await client.post(
                "/v1/bindings", json={"domain": "owner.example", "did": STRANGER.public_key.did}
            )
            detail = assert_problem(refused, 422, "domain-check-failed")["detail"]
            assert detail.startswith("not-named")
            answer = await bind_owner(client)
            entry = json.dumps(answer["record"], separators=(",", ":")).encode()
            binding = load_entry(entry)
            assert isinstance(binding, Binding)
            described = (await client.get("/.well-known/consent-registry")).json()
            assert binding.node == described["node_key"]
            assert (binding.domain, binding.creator) == ("owner.example", OWNER.public_key.did)
            assert answer["id"] == record_id_of(entry)
            after = (await client.get("/v1/works/url", params={"url": page})).json()
            assert after["prefs"] == {"train-ai": "y"}
            levels = {c["creator"]: (c["level"], c["counted"]) for c in after["claims"]}
            assert levels == {
                OWNER.public_key.did: ("domain:owner.example", True),
                STRANGER.public_key.did: ("none", False),
            }
            owner_claim = next(c for c in after["claims"] if c["creator"] == OWNER.public_key.did)
            assert owner_claim["evidence"] == [answer["id"]]
            anyway = await client.get("/v1/works/url", params={"url": page, "policy": "any"})
            assert anyway.json()["prefs"] == {"train-ai": "n"}
            # bad requests, and the per-address budget of checks (3 an hour here)
            bad = await client.post(
                "/v1/bindings", json={"domain": "owner.example:8443", "did": OWNER.public_key.did}
            )
            assert_problem(bad, 400, "bad-request")
            over = await client.post(
                "/v1/bindings", json={"domain": "owner.example", "did": OWNER.public_key.did}
            )
            assert "domain checks" in assert_problem(over, 429, "rate-limited")["detail"]
            unknown = await client.post("/v1/bindings", json={"domain": "x.example"})
            assert unknown.status_code == 400


async def test_public_suffixes_and_loopback_are_refused_by_default(
    database_url: str, tmp_path: Path
) -> None:
    with domain_site(tmp_path / "site", OWNER.public_key.did) as port:
        settings = make_settings(
            database_url, tmp_path / "data", binding_resolve=f"owner.example=127.0.0.1:{port}"
        )
        async with running_node(settings) as client:
            loopback = await client.post(
                "/v1/bindings", json={"domain": "owner.example", "did": OWNER.public_key.did}
            )
            assert assert_problem(loopback, 422, "domain-check-failed")["detail"].startswith(
                "refused"
            )
            suffix = await client.post(
                "/v1/bindings", json={"domain": "github.io", "did": OWNER.public_key.did}
            )
            assert "public suffix" in assert_problem(suffix, 422, "domain-check-failed")["detail"]
            size = int((await client.get("/checkpoint")).text.splitlines()[1])
            assert size == 0


async def test_a_domain_that_stops_naming_the_key_lapses_from_then_on(
    database_url: str, tmp_path: Path
) -> None:
    """spec §9.2: the node re-checks its bindings; a document that no longer names the key
    gives a logged lapse, and claims made afterwards are no longer verified by it."""
    page = "https://owner.example/art/2.png"
    with domain_site(tmp_path / "site", OWNER.public_key.did) as port:
        settings = site_settings(database_url, tmp_path, port, binding_recheck_interval=1.0)
        async with running_node(settings) as client:
            await bind_owner(client)
            document = tmp_path / "site" / ".well-known" / "did.json"
            document.write_text(json.dumps({"id": "did:web:owner.example", "alsoKnownAs": []}))
            deadline = asyncio.get_running_loop().time() + 20
            while int((await client.get("/checkpoint")).text.splitlines()[1]) < 2:
                assert asyncio.get_running_loop().time() < deadline, "no lapse was logged"
                await asyncio.sleep(0.2)
            lapse = load_entry(
                json.dumps(
                    (await client.get("/v1/records/" + await _entry_id(client, 1))).json()[
                        "record"
                    ],
                    separators=(",", ":"),
                ).encode()
            )
            assert isinstance(lapse, Binding)
            assert lapse.lapsed
            assert (lapse.domain, lapse.creator) == ("owner.example", OWNER.public_key.did)
            # a claim made after the lapse is not verified by the domain any more
            later = declaration(OWNER, [work_hash(3)], urls=[page], issued_at=lapse.issued_at + 5)
            await client.post("/v1/records", content=later, headers=JSON)
            answer = (await client.get("/v1/works/url", params={"url": page})).json()
            assert [c["level"] for c in answer["claims"]] == ["none"]


async def _entry_id(client: Any, index: int) -> str:
    """The record id of the entry at ``index`` of the node's log (from its entry bundle)."""
    import hashlib  # noqa: PLC0415

    bundle = (await client.get("/tile/entries/000.p/" + str(index + 1))).content
    position, entries = 0, []
    while position < len(bundle):
        size = int.from_bytes(bundle[position : position + 2], "big")
        entries.append(bundle[position + 2 : position + 2 + size])
        position += 2 + size
    return hashlib.sha256(entries[index]).hexdigest()


async def test_failure_streaks_of_an_unreachable_domain_survive_a_restart(
    database_url: str, tmp_path: Path
) -> None:
    """spec §9.2: the 7-day rule counts failed re-checks across restarts of the node; the
    streak is kept in the database, so a restarted node continues it instead of starting a
    new one."""
    with domain_site(tmp_path / "site", OWNER.public_key.did) as port:
        settings = site_settings(database_url, tmp_path, port, binding_recheck_interval=0.3)
        async with running_node(settings) as client:
            await bind_owner(client)
    # the site is gone: every re-check now fails to connect
    pair = ("owner.example", OWNER.public_key.did)

    async def streak() -> FailureStreak | None:
        engine = create_engine(database_url)
        try:
            text = await LogStore(engine).meta("binding_failures")
        finally:
            await engine.dispose()
        return None if text is None else decode_streaks(text).get(pair)

    async def wait_for(count: int) -> FailureStreak:
        deadline = asyncio.get_running_loop().time() + 20
        while (found := await streak()) is None or found.count < count:
            assert asyncio.get_running_loop().time() < deadline, f"no {count} failures kept"
            await asyncio.sleep(0.2)
        return found

    async with running_node(settings):
        first = await wait_for(1)
    await asyncio.sleep(1.1)  # a streak started after the restart would have a later `first`
    async with running_node(settings) as client:
        later = await wait_for(first.count + 1)
        size = int((await client.get("/checkpoint")).text.splitlines()[1])
    assert later.first == first.first  # the same streak, continued after the restart
    assert size == 1  # failures for less than 7 days: no lapse
