"""Submitting and fetching declarations over HTTP (spec §6.4, §6.5), on SQLite and PostgreSQL."""

from __future__ import annotations

import json
from pathlib import Path

import httpx
import pytest

from registry.core.errors import ReceiptError
from registry.core.note import NoteVerifier
from registry.core.proof import parse_receipt, verify_receipt
from tests.node.api_support import (
    ORIGIN,
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    record_id_of,
    running_node,
    submit,
    work_hash,
)


async def _verifier(client: httpx.AsyncClient) -> NoteVerifier:
    info = (await client.get("/.well-known/consent-registry")).json()
    return NoteVerifier.from_vkey(info["verifier_key"])


async def test_submit_answers_id_index_and_a_receipt_that_verifies_offline(
    database_url: str, tmp_path: Path
) -> None:
    entry = declaration(creator_key(1), [work_hash(1)])
    async with running_node(make_settings(database_url, tmp_path)) as client:
        response = await client.post("/v1/declarations", content=entry)
        assert response.status_code == 201, response.text
        body = response.json()
        verifier = await _verifier(client)
    assert body["id"] == record_id_of(entry)
    assert body["index"] == 0
    assert body["duplicate"] is False
    assert response.headers["location"] == f"/v1/declarations/{body['id']}"
    verified = verify_receipt(body["receipt"], entry, verifier)
    assert verified.index == 0
    assert verified.signed_checkpoint.checkpoint.origin == ORIGIN
    with pytest.raises(ReceiptError):  # the receipt is for this entry, not another one
        verify_receipt(body["receipt"], declaration(creator_key(2), [work_hash(1)]), verifier)


async def test_resubmission_is_idempotent(database_url: str, tmp_path: Path) -> None:
    entry = declaration(creator_key(1), [work_hash(1)])
    async with running_node(make_settings(database_url, tmp_path)) as client:
        first = await submit(client, declaration(creator_key(2), [work_hash(2)]))
        second = await client.post("/v1/declarations", content=entry)
        again = await client.post("/v1/declarations", content=entry)
        verifier = await _verifier(client)
        size = (await client.get("/readyz")).json()["log_size"]
    assert first["index"] == 0
    assert second.status_code == 201
    assert again.status_code == 200
    assert again.json()["duplicate"] is True
    assert again.json()["id"] == second.json()["id"]
    assert again.json()["index"] == second.json()["index"] == 1
    assert size == 2
    verify_receipt(again.json()["receipt"], entry, verifier)


async def test_get_declaration_returns_record_index_and_fresh_proof(
    database_url: str, tmp_path: Path
) -> None:
    entry = declaration(creator_key(1), [work_hash(1)])
    async with running_node(make_settings(database_url, tmp_path)) as client:
        submitted = await submit(client, entry)
        await submit(client, declaration(creator_key(2), [work_hash(2)]))
        response = await client.get(f"/v1/declarations/{submitted['id']}")
        verifier = await _verifier(client)
    assert response.status_code == 200
    view = response.json()
    assert view["id"] == submitted["id"]
    assert view["index"] == 0
    assert view["origin"] == ORIGIN
    assert json.dumps(view["record"], separators=(",", ":")).encode() == entry
    # a fresh receipt: against the latest checkpoint (size 2), which is served beside it
    verified = verify_receipt(view["receipt"], entry, verifier)
    assert verified.signed_checkpoint.checkpoint.size == 2
    assert parse_receipt(view["receipt"]).checkpoint_note == view["checkpoint"].encode()


async def test_unknown_declaration_is_a_404_malformed_id_a_400(
    database_url: str, tmp_path: Path
) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        missing = await client.get(f"/v1/declarations/{'0' * 64}")
        malformed = await client.get("/v1/declarations/XYZ")
    assert_problem(missing, 404, "not-found")
    assert_problem(malformed, 400, "bad-request")


