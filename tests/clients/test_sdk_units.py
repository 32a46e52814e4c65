"""The SDK's building blocks: key files, fingerprints (PDQ against Meta's published hashes),
packing declarations to the spec's limits, retries against a rate-limited node, order and
chunking of batch checks, resuming an interrupted run, and the import footprint."""

from __future__ import annotations

import hashlib
import json
import os
import stat
import subprocess
import sys
import time
from pathlib import Path

import httpx
import pytest
from consent import (
    ConsentClient,
    KeyFileError,
    RetryPolicy,
    TransportError,
    VerificationError,
    fingerprint,
    generate_key,
    load_key,
    pdq_distance,
    read_did,
    save_key,
)
from consent.client import parse_retry_after
from consent.creator import Creator, collect_works, pack_declarations
from consent.fingerprint import Fingerprint, iter_files
from consent.receipts import ReceiptStore

from registry.core.records import (
    MAX_ENTRY_BYTES,
    Declaration,
    Work,
    encode_record,
    entry_size,
    new_work,
    sign_declaration,
)
from tests.clients.sdk_support import (
    ThreadNode,
    creator_key,
    in_process_node,
    node_settings,
    start_registry,
    stop_registry,
)

PDQ_DATA = Path(__file__).parent / "data" / "pdq"
FAST_N = 1024  # scrypt cost for tests only


# --- key files --------------------------------------------------------------------------------


def test_key_file_round_trip_and_protection(tmp_path: Path) -> None:
    key = generate_key()
    path = tmp_path / "keys" / "creator.json"
    save_key(key, path, "s3cret", scrypt_n=FAST_N)
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    assert read_did(path) == key.public_key.did
    assert load_key(path, "s3cret").seed == key.seed
    assert key.seed.hex() not in path.read_text()
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_key(path, "guess")
    with pytest.raises(KeyFileError, match="already exists"):
        save_key(generate_key(), path, "other", scrypt_n=FAST_N)
    with pytest.raises(KeyFileError, match="passphrase is required"):
        save_key(key, tmp_path / "k2.json", "")
    # the header is authenticated: swapping the DID for another creator's breaks the file
    document = json.loads(path.read_text())
    document["did"] = generate_key().public_key.did
    path.write_text(json.dumps(document))
    with pytest.raises(KeyFileError, match="wrong passphrase"):
        load_key(path, "s3cret")
    path.write_text("{}")
    with pytest.raises(KeyFileError, match="not a consent-registry key file"):
        read_did(path)
    with pytest.raises(KeyFileError, match="no key file"):
        load_key(tmp_path / "missing.json", "x")


# --- fingerprints -----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "expected"),
    [
        ("wee.jpg", "6227401f601ff4ccafcc9fad4b0d95d371a2eb7265a3285234d228ca94deeb2d"),
        ("q0746.jpg", "1049d96239e24d4dca2c55512b8bdb77425f4dbcf575a0a95555aaab5554aaaa"),
        ("small.jpg", "0007001f003f003f007f00ff00ff00ff01ff01ff01ff03ff03ff03ff03ff03ff"),
    ],
)
def test_pdq_matches_meta_reference_hashes(name: str, expected: str) -> None:
    fp = fingerprint(PDQ_DATA / name)
    assert fp.pdq == expected
    assert fp.media_type == "image/jpeg"
    assert fp.iscc is not None
    assert fp.iscc.startswith("ISCC:K")
    assert fp.sha256 == hashlib.sha256((PDQ_DATA / name).read_bytes()).hexdigest()


def test_text_iscc_is_stable_and_similar_texts_share_content_code(tmp_path: Path) -> None:
    a, b, c = tmp_path / "a.txt", tmp_path / "b.txt", tmp_path / "c.bin"
    text = "A creator wrote this text. " * 50
    a.write_text(text)
    b.write_text(text.replace("wrote", "penned", 1))
    c.write_bytes(os.urandom(100))
    fa, fb, fc = fingerprint(a), fingerprint(b), fingerprint(c)
    assert fa.iscc == fingerprint(a).iscc
    assert fa.iscc is not None
    assert fb.iscc is not None
    assert fa.iscc != fb.iscc
    assert fa.media_type == "text/plain"
    assert fa.pdq is None
    assert fc.iscc is None
    assert fc.pdq is None
    assert pdq_distance("0" * 64, "f" * 64) == 256
    with pytest.raises(ValueError, match="64 hex"):
        pdq_distance("00", "00")


