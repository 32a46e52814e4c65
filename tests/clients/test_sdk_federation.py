"""Positive answers about declarations mirrored from a peer log verify against that log's key:
two real ``registry serve`` processes, B mirroring A."""

from __future__ import annotations

import hashlib
import time
from pathlib import Path

import httpx
import pytest
from consent import ConsentClient, VerificationError

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.clients.sdk_support import creator_key, start_registry, stop_registry


def test_mirrored_declaration_verifies_against_its_origin_log(tmp_path: Path) -> None:
    first, url_a = start_registry(tmp_path / "a", origin="a.sdk.test/log")
    try:
        vkey_a = httpx.get(url_a + "/.well-known/consent-registry").json()["verifier_key"]
        peers = tmp_path / "peers.txt"
        peers.write_text(f"{url_a} {vkey_a}\n")
        second, url_b = start_registry(
            tmp_path / "b",
            "--peers",
            str(peers),
            "--peer-poll-interval",
            "0.2",
            origin="b.sdk.test/log",
        )
        try:
            key = creator_key(60)
            work = hashlib.sha256(b"mirrored work").hexdigest()
            record = new_declaration(
                creator=key.public_key.did,
                issued_at=1_760_000_000,
                works=[new_work(work)],
                prefs={"train-ai": "n"},
            )
            with ConsentClient(url_a) as node_a:
                submitted = node_a.submit(encode_record(sign_declaration(record, key)))
            with ConsentClient(url_b) as node_b:
                deadline = time.monotonic() + 20
                while not (answer := node_b.work_by_sha256(work)).declarations:
                    assert time.monotonic() < deadline, "B did not mirror A"
                    time.sleep(0.2)
                proofs = node_b.verify_answer(answer)
            assert [(p.id, p.origin) for p in proofs] == [(submitted.id, "a.sdk.test/log")]
            # keys given explicitly win over the node's peer list: a wrong one fails
            wrong = {"a.sdk.test/log": node_b_key(url_b)}
            with ConsentClient(url_b, log_keys=wrong) as node_b, pytest.raises(VerificationError):
                node_b.verify_answer(answer)
            with ConsentClient(url_b, log_keys={"a.sdk.test/log": vkey_a}) as node_b:
                assert node_b.verify_answer(answer)[0].index == submitted.index
        finally:
            stop_registry(second)
    finally:
        stop_registry(first)


def node_b_key(url: str) -> str:
    key: str = httpx.get(url + "/.well-known/consent-registry").json()["verifier_key"]
    return key
