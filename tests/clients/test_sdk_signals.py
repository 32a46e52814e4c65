"""The signal evaluator against a real web site on 127.0.0.1 (http.server in a thread) and a
real ``registry serve`` process: every signal, which one decided, fail-closed behaviour."""

from __future__ import annotations

import hashlib
import json
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from consent import ConsentClient, RetryPolicy
from consent.signals import (
    AsyncSignalEvaluator,
    Signal,
    SignalEvaluator,
    decide,
    header_signals,
    robots_signals,
    tdmrep_json_signal,
)

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.clients.sdk_support import creator_key, free_port

AGENT = "consent-registry-client/test"
ROBOTS = """\
# a site that opts out of AI training under /blog/ for everyone, and says so to us too
User-agent: *
Disallow: /admin/
Content-Usage: train-ai=y
Content-Usage: /blog/ train-ai=n

User-agent: consent-registry-client
Content-Usage: train-ai=y
Content-Usage: /blog/ train-ai=n
Content-Usage: /blog/open/ train-ai=y
Content-Signal: search=yes
"""
TDMREP = [
    {"location": "/reserved/*", "tdm-reservation": 1, "tdm-policy": "https://site/policy"},
    {"location": "/", "tdm-reservation": 0},
]
DECLARED_BYTES = b"\x89PNG pretend this is a picture that a creator declared"
PAGES: dict[str, tuple[dict[str, str], bytes]] = {
    "/plain.html": ({}, b"<p>hello</p>"),
    "/blog/post.html": ({}, b"<p>post</p>"),
    "/blog/open/post.html": ({}, b"<p>open post</p>"),
    "/xrobots.jpg": ({"X-Robots-Tag": "noimageai"}, b"jpeg"),
    "/scoped.html": ({"X-Robots-Tag": "otherbot: noai"}, b"scoped"),
    "/ours.html": ({"X-Robots-Tag": "consent-registry-client: noai, nofollow"}, b"ours"),
    "/tdm-header.html": ({"tdm-reservation": "1"}, b"tdm"),
    "/reserved/doc.txt": ({}, b"reserved by tdmrep.json"),
    "/cu.html": ({"Content-Usage": "train-ai=n, search=y"}, b"cu"),
    "/cu-bad.html": ({"Content-Usage": "train-ai=n;;"}, b"bad header"),
    "/declared.png": ({"Content-Type": "image/png"}, DECLARED_BYTES),
    "/by-url.html": ({}, b"declared by URL"),
}


class Site(BaseHTTPRequestHandler):
    """The test site: robots.txt, tdmrep.json and the pages above."""

    def do_GET(self) -> None:
        if self.path == "/robots.txt":
            self._send(200, {"Content-Type": "text/plain"}, ROBOTS.encode())
        elif self.path == "/.well-known/tdmrep.json":
            self._send(200, {"Content-Type": "application/json"}, json.dumps(TDMREP).encode())
        elif self.path in PAGES:
            headers, body = PAGES[self.path]
            self._send(200, headers, body)
        else:
            self._send(404, {}, b"not found")

    def _send(self, status: int, headers: dict[str, str], body: bytes) -> None:
        self.send_response(status)
        for name, value in headers.items():
            self.send_header(name, value)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


@pytest.fixture(scope="module")
def site() -> Iterator[str]:
    """The test site on 127.0.0.1 and a free port."""
    server = ThreadingHTTPServer(("127.0.0.1", free_port()), Site)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()


@pytest.fixture(scope="module")
def registry(served_node: str, site: str) -> Iterator[ConsentClient]:
    """A client of the real node, where one creator declared /declared.png's bytes (by hash)
    and /by-url.html (by URL)."""
    key = creator_key(40)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_760_000_000,
        works=[
            new_work(hashlib.sha256(DECLARED_BYTES).hexdigest()),
            new_work(hashlib.sha256(b"other").hexdigest(), urls=[site + "/by-url.html"]),
        ],
        prefs={"train-ai": "n"},
    )
    with ConsentClient(served_node) as client:
        client.submit(encode_record(sign_declaration(record, key)))
        yield client


@pytest.mark.parametrize(
    ("path", "allowed", "decided_by"),
    [
        ("/plain.html", True, "robots.txt"),
        ("/blog/post.html", False, "robots.txt"),
        ("/blog/open/post.html", True, "robots.txt"),
        ("/xrobots.jpg", False, "x-robots-tag"),
        ("/scoped.html", True, "robots.txt"),
        ("/ours.html", False, "x-robots-tag"),
        ("/tdm-header.html", False, "tdm-reservation"),
        ("/reserved/doc.txt", False, "tdmrep.json"),
        ("/cu.html", False, "content-usage"),
        ("/cu-bad.html", True, "robots.txt"),
        ("/declared.png", False, "registry"),
        ("/by-url.html", False, "registry"),
    ],
)
def test_each_signal_decides_where_it_applies(
    site: str, registry: ConsentClient, path: str, allowed: bool, decided_by: str
) -> None:
    with SignalEvaluator(registry=registry, user_agent=AGENT) as evaluator:
        verdict = evaluator.evaluate_url(site + path)
    assert verdict.allowed is allowed, verdict.to_json()
    assert verdict.decided_by == decided_by, verdict.to_json()
    assert verdict.prefs.get("train-ai") == ("y" if allowed else "n")
    names = {s.name for s in verdict.signals}
    assert {"robots.txt", "tdmrep.json", "registry", "content-signal"} <= names


