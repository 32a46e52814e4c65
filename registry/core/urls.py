"""URL normalisation for the URL index and for URLs inside records (spec §2.5).

A work may list the URLs where it is published. A record MUST carry each URL already in the
normal form :func:`normalize_url` produces, and crawlers look URLs up by that same form, so the
index and the record always agree on what "the same URL" means. The algorithm is RFC 3986 §6.2.2
syntax-based normalisation plus a few fixed choices (spec §2.5): only ``http``/``https``, no
userinfo, ASCII host names only (give internationalised names in their IDNA A-label form,
``xn--...``), default ports dropped, fragments dropped, the query kept as it is apart from
percent-encoding normalisation.
"""

from __future__ import annotations

import ipaddress
import re
from typing import Final

from registry.core.errors import LimitError, RecordError

__all__ = ["MAX_URL_LENGTH", "normalize_url"]

MAX_URL_LENGTH: Final = 2048
"""Longest URL accepted, before and after normalisation (spec §2.6)."""

_DEFAULT_PORTS: Final = {"http": 80, "https": 443}
_SCHEME = re.compile(r"[A-Za-z][A-Za-z0-9+.\-]*")
# spec §2.5 step 5: host names are LDH labels (plus "_", seen in real host names).
_HOST_LABEL = re.compile(r"[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?")
_UNRESERVED: Final = frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-._~")
# RFC 3986 §3.3 pchar = unreserved / pct-encoded / sub-delims / ":" / "@", and "/" between
# segments; §3.4 adds "?" to the query. Every other character is percent-encoded.
_PATH_SAFE: Final = _UNRESERVED | frozenset("!$&'()*+,;=:@/")
_QUERY_SAFE: Final = _PATH_SAFE | frozenset("?")
_HEX: Final = frozenset("0123456789abcdefABCDEF")
# Text that percent-encoding normalisation leaves as it is: safe characters and no "%".
_PLAIN_PATH: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/]*")
_PLAIN_QUERY: Final = re.compile(r"[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*")
_CONTROL: Final = re.compile(r"[\x00-\x20\x7f]")  # spec §2.5 step 2
# A URL already in normal form, the common case of a record's URLs (they must be): lowercase
# scheme and LDH host without a trailing dot or a port, a path of safe characters without
# escapes, an optional query of safe characters, no fragment. With no dot segment ("/." absent)
# every step of spec §2.5 leaves such a URL as it is (tests/core/test_urls.py checks it).
_NORMAL: Final = re.compile(
    r"https?://[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?(?:\.[a-z0-9_](?:[a-z0-9_\-]*[a-z0-9_])?)*"
    r"/[A-Za-z0-9\-._~!$&'()*+,;=:@/]*(?:\?[A-Za-z0-9\-._~!$&'()*+,;=:@/?]*)?"
)


def _fail(url: str, why: str) -> RecordError:
    shown = url if len(url) <= 80 else url[:77] + "..."
    return RecordError(f"invalid URL {shown!r}: {why} (spec §2.5)")


def _normalise_percent(url: str, text: str, safe: frozenset[str], plain: re.Pattern[str]) -> str:
    """Percent-encoding normalisation of a path or query (spec §2.5 step 6).

    Escapes of unreserved characters are decoded, other escapes get uppercase hex, and every
    character outside ``safe`` is percent-encoded from its UTF-8 bytes. ``plain`` matches
    exactly the texts made of ``safe`` characters other than "%", which stay as they are (the
    common case, checked in C).
    """
    if plain.fullmatch(text):
        return text
    out: list[str] = []
    index = 0
    while index < len(text):
        char = text[index]
        if char == "%":
            digits = text[index + 1 : index + 3]
            if len(digits) != 2 or not _HEX.issuperset(digits):
                raise _fail(url, "'%' is not followed by two hex digits")
            decoded = chr(int(digits, 16))
            out.append(decoded if decoded in _UNRESERVED else "%" + digits.upper())
            index += 3
            continue
        if char in safe:
            out.append(char)
        else:
            out.extend(f"%{byte:02X}" for byte in char.encode("utf-8"))
        index += 1
    return "".join(out)


def _remove_dot_segments(path: str) -> str:
    """RFC 3986 §5.2.4 remove_dot_segments, for an absolute path (spec §2.5 step 7)."""
    output: list[str] = []
    segments = path.split("/")[1:]  # the path starts with "/"
    for position, segment in enumerate(segments):
        last = position == len(segments) - 1
        if segment == ".":
            if last:
                output.append("")
        elif segment == "..":
            if output:
                output.pop()
            if last:
                output.append("")
        else:
            output.append(segment)
    return "/" + "/".join(output)


