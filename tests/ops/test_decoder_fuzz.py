"""Hypothesis fuzzing of the decoders not already fuzzed in tests/core (issue 7: only documented
errors may come out of a decoder, whatever its input).

tests/core already fuzzes records, notes, checkpoints and receipts with arbitrary bytes. Here:
tile and entry-bundle paths, hash tiles, entry bundles, Content-Usage and the other preference
signals, did:key and raw public keys, C2SP verifier and signer keys, signature lines, base58 /
hex / JSON, the peers file, the tlog-witness add-checkpoint body and the batch submission body.
Each gets arbitrary input AND mutations of valid input (which reach the deep branches), and
each must either return a value or raise exactly the error its docstring names.
"""

from __future__ import annotations

import hashlib
from collections.abc import Callable
from typing import Any

from hypothesis import HealthCheck, example, given, settings
from hypothesis import strategies as st

from registry.core.encoding import (
    b58decode,
    b58encode,
    b64encode,
    hex_to_bytes,
    parse_canonical_json,
    parse_json,
)
from registry.core.errors import (
    EncodingError,
    KeyFormatError,
    NoteError,
    PreferenceError,
    StructuredFieldError,
    TileError,
)
from registry.core.keys import PrivateKey, PublicKey
from registry.core.note import NoteSigner, NoteVerifier, parse_signature_lines
from registry.core.prefs import (
    from_cawg,
    from_content_signals,
    from_robots_tags,
    from_tdmai,
    from_tdmrep,
    parse_content_usage,
    parse_dictionary,
    parse_robots_content_usage,
)
from registry.core.tiles import (
    TileCoord,
    decode_entry_bundle,
    decode_hash_tile,
    encode_entry_bundle,
    encode_hash_tile,
    entry_bundle_path,
    parse_entry_bundle_path,
    parse_tile_path,
    tile_path,
)
from registry.federation.config import parse_peers
from registry.federation.errors import PeerConfigError
from registry.federation.witness import WitnessRequestError, parse_add_checkpoint
from registry.services.errors import BatchTooLargeError
from registry.services.submissions import parse_batch

FUZZ = settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])

SIGNER = NoteSigner.from_seed("fuzz.test/log", hashlib.sha256(b"fuzz signer").digest())
VKEY = SIGNER.verifier.vkey
DID = PrivateKey.from_seed(hashlib.sha256(b"fuzz creator").digest()).public_key.did


def expect(errors: type[Exception] | tuple[type[Exception], ...], call: Callable[[], Any]) -> Any:
    """Run ``call``: a value, or one of ``errors``; anything else fails the example."""
    try:
        return call()
    except errors:
        return None


@st.composite
def mutated(draw: st.DrawFn, base: st.SearchStrategy[bytes]) -> bytes:
    """A valid encoding with a few byte-level edits: flips, cuts, insertions, duplications."""
    data = bytearray(draw(base))
    for _ in range(draw(st.integers(1, 4))):
        kind = draw(st.sampled_from(["flip", "cut", "insert", "dup", "truncate"]))
        at = draw(st.integers(0, max(len(data) - 1, 0)))
        if kind == "flip" and data:
            data[at] ^= 1 << draw(st.integers(0, 7))
        elif kind == "cut" and data:
            del data[at : at + draw(st.integers(1, 8))]
        elif kind == "insert":
            data[at:at] = draw(st.binary(min_size=1, max_size=8))
        elif kind == "dup" and data:
            data[at:at] = data[at : at + draw(st.integers(1, 16))]
        elif kind == "truncate":
            del data[at:]
    return bytes(data)


def mutated_text(base: st.SearchStrategy[str]) -> st.SearchStrategy[str]:
    """``mutated`` for ASCII/UTF-8 text: edits that break UTF-8 are decoded with replacement."""
    encoded = base.map(lambda text: text.encode())
    return mutated(encoded).map(lambda data: data.decode("utf-8", errors="replace"))


# --- tiles ------------------------------------------------------------------------------------

coords = st.builds(TileCoord, st.integers(0, 63), st.integers(0, 2**40), st.integers(1, 256))
tile_paths = coords.map(tile_path)
bundle_paths = st.builds(entry_bundle_path, st.integers(0, 2**40), st.integers(1, 256))


@FUZZ
@given(st.one_of(st.text(max_size=60), mutated_text(tile_paths), mutated_text(bundle_paths)))
def test_tile_and_bundle_paths(path: str) -> None:
    coord = expect(TileError, lambda: parse_tile_path(path))
    if coord is not None:
        assert tile_path(coord) == path  # only the canonical form parses
    parsed = expect(TileError, lambda: parse_entry_bundle_path(path))
    if parsed is not None:
        assert entry_bundle_path(*parsed) == path