def test_iter_files_walks_sorted_and_skips_hidden_and_excluded(tmp_path: Path) -> None:
    (tmp_path / "b").mkdir()
    (tmp_path / ".git").mkdir()
    for name in ("b/2.txt", "a.txt", ".secret", ".git/x", "b/1.txt"):
        (tmp_path / name).write_text(name)
    (tmp_path / "receipts").mkdir()
    (tmp_path / "receipts" / "r.json").write_text("{}")
    found = list(iter_files([tmp_path], exclude=[tmp_path / "receipts"]))
    assert [p.relative_to(tmp_path).as_posix() for p in found] == ["a.txt", "b/1.txt", "b/2.txt"]
    with pytest.raises(FileNotFoundError):
        list(iter_files([tmp_path / "nope"]))


# --- packing ----------------------------------------------------------------------------------


def _fps(n: int, *, with_urls: bool = False) -> tuple[list[Fingerprint], dict[Path, list[str]]]:
    fps = [
        Fingerprint(path=Path(f"w{i}"), size=1, sha256=hashlib.sha256(b"%d" % i).hexdigest())
        for i in range(n)
    ]
    urls = {fp.path: [f"https://photos.example/{i}/{'x' * 60}.jpg"] for i, fp in enumerate(fps)}
    return fps, urls if with_urls else {}


@pytest.mark.parametrize(
    ("count", "with_urls"), [(1, False), (836, False), (837, False), (2500, False), (700, True)]
)
def test_packing_fills_entries_to_the_limit_deterministically(count: int, with_urls: bool) -> None:
    key = creator_key(1)
    fps, urls = _fps(count, with_urls=with_urls)
    works, _ = collect_works(fps, urls=urls)

    def pack(items: list[Work]) -> list[Declaration]:
        return pack_declarations(
            items, creator=key.public_key.did, issued_at=1_767_225_600, prefs={"train-ai": "n"}
        )

    first = pack(works)
    assert first == pack(list(reversed(works)))
    assert sorted(w.sha256 for d in first for w in d.works) == sorted(w.sha256 for w in works)
    sizes = [entry_size(d) for d in first]
    assert all(size <= MAX_ENTRY_BYTES for size in sizes)
    # greedy: no declaration could have taken the next one's first work
    for size, following in zip(sizes, first[1:], strict=False):
        assert size + len(encode_record(sign_declaration(following, key))) > MAX_ENTRY_BYTES or (
            size + 80 > MAX_ENTRY_BYTES
        )
    entries = [encode_record(sign_declaration(d, key)) for d in first]
    assert entries == [encode_record(sign_declaration(d, key)) for d in pack(works)]
    if count == 836 and not with_urls:
        assert len(first) == 1  # spec §2.6: 836 sha256-only works fit in one entry
    if count == 837:
        assert len(first) == 2


def test_same_content_in_two_files_is_one_work_with_both_urls(tmp_path: Path) -> None:
    a, b = tmp_path / "a.txt", tmp_path / "b.txt"
    a.write_text("same")
    b.write_text("same")
    works, files = collect_works(
        [fingerprint(a), fingerprint(b)],
        urls={a: ["https://x.example/a"], b: ["HTTPS://X.EXAMPLE/b#frag"]},
    )
    assert len(works) == 1
    assert works[0].urls == ("https://x.example/a", "https://x.example/b")
    assert files[works[0].sha256] == [str(a), str(b)]


# --- clients ----------------------------------------------------------------------------------


