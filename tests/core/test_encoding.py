"""Tests for registry.core.encoding: RFC 8785 canonical JSON for the integer model, strict
parsing, the canonical check, and the strict base64 / base58btc / hex codecs (spec §1.2, §1.3).
Checked against RFC 8785's examples and its reference test data (through spec/vectors), the
stdlib json module and properties."""

from __future__ import annotations

import base64
import contextlib
import json
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import errors
from registry.core.encoding import (
    MAX_DEPTH,
    MAX_SAFE_INTEGER,
    JSONValue,
    b58decode,
    b58encode,
    b64decode,
    b64encode,
    canonical_json,
    hex_to_bytes,
    parse_canonical_json,
    parse_json,
)
from registry.core.errors import EncodingError, NonCanonicalError
from tests.core.vectors import generated, vector_cases

# --- vectors --------------------------------------------------------------------------------


@pytest.mark.parametrize("case", vector_cases("canonical-json.json"))
def test_canonical_json_vectors(case: dict[str, Any]) -> None:
    data = bytes.fromhex(case["input_hex"]) if "input_hex" in case else case["input"].encode()
    if case["operation"] == "canonicalize":

        def run() -> bytes:
            return canonical_json(parse_json(data))

    else:

        def run() -> bytes:
            return canonical_json(parse_canonical_json(data))

    if case["result"] == "valid":
        expected = case.get("output", case["input"]).encode()
        assert run() == expected
        # The canonical output is itself canonical, and a fixed point.
        assert canonical_json(parse_canonical_json(expected)) == expected
    else:
        with pytest.raises(getattr(errors, case["error"])) as info:
            run()
        assert type(info.value).__name__ == case["error"]


def test_vectors_cover_rfc8785_and_every_error_class() -> None:
    cases = generated()["canonical-json.json"]["cases"]
    names = {case["name"] for case in cases}
    assert {"rfc8785-3.2.2-with-floats", "rfc8785-3.2.3-sorting", "jcs-testdata-weird"} <= names
    assert {case.get("error") for case in cases} == {None, "EncodingError", "NonCanonicalError"}


# --- canonical_json -------------------------------------------------------------------------


def test_rfc8785_property_sorting_uses_utf16_code_units() -> None:
    # RFC 8785 §3.2.3: U+1F600 (D83D DE00 in UTF-16) sorts before U+FB33, although its code
    # point is larger.
    value = {"\ufb33": 1, "\U0001f600": 2, "\u20ac": 3, "\r": 4, "1": 5}
    assert canonical_json(value) == (
        '{"\\r":4,"1":5,"\u20ac":3,"\U0001f600":2,"\ufb33":1}'.encode()
    )


def test_string_escaping_is_exactly_jcs() -> None:
    escaped = {"\b": "\\b", "\t": "\\t", "\n": "\\n", "\f": "\\f", "\r": "\\r"}
    for code in range(0x20):
        char = chr(code)
        want = escaped.get(char, f"\\u{code:04x}")
        assert canonical_json(char) == f'"{want}"'.encode()
    assert canonical_json('"\\') == b'"\\"\\\\"'
    for char in "/\x7f\u2028\u2029\u00e9<>&'\U0001f600":
        assert canonical_json(char) == f'"{char}"'.encode()


@pytest.mark.parametrize(
    "value",
    [1.0, 0.5, float("nan"), 2**53, -(2**53), {1: 2}, {"a": {(1, 2): 3}}, b"bytes", {1, 2}],
)
def test_values_outside_the_model_raise_encoding_error(value: Any) -> None:
    with pytest.raises(EncodingError):
        canonical_json(value)


@pytest.mark.parametrize("value", ["\ud800", {"\udc00": 1}, ["a\ud83d"]])
def test_lone_surrogates_raise_encoding_error(value: Any) -> None:
    with pytest.raises(EncodingError, match="surrogate"):
        canonical_json(value)


def test_integer_bounds() -> None:
    assert canonical_json([MAX_SAFE_INTEGER, -MAX_SAFE_INTEGER]) == (
        b"[9007199254740991,-9007199254740991]"
    )
    assert canonical_json(True) == b"true"  # bool is not serialised as an int


def test_nesting_limit() -> None:
    def nested(depth: int, inner: JSONValue) -> JSONValue:
        value = inner
        for _ in range(depth):
            value = [value]
        return value

    assert canonical_json(nested(MAX_DEPTH, 1)) == b"[" * MAX_DEPTH + b"1" + b"]" * MAX_DEPTH
    with pytest.raises(EncodingError, match="nesting"):
        canonical_json(nested(MAX_DEPTH + 1, 1))
    deep_object: JSONValue = {}
    for _ in range(MAX_DEPTH + 1):
        deep_object = {"a": deep_object}
    with pytest.raises(EncodingError, match="nesting"):
        canonical_json(deep_object)
    with pytest.raises(EncodingError, match="nesting"):
        parse_json(b'{"a":' * (MAX_DEPTH + 1) + b"1" + b"}" * (MAX_DEPTH + 1))