hash_tiles = st.lists(st.binary(min_size=32, max_size=32), min_size=1, max_size=20).map(
    encode_hash_tile
)


@FUZZ
@given(
    st.one_of(st.binary(max_size=700), mutated(hash_tiles)),
    st.one_of(st.none(), st.integers(-2, 300)),
)
def test_hash_tiles(data: bytes, width: int | None) -> None:
    hashes = expect(TileError, lambda: decode_hash_tile(data, width))
    if hashes is not None:
        assert b"".join(hashes) == data
        assert all(len(h) == 32 for h in hashes)


bundles = st.lists(st.binary(max_size=80), min_size=1, max_size=12).map(
    lambda entries: (encode_entry_bundle(entries), len(entries))
)


@FUZZ
@given(st.data())
def test_entry_bundles(data: st.DataObject) -> None:
    valid, count = data.draw(bundles)
    body = data.draw(st.one_of(st.binary(max_size=400), mutated(st.just(valid))))
    width = data.draw(st.sampled_from([count, count + 1, max(count - 1, 0), 256, -1]))
    entries = expect(TileError, lambda: decode_entry_bundle(body, width))
    if entries is not None:
        assert encode_entry_bundle(entries) == body


# --- preference signals -----------------------------------------------------------------------

content_usage = st.lists(
    st.tuples(
        st.sampled_from(["train-ai", "search", "train-genai", "ai-use", "x*", "A", "bots"]),
        st.sampled_from(["y", "n", "?1", "1", '"y"', "y;q=1", "(y n)", "", ":YQ==:", "@1"]),
    ),
    max_size=5,
).map(lambda pairs: ", ".join(f"{k}={v}" if v else k for k, v in pairs))


@FUZZ
@given(st.one_of(st.text(max_size=80), mutated_text(content_usage)))
def test_content_usage_and_robots_rules(value: str) -> None:
    prefs = expect(StructuredFieldError, lambda: parse_content_usage(value))
    if prefs is not None:
        assert set(prefs.values()) <= {"y", "n"}
    expect(StructuredFieldError, lambda: parse_dictionary(value))
    expect(StructuredFieldError, lambda: parse_robots_content_usage("/path " + value))
    expect(StructuredFieldError, lambda: parse_robots_content_usage(value))


@FUZZ
@given(
    st.one_of(
        st.text(max_size=80),
        mutated_text(st.just("noai, noimageai, index, follow")),
        mutated_text(st.just("search=yes, ai-input=no, ai-train=no")),
    )
)
def test_robots_tags_and_content_signals(value: str) -> None:
    for decoder in (from_robots_tags, from_content_signals):
        prefs = expect(PreferenceError, lambda decoder=decoder: decoder(value))  # type: ignore[misc]
        if prefs is not None:
            assert set(prefs.values()) <= {"y", "n"}


json_like = st.recursive(
    st.one_of(st.none(), st.booleans(), st.integers(), st.text(max_size=12)),
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(
            st.sampled_from(
                [
                    "entries",
                    "use",
                    "tdm-reservation",
                    "tdm-policy",
                    "cawg.ai_training",
                    "c2pa.ai_training",
                    "train-ai",
                    "tdm",
                    "ai",
                    "x",
                ]
            ),
            inner,
            max_size=4,
        ),
    ),
    max_leaves=12,
)


@FUZZ
@given(st.dictionaries(st.text(max_size=20), json_like, max_size=5), json_like)
def test_mapped_vocabularies(mapping: dict[str, Any], nested: Any) -> None:
    mapping = {**mapping, "entries": nested}
    for decoder in (from_tdmai, from_cawg, from_tdmrep):
        prefs = expect(PreferenceError, lambda decoder=decoder: decoder(mapping))  # type: ignore[misc]
        if prefs is not None:
            assert set(prefs.values()) <= {"y", "n"}


# --- keys -------------------------------------------------------------------------------------

dids = st.binary(max_size=40).map(lambda raw: "did:key:z" + b58encode(raw))
multicodec_dids = st.binary(min_size=30, max_size=34).map(
    lambda raw: "did:key:z" + b58encode(b"\xed\x01" + raw)
)


@FUZZ
@given(st.one_of(st.text(max_size=70), dids, multicodec_dids, mutated_text(st.just(DID))))
def test_did_keys(did: str) -> None:
    key = expect(KeyFormatError, lambda: PublicKey.from_did(did))
    if key is not None:
        assert key.did == did


