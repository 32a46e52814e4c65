"""The log over HTTP (spec §6.2, §6.3): node description, checkpoint and C2SP tlog-tiles.

Tiles and entry bundles fetched over HTTP must rebuild exactly the root the signed checkpoint
states, as any tlog-tiles client would.
"""

from __future__ import annotations

from pathlib import Path

import httpx

from registry.core.checkpoint import SignedCheckpoint, open_checkpoint
from registry.core.merkle import leaf_hash, root, root_from_tiles, tiles_for_root
from registry.core.note import NoteVerifier
from registry.core.tiles import (
    TILE_WIDTH,
    decode_entry_bundle,
    entry_bundle_path,
    tile_path,
)
from tests.node.api_support import (
    ORIGIN,
    assert_problem,
    creator_key,
    declaration,
    make_settings,
    running_node,
    work_hash,
)

IMMUTABLE = "public, max-age=31536000, immutable"


async def _signed_checkpoint(client: httpx.AsyncClient) -> SignedCheckpoint:
    info = (await client.get("/.well-known/consent-registry")).json()
    response = await client.get("/checkpoint")
    assert response.status_code == 200
    assert response.headers["content-type"] == "text/plain; charset=utf-8"
    assert response.headers["cache-control"] == "no-store"
    return open_checkpoint(response.content, NoteVerifier.from_vkey(info["verifier_key"]))


async def _submit_many(client: httpx.AsyncClient, entries: list[bytes]) -> None:
    body = b'{"declarations":[' + b",".join(entries) + b"]}"
    response = await client.post("/v1/declarations:batch", content=body)
    assert response.status_code == 200, response.text
    assert response.json()["accepted"] == len(entries)


async def test_well_known_describes_the_node(database_url: str, tmp_path: Path) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        response = await client.get("/.well-known/consent-registry")
    assert response.status_code == 200
    info = response.json()
    assert info["origin"] == ORIGIN
    assert info["protocol_version"] == 1
    assert info["software"] == "consent-registry"
    verifier = NoteVerifier.from_vkey(info["verifier_key"])
    assert verifier.name == ORIGIN
    assert info["endpoints"]["submit"] == "/v1/declarations"
    assert info["limits"]["max_batch_items"] == 10_000


async def test_empty_log_has_a_signed_checkpoint_of_size_zero(
    database_url: str, tmp_path: Path
) -> None:
    async with running_node(make_settings(database_url, tmp_path)) as client:
        signed = await _signed_checkpoint(client)
        missing = await client.get("/tile/0/000.p/1")
    assert signed.checkpoint.origin == ORIGIN
    assert signed.checkpoint.size == 0
    assert_problem(missing, 404, "not-found")


async def test_tiles_over_http_rebuild_the_checkpoint_root(
    database_url: str, tmp_path: Path
) -> None:
    key = creator_key(1)
    entries = [declaration(key, [work_hash(i)], issued_at=1_700_000_000 + i) for i in range(300)]
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await _submit_many(client, entries[:200])
        await _submit_many(client, entries[200:])
        signed = await _signed_checkpoint(client)
        size = signed.checkpoint.size
        tiles = {}
        for coord in tiles_for_root(size):
            response = await client.get("/" + tile_path(coord))
            assert response.status_code == 200, tile_path(coord)
            assert response.headers["content-type"] == "application/octet-stream"
            assert response.headers["cache-control"] == IMMUTABLE
            tiles[coord] = response.content
        bundles = []
        for index, width in [(0, TILE_WIDTH), (1, size - TILE_WIDTH)]:
            response = await client.get("/" + entry_bundle_path(index, width))
            assert response.status_code == 200
            assert response.headers["cache-control"] == IMMUTABLE
            bundles += decode_entry_bundle(response.content, width)
    assert size == 300
    assert root_from_tiles(size, tiles) == signed.checkpoint.root_hash
    # the entries themselves hash to the same root, and are what was submitted, in order
    assert bundles == entries
    assert root([leaf_hash(e) for e in bundles]) == signed.checkpoint.root_hash


async def test_tile_paths_absent_malformed_and_compressed(
    database_url: str, tmp_path: Path
) -> None:
    entries = [declaration(creator_key(i), [work_hash(i)]) for i in range(3)]
    async with running_node(make_settings(database_url, tmp_path)) as client:
        await _submit_many(client, entries)
        full = await client.get("/tile/0/000")  # only a partial tile of width 3 exists
        beyond = await client.get("/tile/0/000.p/4")
        partial = await client.get("/tile/0/000.p/3")
        malformed = await client.get("/tile/0/0")
        leading_zero = await client.get("/tile/0/000.p/03")
        plain = await client.get("/tile/entries/000.p/3", headers={"Accept-Encoding": "identity"})
        gzipped = await client.get("/tile/entries/000.p/3", headers={"Accept-Encoding": "gzip"})
    assert_problem(full, 404, "not-found")
    assert_problem(beyond, 404, "not-found")
    assert partial.status_code == 200
    assert len(partial.content) == 3 * 32
    assert partial.content[:32] == leaf_hash(entries[0])
    assert_problem(malformed, 400, "bad-tile")
    assert_problem(leading_zero, 400, "bad-tile")
    assert decode_entry_bundle(plain.content, 3) == entries
    assert "content-encoding" not in plain.headers
    assert gzipped.headers["content-encoding"] == "gzip"
    assert gzipped.headers["vary"] == "Accept-Encoding"
    # httpx decodes gzip transparently: the compressed body carries the same bundle
    assert gzipped.content == plain.content
