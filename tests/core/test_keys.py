"""Tests for registry.core.keys: Ed25519 (RFC 8032 §7.1 test vectors) and did:key (the W3C CCG
did:key test vectors), through spec/vectors/keys.json (spec §1.4, §1.5)."""

from __future__ import annotations

import contextlib
import json
from collections import Counter
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import errors
from registry.core.encoding import b58encode
from registry.core.errors import KeyFormatError, SignatureError
from registry.core.keys import PrivateKey, PublicKey
from tests.core.vectors import generated, vector_cases

# RFC 8032 §7.1 TEST 1, typed in here as well so this file stands on its own.
TEST1_SEED = "9d61b19deffd5a60ba844af492ec2cc44449c5697b326919703bac031cae7f60"
TEST1_PUBLIC = "d75a980182b10ab7d54bfed3c964073a0ee172f3daa62325af021a68f707511a"
TEST1_SIGNATURE = (
    "e5564300c360ac729086e2cc806e828a84877f1eb8e5d974d873e065224901555fb8821590a33bacc61e39701cf9b46b"
    "d25bf5f0595bbe24655141438e7a100b"
)


@pytest.mark.parametrize("case", vector_cases("keys.json"))
def test_key_vectors(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        key = PrivateKey.from_seed(bytes.fromhex(case["seed"]))
        assert key.public_key.raw.hex() == case["public_key"]
        assert key.public_key.did == case["did"]
        assert PublicKey.from_did(case["did"]) == key.public_key
        if "signature" in case:
            message = bytes.fromhex(case["message"])
            signature = bytes.fromhex(case["signature"])
            assert key.sign(message) == signature  # Ed25519 is deterministic
            PublicKey.from_bytes(bytes.fromhex(case["public_key"])).verify(signature, message)
        return

    def attempt() -> None:
        if "did" in case:
            PublicKey.from_did(case["did"])
        elif "signature" in case:
            public = PublicKey.from_bytes(bytes.fromhex(case["public_key"]))
            public.verify(bytes.fromhex(case["signature"]), bytes.fromhex(case["message"]))
        else:
            PublicKey.from_bytes(bytes.fromhex(case["public_key"]))

    with pytest.raises(getattr(errors, case["error"])) as info:
        attempt()
    assert type(info.value).__name__ == case["error"]


def test_vectors_include_every_rfc8032_ed25519_test() -> None:
    cases = generated()["keys.json"]["cases"]
    sources = {case.get("source") for case in cases}
    for name in ("TEST 1", "TEST 2", "TEST 3", "TEST 1024", "TEST SHA(abc)"):
        assert f"RFC 8032 §7.1 {name}" in sources
    assert sum(1 for case in cases if str(case.get("source", "")).startswith("W3C")) == 5


def test_rfc8032_test1_directly() -> None:
    key = PrivateKey.from_seed(bytes.fromhex(TEST1_SEED))
    assert key.seed.hex() == TEST1_SEED
    assert key.public_key.raw.hex() == TEST1_PUBLIC
    assert key.sign(b"").hex() == TEST1_SIGNATURE
    key.public_key.verify(bytes.fromhex(TEST1_SIGNATURE), b"")
    with pytest.raises(SignatureError, match="does not verify"):
        key.public_key.verify(bytes.fromhex(TEST1_SIGNATURE), b"\x00")


def test_did_key_shape() -> None:
    did = PrivateKey.from_seed(bytes(32)).public_key.did
    # did:key Ed25519 identifiers start with z6Mk: base58btc of 0xed 0x01 ...
    assert did == "did:key:z6MkiTBz1ymuepAQ4HEHYSF1H8quG5GLVVQR3djdX3mDooWp"
    assert len(did) == 56


@pytest.mark.parametrize("size", [0, 31, 33, 64])
def test_wrong_sizes_raise_key_format_error(size: int) -> None:
    with pytest.raises(KeyFormatError, match="32 bytes"):
        PublicKey.from_bytes(bytes(size))
    with pytest.raises(KeyFormatError, match="32 bytes"):
        PrivateKey.from_seed(bytes(size))


def test_did_key_with_wrong_key_length_or_codec() -> None:
    short = "did:key:z" + b58encode(b"\xed\x01" + bytes(31))
    with pytest.raises(KeyFormatError, match="32 bytes"):
        PublicKey.from_did(short)
    secp = "did:key:z" + b58encode(b"\xe7\x01" + bytes(33))
    with pytest.raises(KeyFormatError, match="ed25519-pub"):
        PublicKey.from_did(secp)
    with pytest.raises(KeyFormatError):
        PublicKey.from_did("did:key:z" + "2" * 10_000)  # refused before base58 decoding


@pytest.mark.parametrize("size", [0, 63, 65])
def test_signatures_of_wrong_size_raise_signature_error(size: int) -> None:
    public = PrivateKey.from_seed(bytes(32)).public_key
    with pytest.raises(SignatureError, match="64 bytes"):
        public.verify(bytes(size), b"message")


def test_keys_compare_hash_and_repr_without_secrets() -> None:
    one = PrivateKey.from_seed(bytes(32))
    same = PrivateKey.from_seed(bytes(32))
    other = PrivateKey.from_seed(b"\x01" * 32)
    assert one.public_key == same.public_key
    assert one.public_key != other.public_key
    assert one.public_key != one.public_key.raw
    assert len({one.public_key, same.public_key, other.public_key}) == 2
    assert repr(one.public_key) == f"PublicKey({one.public_key.did!r})"
    assert bytes(32).hex() not in repr(one)
    assert one.public_key.did in repr(one)


@given(st.binary(min_size=32, max_size=32), st.binary(max_size=200))
def test_sign_verify_round_trip_and_did_round_trip(seed: bytes, message: bytes) -> None:
    key = PrivateKey.from_seed(seed)
    signature = key.sign(message)
    key.public_key.verify(signature, message)
    assert PublicKey.from_did(key.public_key.did) == key.public_key
    with pytest.raises(SignatureError):
        key.public_key.verify(signature, message + b"x")


@given(st.text(max_size=80))
def test_from_did_raises_only_key_format_errors(text: str) -> None:
    with contextlib.suppress(KeyFormatError):
        PublicKey.from_did(text)


@given(st.binary(min_size=32, max_size=32), st.binary(min_size=64, max_size=64))
def test_arbitrary_keys_and_signatures_never_leak_library_errors(
    raw: bytes, signature: bytes
) -> None:
    # Only our own errors: a refused point (spec §1.4.4) or a signature that does not verify.
    with contextlib.suppress(KeyFormatError, SignatureError):
        PublicKey.from_bytes(raw).verify(signature, b"m")


# --- spec §1.4.4: small-order and non-canonical points ------------------------------------------
# C2SP CCTV ed25519vectors (../shared/vectors/ed25519-cctv.json, 914 cases): each case's flags
# name its edge cases. The policy pins every case's verdict from its flags alone:
#   low_order_A or non_canonical_A   -> the public key is refused (KeyFormatError);
#   else low_order_R or non_canonical_R -> the signature is refused (SignatureError);
#   else low_order_residue           -> invalid: verification is cofactorless (OpenSSL);
#   else                             -> valid.
CCTV = Path(__file__).resolve().parents[2].parent / "shared" / "vectors" / "ed25519-cctv.json"
_CCTV_CASES = json.loads(CCTV.read_text())


def cctv_verdict(flags: set[str]) -> str:
    """The spec §1.4.4 verdict for a CCTV case with these flags."""
    if flags & {"low_order_A", "non_canonical_A"}:
        return "KeyFormatError"
    if flags & {"low_order_R", "non_canonical_R"}:
        return "SignatureError"
    if "low_order_residue" in flags:
        return "SignatureError"
    return "valid"


def cctv_outcome(case: dict[str, Any]) -> str:
    """What this implementation answers for a CCTV case."""
    try:
        key = PublicKey.from_bytes(bytes.fromhex(case["key"]))
        key.verify(bytes.fromhex(case["sig"]), case["msg"].encode())
    except (KeyFormatError, SignatureError) as exc:
        return type(exc).__name__
    return "valid"


@pytest.mark.parametrize("case", _CCTV_CASES, ids=[str(c["number"]) for c in _CCTV_CASES])
def test_cctv_ed25519_edge_cases(case: dict[str, Any]) -> None:
    assert cctv_outcome(case) == cctv_verdict(set(case["flags"] or ()))


def test_cctv_covers_every_verdict() -> None:
    verdicts = Counter(cctv_verdict(set(c["flags"] or ())) for c in _CCTV_CASES)
    assert len(_CCTV_CASES) == 914
    assert set(verdicts) == {"KeyFormatError", "SignatureError", "valid"}
    assert verdicts["valid"] == 43  # those OpenSSL accepts with no refused point


_P = 2**255 - 19
_D = -121665 * pow(121666, _P - 2, _P) % _P


def _edwards_add(a: tuple[int, int], b: tuple[int, int]) -> tuple[int, int]:
    (x1, y1), (x2, y2) = a, b
    t = _D * x1 * x2 * y1 * y2
    return (
        (x1 * y2 + x2 * y1) * pow(1 + t, _P - 2, _P) % _P,
        (y1 * y2 + x1 * x2) * pow(1 - t, _P - 2, _P) % _P,
    )


def _encode(point: tuple[int, int]) -> bytes:
    x, y = point
    return (y | (x & 1) << 255).to_bytes(32, "little")


def _torsion_points() -> set[bytes]:
    """Derive E[8] from the curve: x of a point of order 8 from y = sqrt((1-i)/2)... found by
    trying small y until [8]P is the identity and [4]P is not, then its eight multiples."""
    for y in range(2, 10_000):
        u, v = (y * y - 1) % _P, (_D * y * y + 1) % _P
        x2 = u * pow(v, _P - 2, _P) % _P
        x = pow(x2, (_P + 3) // 8, _P)
        if (x * x - x2) % _P:
            x = x * pow(2, (_P - 1) // 4, _P) % _P
        if (x * x - x2) % _P:
            continue
        # Multiply by the prime-order subgroup's order L: what is left is in E[8].
        point, acc, n = (x, y), (0, 1), 2**252 + 27742317777372353535851937790883648493
        while n:
            if n & 1:
                acc = _edwards_add(acc, point)
            point, n = _edwards_add(point, point), n >> 1
        multiples, q = [], (0, 1)
        for _ in range(8):
            multiples.append(_encode(q))
            q = _edwards_add(q, acc)
        if len(set(multiples)) == 8:
            return set(multiples)
    raise AssertionError("no point of order 8 found")


def test_small_order_list_is_the_curves_torsion_subgroup() -> None:
    from registry.core import keys  # noqa: PLC0415

    assert _torsion_points() == set(keys._SMALL_ORDER)


def test_identity_key_forgery_from_the_audit_is_refused() -> None:
    # A did:key of the identity point with R = identity, S = 0 verified under OpenSSL for any
    # message: anyone could write as it (issue 12).
    identity = bytes.fromhex("01" + "00" * 31)
    did = "did:key:z" + b58encode(b"\xed\x01" + identity)
    with pytest.raises(KeyFormatError, match="small-order"):
        PublicKey.from_did(did)


@given(st.binary(min_size=32, max_size=32))
def test_point_checks_never_refuse_a_real_keys_encoding(seed: bytes) -> None:
    public = PrivateKey.from_seed(seed).public_key
    assert PublicKey.from_bytes(public.raw) == public
