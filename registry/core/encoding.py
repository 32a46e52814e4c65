"""Canonical JSON (RFC 8785, restricted to integers) and the binary-to-text encodings (spec §1).

Every signed object in the protocol is a JSON value of the *restricted model* (spec §1.2.1):
``null``, booleans, integers in ``±(2**53 - 1)``, strings of Unicode scalar values, arrays and
objects with string keys. :func:`canonical_json` serialises such a value in its one canonical
form (RFC 8785 JCS); :func:`parse_json` reads JSON text strictly into the model and
:func:`parse_canonical_json` additionally insists the text *is* that canonical form.

The byte encodings are strict: :func:`b64decode`, :func:`b58decode` and :func:`hex_to_bytes`
accept exactly the text their encoder would produce and raise
:class:`~registry.core.errors.EncodingError` for anything else.
"""

from __future__ import annotations

import binascii
import re
from collections.abc import Mapping, Sequence
from typing import TypeAlias, cast

import msgspec

from registry.core.errors import EncodingError, NonCanonicalError

__all__ = [
    "MAX_DEPTH",
    "MAX_SAFE_INTEGER",
    "JSONValue",
    "b58decode",
    "b58encode",
    "b64decode",
    "b64encode",
    "canonical_json",
    "hex_to_bytes",
    "parse_canonical_json",
    "parse_json",
]

JSONValue: TypeAlias = "bool | int | str | Sequence[JSONValue] | Mapping[str, JSONValue] | None"
"""A value of the restricted JSON model (spec §1.2.1). Arrays may be lists or tuples."""

MAX_SAFE_INTEGER = 2**53 - 1
"""Largest integer magnitude in the model: I-JSON (RFC 7493 §2.2), exact in IEEE 754 doubles."""

MAX_DEPTH = 32
"""Deepest nesting of arrays and objects accepted (spec §1.2.1); records need 4."""

# spec §1.2.2 / RFC 8785 §3.2.2.2: the only escapes are \" \\ \b \f \n \r \t and, for the
# other control characters, \u00xx with lowercase hex. Nothing else is escaped.
_ESCAPES: dict[int, str] = {c: f"\\u{c:04x}" for c in range(0x20)}
_ESCAPES.update(
    {
        ord('"'): '\\"',
        ord("\\"): "\\\\",
        ord("\b"): "\\b",
        ord("\f"): "\\f",
        ord("\n"): "\\n",
        ord("\r"): "\\r",
        ord("\t"): "\\t",
    }
)


_NEEDS_ESCAPE = re.compile(r'[\x00-\x1f"\\]')


def _quote(text: str) -> str:
    """Return ``text`` as a canonical JSON string literal (spec §1.2.2)."""
    if _NEEDS_ESCAPE.search(text) is None:
        return '"' + text + '"'
    return '"' + text.translate(_ESCAPES) + '"'


def _sorted_keys(keys: list[str]) -> list[str]:
    """Sort object keys by UTF-16 code units (RFC 8785 §3.2.3)."""
    if all(key.isascii() for key in keys):
        return sorted(keys)  # for ASCII, code point order is code unit order
    return sorted(keys, key=_utf16_key)


def _utf16_key(key: str) -> bytes:
    # RFC 8785 §3.2.3: property names sort by their UTF-16 code units; big-endian UTF-16
    # bytes compare exactly like the code unit sequences. A lone surrogate sorts somewhere
    # and is then rejected when the whole text is encoded as UTF-8.
    return key.encode("utf-16-be", "surrogatepass")


def _serialise(value: object, out: list[str], depth: int) -> None:
    """Append the canonical text of ``value`` to ``out`` (spec §1.2.2)."""
    if value is None:
        out.append("null")
    elif value is True:
        out.append("true")
    elif value is False:
        out.append("false")
    elif isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise EncodingError(f"integer {value} is outside ±(2**53-1) (spec §1.2.1)")
        out.append(str(int(value)))
    elif isinstance(value, str):
        out.append(_quote(value))
    elif isinstance(value, Mapping):
        if depth >= MAX_DEPTH:
            raise EncodingError(f"nesting deeper than {MAX_DEPTH} (spec §1.2.1)")
        keys = list(value)
        for key in keys:
            if not isinstance(key, str):
                raise EncodingError(f"object key {key!r} is not a string (spec §1.2.1)")
        out.append("{")
        for index, key in enumerate(_sorted_keys(keys)):
            if index:
                out.append(",")
            out.append(_quote(key))
            out.append(":")
            _serialise(value[key], out, depth + 1)
        out.append("}")
    elif isinstance(value, list | tuple):
        if depth >= MAX_DEPTH:
            raise EncodingError(f"nesting deeper than {MAX_DEPTH} (spec §1.2.1)")
        out.append("[")
        for index, item in enumerate(value):
            if index:
                out.append(",")
            _serialise(item, out, depth + 1)
        out.append("]")
    elif isinstance(value, float):
        raise EncodingError(f"number {value!r} is not an integer: floats are not in the model")
    else:
        raise EncodingError(f"{type(value).__name__} is not a JSON value of the model")


def canonical_json(value: JSONValue) -> bytes:
    """Return the RFC 8785 canonical UTF-8 bytes of ``value`` (spec §1.2.2).

    Raises :class:`EncodingError` if ``value`` is outside the restricted model: a float, an
    integer beyond ``±(2**53-1)``, a non-string object key, a lone surrogate, nesting deeper
    than :data:`MAX_DEPTH`, or any other Python type.
    """
    out: list[str] = []
    _serialise(value, out, 0)
    text = "".join(out)
    try:
        return text.encode("utf-8")
    except UnicodeEncodeError as exc:  # a lone surrogate in a string value
        raise EncodingError("string contains a lone surrogate (spec §1.2.1)") from exc