def test_tuples_are_arrays() -> None:
    assert canonical_json({"a": ("x", (1, 2))}) == b'{"a":["x",[1,2]]}'


json_values = st.recursive(
    st.none() | st.booleans() | st.integers(-MAX_SAFE_INTEGER, MAX_SAFE_INTEGER) | st.text(),
    lambda children: (
        st.lists(children, max_size=4) | st.dictionaries(st.text(max_size=6), children, max_size=4)
    ),
    max_leaves=20,
)


@given(json_values)
def test_canonical_json_round_trips_and_agrees_with_stdlib(value: JSONValue) -> None:
    data = canonical_json(value)
    assert json.loads(data) == value
    assert parse_canonical_json(data) == value
    # The stdlib's escaping is JCS's; only its key order (code points) may differ.
    stdlib = json.dumps(value, ensure_ascii=False, separators=(",", ":"), sort_keys=True)
    if all(c < "\U00010000" for c in stdlib):
        assert data == stdlib.encode()


@given(json_values)
def test_any_reformatting_is_detected(value: JSONValue) -> None:
    data = canonical_json(value)
    pretty = json.dumps(value, indent=1).encode()
    if pretty != data:
        with pytest.raises(NonCanonicalError):
            parse_canonical_json(pretty)


@given(st.binary(max_size=64))
def test_parse_json_raises_only_encoding_errors(data: bytes) -> None:
    with contextlib.suppress(EncodingError):
        parse_canonical_json(data)


def test_parse_json_rejects_out_of_model_numbers() -> None:
    for text in (b"1.0", b"-0.0", b"1e3", b"1E+2", b"9007199254740992", b"[18446744073709551616]"):
        with pytest.raises(EncodingError):
            parse_json(text)
    assert parse_json(b"-0") == 0
    with pytest.raises(NonCanonicalError):
        parse_canonical_json(b"-0")


# --- base64 ---------------------------------------------------------------------------------


@given(st.binary(max_size=80))
def test_base64_round_trip_matches_stdlib(data: bytes) -> None:
    text = b64encode(data)
    assert text == base64.b64encode(data).decode()
    assert b64decode(text) == data


@pytest.mark.parametrize(
    "text",
    ["QQ", "QQ=", "QQ===", "QR==", "QUI", "Q UJD", "QUJD\n", "QUJD=", "-_8=", "QUJ*", "é==="],
)
def test_base64_rejects_non_canonical_text(text: str) -> None:
    with pytest.raises(EncodingError):
        b64decode(text)


def test_base64_rfc4648_test_vectors() -> None:
    # RFC 4648 §10.
    pairs = [
        (b"", ""),
        (b"f", "Zg=="),
        (b"fo", "Zm8="),
        (b"foo", "Zm9v"),
        (b"foob", "Zm9vYg=="),
        (b"fooba", "Zm9vYmE="),
        (b"foobar", "Zm9vYmFy"),
    ]
    for data, text in pairs:
        assert b64encode(data) == text
        assert b64decode(text) == data


# --- base58btc ------------------------------------------------------------------------------


def test_base58_known_values() -> None:
    # draft-msporny-base58 §5 examples.
    assert b58encode(b"Hello World!") == "2NEpo7TZRRrLZSi2U"
    assert b58encode(b"The quick brown fox jumps over the lazy dog.") == (
        "USm3fpXnKG5EUBx2ndxBDMPVciP5hGey2Jh4NDv6gmeo1LkMeiKrLJUUBk6Z"
    )
    assert b58encode(bytes.fromhex("0000287fb4cd")) == "11233QC4"
    assert b58decode("11233QC4") == bytes.fromhex("0000287fb4cd")
    assert b58encode(b"") == ""
    assert b58decode("") == b""
    assert b58decode("111") == bytes(3)


@given(st.binary(max_size=40))
def test_base58_round_trip(data: bytes) -> None:
    assert b58decode(b58encode(data)) == data


@pytest.mark.parametrize("text", ["0", "O", "I", "l", "abc+", " 1"])
def test_base58_rejects_characters_outside_the_alphabet(text: str) -> None:
    with pytest.raises(EncodingError, match="base58btc"):
        b58decode(text)


# --- hex ------------------------------------------------------------------------------------


def test_hex_is_strict_lowercase() -> None:
    assert hex_to_bytes("00ff") == b"\x00\xff"
    assert hex_to_bytes("00ff", 2) == b"\x00\xff"
    assert hex_to_bytes("") == b""
    for bad in ("00FF", "0", "0g", " 00", "00 ", "+0"):
        with pytest.raises(EncodingError):
            hex_to_bytes(bad)
    with pytest.raises(EncodingError, match="expected 3 bytes"):
        hex_to_bytes("00ff", 3)
