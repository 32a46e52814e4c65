"""Near-duplicate search over HTTP (spec §6.8.3): PDQ and ISCC, against brute force.

Declarations carrying PDQ hashes planted at distances 0, 1, 30, 31 and 32 from a query, among
random ones, are submitted to the real app (SQLite and PostgreSQL); the answers of
``POST /v1/check/pdq`` and ``GET /v1/works/pdq/{pdq}`` must equal a brute-force scan over the
works that have a current claim and a PDQ quality of at least 50.
"""

from __future__ import annotations

import base64
import hashlib
import random
from pathlib import Path
from typing import Any

import httpx

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from tests.node.api_support import (
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    running_node,
    submit,
)

PLANTED = (0, 1, 30, 31, 32)


def _sha(label: str) -> str:
    return hashlib.sha256(label.encode()).hexdigest()


def _hex(value: int) -> str:
    return f"{value:064x}"


def _flip(value: int, count: int, rng: random.Random, bits: int = 256) -> int:
    for bit in rng.sample(range(bits), count):
        value ^= 1 << bit
    return value


def _text_code(body: int) -> str:
    """A 64-bit ISCC Text-Code (MainType CONTENT, SubType TEXT) with this body."""
    raw = bytes([0x20, 0x01]) + body.to_bytes(8, "big")
    return "ISCC:" + base64.b32encode(raw).decode("ascii").rstrip("=")


def _pdq_declaration(
    key: PrivateKey,
    works: list[tuple[str, int, int]],
    *,
    issued_at: int = 1_700_000_000,
    iscc: dict[str, str] | None = None,
) -> bytes:
    """A signed declaration (train-ai=n) of works given as (sha256, pdq, quality)."""
    record = new_declaration(
        creator=key.public_key.did,
        issued_at=issued_at,
        works=[
            new_work(sha, pdq=_hex(pdq), pdq_quality=quality, iscc=(iscc or {}).get(sha))
            for sha, pdq, quality in sorted(works)
        ],
        prefs={"train-ai": "n"},
    )
    return encode_record(sign_declaration(record, key))


def _brute(items: dict[str, tuple[int, int]], query: int, radius: int) -> list[tuple[int, str]]:
    """(distance, sha256) of every live item within ``radius``, sorted."""
    return sorted(
        ((pdq ^ query).bit_count(), sha)
        for sha, (pdq, quality) in items.items()
        if quality >= 50 and (pdq ^ query).bit_count() <= radius
    )


def _pairs(result: dict[str, Any]) -> list[tuple[int, str]]:
    distances = [m["distance"] for m in result["matches"]]
    assert distances == sorted(distances)  # nearest first
    return sorted((m["distance"], m["sha256"]) for m in result["matches"])


async def test_pdq_search_agrees_with_brute_force(database_url: str, tmp_path: Path) -> None:
    rng = random.Random(6)
    query = rng.getrandbits(256)
    items: dict[str, tuple[int, int]] = {}
    for d in PLANTED:
        items[_sha(f"planted {d}")] = (_flip(query, d, rng), 90)
    items[_sha("too blurry")] = (query, 49)  # below the minimum quality: never indexed
    for i in range(400):
        items[_sha(f"random {i}")] = (rng.getrandbits(256), rng.randrange(50, 101))
    # near-duplicates of random works, so that other queries have several matches
    for i in range(40):
        base = items[_sha(f"random {i}")][0]
        items[_sha(f"copy {i}")] = (_flip(base, rng.randrange(0, 40), rng), 70)
    gone = _sha("withdrawn")
    works = [(sha, pdq, quality) for sha, (pdq, quality) in items.items()]
    key = creator_key(31)
    async with running_node(make_settings(database_url, tmp_path / "data")) as client:
        for first in range(0, len(works), 300):
            await submit(client, _pdq_declaration(key, works[first : first + 300]))
        # a work at distance 2 whose only claim is then withdrawn: dropped from answers
        other = creator_key(32)
        await submit(client, _pdq_declaration(other, [(gone, _flip(query, 2, rng), 80)]))
        await submit(client, declaration(other, [gone], withdraw=True, issued_at=1_700_000_050))

        queries = [query] + [_flip(items[_sha(f"random {i}")][0], 5, rng) for i in range(30)]
        queries += [rng.getrandbits(256) for _ in range(5)]
        for radius in (0, 31, 32, 64):
            body: dict[str, Any] = {"hashes": [_hex(q) for q in queries]}
            if radius != 31:
                body["max_distance"] = radius
            response = await client.post("/v1/check/pdq", json=body)
            assert response.status_code == 200, response.text
            results = response.json()["results"]
            assert [r["pdq"] for r in results] == [_hex(q) for q in queries]  # request order
            for q, result in zip(queries, results, strict=True):
                assert _pairs(result) == _brute(items, q, radius)

        planted = (await client.get(f"/v1/works/pdq/{_hex(query)}")).json()
        assert [m["distance"] for m in planted["matches"]] == [0, 1, 30, 31]
        assert planted["prefs"] == {"train-ai": "n"}
        match = planted["matches"][0]
        assert match["sha256"] == _sha("planted 0")
        assert match["pdq"] == _hex(items[_sha("planted 0")][0])
        assert match["prefs"] == {"train-ai": "n"}
        assert [c["creator"] for c in match["claims"]] == [key.public_key.did]
        assert len(match["declarations"]) == 1
        wider = await client.get(f"/v1/works/pdq/{_hex(query)}", params={"max_distance": 32})
        assert [m["distance"] for m in wider.json()["matches"]] == [0, 1, 30, 31, 32]
        assert wider.headers["cache-control"] == "public, max-age=5"

        await _pdq_errors(client, query)


