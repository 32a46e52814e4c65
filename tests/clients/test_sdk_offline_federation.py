"""``check --offline`` against a node that mirrors peers (spec §8.9): the client unites the
node's snapshot chain with the chain of every log the node lists in ``GET /v1/peers``, each
fetched from the peer and verified under that log's key, and asks the node about every item
when a mirrored log's chain cannot be used. Real ``registry serve`` processes on 127.0.0.1:
node A mirroring B (and C); the SDK, sync and asyncio, and the ``consent`` CLI.

Before spec §8.9, ``check_offline(A)`` answered "not reserved" for a work reserved only in B's
log while A's online check said "reserved": the first test pins that false negative.
"""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from functools import partial
from pathlib import Path

import httpx
import pytest
from consent import AsyncConsentClient, ConsentClient, RetryPolicy
from consent.offline import OfflineReport, acheck_offline, check_offline

from registry.core.note import NoteSigner
from tests.clients.sdk_support import free_port
from tests.clients.test_cli_consent import consent
from tests.clients.test_sdk_offline import RecordingTransport, entry, triples
from tests.node.test_federation_support import NodeKeys, NodeProcess, wait_until

pytestmark = pytest.mark.slow

SNAPSHOTS = ["--snapshot-interval", "0.2"]
FAST_MIRROR = {"REGISTRY_PEER_MAX_BACKOFF": "0.5", "REGISTRY_PEER_TIMEOUT": "1"}
QUICK = RetryPolicy(max_retries=1, base_delay=0.05)
"""Give up on an unreachable peer after two attempts."""
IMAGE_B, IMAGE_C, IMAGE_NOWHERE = (
    "https://b.example/offline/x.png",
    "https://c.example/offline/x.png",
    "https://nowhere.example/offline/x.png",
)


def work(n: int) -> str:
    return hashlib.sha256(b"mirrored offline work %d" % n).hexdigest()


ON_A, ON_B, ON_C = [work(i) for i in range(10)], [work(i) for i in range(100, 110)], [work(200)]
NOWHERE = [work(i) for i in range(10_000, 12_000)]
HASHES = [*ON_A, *ON_B, *ON_C, *NOWHERE]
URLS = [IMAGE_B, IMAGE_C, IMAGE_NOWHERE]


class SyncRecordingTransport(httpx.BaseTransport):
    """httpx's own TCP transport, noting the items of every ``POST /v1/check``."""

    def __init__(self) -> None:
        self._inner = httpx.HTTPTransport()
        self.asked_hashes: list[str] = []
        self.asked_urls: list[str] = []

    def handle_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/check":
            body = json.loads(request.read())
            self.asked_hashes += body["sha256s"]
            self.asked_urls += body["urls"]
        return self._inner.handle_request(request)

    def close(self) -> None:
        self._inner.close()


@dataclass
class Federation:
    """Node A, whose peers file lists ``peers`` (and ``dead``, never reachable)."""

    a: NodeProcess
    peers: dict[str, NodeProcess]
    dead: list[NodeKeys] = field(default_factory=list)

    def stop(self) -> None:
        for node in [self.a, *self.peers.values()]:
            node.stop()

    def origin(self, name: str) -> str:
        return self.peers[name].keys.origin

    def settle(self) -> None:
        """Wait until A has mirrored every running peer's whole log and every running
        node's snapshot chain covers its log."""
        running = {n: p for n, p in self.peers.items() if p.process is not None}
        for peer in running.values():
            mirrored = partial(has_mirrored, self.a, peer.keys.origin, peer.size())
            wait_until(mirrored, what=f"A mirrors {peer.keys.origin}")
        for node in [self.a, *running.values()]:
            covered = partial(chain_covers, node, node.size())
            wait_until(covered, what=f"the chain of {node.keys.origin}")
        time.sleep(0.3)  # A's indexes follow its mirror within index_poll_interval


def peer_node(tmp_path: Path, name: str, *, data: str = "", port: int = 0) -> NodeProcess:
    node = NodeProcess(
        NodeKeys.make(f"{name}.offline.test/log"),
        ["--data-dir", str(tmp_path / (data or name))],
        extra_args=SNAPSHOTS,
    )
    if port:
        node.port = port
    return node


