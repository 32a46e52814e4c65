"""Levels files on a node that mirrors a peer (spec §8.10.1, §8.10.5 item 5): real ``registry
serve`` processes on 127.0.0.1, node A (SQLite, then PostgreSQL) mirroring node B, both trusting
platform ``art``.

The owner says ``y`` and a stranger ``n`` about a work in A's log; the platform's attestation
that the owner uploaded it is logged at B only. A answers "not reserved" under ``verified``
because of B's record. Before levels counted mirrored logs, an offline check through A asked A
about every hit (a levels file of A's own log would have said "reserved"); now A's levels file
names B at the size A holds it, and the SDK decides the hit locally with the owner's level and
the attestation as evidence, exactly as A answers online. When B's log grows past what A's file
counts, the file cannot decide and the hit is asked; A rebuilds the file once it has mirrored
B's growth.
"""

from __future__ import annotations

import dataclasses
import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from consent import ConsentClient
from consent.offline import OfflineReport, check_offline

from registry.core.levels import MirroredSize
from tests.clients.test_sdk_offline_federation import SyncRecordingTransport
from tests.node.api_support import declaration, record_id_of, work_hash
from tests.node.test_api_trust_records import OWNER, PLATFORM, STRANGER, attestation
from tests.node.test_federation_nodes import postgres_url  # noqa: F401 - a fixture
from tests.node.test_federation_support import NodeKeys, NodeProcess, wait_until
from tests.node.test_federation_trust import post_records

pytestmark = pytest.mark.slow

OWNED = work_hash(61)  # in A's log: the owner's y, a stranger's n; attested at B
PLAIN = work_hash(62)  # in A's log: a stranger's n, nothing else (the default answer)
LATER = work_hash(63)  # reserved at B later, so that B's chain outgrows A's levels file


@pytest.fixture(params=["sqlite", "postgresql"])
def pair(
    request: pytest.FixtureRequest,
    tmp_path: Path,
    postgres_url: str,  # noqa: F811 - the fixture
) -> Iterator[tuple[NodeProcess, NodeProcess]]:
    """Node A (on the parameter's database) mirroring node B, both trusting platform art."""
    platforms = tmp_path / "platforms.json"
    entry = {"name": "art", "key": PLATFORM.public_key.did, "scope": "*", "quota": 1000}
    platforms.write_text(json.dumps({"platforms": [entry]}))
    common = ["--trusted-platforms", str(platforms), "--snapshot-interval", "0.2"]
    b = NodeProcess(
        NodeKeys.make("b.levels.test/log"), ["--data-dir", str(tmp_path / "b")], extra_args=common
    )
    database = ["--database-url", postgres_url] if request.param == "postgresql" else []
    peers = tmp_path / "a.peers"
    peers.write_text(b.peers_line() + "\n")
    a = NodeProcess(
        NodeKeys.make("a.levels.test/log"),
        ["--data-dir", str(tmp_path / "a"), *database],
        extra_args=[*common, "--peers", str(peers), "--peer-poll-interval", "0.2"],
        env={"REGISTRY_PEER_MAX_BACKOFF": "0.5", "REGISTRY_PEER_TIMEOUT": "1"},
    )
    for node in (a, b):
        node.start(wait=False)
    try:
        a.wait_ready()
        b.wait_ready()
        yield a, b
    finally:
        a.stop()
        b.stop()


def offline(
    a: NodeProcess, cache: Path, policy: str
) -> tuple[OfflineReport, SyncRecordingTransport]:
    recording = SyncRecordingTransport()
    with ConsentClient(a.url, transport=recording) as client:
        report = check_offline(
            client,
            sha256s=[OWNED, PLAIN],
            cache_dir=cache,
            policy=policy,  # type: ignore[arg-type]
            levels=True,
        )
    return report, recording


