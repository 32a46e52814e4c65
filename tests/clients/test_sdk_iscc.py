"""Near-duplicate checks by ISCC (spec §6.8.3) through the SDK and ``consent check``: against
the real node app (in process), an older node that does not list the endpoint, and a real
``registry serve`` process.

The texts are generated from a fixed seed; their ISCC codes are computed by the SDK
(iscc-core), as ``consent declare`` computes them. The edited copy changes two words and adds
a line, which moves its Text-Code a bit or two; the reworded copy changes one word in 24,
which moves it about 10 bits, still within the spec's default radius of 12; the unrelated text
sits about 32 bits away.
"""

from __future__ import annotations

import argparse
import json
import random
from collections.abc import Awaitable, Callable, MutableMapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import pytest
from consent import ConsentClient, NodeError, NotSupportedError, fingerprint
from consent.checking import run_check
from consent.cli import _fingerprints, build_parser
from consent.fingerprint import Fingerprint

from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.wire import ISCC_MATCH_DISTANCE
from tests.clients.sdk_support import ThreadLoopTransport, ThreadNode, creator_key, in_process_node
from tests.clients.test_cli_consent import as_json, consent

Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]


@dataclass(frozen=True)
class Texts:
    original: Fingerprint
    edited: Fingerprint
    reworded: Fingerprint
    unrelated: Fingerprint


def _words(rng: random.Random, count: int) -> list[str]:
    letters = "abcdefghijklmnopqrstuvwxyz"
    return ["".join(rng.choice(letters) for _ in range(rng.randint(2, 9))) for _ in range(count)]


@pytest.fixture
def texts(tmp_path: Path) -> Texts:
    """Three UTF-8 texts in ``tmp_path/texts``: an original, a lightly edited copy, another."""
    folder = tmp_path / "texts"
    folder.mkdir()
    words = _words(random.Random(7), 600)
    original = " ".join(words)
    edited = original.replace(words[100], "CHANGED", 1).replace(words[400], "edited", 1)
    (folder / "original.txt").write_text(original + "\n")
    (folder / "edited.txt").write_text(edited + "\nA closing line.\n")
    reworded = [w if i % 24 != 12 else "CHANGED" for i, w in enumerate(words)]
    (folder / "reworded.txt").write_text(" ".join(reworded) + "\n")
    (folder / "unrelated.txt").write_text(" ".join(_words(random.Random(8), 600)) + "\n")
    names = ("original", "edited", "reworded", "unrelated")
    found = Texts(*(fingerprint(folder / f"{name}.txt") for name in names))
    assert all(fp.iscc is not None and fp.pdq is None for fp in vars(found).values())
    assert found.edited.sha256 != found.original.sha256
    return found


def declaration(fp: Fingerprint, n: int) -> bytes:
    """A signed "do not train" declaration of one work, with its ISCC."""
    key = creator_key(n)
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=1_750_000_000,
        works=[new_work(fp.sha256, iscc=fp.iscc, media_type=fp.media_type)],
        prefs={"train-ai": "n"},
    )
    return encode_record(sign_declaration(record, key))


def codes(*fps: Fingerprint) -> list[str]:
    return [fp.iscc for fp in fps if fp.iscc is not None]


async def test_async_iscc_check_finds_the_edited_texts_original(
    tmp_path: Path, texts: Texts
) -> None:
    # one code a request: three requests, answered in the order asked
    async with in_process_node(tmp_path / "node", client_options={"chunk_size": 1}) as node:
        declared = await node.submit(declaration(texts.original, 1))
        results = await node.check_iscc(codes(texts.edited, texts.unrelated, texts.original))
        strict = await node.check_iscc(codes(texts.edited), max_distance=0)
        (reworded,) = await node.check_iscc(codes(texts.reworded))
        (far,) = reworded.matches
        assert 4 < far.distance <= ISCC_MATCH_DISTANCE == 12  # found at the spec's default
        (closer,) = await node.check_iscc(codes(texts.reworded), max_distance=far.distance - 1)
        with pytest.raises(NodeError) as malformed:
            await node.check_iscc(["ISCC:NOT-A-CODE"])
    edited, unrelated, original = results
    assert [r.iscc for r in results] == codes(texts.edited, texts.unrelated, texts.original)
    (match,) = edited.matches
    assert match.sha256 == texts.original.sha256
    assert match.iscc == texts.original.iscc
    assert 0 < match.distance <= ISCC_MATCH_DISTANCE
    assert match.declarations == [declared.id]
    assert [c.creator for c in match.claims] == [creator_key(1).public_key.did]
    assert edited.reserved()
    assert unrelated.matches == []
    assert not unrelated.reserved()
    assert [(m.sha256, m.distance) for m in original.matches] == [(texts.original.sha256, 0)]
    # the distance asked is the node's radius
    assert strict[0].matches == []
    assert far.sha256 == texts.original.sha256
    assert closer.matches == []
    assert (malformed.value.status, malformed.value.slug) == (400, "bad-request")