def start_federation(tmp_path: Path, names: tuple[str, ...], *, dead: int = 0) -> Federation:
    """Peers named ``names`` and A mirroring them and ``dead`` peers that never answer."""
    peers = {name: peer_node(tmp_path, name) for name in names}
    never = [NodeKeys.make(f"dead{i}.offline.test/log") for i in range(dead)]
    lines = [p.peers_line() for p in peers.values()]
    lines += [f"http://127.0.0.1:{free_port()} {keys.vkey}" for keys in never]
    peers_file = tmp_path / "a.peers"
    peers_file.write_text("".join(line + "\n" for line in lines))
    a = NodeProcess(
        NodeKeys.make("a.offline.test/log"),
        ["--data-dir", str(tmp_path / "a")],
        extra_args=[*SNAPSHOTS, "--peers", str(peers_file), "--peer-poll-interval", "0.2"],
        env=FAST_MIRROR,
    )
    nodes = [*peers.values(), a]
    for node in nodes:
        node.start(wait=False)
    for node in nodes:
        node.wait_ready()
    return Federation(a, peers, never)


def snapshot_size(node: NodeProcess) -> int:
    response = node.get("/v1/snapshots")
    return int(response.json()["size"]) if response.status_code == 200 else -1


def chain_covers(node: NodeProcess, size: int) -> bool:
    return snapshot_size(node) >= size


def has_mirrored(a: NodeProcess, origin: str, size: int) -> bool:
    return int(a.peers()[origin]["verified_size"]) >= size


def offline_check(
    fed: Federation, cache: Path, **options: object
) -> tuple[OfflineReport, SyncRecordingTransport, list[tuple[str, str, dict[str, str]]]]:
    """``check_offline`` of every item through A, what it asked A, and A's online answers."""
    recording = SyncRecordingTransport()
    with ConsentClient(fed.a.url, transport=recording, **options) as client:  # type: ignore[arg-type]
        report = check_offline(client, sha256s=HASHES, urls=URLS, cache_dir=cache)
    with ConsentClient(fed.a.url) as client:
        online = triples(client.check(sha256s=HASHES, urls=URLS))
    return report, recording, online


def everything(
    recording: SyncRecordingTransport | RecordingTransport | None = None,
) -> tuple[list[str], list[str]]:
    """The hashes and URLs asked, sorted (chunks are sent concurrently); all without one."""
    if recording is None:
        return sorted(HASHES), sorted(URLS)
    return sorted(recording.asked_hashes), sorted(recording.asked_urls)


def reserved(answers: list[tuple[str, str, dict[str, str]]]) -> set[str]:
    return {key for _, key, prefs in answers if prefs.get("train-ai") == "n"}


@pytest.fixture
def a_mirrors_b(tmp_path: Path) -> Iterator[Federation]:
    fed = start_federation(tmp_path, ("b",))
    try:
        fed.a.submit([entry(70, ON_A)])
        fed.peers["b"].submit([entry(71, ON_B, urls=(IMAGE_B,))])
        fed.settle()
        yield fed
    finally:
        fed.stop()