def test_malformed_header_is_recorded_not_used(site: str, registry: ConsentClient) -> None:
    with SignalEvaluator(registry=registry, user_agent=AGENT) as evaluator:
        verdict = evaluator.evaluate_url(site + "/cu-bad.html")
    bad = [s for s in verdict.signals if s.name == "content-usage"]
    assert len(bad) == 1
    assert bad[0].error
    assert bad[0].prefs == {}


def test_registry_failure_fails_closed_only_when_asked(site: str) -> None:
    dead = ConsentClient(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(max_retries=0))
    with dead, SignalEvaluator(registry=dead, user_agent=AGENT) as evaluator:
        lenient = evaluator.evaluate_url(site + "/plain.html")
    assert lenient.allowed
    assert [s.error is not None for s in lenient.signals if s.name == "registry"] == [True]
    dead = ConsentClient(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(max_retries=0))
    with dead, SignalEvaluator(registry=dead, user_agent=AGENT, fail_closed={"registry"}) as ev:
        strict = ev.evaluate_url(site + "/plain.html")
    assert not strict.allowed
    assert strict.decided_by == "registry (unavailable; fail closed)"
    with SignalEvaluator(user_agent=AGENT, fail_closed={"registry"}) as evaluator:
        reserved = evaluator.evaluate_url(site + "/blog/post.html")
    assert reserved.decided_by == "robots.txt"  # a disallow decides before any failure


async def test_async_evaluator_agrees(site: str, registry: ConsentClient) -> None:
    async with AsyncSignalEvaluator(user_agent=AGENT) as evaluator:
        for path in ("/blog/post.html", "/plain.html", "/reserved/doc.txt", "/xrobots.jpg"):
            verdict = await evaluator.evaluate_url(site + path)
            with SignalEvaluator(user_agent=AGENT) as sync:
                assert verdict.to_json() == sync.evaluate_url(site + path).to_json()


def test_robots_group_selection_and_longest_match() -> None:
    # our own group wins over "*", groups for us are merged, the longest path rule decides
    text = ROBOTS + "\nUser-agent: consent-registry-client\nContent-Usage: /blog/x train-ai=n\n"
    signals = robots_signals(text, user_agent=AGENT, path="/blog/open/x", source="r")
    assert signals[0].prefs == {"train-ai": "y"}
    signals = robots_signals(text, user_agent="SomeBot/2", path="/blog/open/x", source="r")
    assert signals == [
        Signal("robots.txt", {"train-ai": "n"}, source="r Content-Usage: /blog/ train-ai=n")
    ]
    assert robots_signals("User-agent: *\nDisallow: /\n", user_agent=AGENT, path="/") == []
    anchored = "User-agent: *\nContent-Usage: /*.png$ train-ai=n\n"
    assert robots_signals(anchored, user_agent=AGENT, path="/a/b.png")[0].prefs == {"train-ai": "n"}
    assert robots_signals(anchored, user_agent=AGENT, path="/a/b.png?x") == []


def test_header_and_tdmrep_readers() -> None:
    signals = header_signals(
        {"X-Robots-Tag": "unavailable_after: 2030-01-01, noai", "tdm-reservation": "2"},
        user_agent=AGENT,
    )
    by_name = {s.name: s for s in signals}
    assert by_name["x-robots-tag"].prefs == {"train-ai": "n"}
    assert by_name["tdm-reservation"].error
    assert tdmrep_json_signal({"not": "a list"}, "/") == Signal(
        "tdmrep.json", error="tdmrep.json is not a JSON array"
    )
    assert tdmrep_json_signal([{"location": "/x/*", "tdm-reservation": 1}], "/y") is None
    found = tdmrep_json_signal(TDMREP, "/reserved/a")
    assert found is not None
    assert found.prefs == {"train-ai": "n"}


def test_decide_names_the_first_disallowing_signal_in_order() -> None:
    signals = [
        Signal("x-robots-tag", {"train-ai": "n"}),
        Signal("registry", {"train-ai": "n", "search": "y"}),
        Signal("robots.txt", {"train-ai": "y"}),
    ]
    verdict = decide("u", signals)
    assert verdict.decided_by == "registry"
    assert verdict.prefs == {"search": "y", "train-ai": "n"}
    assert [s.name for s in verdict.signals] == ["registry", "robots.txt", "x-robots-tag"]
    assert decide("u", []).to_json()["decided_by"] is None
    assert decide("u", [Signal("robots.txt", {"search": "n"})], category="search").allowed is False
