"""``check --offline`` (spec §8): the SDK downloads, caches and verifies the node's snapshot
chain, checks locally, and asks the node only about hits; against the real node app in process
and the real ``registry serve`` process with the ``consent`` CLI, with the synchronous and the
asyncio client."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest
from consent import Answer, AsyncConsentClient, ConsentClient, VerificationError
from consent.offline import OfflineChecker, acheck_offline, check_offline

from registry.core.note import NoteSigner
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.clients.sdk_support import (
    ThreadNode,
    creator_key,
    node_settings,
    start_registry,
    stop_registry,
)
from tests.clients.test_cli_consent import consent

GALLERY = "https://gallery.example/offline/"


def work_hash(n: int) -> str:
    return hashlib.sha256(b"offline work %d" % n).hexdigest()


def entry(n: int, hashes: list[str], *, urls: tuple[str, ...] = ()) -> bytes:
    key = creator_key(n)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_750_000_000,
        works=[new_work(h, urls=urls) for h in hashes],
        prefs={"train-ai": "n"},
    )
    return encode_record(sign_declaration(record, key))


@pytest.fixture
def fast_node(tmp_path: Path) -> Iterator[ThreadNode]:
    """The real node app, refreshing its snapshot chain every 0.1 s."""
    node = ThreadNode(node_settings(tmp_path / "node", snapshot_interval=0.1))
    node.start()
    try:
        yield node
    finally:
        node.stop()


def _synced(client: ConsentClient, cache: Path, size: int) -> OfflineChecker:
    for _ in range(200):
        checker = OfflineChecker.sync(client, cache)
        if checker.size >= size:
            return checker
        time.sleep(0.05)
    raise AssertionError("the node's snapshot never reached the log size")  # pragma: no cover


def test_offline_check_agrees_with_online(fast_node: ThreadNode, tmp_path: Path) -> None:
    cache = tmp_path / "cache"
    reserved = [work_hash(i) for i in range(50)]
    unknown = [work_hash(i) for i in range(1000, 3000)]
    with fast_node.client() as client:
        client.submit(entry(1, reserved[:25], urls=(GALLERY + "a.png",)))
        size = client.submit(entry(2, reserved[25:])).index + 1
        _synced(client, cache, size)
        hashes = [*reserved, *unknown, "z" * 64]
        urls = [GALLERY + "a.png", GALLERY + "b.png", "ftp://nope"]
        report = check_offline(client, sha256s=hashes, urls=urls, cache_dir=cache)
        online = client.check(sha256s=hashes, urls=urls)
        assert [(a.kind, a.key, a.prefs) for a in report.answers] == [
            (a.kind, a.key, a.prefs) for a in online
        ]
        assert sum(a.reserved() for a in report.answers) == 51
        # only hits were asked: the reserved items, the malformed ones, rare false positives
        assert 53 <= report.asked <= 53 + 5
        assert report.checked == len(hashes) + len(urls)
        assert report.checker.downloaded == 0  # every file came from the cache
        assert report.checker.fpr < 0.001

        # a damaged cache file is fetched again
        (cached,) = sorted(cache.rglob("full-*"))[-1:]
        cached.write_bytes(b"garbage")
        assert OfflineChecker.sync(client, cache).downloaded >= 1
        assert cached.read_bytes() != b"garbage"

    # a client pinned to another key refuses the node, before trusting any snapshot
    other = NoteSigner.from_seed("sdk.test/log", bytes(32)).verifier.vkey
    with fast_node.client(node_key=other) as pinned, pytest.raises(VerificationError):
        OfflineChecker.sync(pinned, tmp_path / "other-cache")


def test_cli_check_offline_and_near_over_tcp(tmp_path: Path) -> None:
    process, base = start_registry(tmp_path / "data", "--snapshot-interval", "0.2")
    try:
        with ConsentClient(base) as client:
            info = client.info()
            result = client.submit(entry(3, [work_hash(7)], urls=(GALLERY + "c.png",)))
            _synced(client, tmp_path / "cache", result.index + 1)
        env = {"CONSENT_NODE": base, "CONSENT_CACHE": str(tmp_path / "cache")}
        run = consent(
            "check",
            GALLERY + "c.png",
            GALLERY + "d.png",
            "--offline",
            "--node-key",
            info.verifier_key,
            "--json",
            cwd=tmp_path,
            env=env,
        )
        document = json.loads(run.stdout)
        assert [row["prefs"] for row in document["results"]] == [{"train-ai": "n"}, {}]
        assert document["offline"]["asked"] == 1
        assert document["offline"]["snapshot_size"] >= 1
        wrong = NoteSigner.from_seed(info.origin, bytes(32)).verifier.vkey
        refused = consent(
            "check", GALLERY + "c.png", "--offline", "--node-key", wrong, cwd=tmp_path,
            env=env, ok=False,
        )  # fmt: skip
        assert refused.returncode == 1
        assert "pinned" in refused.stderr
    finally:
        stop_registry(process)


class RecordingTransport(httpx.AsyncBaseTransport):
    """httpx's own TCP transport, noting the items of every ``POST /v1/check``."""

    def __init__(self) -> None:
        self._inner = httpx.AsyncHTTPTransport()
        self.asked_hashes: list[str] = []
        self.asked_urls: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path == "/v1/check":
            body = json.loads(await request.aread())
            self.asked_hashes += body["sha256s"]
            self.asked_urls += body["urls"]
        return await self._inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self._inner.aclose()