async def test_a_work_reserved_only_in_a_peer_log_is_reserved_offline(
    a_mirrors_b: Federation, tmp_path: Path
) -> None:
    fed, b = a_mirrors_b, a_mirrors_b.peers["b"]
    report, recording, online = offline_check(fed, tmp_path / "cache")

    # the node's online answer includes B's log; so does the offline one
    assert reserved(online) == {*ON_A, *ON_B, IMAGE_B}
    assert triples(report.answers) == online
    assert report.uncovered == ()
    assert report.checker.complete
    assert [(m.origin, m.url) for m in report.checker.mirrored] == [(b.keys.origin, b.url)]
    assert report.checker.mirrored[0].size == b.size()
    # only the union's hits were asked of A: the reserved items and rare false positives
    hits = report.checker.hits_sha256(HASHES)
    assert recording.asked_hashes == [h for h, hit in zip(HASHES, hits, strict=True) if hit]
    assert {*ON_A, *ON_B} <= set(recording.asked_hashes)
    assert ON_C[0] not in recording.asked_hashes  # declared nowhere: not asked
    assert len(set(NOWHERE) & set(recording.asked_hashes)) <= 3
    assert recording.asked_urls == [IMAGE_B]
    assert report.asked == len(recording.asked_hashes) + 1

    # each log's files are cached apart, and come from the cache next time
    cached = {p.parent.name for p in (tmp_path / "cache").rglob("full-*")}
    assert len(cached) == 2
    again, _, _ = offline_check(fed, tmp_path / "cache")
    assert again.checker.downloaded == 0

    # a key pinned for B wins over the one A lists: a wrong one leaves B uncovered, and then
    # every item is asked; the right one covers it
    wrong = NoteSigner.from_seed(b.keys.origin, bytes(32)).verifier.vkey
    pinned, asked, _ = offline_check(fed, tmp_path / "cache", log_keys={b.keys.origin: wrong})
    ((origin, why),) = [(u.origin, u.reason) for u in pinned.uncovered]
    assert origin == b.keys.origin
    assert why.startswith("snapshots rejected")
    assert everything(asked) == everything()
    assert triples(pinned.answers) == online
    right, _, _ = offline_check(fed, tmp_path / "cache", log_keys={b.keys.origin: b.keys.vkey})
    assert right.checker.complete
    assert right.asked == report.asked

    # asyncio: the same chains, the same items asked, the same answers
    recorder = RecordingTransport()
    async with AsyncConsentClient(fed.a.url, transport=recorder) as node:
        async_report = await acheck_offline(
            node, sha256s=HASHES, urls=URLS, cache_dir=tmp_path / "async-cache"
        )
    assert triples(async_report.answers) == online
    assert [m.origin for m in async_report.checker.mirrored] == [b.keys.origin]
    assert (recorder.asked_hashes, recorder.asked_urls) == (
        recording.asked_hashes,
        recording.asked_urls,
    )

    # A's levels file (spec §8.10) counts B's log too, at the size A holds it (spec §8.10.1):
    # once that reaches B's chain, under "verified-only" every hit without a row (nobody is
    # verified anywhere) is decided locally as A answers it, and nothing is asked (spec
    # §8.10.5 item 5; tests/clients/test_sdk_offline_levels_federation.py has a peer's
    # attestation deciding a hit)
    def levelled() -> tuple[OfflineReport, SyncRecordingTransport] | None:
        recorded = SyncRecordingTransport()
        with ConsentClient(fed.a.url, transport=recorded) as client:
            checked = check_offline(
                client, sha256s=HASHES, urls=URLS, cache_dir=tmp_path / "cache",
                policy="verified-only", levels=True,
            )  # fmt: skip
        return (checked, recorded) if checked.checker.levels_gap is None else None

    # the leader rebuilds A's levels file within a snapshot interval of mirroring B
    strict, levels_recording = wait_until(levelled, what="A's levels file counts B's chain")
    with ConsentClient(fed.a.url) as client:
        online_strict = triples(client.check(sha256s=HASHES, urls=URLS, policy="verified-only"))
    assert strict.checker.levels is not None
    assert strict.checker.levels_gap is None
    assert strict.decided == len(recording.asked_hashes) + 1
    assert (levels_recording.asked_hashes, levels_recording.asked_urls) == ([], [])
    assert triples(strict.answers) == online_strict

    # the CLI: a URL reserved only in B's log is reserved offline
    env = {"CONSENT_NODE": fed.a.url, "CONSENT_CACHE": str(tmp_path / "cli-cache")}
    run = consent("check", IMAGE_B, IMAGE_NOWHERE, "--offline", "--json", cwd=tmp_path, env=env)
    document = json.loads(run.stdout)
    assert [row["prefs"] for row in document["results"]] == [{"train-ai": "n"}, {}]
    assert document["offline"]["asked"] == 1
    assert [m["origin"] for m in document["offline"]["mirrored"]] == [b.keys.origin]
    assert document["offline"]["uncovered"] == []
    assert run.stderr == ""
    text = consent("check", IMAGE_B, "--offline", cwd=tmp_path, env=env).stdout
    assert "and 1 mirrored logs' snapshots, 1 asked of the node" in text
    # --log-key pins B's key on the command line, as log_keys= does
    args = ("check", IMAGE_B, IMAGE_NOWHERE, "--offline", "--json")
    pinned_run = consent(*args, "--log-key", wrong, cwd=tmp_path, env=env)
    document = json.loads(pinned_run.stdout)
    assert [u["origin"] for u in document["offline"]["uncovered"]] == [b.keys.origin]
    assert document["offline"]["asked"] == 2  # every item
    assert [row["prefs"] for row in document["results"]] == [{"train-ai": "n"}, {}]
    assert pinned_run.stderr.startswith(f"consent: peer {b.keys.origin}: snapshots rejected (")
    right_run = consent(*args, "--log-key", b.keys.vkey, cwd=tmp_path, env=env)
    assert json.loads(right_run.stdout)["offline"]["uncovered"] == []
    assert right_run.stderr == ""