def decided_with(a: NodeProcess, b: NodeProcess, cache: Path) -> OfflineReport:
    """An offline check through A once A's levels file counts all of B's chain."""

    def ready() -> OfflineReport | None:
        if a.get("/v1/snapshots").status_code != 200 or b.get("/v1/snapshots").status_code != 200:
            return None
        report, _ = offline(a, cache, "verified")
        mirrored = {m.origin: m.size for m in report.checker.mirrored}
        complete = mirrored.get(b.keys.origin) == b.size() and report.checker.size == a.size()
        return report if complete and report.checker.levels_gap is None else None

    return wait_until(ready, timeout=60, what="A's levels file counts B's whole chain")


def test_a_peer_s_attestation_decides_a_hit_offline(
    pair: tuple[NodeProcess, NodeProcess], tmp_path: Path
) -> None:
    a, b = pair
    owner_says = declaration(OWNER, [OWNED], prefs={"train-ai": "y"})
    stranger_says = declaration(STRANGER, [OWNED], prefs={"train-ai": "n"}, issued_at=1_700_000_100)
    a.submit([owner_says, stranger_says, declaration(STRANGER, [PLAIN])])
    proof = attestation(OWNER, [OWNED])
    post_records(b, [proof])
    first = decided_with(a, b, tmp_path / "cache")

    # the levels file names B at the size of B's chain, with its root
    levels = first.checker.levels
    assert levels is not None
    counted = levels.mirror(b.keys.origin)
    assert counted is not None
    assert (counted.size, counted.root_hash) == (
        first.checker.mirrored[0].size,
        first.checker.mirrored[0].root_hash,
    )

    # under "verified" the owner's y counts through B's attestation: decided, not asked
    report, recording = offline(a, tmp_path / "cache", "verified")
    owned, plain = report.answers
    assert not owned.reserved()
    claims = {c.declaration: c for c in owned.claims}
    owner = claims[record_id_of(owner_says)]
    assert (owner.level, owner.evidence, owner.counted) == (
        "platform:art",
        [record_id_of(proof)],
        True,
    )
    assert (
        claims[record_id_of(stranger_says)].level,
        claims[record_id_of(stranger_says)].counted,
    ) == (
        "none",
        False,
    )
    assert OWNED not in recording.asked_hashes
    assert recording.asked_hashes == [PLAIN]  # no trust record: the default, asked
    assert plain.reserved()
    assert (report.decided, report.asked) == (1, 1)
    # the node's own answer online is the same
    with ConsentClient(a.url) as client:
        online = client.check(sha256s=[OWNED], policy="verified")[0]
    assert not online.reserved()
    assert {(c.declaration, c.level, c.counted) for c in online.claims} == {
        (c.declaration, c.level, c.counted) for c in owned.claims
    }
    # under "any" the stranger's n counts: reserved, decided locally too
    anything, recording = offline(a, tmp_path / "cache", "any")
    assert anything.answers[0].reserved()
    assert OWNED not in recording.asked_hashes

    # B grows; A mirrors it and rebuilds its levels file under the same snapshot name
    post_records(b, [declaration(STRANGER, [LATER], issued_at=1_700_000_200)])
    second = decided_with(a, b, tmp_path / "cache")
    assert second.checker.size == first.checker.size  # A's own log did not grow
    assert second.checker.mirrored[0].size > first.checker.mirrored[0].size
    assert second.checker.levels is not None
    assert second.checker.levels.header.snapshot == levels.header.snapshot
    # the first levels file against B's grown chain: it cannot decide, the hit is asked
    stale = dataclasses.replace(second.checker, levels=levels)
    gap = stale.levels_gap
    assert gap is not None
    assert f"at size {counted.size}, before its snapshot's" in gap
    assert stale.decide("sha256", OWNED, "verified") is None
    assert second.checker.decide("sha256", OWNED, "verified") is not None
    # the same size with another root: two views of B's log, never decided on
    forked = dataclasses.replace(
        second.checker.levels.header,
        mirrors=(MirroredSize(b.keys.origin, second.checker.mirrored[0].size, bytes(32)),),
    )
    split = dataclasses.replace(
        second.checker, levels=dataclasses.replace(second.checker.levels, header=forked)
    )
    assert split.levels_gap is not None
    assert "different roots" in split.levels_gap
    assert split.decide("sha256", OWNED, "verified") is None