def test_retry_after_parsing() -> None:
    assert parse_retry_after("3") == 3.0
    assert parse_retry_after(None) is None
    assert parse_retry_after("soon") is None
    assert parse_retry_after("Wed, 21 Oct 2015 07:28:00 GMT", now=1445412470.0) == 10.0
    with pytest.raises(TransportError, match="retry after 900"):
        RetryPolicy(max_retry_after=60).delay(
            0, httpx.Response(429, headers={"Retry-After": "900"})
        )


def test_rate_limited_node_is_retried_honouring_retry_after(tmp_path: Path) -> None:
    node = ThreadNode(node_settings(tmp_path / "node", rate_limit=60))
    node.start()
    waits: list[float] = []

    def sleep(seconds: float) -> None:
        waits.append(seconds)
        time.sleep(seconds)

    try:
        hashes = [hashlib.sha256(b"%d" % i).hexdigest() for i in range(64)]
        with node.client(chunk_size=1, concurrency=1, sleep=sleep) as client:
            answers = client.check(sha256s=hashes)
        assert [a.key for a in answers] == hashes
        assert waits
        assert all(w >= 1 for w in waits)  # the node's Retry-After (whole seconds)
        with node.client(retry=RetryPolicy(max_retries=0), chunk_size=1) as impatient:
            statuses = []
            for _ in range(70):
                try:
                    impatient.work_by_sha256(hashes[0])
                    statuses.append(200)
                except TransportError as exc:
                    statuses.append(int(str(exc).split()[0]))
            assert 429 in statuses
    finally:
        node.stop()


async def test_async_batches_are_chunked_concurrent_and_in_order(tmp_path: Path) -> None:
    hashes = [hashlib.sha256(b"h%d" % i).hexdigest() for i in range(50)]
    urls = [f"https://site.example/{i}" for i in range(20)]
    async with in_process_node(
        tmp_path, client_options={"concurrency": 8}, max_batch_items=7
    ) as client:
        key = creator_key(3)
        record = pack_declarations(
            [new_work(hashes[i], urls=[urls[i]]) for i in (3, 17)],
            creator=key.public_key.did,
            issued_at=1,
            prefs={"train-ai": "n"},
        )[0]
        await client.submit(encode_record(sign_declaration(record, key)))
        answers = await client.check(sha256s=hashes, urls=urls)
    assert [a.key for a in answers] == hashes + urls
    assert [i for i, a in enumerate(answers) if a.reserved()] == [3, 17, 53, 67]


# --- resuming ---------------------------------------------------------------------------------


def test_interrupted_declare_resumes_without_double_submission(tmp_path: Path) -> None:
    data = tmp_path / "data"
    works = tmp_path / "works"
    works.mkdir()
    for i in range(5):
        (works / f"{i}.txt").write_text(f"work number {i} " * 30)
    fps = [fingerprint(p) for p in iter_files([works])]
    store = ReceiptStore(tmp_path / "receipts")
    key = creator_key(9)
    process, url = start_registry(data)
    creator = Creator(key, ConsentClient(url, retry=RetryPolicy(max_retries=0)), store)
    creator.node_info()  # pinned; then the node goes away mid-run
    stop_registry(process)
    with pytest.raises(TransportError):
        creator.declare(fps, prefs={"train-ai": "n"}, issued_at=1_767_225_600)
    pending = store.pending(key.public_key.did)
    assert len(pending) == 1
    process, url = start_registry(data)
    try:
        with ConsentClient(url) as client:
            again = Creator(key, client, store)
            report = again.declare(fps, prefs={"train-ai": "n"}, issued_at=1_767_225_999)
            assert report.resumed == 1
            assert [r.entry for r in report.receipts] == pending
            assert len(report.skipped) == 5  # the resumed declaration covered them all
            assert store.pending(key.public_key.did) == []
            third = again.declare(fps, prefs={"train-ai": "n"})
            assert third.receipts == []
            size = httpx.get(url + "/readyz").json()["log_size"]
        assert size == 1
    finally:
        stop_registry(process)


# --- footprint --------------------------------------------------------------------------------