def triples(answers: list[Answer]) -> list[tuple[str, str, dict[str, str]]]:
    return [(a.kind, a.key, a.prefs) for a in answers]


async def test_async_offline_check_agrees_with_sync_and_online(tmp_path: Path) -> None:
    process, base = start_registry(tmp_path / "data", "--snapshot-interval", "0.2")
    reserved = [work_hash(i) for i in range(100, 140)]
    hashes = [*reserved, *(work_hash(i) for i in range(5000, 7000)), "z" * 64]
    urls = [GALLERY + "e.png", GALLERY + "f.png", "ftp://nope"]
    sync_cache, async_cache = tmp_path / "sync-cache", tmp_path / "async-cache"
    try:
        with ConsentClient(base) as client:
            client.submit(entry(4, reserved[:20], urls=(GALLERY + "e.png",)))
            size = client.submit(entry(5, reserved[20:])).index + 1
            _synced(client, sync_cache, size)
            sync_report = check_offline(client, sha256s=hashes, urls=urls, cache_dir=sync_cache)
            online = client.check(sha256s=hashes, urls=urls)
            info = client.info()
        recording = RecordingTransport()
        async with AsyncConsentClient(base, transport=recording) as node:
            report = await acheck_offline(node, sha256s=hashes, urls=urls, cache_dir=async_cache)
            again = await OfflineChecker.async_sync(node, async_cache)
            (cached,) = sorted(async_cache.rglob("full-*"))[-1:]
            cached.write_bytes(b"garbage")
            repaired = await OfflineChecker.async_sync(node, async_cache)
        other = NoteSigner.from_seed(info.origin, bytes(32)).verifier.vkey
        async with AsyncConsentClient(base, node_key=other) as pinned:
            with pytest.raises(VerificationError):
                await acheck_offline(pinned, sha256s=hashes, cache_dir=tmp_path / "refused")
    finally:
        stop_registry(process)

    assert triples(report.answers) == triples(sync_report.answers) == triples(online)
    assert sum(a.reserved() for a in report.answers) == len(reserved) + 1
    assert report.checker.size >= size
    # only the filter's hits were asked: the reserved items, the malformed ones, and false
    # positives (at most 1 in 65,536 per filter)
    hash_hits = report.checker.hits_sha256(hashes)
    url_hits = report.checker.hits_urls(urls)
    assert recording.asked_hashes == [h for h, hit in zip(hashes, hash_hits, strict=True) if hit]
    assert recording.asked_urls == [u for u, hit in zip(urls, url_hits, strict=True) if hit]
    assert {*reserved, "z" * 64} <= set(recording.asked_hashes)
    assert len(recording.asked_hashes) <= len(reserved) + 1 + 3
    assert {GALLERY + "e.png", "ftp://nope"} <= set(recording.asked_urls)
    assert report.asked == len(recording.asked_hashes) + len(recording.asked_urls)
    assert report.checked == len(hashes) + len(urls)
    # the same cache layout as the synchronous client's (which may also hold files of the
    # chains it saw while the node caught up), the same verified bytes
    files = sorted(p.relative_to(async_cache) for p in async_cache.rglob("*") if p.is_file())
    assert report.checker.downloaded == len(files) >= 1
    for name in files:
        assert (async_cache / name).read_bytes() == (sync_cache / name).read_bytes()
    assert again.downloaded == 0  # every file came from the cache
    assert repaired.downloaded == 1  # the damaged one was fetched again
    assert not (tmp_path / "refused").exists()  # refused before anything was fetched
