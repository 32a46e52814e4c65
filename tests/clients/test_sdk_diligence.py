"""The datadiligence plug-in, with the real datadiligence package and a real node process."""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from pathlib import Path

import consent.diligence
import datadiligence as dd  # type: ignore[import-untyped]
import pytest
from consent import ConsentClient, RetryPolicy, TransportError

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.clients.sdk_support import creator_key, free_port

RESERVED_URL = "https://art.example/reserved.png"
RESERVED_BYTES = b"a declared work"


@pytest.fixture(scope="module")
def node(served_node: str) -> str:
    key = creator_key(50)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_760_000_000,
        works=[new_work(hashlib.sha256(RESERVED_BYTES).hexdigest(), urls=[RESERVED_URL])],
        prefs={"train-ai": "n"},
    )
    with ConsentClient(served_node) as client:
        client.submit(encode_record(sign_declaration(record, key)))
    return served_node


@pytest.fixture
def clean_preprocess() -> Iterator[None]:
    yield
    evaluator = dd.get_evaluator("preprocess")
    evaluator.rules = [
        r for r in evaluator.rules if not isinstance(r, consent.diligence.ConsentRegistryRule)
    ]


def test_one_line_adds_the_registry_to_an_existing_pipeline(
    node: str, clean_preprocess: None
) -> None:
    urls = ["https://art.example/free.png", RESERVED_URL, "HTTPS://ART.example/reserved.png"]
    assert dd.is_allowed(urls=urls) == [True, True, True]  # before: no registry (no Spawning key)
    consent.diligence.register(node)
    assert dd.is_allowed(urls=urls) == [True, False, False]
    assert dd.filter_allowed(urls=urls) == ["https://art.example/free.png"]
    consent.diligence.register(node)  # idempotent: still one rule
    rules = dd.get_evaluator("preprocess").rules
    assert sum(isinstance(r, consent.diligence.ConsentRegistryRule) for r in rules) == 1


def test_the_named_evaluator_checks_files_and_hashes(
    node: str, tmp_path: Path, clean_preprocess: None
) -> None:
    consent.diligence.register(node, into=None)
    work = tmp_path / "work.png"
    work.write_bytes(RESERVED_BYTES)
    other = tmp_path / "other.png"
    other.write_bytes(b"not declared")
    assert dd.is_allowed(consent.diligence.EVALUATOR_NAME, path=str(work)) is False
    assert dd.is_allowed(consent.diligence.EVALUATOR_NAME, paths=[other, work]) == [True, False]
    assert dd.is_allowed(consent.diligence.EVALUATOR_NAME, url=RESERVED_URL) is False
    assert "consent-registry" in dd.list_evaluators()


def test_unreachable_registry_raises_or_fails_closed(clean_preprocess: None) -> None:
    dead = ConsentClient(f"http://127.0.0.1:{free_port()}", retry=RetryPolicy(max_retries=0))
    evaluator = consent.diligence.register(dead, into=None)
    with pytest.raises(TransportError):
        evaluator.is_allowed(urls=[RESERVED_URL])
    strict = consent.diligence.register(dead, into=None, fail_closed=True)
    assert strict.is_allowed(urls=[RESERVED_URL, "https://x.example/"]) == [False, False]