def test_sdk_imports_without_the_node_stack() -> None:
    code = """
import importlib, pkgutil, sys, consent
for module in pkgutil.walk_packages(consent.__path__, "consent."):
    importlib.import_module(module.name)
forbidden = ("litestar", "sqlalchemy", "asyncpg", "aiosqlite", "alembic", "granian",
             "registry.app", "registry.http", "registry.log", "registry.storage")
print("LOADED", sorted(m for m in sys.modules if m.split(".")[0] in forbidden or m in forbidden
             or any(m.startswith(f + ".") for f in forbidden)))
print("MODULES", sorted(m.name for m in pkgutil.walk_packages(consent.__path__, "consent.")))
"""
    result = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    lines = result.stdout.splitlines()
    loaded = next(line for line in lines if line.startswith("LOADED "))
    modules = next(line for line in lines if line.startswith("MODULES "))
    assert loaded == "LOADED []"
    assert "consent.cli" in modules
    assert "consent.diligence" in modules


def test_a_node_presenting_another_key_is_refused(sync_node: ThreadNode, tmp_path: Path) -> None:
    with sync_node.client() as client:
        real = client.info().verifier_key
    impostor = "sdk.test/log+00000000+AQ" + "A" * 42
    with (
        sync_node.client(node_key=impostor) as client,
        pytest.raises(VerificationError, match="not the pinned"),
    ):
        client.info()
    store = ReceiptStore(tmp_path / "receipts")
    store.pin_key("http://node.test", impostor)
    with sync_node.client() as client:
        creator = Creator(creator_key(4), client, store)
        with pytest.raises(VerificationError, match="is pinned"):
            creator.node_info()
    store.pin_key("http://node.test", real)
    with sync_node.client() as client:
        assert Creator(creator_key(4), client, store).node_info().verifier_key == real


def test_binary_check_answers_and_fallback_signal() -> None:
    from consent import NodeError  # noqa: PLC0415
    from consent.client import _Api  # noqa: PLC0415

    from registry.core.batchcheck import CheckAnswer, CheckClaim, encode_answers  # noqa: PLC0415
    from registry.wire import ClaimIdentity  # noqa: PLC0415

    hashes = ["aa" * 32, "bb" * 32]
    body = encode_answers([None, CheckAnswer({"train-ai": "n"}, ["cc" * 32])])
    request = httpx.Request("POST", "http://node.test/v1/check/sha256")
    answers = _Api.digest_answers(hashes, httpx.Response(200, content=body, request=request))
    assert answers is not None
    assert [a.reserved() for a in answers] == [False, True]
    assert answers[1].declarations == ["cc" * 32]
    # an older node without the binary form: the caller falls back to the JSON check
    assert _Api.digest_answers(hashes, httpx.Response(404, request=request)) is None
    with pytest.raises(NodeError, match="unexpected answer"):
        _Api.digest_answers(hashes, httpx.Response(200, content=b"\x07", request=request))
    assert _Api.digest_body(hashes) == bytes.fromhex("aa" * 32 + "bb" * 32)
    # with identity (spec §6.8.4): claims as the JSON check gives them, and only from a node
    # that says it answered with identity; one that ignored ``identity=1`` is fallen back from
    claim = CheckClaim("cc" * 32, "platform:art", ["dd" * 32], False, ["ee" * 32])
    with_identity = encode_answers(
        [None, CheckAnswer({"train-ai": "n"}, ["cc" * 32], [claim])], identity=True
    )
    said = httpx.Response(
        200, content=with_identity, request=request, headers={"Consent-Identity": "1"}
    )
    decoded = _Api.digest_answers(hashes, said, identity=True)
    assert decoded is not None
    assert decoded[0].claims == []
    assert decoded[1].claims == [
        ClaimIdentity(
            declaration="cc" * 32,
            level="platform:art",
            evidence=["dd" * 32],
            counted=False,
            disputed_by=["ee" * 32],
        )
    ]
    ignored = httpx.Response(200, content=body, request=request)
    assert _Api.digest_answers(hashes, ignored, identity=True) is None
    assert _Api.digest_params("any", True) == {"policy": "any", "identity": "1"}
    assert _Api.digest_params(None, False) == {}