@pytest.mark.parametrize(
    ("mutate", "status", "slug"),
    [
        pytest.param(lambda e: b"{not json", 400, "bad-encoding", id="not-json"),
        pytest.param(lambda e: e.replace(b",", b", ", 1), 400, "non-canonical", id="whitespace"),
        pytest.param(
            lambda e: e.replace(b'"train-ai":"n"', b'"train-ai":"y"'),
            422,
            "bad-signature",
            id="tampered",
        ),
        pytest.param(
            lambda e: e.replace(b'"v":1', b'"v":2'), 422, "bad-record", id="unknown-version"
        ),
        pytest.param(lambda e: b"", 400, "bad-encoding", id="empty"),
    ],
)
async def test_invalid_declarations_are_rejected_with_the_core_error_as_problem(
    database_url: str,
    tmp_path: Path,
    mutate: object,
    status: int,
    slug: str,
) -> None:
    assert callable(mutate)
    entry = declaration(creator_key(1), [work_hash(1)])
    async with running_node(make_settings(database_url, tmp_path)) as client:
        response = await client.post("/v1/declarations", content=mutate(entry))
        size = (await client.get("/readyz")).json()["log_size"]
    assert_problem(response, status, slug)
    assert size == 0  # nothing was logged


async def test_batch_answers_every_item_in_order_without_failing_the_valid_ones(
    database_url: str, tmp_path: Path
) -> None:
    good = [declaration(creator_key(i), [work_hash(i)]) for i in range(3)]
    bad = good[1].replace(b'"train-ai":"n"', b'"train-ai":"y"')
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await submit(client, good[2])  # already logged: a duplicate in the batch
        body = b'{"declarations":[' + b",".join([good[0], bad, good[1], good[2]]) + b"]}"
        response = await client.post("/v1/declarations:batch", content=body)
        alias = await client.post(
            "/v1/declarations/batch", content=b'{"declarations":[' + good[0] + b"]}"
        )
        verifier = await _verifier(client)
        indexed = await client.get(f"/v1/works/sha256/{work_hash(1)}")
    assert response.status_code == 200, response.text
    result = response.json()
    assert (result["accepted"], result["duplicates"], result["rejected"]) == (2, 1, 1)
    items = result["results"]
    assert [item["status"] for item in items] == [201, 422, 201, 200]
    assert items[1]["problem"]["type"] == "/problems/bad-signature"
    assert "id" not in items[1]
    assert items[3]["duplicate"] is True
    assert items[3]["index"] == 0
    for item, entry in [(items[0], good[0]), (items[2], good[1]), (items[3], good[2])]:
        assert item["id"] == record_id_of(entry)
        verify_receipt(item["receipt"], entry, verifier)
    assert alias.status_code == 200
    assert alias.json()["results"][0]["duplicate"] is True
    # read-your-writes: the batch is indexed before the answer
    assert indexed.json()["declarations"] == [record_id_of(good[1])]


async def test_batch_limits_and_malformed_batches(database_url: str, tmp_path: Path) -> None:
    entries = [declaration(creator_key(i), [work_hash(i)]) for i in range(3)]
    settings = make_settings(database_url, tmp_path, max_batch_items=2)
    async with running_node(settings) as client:
        too_many = await client.post(
            "/v1/declarations:batch",
            content=b'{"declarations":[' + b",".join(entries) + b"]}",
        )
        not_a_batch = await client.post("/v1/declarations:batch", content=b"[1,2]")
        unknown_field = await client.post(
            "/v1/declarations:batch", content=b'{"declarations":[],"x":1}'
        )
    assert_problem(too_many, 413, "batch-too-large")
    assert_problem(not_a_batch, 400, "bad-encoding")
    assert_problem(unknown_field, 400, "bad-encoding")


async def test_overload_answers_503_with_retry_after(database_url: str, tmp_path: Path) -> None:
    entries = [declaration(creator_key(i), [work_hash(i)]) for i in range(3)]
    settings = make_settings(database_url, tmp_path, max_pending=2)
    async with running_node(settings) as client:
        response = await client.post(
            "/v1/declarations:batch",
            content=b'{"declarations":[' + b",".join(entries) + b"]}",
        )
        later = await client.post("/v1/declarations", content=entries[0])
    body = assert_problem(response, 503, "overloaded")
    assert "retry" in body["detail"]
    assert int(response.headers["retry-after"]) >= 1
    assert later.status_code == 201  # the node recovers: the pool was never filled