class Rewriting:
    """The node app with the JSON answers to one path edited: how a node that differs from
    this one (older, or faulty) answers. Records every other path asked."""

    def __init__(self, app: Any, path: str, edit: Callable[[Any], object]) -> None:
        self.app = app
        self.path = path
        self.edit = edit
        self.paths: list[str] = []

    async def __call__(self, scope: Message, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["path"] != self.path:
            if scope["type"] == "http":
                self.paths.append(scope["path"])
            await self.app(scope, receive, send)
            return
        start: Message = {}
        body = bytearray()

        async def rewrite(message: Message) -> None:
            if message["type"] == "http.response.start":
                start.update(message)
                return
            body.extend(message.get("body", b""))
            if message.get("more_body"):
                return
            document = json.loads(body)
            self.edit(document)
            out = json.dumps(document).encode()
            headers = [(k, v) for k, v in start["headers"] if k.lower() != b"content-length"]
            await send({**start, "headers": [*headers, (b"content-length", b"%d" % len(out))]})
            await send({"type": "http.response.body", "body": out})

        await self.app(scope, receive, rewrite)


def without_iscc(description: dict[str, Any]) -> None:
    """A node description as a node without ISCC search gives it."""
    for name in ("check_iscc", "work_by_iscc"):
        del description["endpoints"][name]


def check_args(*argv: str) -> argparse.Namespace:
    args: argparse.Namespace = build_parser().parse_args(["check", *argv, "--json", "--quiet"])
    return args


def test_sync_iscc_check_and_a_node_without_it(sync_node: ThreadNode, texts: Texts) -> None:
    with sync_node.client() as client:
        client.submit(declaration(texts.original, 2))
        (edited, unrelated) = client.check_iscc(codes(texts.edited, texts.unrelated))
    assert [m.sha256 for m in edited.matches] == [texts.original.sha256]
    assert edited.reserved()
    assert unrelated.matches == []

    older = Rewriting(sync_node.app, "/.well-known/consent-registry", without_iscc)
    transport = ThreadLoopTransport(older, sync_node.loop)
    with ConsentClient("http://node.test", transport=transport) as client:
        with pytest.raises(NotSupportedError) as refused:
            client.check_iscc(codes(texts.edited))
        assert client.check_iscc([]) == []
        assert client.check_pdq(["0" * 64])[0].matches == []  # PDQ is still listed
    assert "check_iscc" in str(refused.value)
    assert "\n" not in str(refused.value)
    assert "/v1/check/iscc" not in older.paths  # the description was enough to know
    assert "/v1/check/pdq" in older.paths

    # consent check: --near insists on the search; without it the text is checked exactly
    edited_file = str(texts.edited.path)
    documents: list[Any] = []

    def emit(args: argparse.Namespace, document: object, text: str) -> None:
        documents.append(document)

    with pytest.raises(NotSupportedError, match="check_iscc"):
        run_check(
            check_args(edited_file, "--near"),
            ConsentClient("http://node.test", transport=transport),
            emit,
            _fingerprints,
        )
    status = run_check(
        check_args(edited_file),
        ConsentClient("http://node.test", transport=transport),
        emit,
        _fingerprints,
    )
    assert status == 0
    (row,) = documents[-1]["results"]
    assert (row["prefs"], "near" in row) == ({}, False)
    assert older.paths.count("/v1/check/iscc") == 0


def test_an_answer_with_a_result_missing_is_refused(sync_node: ThreadNode, texts: Texts) -> None:
    faulty = Rewriting(sync_node.app, "/v1/check/iscc", lambda answer: answer["results"].pop())
    transport = ThreadLoopTransport(faulty, sync_node.loop)
    with (
        ConsentClient("http://node.test", transport=transport) as client,
        pytest.raises(NodeError) as refused,
    ):
        client.check_iscc(codes(texts.edited, texts.unrelated))
    assert refused.value.slug == "bad-answer"
    assert "1 results for 2 queries" in str(refused.value)


def test_cli_check_marks_an_edited_text_reserved(
    served_node: str, texts: Texts, tmp_path: Path
) -> None:
    with ConsentClient(served_node) as client:
        client.submit(declaration(texts.original, 3))
    env = {"CONSENT_NODE": served_node}
    folder = texts.edited.path.parent
    items = [str(folder / "edited.txt"), str(folder / "unrelated.txt")]
    for extra in ((), ("--near",)):
        document = as_json(consent("check", *items, *extra, "--json", cwd=tmp_path, env=env))
        edited, unrelated = document["results"]
        assert edited["prefs"] == {"train-ai": "n"}
        assert edited["decided_by"] == "registry (near-duplicate)"
        assert edited["declarations"] == []  # not declared itself
        (near,) = edited["near"]
        assert (near["sha256"], near["by"]) == (texts.original.sha256, "iscc")
        assert 0 < near["distance"] <= ISCC_MATCH_DISTANCE
        assert unrelated["prefs"] == {}
        assert unrelated["near"] == []
        assert document["reserved"] == 1
    human = consent("check", *items, cwd=tmp_path, env=env)
    assert "registry (near-duplicate)" in human.stdout
    assert "2 checked, 1 reserved for train-ai" in human.stdout