async def _pdq_errors(client: httpx.AsyncClient, query: int) -> None:
    too_many = {"hashes": [_hex(query)] * 1001}
    assert_problem(await client.post("/v1/check/pdq", json=too_many), 413, "batch-too-large")
    upper = {"hashes": [_hex(query).upper()]}
    assert_problem(await client.post("/v1/check/pdq", json=upper), 400, "bad-request")
    far = {"hashes": [_hex(query)], "max_distance": 65}
    assert_problem(await client.post("/v1/check/pdq", json=far), 400, "validation-error")
    short = {"hashes": ["ab"]}
    assert_problem(await client.post("/v1/check/pdq", json=short), 400, "validation-error")
    assert_problem(await client.get("/v1/works/pdq/xyz"), 400, "bad-request")
    response = await client.get(f"/v1/works/pdq/{_hex(query)}", params={"max_distance": -1})
    assert_problem(response, 400, "validation-error")
    empty = await client.post("/v1/check/pdq", json={"hashes": []})
    assert empty.json() == {"results": []}


async def test_iscc_search_finds_edited_texts(database_url: str, tmp_path: Path) -> None:
    rng = random.Random(7)
    body = rng.getrandbits(64)
    codes = {
        _sha("text"): _text_code(body),
        _sha("edited"): _text_code(_flip(body, 5, rng, 64)),
        _sha("far"): _text_code(_flip(body, 13, rng, 64)),
        _sha("image"): "ISCC:EEAQAAAAAAAAAAAA",  # an Image-Code: another kind, never matched
    }
    works = [(sha, rng.getrandbits(256), 0) for sha in codes]  # quality 0: PDQ not indexed
    key = creator_key(33)
    async with running_node(make_settings(database_url, tmp_path / "data")) as client:
        await submit(client, _pdq_declaration(key, works, iscc=codes))
        info = (await client.get("/.well-known/consent-registry")).json()
        assert info["endpoints"]["check_pdq"] == "/v1/check/pdq"
        assert info["endpoints"]["check_iscc"] == "/v1/check/iscc"
        assert info["limits"]["max_near_batch"] == 1000

        response = await client.post("/v1/check/iscc", json={"codes": [_text_code(body)]})
        assert response.status_code == 200, response.text
        (result,) = response.json()["results"]
        assert result["iscc"] == _text_code(body)
        assert [(m["sha256"], m["distance"]) for m in result["matches"]] == [
            (_sha("text"), 0),
            (_sha("edited"), 5),
        ]
        assert result["matches"][1]["iscc"] == codes[_sha("edited")]
        assert result["prefs"] == {"train-ai": "n"}
        wide = await client.get(f"/v1/works/iscc/{_text_code(body)}?max_distance=13")
        assert [m["distance"] for m in wide.json()["matches"]] == [0, 5, 13]
        pdq = await client.post("/v1/check/pdq", json={"hashes": [_hex(works[0][1])]})
        assert pdq.json()["results"][0]["matches"] == []  # quality below 50: not indexed
        meta = {"codes": ["ISCC:AAAZXZ6OU74YAZIM"]}  # a Meta-Code has no Content-Code
        assert_problem(await client.post("/v1/check/iscc", json=meta), 400, "bad-request")


async def test_pdq_variants_are_indexed_like_pdq(database_url: str, tmp_path: Path) -> None:
    """spec §6.8.3 item 1: a work's ``pdq_variants`` (crops, §2.4) are searched like its
    ``pdq``: a query near any of them finds the work once, at its smallest distance, naming
    the indexed hash that matched; a work below quality 50 has none of them indexed."""
    rng = random.Random(11)
    pdq, crop_b = rng.getrandbits(256), rng.getrandbits(256)
    crop_a = _flip(pdq, 20, rng)  # a crop that hashes close to the whole image
    blurry, blurry_crop = rng.getrandbits(256), rng.getrandbits(256)
    works = [
        new_work(_sha("framed photo"), pdq=_hex(pdq), pdq_quality=90,
                 pdq_variants=[_hex(crop_a), _hex(crop_b)]),
        new_work(_sha("blurry photo"), pdq=_hex(blurry), pdq_quality=40,
                 pdq_variants=[_hex(blurry_crop)]),
    ]  # fmt: skip
    key = creator_key(33)
    record = new_declaration(
        creator=key.public_key.did, issued_at=1_700_000_000, works=works, prefs={"train-ai": "n"}
    )
    async with running_node(make_settings(database_url, tmp_path / "data")) as client:
        await submit(client, encode_record(sign_declaration(record, key)))
        near_b = _flip(crop_b, 7, rng)
        body = {"hashes": [_hex(near_b), _hex(_flip(crop_a, 3, rng)), _hex(blurry_crop)]}
        response = await client.post("/v1/check/pdq", json=body)
        assert response.status_code == 200, response.text
        by_b, by_a, by_blurry = response.json()["results"]
        assert [(m["sha256"], m["pdq"], m["distance"]) for m in by_b["matches"]] == [
            (_sha("framed photo"), _hex(crop_b), 7)
        ]
        assert by_b["prefs"] == {"train-ai": "n"}
        assert [(m["pdq"], m["distance"]) for m in by_a["matches"]] == [(_hex(crop_a), 3)]
        assert by_blurry["matches"] == []
        # a query within reach of the pdq (0) and of a variant (20) answers the work once
        both = (await client.get(f"/v1/works/pdq/{_hex(pdq)}")).json()
        assert [(m["pdq"], m["distance"]) for m in both["matches"]] == [(_hex(pdq), 0)]