def test_a_peer_without_usable_snapshots_makes_every_item_asked(tmp_path: Path) -> None:
    fed = start_federation(tmp_path, ("b", "c"), dead=1)
    try:
        fed.a.submit([entry(72, ON_A)])
        fed.peers["b"].submit([entry(73, ON_B, urls=(IMAGE_B,))])
        fed.peers["c"].submit([entry(74, ON_C, urls=(IMAGE_C,))])
        fed.settle()
        dead = fed.dead[0].origin
        assert fed.a.peers()[dead]["verified_size"] == 0

        # all covered; a peer A never mirrored adds nothing to its answers and needs no chain
        report, recording, online = offline_check(fed, tmp_path / "cache", retry=QUICK)
        assert reserved(online) == {*ON_A, *ON_B, *ON_C, IMAGE_B, IMAGE_C}
        assert triples(report.answers) == online
        assert report.uncovered == ()
        assert sorted(m.origin for m in report.checker.mirrored) == sorted(
            [fed.origin("b"), fed.origin("c")]
        )
        assert len(recording.asked_hashes) < len(ON_A) + len(ON_B) + len(ON_C) + 4

        # B equivocates: the same key signs another log. A flags B and keeps serving what it
        # verified before; B's snapshots now describe the other history (without ON_B), so
        # they must not be used
        b = fed.peers["b"]
        b.stop()
        forked = fed.peers["b"] = peer_node(tmp_path, "b", data="b-fork", port=b.port)
        forked.start()
        forked.submit([entry(75, [work(300)])])
        wait_until(lambda: fed.a.peers()[fed.origin("b")]["flagged"], what="B flagged")
        wait_until(partial(chain_covers, forked, 1), what="the forked chain")
        report, recording, online = offline_check(fed, tmp_path / "cache", retry=QUICK)
        assert reserved(online) >= {*ON_B, IMAGE_B}
        assert triples(report.answers) == online
        ((origin, url, why),) = [(u.origin, u.url, u.reason) for u in report.uncovered]
        assert (origin, url) == (fed.origin("b"), b.url)
        assert "equivocation" in why
        assert everything(recording) == everything()

        # C goes away: A still answers for C's log, so every item is asked, and C is named
        fed.peers["c"].stop()
        report, recording, online = offline_check(fed, tmp_path / "cache", retry=QUICK)
        assert reserved(online) >= {*ON_C, IMAGE_C}
        assert triples(report.answers) == online
        assert [u.origin for u in report.uncovered] == [fed.origin("b"), fed.origin("c")]
        assert report.uncovered[1].reason.startswith("snapshots unavailable (cannot reach")
        assert report.checker.mirrored == ()
        assert everything(recording) == everything()
        assert report.asked == report.checked == len(HASHES) + len(URLS)

        # the CLI says so, one line per uncovered log, and answers like the node
        env = {"CONSENT_NODE": fed.a.url, "CONSENT_CACHE": str(tmp_path / "cli-cache")}
        run = consent(
            "check", IMAGE_C, IMAGE_NOWHERE, "--offline", "--retries", "1", "--json",
            cwd=tmp_path, env=env,
        )  # fmt: skip
        document = json.loads(run.stdout)
        assert [row["prefs"] for row in document["results"]] == [{"train-ai": "n"}, {}]
        assert document["offline"]["asked"] == 2
        uncovered = document["offline"]["uncovered"]
        assert [u["origin"] for u in uncovered] == [fed.origin("b"), fed.origin("c")]
        lines = run.stderr.splitlines()
        assert len(lines) == 2
        assert lines[1].startswith(f"consent: peer {fed.origin('c')}: snapshots unavailable (")
        assert lines[1].endswith("; asked the node about every item")
    finally:
        fed.stop()


async def test_async_offline_check_names_an_unreachable_peer(
    a_mirrors_b: Federation, tmp_path: Path
) -> None:
    fed = a_mirrors_b
    fed.peers["b"].stop()
    recorder = RecordingTransport()
    async with AsyncConsentClient(fed.a.url, transport=recorder, retry=QUICK) as node:
        report = await acheck_offline(node, sha256s=HASHES, urls=URLS, cache_dir=tmp_path / "c")
        asked = everything(recorder)
        online = triples(await node.check(sha256s=HASHES, urls=URLS))
    assert reserved(online) == {*ON_A, *ON_B, IMAGE_B}
    assert triples(report.answers) == online
    assert [(u.origin, u.url) for u in report.uncovered] == [(fed.origin("b"), fed.peers["b"].url)]
    assert not report.checker.complete
    assert asked == everything()
