"""Tests for registry.core.urls.normalize_url (spec §2.5): the spec/vectors/urls.json cases,
the RFC 3986 §5.4 dot-segment examples, and properties (idempotence, only RecordError)."""

from __future__ import annotations

import contextlib
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st

from registry.core import errors
from registry.core.errors import LimitError, RecordError
from registry.core.urls import (
    _PATH_SAFE,
    _PLAIN_PATH,
    _PLAIN_QUERY,
    _QUERY_SAFE,
    MAX_URL_LENGTH,
    _normalize,
    normalize_url,
)
from tests.core.vectors import vector_cases


@pytest.mark.parametrize("case", vector_cases("urls.json"))
def test_url_vectors(case: dict[str, Any]) -> None:
    if case["result"] == "valid":
        assert normalize_url(case["input"]) == case["output"]
        assert normalize_url(case["output"]) == case["output"]
    else:
        with pytest.raises(getattr(errors, case["error"])) as info:
            normalize_url(case["input"])
        assert type(info.value).__name__ == case["error"]


# RFC 3986 §5.4.1/§5.4.2 results whose paths exercise remove_dot_segments, resolved against
# http://a/b/c/d;p?q and written here as absolute URLs.
RFC3986_DOT_SEGMENTS = [
    ("http://a/b/c/./g", "http://a/b/c/g"),
    ("http://a/b/c/g/", "http://a/b/c/g/"),
    ("http://a/b/c/.", "http://a/b/c/"),
    ("http://a/b/c/./", "http://a/b/c/"),
    ("http://a/b/c/..", "http://a/b/"),
    ("http://a/b/c/../", "http://a/b/"),
    ("http://a/b/c/../g", "http://a/b/g"),
    ("http://a/b/c/../..", "http://a/"),
    ("http://a/b/c/../../", "http://a/"),
    ("http://a/b/c/../../g", "http://a/g"),
    ("http://a/b/c/../../../g", "http://a/g"),
    ("http://a/b/c/../../../../g", "http://a/g"),
    ("http://a/./g", "http://a/g"),
    ("http://a/../g", "http://a/g"),
    ("http://a/b/c/g.", "http://a/b/c/g."),
    ("http://a/b/c/.g", "http://a/b/c/.g"),
    ("http://a/b/c/g..", "http://a/b/c/g.."),
    ("http://a/b/c/..g", "http://a/b/c/..g"),
    ("http://a/b/c/./../g", "http://a/b/g"),
    ("http://a/b/c/./g/.", "http://a/b/c/g/"),
    ("http://a/b/c/g/./h", "http://a/b/c/g/h"),
    ("http://a/b/c/g/../h", "http://a/b/c/h"),
    ("http://a/b/c/g;x=1/./y", "http://a/b/c/g;x=1/y"),
    ("http://a/b/c/g;x=1/../y", "http://a/b/c/y"),
    ("http://a/b/c/g?y/./x", "http://a/b/c/g?y/./x"),
    ("http://a/b/c/g?y/../x", "http://a/b/c/g?y/../x"),
    ("http://a/b/c/g#s/./x", "http://a/b/c/g"),
]


@pytest.mark.parametrize(("url", "expected"), RFC3986_DOT_SEGMENTS)
def test_rfc3986_dot_segment_examples(url: str, expected: str) -> None:
    assert normalize_url(url) == expected


def test_length_limit_applies_before_and_after_normalisation() -> None:
    base = "https://example.com/"
    assert len(normalize_url(base + "a" * (MAX_URL_LENGTH - len(base)))) == MAX_URL_LENGTH
    with pytest.raises(LimitError):
        normalize_url(base + "a" * (MAX_URL_LENGTH - len(base) + 1))
    with pytest.raises(LimitError):
        normalize_url(base + "~" * 1000 + "\u00e9" * 200)  # grows past the limit
    assert issubclass(LimitError, RecordError)


def test_error_messages_name_the_url_and_the_problem() -> None:
    with pytest.raises(RecordError, match=r"invalid URL 'ftp://x/': scheme is not http"):
        normalize_url("ftp://x/")
    with pytest.raises(RecordError, match=r"\.\.\.'"):  # long URLs are shortened
        normalize_url("https://" + "x" * 100 + "/\n")


def test_surrogates_are_rejected() -> None:
    with pytest.raises(RecordError, match="surrogate"):
        normalize_url("https://example.com/\ud800")


url_text = st.text(
    alphabet=st.sampled_from(list("aZ09-._~!$&'()*+,;=:@/?#[]%2fF .\u00e9\u4e2d\\\"<>")),
    max_size=30,
)


@given(
    st.sampled_from(["http", "HTTPS", "https", "ftp", "Http"]),
    st.sampled_from(["example.com", "EXAMPLE.com:443", "[::1]:80", "a.b:8080", "user@x", ""]),
    url_text,
)
def test_normalisation_is_idempotent_and_raises_only_record_errors(
    scheme: str, host: str, rest: str
) -> None:
    url = f"{scheme}://{host}/{rest}"
    try:
        normal = normalize_url(url)
    except RecordError:
        return
    assert normalize_url(normal) == normal
    assert normal.isascii()
    assert "#" not in normal
    assert normal.startswith(("http://", "https://"))


@given(st.text(max_size=60))
def test_arbitrary_text_raises_only_record_errors(text: str) -> None:
    with contextlib.suppress(RecordError):
        normalize_url(text)


def test_plain_text_patterns_match_exactly_the_safe_characters() -> None:
    """The regex fast paths of percent-encoding normalisation accept exactly the characters
    that the character-by-character loop would copy unchanged (and never "%")."""
    for safe, plain in ((_PATH_SAFE, _PLAIN_PATH), (_QUERY_SAFE, _PLAIN_QUERY)):
        copied = {chr(c) for c in range(0x3000) if plain.fullmatch(chr(c))}
        assert copied == safe - {"%"}
        assert plain.fullmatch("".join(sorted(safe)))


@given(
    st.sampled_from(["http", "https", "HTTP"]),
    st.sampled_from(["example.com", "a-b.c_d.0", "x", "ex.com.", "EX.com", "a..b", "-a.b", "h:80"]),
    st.text(alphabet=st.sampled_from(list("aZ09-._~!$&'()*+,;=:@/?#%")), max_size=30),
)
def test_the_normal_form_fast_path_answers_as_every_step_would(
    scheme: str, host: str, rest: str
) -> None:
    """A URL the fast path returns as it is gets the same answer from spec §2.5 step by step
    (dot segments, escapes, ports, fragments, trailing dots and case take the slow path)."""
    url = f"{scheme}://{host}/{rest}"
    try:
        expected = _normalize(url)
    except RecordError:
        with pytest.raises(RecordError):
            normalize_url(url)
        return
    assert normalize_url(url) == expected


def test_normal_urls_are_returned_as_they_are() -> None:
    for url in (
        "https://example.com/",
        "http://a.b-c.d_e/x/y.png?q=1&r=/s?t",
        "https://x/a/b..c/~d",
    ):
        assert normalize_url(url) == url == _normalize(url)
    assert normalize_url("https://example.com/a/./b") == "https://example.com/a/b"