def _check_model(value: object, depth: int) -> None:
    """Raise EncodingError if a parsed value leaves the restricted model (spec §1.2.1)."""
    if isinstance(value, bool) or value is None or isinstance(value, str):
        return
    if isinstance(value, int):
        if not -MAX_SAFE_INTEGER <= value <= MAX_SAFE_INTEGER:
            raise EncodingError(f"integer {value} is outside ±(2**53-1) (spec §1.2.1)")
        return
    if isinstance(value, float):
        raise EncodingError("numbers with a fraction or exponent are not allowed (spec §1.2.1)")
    if depth >= MAX_DEPTH:
        raise EncodingError(f"nesting deeper than {MAX_DEPTH} (spec §1.2.1)")
    # msgspec's untyped decoder yields only dict and list for containers.
    items = value.values() if isinstance(value, dict) else cast("list[object]", value)
    for item in items:
        _check_model(item, depth + 1)


def parse_json(data: bytes) -> JSONValue:
    """Parse UTF-8 JSON text strictly into the restricted model (spec §1.2.3).

    Raises :class:`EncodingError` for invalid UTF-8, JSON syntax errors (including leading
    zeros, trailing commas, a byte order mark), lone surrogate escapes, numbers with a fraction
    or exponent, integers beyond ``±(2**53-1)`` and nesting deeper than :data:`MAX_DEPTH`.
    Duplicate object keys are *not* detected here (the last one wins); use
    :func:`parse_canonical_json` where they must be rejected.
    """
    try:
        value: object = msgspec.json.decode(data)
    except (msgspec.DecodeError, UnicodeDecodeError, RecursionError) as exc:
        raise EncodingError(f"not valid JSON text: {exc}") from exc
    _check_model(value, 0)
    return value  # type: ignore[return-value]  # checked by _check_model


def parse_canonical_json(data: bytes) -> JSONValue:
    """Parse ``data`` and require it to be byte-identical to its canonical form (spec §1.2.4).

    Raises :class:`EncodingError` as :func:`parse_json` does, then
    :class:`NonCanonicalError` if re-encoding the value does not give back ``data`` exactly:
    whitespace, key order, escapes other than the canonical ones, ``-0`` and duplicate keys
    all fail here.
    """
    value = parse_json(data)
    if canonical_json(value) != bytes(data):
        raise NonCanonicalError("JSON text is not in canonical form (spec §1.2.4)")
    return value


# spec §1.3.2: base64 is RFC 4648 §4, standard alphabet, with padding.
def b64encode(data: bytes) -> str:
    """Encode ``data`` as RFC 4648 §4 base64 (standard alphabet, padded)."""
    return binascii.b2a_base64(data, newline=False).decode("ascii")


def b64decode(text: str) -> bytes:
    """Decode standard padded base64, accepting only the canonical encoding (spec §1.3.2).

    Raises :class:`EncodingError` for characters outside the alphabet, whitespace, missing or
    extra padding, and non-zero unused bits in the last character.
    """
    if not text.isascii():
        raise EncodingError("base64 text must be ASCII")
    try:
        data = binascii.a2b_base64(text, strict_mode=True)
    except binascii.Error as exc:
        raise EncodingError(f"invalid base64: {exc}") from exc
    if b64encode(data) != text:
        raise EncodingError("base64 is not in canonical form (unused bits must be zero)")
    return data


# spec §1.3.3: the Bitcoin base58 alphabet (multibase base58btc, prefix "z").
_B58_ALPHABET = "123456789ABCDEFGHJKLMNPQRSTUVWXYZabcdefghijkmnopqrstuvwxyz"
_B58_INDEX = {char: index for index, char in enumerate(_B58_ALPHABET)}


def b58encode(data: bytes) -> str:
    """Encode ``data`` in base58btc: each leading zero byte becomes ``1`` (spec §1.3.3)."""
    zeros = len(data) - len(data.lstrip(b"\0"))
    number = int.from_bytes(data, "big")
    digits: list[str] = []
    while number:
        number, remainder = divmod(number, 58)
        digits.append(_B58_ALPHABET[remainder])
    return "1" * zeros + "".join(reversed(digits))


def b58decode(text: str) -> bytes:
    """Decode base58btc text (spec §1.3.3). Raises :class:`EncodingError` on a bad character.

    Base58btc is a bijection between byte strings and strings over its alphabet, so every
    accepted text is the canonical encoding of its result.
    """
    number = 0
    for char in text:
        digit = _B58_INDEX.get(char)
        if digit is None:
            raise EncodingError(f"invalid base58btc character {char!r}")
        number = number * 58 + digit
    zeros = len(text) - len(text.lstrip("1"))
    body = number.to_bytes((number.bit_length() + 7) // 8, "big")
    return b"\0" * zeros + body


_HEX_DIGITS = frozenset("0123456789abcdef")


def hex_to_bytes(text: str, length: int | None = None) -> bytes:
    """Decode strict lowercase hex (spec §1.3.1), optionally of exactly ``length`` bytes.

    Raises :class:`EncodingError` for uppercase or non-hex characters, an odd number of digits
    or the wrong length.
    """
    if not _HEX_DIGITS.issuperset(text) or len(text) % 2:
        raise EncodingError("expected lowercase hexadecimal with an even number of digits")
    if length is not None and len(text) != 2 * length:
        raise EncodingError(f"expected {length} bytes of hex, got {len(text) // 2}")
    return bytes.fromhex(text)
