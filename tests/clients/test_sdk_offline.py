"""``check --offline`` (spec §8): the SDK downloads, caches and verifies the node's snapshot
chain, checks locally, and asks the node only about hits; against the real node app in process
and the real ``registry serve`` process with the ``consent`` CLI."""

from __future__ import annotations

import hashlib
import json
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from consent import ConsentClient, VerificationError
from consent.offline import OfflineChecker, check_offline

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