def _normalise_host(url: str, host: str) -> str:
    """Lowercase and check the host (spec §2.5 step 5)."""
    if host.startswith("["):
        if not host.endswith("]") or "%" in host:
            raise _fail(url, "malformed IPv6 literal (zone identifiers are not allowed)")
        try:
            address = ipaddress.IPv6Address(host[1:-1])
        except ValueError as exc:
            raise _fail(url, "invalid IPv6 literal") from exc
        return f"[{address.compressed}]"
    if not host.isascii():
        raise _fail(url, "non-ASCII host: give it in IDNA A-label (xn--) form")
    host = host.lower()
    # a single trailing dot (the fully qualified form) names the same host: removed
    host = host.removesuffix(".")
    if not all(_HOST_LABEL.fullmatch(label) for label in host.split(".")):
        raise _fail(url, "host is not a valid host name")
    return host


def _split_port(url: str, authority: str) -> tuple[str, str]:
    """Split ``host[:port]``; IPv6 literals keep their colons (spec §2.5 step 4)."""
    bracket = authority.rfind("]")
    colon = authority.rfind(":")
    if colon <= bracket:
        return authority, ""
    return authority[:colon], authority[colon + 1 :]


def normalize_url(url: str) -> str:
    """Return the normal form of an absolute ``http``/``https`` URL (spec §2.5).

    Raises :class:`~registry.core.errors.RecordError` for anything that is not such a URL:
    another scheme, no host, userinfo, a bad port, a non-ASCII host, whitespace or control
    characters, a malformed percent escape; :class:`~registry.core.errors.LimitError` if the
    URL is longer than :data:`MAX_URL_LENGTH` before or after normalisation.
    """
    # spec §2.5 step 1
    if len(url) > MAX_URL_LENGTH:
        raise LimitError(f"URL longer than {MAX_URL_LENGTH} characters (spec §2.6)")
    if _NORMAL.fullmatch(url) and "/." not in url:
        return url  # already normal: every step below would leave it as it is
    return _normalize(url)


def _normalize(url: str) -> str:
    """:func:`normalize_url` step by step, for a URL of at most :data:`MAX_URL_LENGTH`."""
    # spec §2.5 step 2
    if _CONTROL.search(url):
        raise _fail(url, "whitespace or control character")
    try:
        url.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise _fail(url, "lone surrogate") from exc
    # spec §2.5 step 3
    scheme, sep, rest = url.partition(":")
    if not sep or not _SCHEME.fullmatch(scheme):
        raise _fail(url, "no scheme")
    scheme = scheme.lower()
    if scheme not in _DEFAULT_PORTS:
        raise _fail(url, "scheme is not http or https")
    if not rest.startswith("//"):
        raise _fail(url, "no authority ('//host')")
    rest, _, _fragment = rest[2:].partition("#")  # step 8: the fragment is dropped
    cut = min((i for i in (rest.find("/"), rest.find("?")) if i >= 0), default=len(rest))
    authority, rest = rest[:cut], rest[cut:]
    path, has_query, query = rest.partition("?")
    # spec §2.5 step 4
    if "@" in authority:
        raise _fail(url, "userinfo is not allowed")
    host, port_text = _split_port(url, authority)
    if not host:
        raise _fail(url, "empty host")
    port = ""
    if port_text:
        if not port_text.isascii() or not port_text.isdigit() or len(port_text) > 5:
            raise _fail(url, "port is not a number")
        number = int(port_text)
        if not 0 < number <= 65535:
            raise _fail(url, "port out of range")
        if number != _DEFAULT_PORTS[scheme]:
            port = f":{number}"
    host = _normalise_host(url, host)
    # spec §2.5 steps 6 and 7
    path = _remove_dot_segments(_normalise_percent(url, path or "/", _PATH_SAFE, _PLAIN_PATH))
    result = f"{scheme}://{host}{port}{path}"
    if has_query:
        result += "?" + _normalise_percent(url, query, _QUERY_SAFE, _PLAIN_QUERY)
    # spec §2.5 step 9
    if len(result) > MAX_URL_LENGTH:
        raise LimitError(f"normalised URL longer than {MAX_URL_LENGTH} characters (spec §2.6)")
    return result
