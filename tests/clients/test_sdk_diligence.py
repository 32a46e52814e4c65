"""The datadiligence plug-in, with the real datadiligence package and a real node process."""

from __future__ import annotations

import hashlib
import random
from collections.abc import Iterator
from pathlib import Path

import consent.diligence
import datadiligence as dd  # type: ignore[import-untyped]
import pytest
from consent import ConsentClient, RetryPolicy, TransportError, fingerprint
from datadiligence.rules import SpawningAPI  # type: ignore[import-untyped]
from PIL import Image, ImageDraw, ImageOps

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


def _picture(path: Path, seed: int) -> None:
    """A detailed picture (high PDQ quality): coloured shapes on a gradient."""
    rng = random.Random(seed)
    image = Image.linear_gradient("L").resize((320, 320)).convert("RGB")
    draw = ImageDraw.Draw(image)
    for _ in range(14):
        x0, y0 = rng.randrange(300), rng.randrange(300)
        colour = (rng.randrange(256), rng.randrange(256), rng.randrange(256))
        draw.ellipse([x0, y0, x0 + rng.randrange(20, 140), y0 + rng.randrange(20, 140)], colour)
    image.save(path)


def test_files_are_checked_by_near_duplicate_too(
    served_node: str, tmp_path: Path, clean_preprocess: None
) -> None:
    original = tmp_path / "original.png"
    _picture(original, 7)
    declared = fingerprint(original)
    assert declared.pdq is not None
    assert declared.pdq_quality is not None
    key = creator_key(51)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_760_000_000,
        works=[
            new_work(
                declared.sha256,
                pdq=declared.pdq,
                pdq_quality=declared.pdq_quality,
                pdq_variants=declared.pdq_variants,
            )
        ],
        prefs={"train-ai": "n"},
    )
    with ConsentClient(served_node) as client:
        client.submit(encode_record(sign_declaration(record, key)))
    # a crawler's copy: re-encoded as JPEG, so not the same bytes
    copy = tmp_path / "copy.jpg"
    with Image.open(original) as image:
        image.save(copy, quality=70)
    # ... mirrored, and cropped by 5% on the right and bottom: one PDQ hash per side misses
    # both; the plug-in asks what ``consent check`` asks (spec §6.8.3 item 6)
    mirrored, cropped = tmp_path / "mirrored.png", tmp_path / "cropped.jpg"
    with Image.open(original) as image:
        ImageOps.mirror(image).save(mirrored)
        image.crop((0, 0, image.width * 19 // 20, image.height * 19 // 20)).save(cropped)
    with ConsentClient(served_node) as client:
        singles = client.check_pdq([fingerprint(p).pdq or "" for p in (mirrored, cropped)])
    assert [r.matches for r in singles] == [[], []]
    unrelated = tmp_path / "unrelated.png"
    _picture(unrelated, 8)
    evaluator = consent.diligence.register(served_node, into=None)
    assert evaluator.is_allowed(path=str(copy)) is False
    assert evaluator.is_allowed(paths=[original, copy, mirrored, cropped, unrelated]) == [
        False, False, False, False, True
    ]  # fmt: skip


def test_register_replaces_the_stock_spawning_rule(
    node: str, clean_preprocess: None, monkeypatch: pytest.MonkeyPatch
) -> None:
    # With a Spawning key set, datadiligence's stock rule would send every URL to Spawning's
    # host; after register() the preprocess evaluator asks the registry only.
    monkeypatch.setenv("SPAWNING_OPTS_KEY", "a-key-that-must-not-be-used")
    evaluator = dd.get_evaluator("preprocess")
    evaluator.rules.append(SpawningAPI())
    consent.diligence.register(node)
    kinds = [type(rule).__name__ for rule in dd.get_evaluator("preprocess").rules]
    assert kinds == ["ConsentRegistryRule"]
    assert dd.is_allowed(urls=[RESERVED_URL, "https://art.example/free.png"]) == [False, True]
    # ... unless the caller asks to keep it
    evaluator.rules.append(SpawningAPI())
    consent.diligence.register(node, keep_spawning=True)
    kinds = [type(rule).__name__ for rule in dd.get_evaluator("preprocess").rules]
    assert sorted(kinds) == ["ConsentRegistryRule", "SpawningAPI"]
    dd.get_evaluator("preprocess").rules = [
        r for r in dd.get_evaluator("preprocess").rules if not isinstance(r, SpawningAPI)
    ]