@FUZZ
@given(st.binary(max_size=40))
def test_raw_public_keys(raw: bytes) -> None:
    key = expect(KeyFormatError, lambda: PublicKey.from_bytes(raw))
    if key is not None:
        assert key.raw == raw


verifier_keys = st.builds(
    lambda name, hex8, material: f"{name}+{hex8}+{b64encode(material)}",
    st.text(min_size=0, max_size=12),
    st.text(alphabet="0123456789abcdefABCDEF", min_size=7, max_size=9),
    st.binary(min_size=30, max_size=34).map(lambda raw: bytes([1]) + raw),
)


@FUZZ
@given(st.one_of(st.text(max_size=90), verifier_keys, mutated_text(st.just(VKEY))))
def test_verifier_and_signer_keys(text: str) -> None:
    verifier = expect(KeyFormatError, lambda: NoteVerifier.from_vkey(text))
    if verifier is not None:
        assert verifier.vkey == text
    expect(KeyFormatError, lambda: NoteSigner.from_skey(text))
    expect(KeyFormatError, lambda: NoteSigner.from_skey("PRIVATE+KEY+" + text))


signature_lines = st.lists(
    st.builds(
        lambda name, sig: f"\u2014 {name} {b64encode(sig)}\n",
        st.sampled_from(["fuzz.test/log", "a", "", "b c"]),
        st.binary(max_size=80),
    ),
    max_size=3,
).map("".join)


@FUZZ
@given(st.one_of(st.text(max_size=200), mutated_text(signature_lines)))
def test_signature_lines(lines: str) -> None:
    expect(NoteError, lambda: parse_signature_lines(lines))


# --- encodings ---------------------------------------------------------------------------------


@FUZZ
@given(st.text(max_size=60), st.one_of(st.none(), st.integers(0, 40)))
def test_base58_and_hex(text: str, length: int | None) -> None:
    data = expect(EncodingError, lambda: b58decode(text))
    if data is not None:
        assert b58encode(data) == text
    raw = expect(EncodingError, lambda: hex_to_bytes(text, length))
    if raw is not None:
        assert raw.hex() == text


@FUZZ
@given(st.one_of(st.binary(max_size=120), mutated(st.just(b'{"a":[1,"x",null,true],"b":{}}'))))
def test_json(data: bytes) -> None:
    expect(EncodingError, lambda: parse_json(data))
    expect(EncodingError, lambda: parse_canonical_json(data))


# --- node inputs: the peers file, add-checkpoint, batch bodies ---------------------------------

peer_lines = st.lists(
    st.one_of(
        st.builds(
            lambda url, key: f"{url} {key}",
            st.sampled_from(["http://a.test", "https://b.test/log/", "ftp://x", "http://", "x"]),
            st.one_of(st.just(VKEY), verifier_keys, st.text(max_size=10)),
        ),
        st.just("# comment"),
        st.just(""),
        st.text(max_size=40),
    ),
    max_size=5,
)


@FUZZ
@example([f"http://[a.test {VKEY}"])  # found by this test: an unclosed IPv6 bracket
@given(st.one_of(peer_lines, st.lists(mutated_text(st.just(f"http://a.test {VKEY}")), max_size=3)))
def test_peers_file_lines(lines: list[str]) -> None:
    peers = expect(PeerConfigError, lambda: parse_peers(lines, own_origin="me.test/log"))
    if peers is not None:
        assert len({peer.origin for peer in peers}) == len(peers)
        assert all(peer.url.lower().startswith(("http://", "https://")) for peer in peers)


ADD_CHECKPOINT = (
    b"old 3\n"
    + (b64encode(bytes(32)).encode() + b"\n") * 2
    + b"\nfuzz.test/log\n5\n"
    + b64encode(bytes(32)).encode()
    + b"\n\n\xe2\x80\x94 fuzz.test/log AAAA\n"
)


@FUZZ
@given(st.one_of(st.binary(max_size=300), mutated(st.just(ADD_CHECKPOINT))))
def test_add_checkpoint_bodies(body: bytes) -> None:
    expect(WitnessRequestError, lambda: parse_add_checkpoint(body))


@FUZZ
@example(b'{"\x80":1}', 3)  # found by this test: invalid UTF-8 inside an object key
@given(
    st.one_of(
        st.binary(max_size=200),
        mutated(st.just(b'{"declarations":[{"a":1},{"type":"declaration"},[],"x",null]}')),
    ),
    st.integers(1, 4),
)
def test_batch_bodies(body: bytes, max_items: int) -> None:
    entries = expect((EncodingError, BatchTooLargeError), lambda: parse_batch(body, max_items))
    if entries is not None:
        assert len(entries) <= max_items
        assert all(isinstance(entry, bytes) for entry in entries)
