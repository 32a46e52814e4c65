"""The SDK's clients against the real node app: in process (ASGI) and over TCP."""

from __future__ import annotations

import hashlib
from pathlib import Path

import pytest
from consent import Answer, AsyncConsentClient, ConsentClient, NodeError

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.clients.sdk_support import ORIGIN, ThreadNode, creator_key, in_process_node


def _decided(answers: list[Answer]) -> list[tuple[str, dict[str, str], list[str]]]:
    """What the binary check answers too (spec §6.8.4): key, prefs, declarations; the JSON
    check also lists each claim's identity (spec §9.4.5), which the binary form cannot carry."""
    return [(a.key, a.prefs, a.declarations) for a in answers]


def work_hash(n: int) -> str:
    return hashlib.sha256(b"sdk work %d" % n).hexdigest()


def entry(
    n: int,
    hashes: list[str],
    *,
    urls: tuple[str, ...] = (),
    issued_at: int = 1_750_000_000,
    prefs: dict[str, str] | None = None,
) -> bytes:
    key = creator_key(n)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=issued_at,
        works=[new_work(h, urls=urls) for h in hashes],
        prefs=prefs or {"train-ai": "n"},
    )
    return encode_record(sign_declaration(record, key))


async def test_async_submit_check_and_verify(tmp_path: Path) -> None:
    async with in_process_node(tmp_path) as async_client:
        await _submit_check_and_verify(async_client)


async def _submit_check_and_verify(async_client: AsyncConsentClient) -> None:
    info = await async_client.info()
    assert info.origin == ORIGIN
    first = await async_client.submit(entry(1, [work_hash(1)], urls=("https://a.example/x",)))
    assert first.index == 0
    assert not first.duplicate
    again = await async_client.submit(entry(1, [work_hash(1)], urls=("https://a.example/x",)))
    assert again.duplicate
    assert again.id == first.id
    answers = await async_client.check(
        sha256s=[work_hash(1), work_hash(2)], urls=["HTTPS://A.example:443/x", "https://b.example/"]
    )
    assert [a.key for a in answers] == [
        work_hash(1),
        work_hash(2),
        "HTTPS://A.example:443/x",
        "https://b.example/",
    ]
    assert [a.reserved() for a in answers] == [True, False, True, False]
    assert answers[0].declarations == [first.id]
    verified = await async_client.verify_answer(answers[0])
    assert [v.id for v in verified] == [first.id]
    assert verified[0].origin == ORIGIN
    assert verified[0].record.works[0].sha256 == work_hash(1)
    by_url = await async_client.verify_answer(answers[2])
    assert by_url[0].id == first.id
    # the binary form (spec §6.8.4) gives the same answers for the same hashes
    hashes = [work_hash(1), work_hash(2), work_hash(1)]
    binary = await async_client.check_sha256s(hashes)
    assert _decided(binary) == _decided(await async_client.check(sha256s=hashes))
    assert binary[0].declarations == [first.id]
    assert not binary[1].prefs


async def test_async_rejection_is_a_node_error(tmp_path: Path) -> None:
    bad = entry(1, [work_hash(1)]).replace(b'"train-ai":"n"', b'"train-ai":"y"')
    async with in_process_node(tmp_path) as async_client:
        with pytest.raises(NodeError) as caught:
            await async_client.submit(bad)
    assert caught.value.status == 422
    assert caught.value.slug == "bad-signature"


async def test_pdq_lookup_finds_near_duplicates(tmp_path: Path) -> None:
    key = creator_key(4)
    pdq = "f" * 16 + "0" * 48
    near = "7" + "f" * 15 + "0" * 48  # one bit flipped
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_700_000_000,
        works=[new_work(work_hash(40), pdq=pdq, pdq_quality=90)],
        prefs={"train-ai": "n"},
    )
    async with in_process_node(tmp_path) as async_client:
        result = await async_client.submit(encode_record(sign_declaration(record, key)))
        found = await async_client.check_pdq([near, "0" * 63 + "1"], max_distance=10)
    assert [r.pdq for r in found] == [near, "0" * 63 + "1"]
    assert found[0].reserved()
    (match,) = found[0].matches
    assert (match.sha256, match.pdq, match.distance) == (work_hash(40), pdq, 1)
    assert match.declarations == [result.id]
    assert [c.creator for c in match.claims] == [key.public_key.did]
    assert found[1].matches == []
    assert not found[1].reserved()


def test_sync_client_in_process(sync_node: ThreadNode) -> None:
    with sync_node.client() as client:
        results = client.submit_batch([entry(1, [work_hash(1)]), entry(2, [work_hash(2)])])
        assert [r.index for r in results] == [0, 1]
        answer = client.work_by_sha256(work_hash(2))
        assert answer.reserved()
        assert client.verify_answer(answer)[0].id == results[1].id
        hashes = [work_hash(i) for i in range(4)]
        binary = client.check_sha256s(hashes)
        assert _decided(binary) == _decided(client.check(sha256s=hashes))
        assert [a.reserved() for a in binary] == [False, True, True, False]
        with_identity = client.check_sha256s(hashes, identity=True)
        assert [(a.prefs, a.declarations) for a in with_identity] == [
            (a.prefs, a.declarations) for a in binary
        ]
        assert [a.claims for a in with_identity] == [a.claims for a in client.check(sha256s=hashes)]
        assert [c.level for c in with_identity[1].claims] == ["none"]
        with pytest.raises(ValueError, match="64 hex digits"):
            client.check_sha256s(["abcd"])


def test_sync_client_over_tcp(served_node: str) -> None:
    with ConsentClient(served_node) as client:
        result = client.submit(entry(7, [work_hash(70)]))
        answer = client.work_by_sha256(work_hash(70))
        assert answer.declarations == [result.id]
        assert client.verify_answer(answer)[0].index == result.index
