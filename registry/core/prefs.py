"""AI usage preferences: the AIPREF vocabulary, ``Content-Usage`` and the mapping table.

A *statement of preference* (spec §3.1) maps usage categories to ``"y"`` (allowed) or ``"n"``
(disallowed); a category that is absent is *unknown*. The vocabulary is the IETF AIPREF one
(draft-ietf-aipref-vocab): ``train-ai`` and ``search``. It is kept open: other well-formed
category labels are carried in records unchanged and ignored when a consumer does not know them.

This module provides:

- validation of categories and statements (:func:`validate_category`, :func:`validate_prefs`);
- an RFC 9651 structured-field Dictionary parser (:func:`parse_dictionary`) and, on top of it,
  the AIPREF processing of a ``Content-Usage`` field (:func:`parse_content_usage`, spec §3.3),
  the robots.txt ``Content-Usage`` rule (:func:`parse_robots_content_usage`) and the canonical
  serialisation (:func:`format_content_usage`);
- the one mapping table between AIPREF and TDM·AI, CAWG ``training-mining``, W3C TDMRep, robots
  ``noai``/``noimageai``/``noindex``, Cloudflare Content Signals, Spawning's ``ai.txt``, RSL 1.0
  usage tokens and IPTC/PLUS ``plus:DataMining`` (:data:`MAPPING`, spec §3.4),
  with ``from_*``/``to_*`` conversions driven by it;
- :func:`combine`: several statements about one asset, "any disallow wins" (spec §3.2).

Everything here is pure. Malformed input raises :class:`~registry.core.errors.PreferenceError`,
or :class:`~registry.core.errors.StructuredFieldError` for a field that is not a valid RFC 9651
Dictionary.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from decimal import Decimal
from typing import Final, Literal, NamedTuple

from registry.core.errors import PreferenceError, StructuredFieldError

__all__ = [
    "ALLOW",
    "CATEGORIES",
    "DISALLOW",
    "MAPPING",
    "MAX_CATEGORY_LENGTH",
    "PLUS_VOCAB",
    "SCHEMES",
    "SCHEME_VALUES",
    "BareItem",
    "Date",
    "DisplayString",
    "InnerList",
    "Item",
    "MappingRow",
    "Token",
    "combine",
    "format_content_usage",
    "from_ai_txt",
    "from_cawg",
    "from_content_signals",
    "from_plus_data_mining",
    "from_robots_tags",
    "from_rsl",
    "from_tdmai",
    "from_tdmrep",
    "parse_content_usage",
    "parse_dictionary",
    "parse_robots_content_usage",
    "to_ai_txt",
    "to_cawg",
    "to_content_signals",
    "to_plus_data_mining",
    "to_robots_tags",
    "to_rsl",
    "to_tdmai",
    "to_tdmrep",
    "validate_category",
    "validate_prefs",
]

# spec §3.1: the categories this version of the protocol understands, in vocabulary order.
CATEGORIES: Final[tuple[str, ...]] = ("train-ai", "search")
ALLOW: Final = "y"
DISALLOW: Final = "n"
MAX_CATEGORY_LENGTH: Final = 64

# spec §3.1 / draft-ietf-aipref-vocab "Usage Category Labels": lowercase latin letters, digits,
# "_", "-", ".", "*"; and, to be a RFC 9651 key, starting with a lowercase letter or "*".
_CATEGORY_RE: Final = re.compile(r"[a-z*][a-z0-9_.*-]*")


def validate_category(category: object) -> str:
    """Return ``category`` if it is a well-formed category label (spec §3.1).

    Known and unknown labels are both accepted: the vocabulary is open.

    Raises:
        PreferenceError: not a string, empty, longer than :data:`MAX_CATEGORY_LENGTH`, or using
            characters outside ``[a-z0-9_.*-]`` / not starting with ``[a-z*]``.
    """
    if not isinstance(category, str):
        raise PreferenceError(f"category must be a string, not {type(category).__name__}")
    if len(category) > MAX_CATEGORY_LENGTH:
        raise PreferenceError(f"category longer than {MAX_CATEGORY_LENGTH} characters")
    if _CATEGORY_RE.fullmatch(category) is None:
        raise PreferenceError(f"malformed category label {category!r}")
    return category


def validate_prefs(prefs: Mapping[str, object]) -> dict[str, str]:
    """Check a statement of preference and return it as a plain ``dict`` (spec §3.1).

    Raises:
        PreferenceError: a category label is malformed (see :func:`validate_category`) or a
            value is not exactly ``"y"`` or ``"n"``.
    """
    out: dict[str, str] = {}
    for category, value in prefs.items():
        validate_category(category)
        if value not in (ALLOW, DISALLOW):
            raise PreferenceError(f"preference for {category!r} must be 'y' or 'n'")
        out[category] = ALLOW if value == ALLOW else DISALLOW
    return out


def combine(prefs_list: Iterable[Mapping[str, str]]) -> dict[str, str]:
    """Combine several statements about one asset, per category (spec §3.2).

    ``"n"`` if any statement says ``"n"``; otherwise ``"y"`` if any says ``"y"``; otherwise the
    category is absent (unknown). This is draft-ietf-aipref-vocab "Combining Preferences"; it is
    applied to every category, known or not. The result's keys are sorted.

    Raises:
        PreferenceError: a value other than ``"y"`` or ``"n"``.
    """
    result: dict[str, str] = {}
    for prefs in prefs_list:
        for category, value in prefs.items():
            if value == DISALLOW:
                result[category] = DISALLOW
            elif value == ALLOW:
                result.setdefault(category, ALLOW)
            else:
                raise PreferenceError(f"preference for {category!r} must be 'y' or 'n'")
    return dict(sorted(result.items()))


# ---------------------------------------------------------------------------------------------
# RFC 9651 structured fields: the data model and the Dictionary parser (RFC 9651 §3, §4.2).


@dataclass(frozen=True, slots=True)
class Token:
    """An RFC 9651 Token (§3.3.4), kept apart from String so ``y`` and ``"y"`` differ."""

    value: str


@dataclass(frozen=True, slots=True)
class Date:
    """An RFC 9651 Date (§3.3.7): integer seconds since the epoch."""

    value: int


@dataclass(frozen=True, slots=True)
class DisplayString:
    """An RFC 9651 Display String (§3.3.8): Unicode text."""

    value: str


# Integer (int), Decimal, String (str), Token, Byte Sequence (bytes), Boolean (bool), Date,
# Display String. ``bool`` is checked before ``int`` wherever the two could be confused.
BareItem = int | Decimal | str | Token | bytes | bool | Date | DisplayString


class Item(NamedTuple):
    """An RFC 9651 Item: a bare item with its parameters (§3.3)."""

    value: BareItem
    params: dict[str, BareItem]


class InnerList(NamedTuple):
    """An RFC 9651 Inner List with its parameters (§3.1.1)."""

    items: list[Item]
    params: dict[str, BareItem]


_DIGITS: Final = frozenset("0123456789")
_LCALPHA: Final = frozenset("abcdefghijklmnopqrstuvwxyz")
_ALPHA: Final = _LCALPHA | frozenset("ABCDEFGHIJKLMNOPQRSTUVWXYZ")
_KEY_FIRST: Final = _LCALPHA | {"*"}
_KEY_CHARS: Final = _LCALPHA | _DIGITS | frozenset("_-.*")
# RFC 9110 tchar, plus ":" and "/" (RFC 9651 §4.2.6 step 2.1)
_TOKEN_CHARS: Final = _ALPHA | _DIGITS | frozenset("!#$%&'*+-.^_`|~:/")
_BASE64_CHARS: Final = _ALPHA | _DIGITS | frozenset("+/=")
_LCHEX: Final = _DIGITS | frozenset("abcdef")


class _Parser:
    """One pass over an ASCII field value, following RFC 9651 §4.2 step by step."""

    __slots__ = ("pos", "text")

    def __init__(self, text: str) -> None:
        self.text = text
        self.pos = 0

    def fail(self, why: str) -> StructuredFieldError:
        return StructuredFieldError(f"invalid structured field at offset {self.pos}: {why}")

    def peek(self) -> str:
        return self.text[self.pos] if self.pos < len(self.text) else ""

    def empty(self) -> bool:
        return self.pos >= len(self.text)

    def skip_sp(self) -> None:
        while self.peek() == " ":
            self.pos += 1

    def skip_ows(self) -> None:
        while self.peek() in (" ", "\t") and not self.empty():
            self.pos += 1

    def dictionary(self) -> dict[str, Item | InnerList]:
        # RFC 9651 §4.2.2
        members: dict[str, Item | InnerList] = {}
        while not self.empty():
            key = self.key()
            member: Item | InnerList
            if self.peek() == "=":
                self.pos += 1
                member = self.item_or_inner_list()
            else:
                member = Item(True, self.parameters())
            # step 2.4: a later member with the same key overwrites the earlier value
            members[key] = member
            self.skip_ows()
            if self.empty():
                return members
            if self.peek() != ",":
                raise self.fail("expected ',' between dictionary members")
            self.pos += 1
            self.skip_ows()
            if self.empty():
                raise self.fail("trailing ',' in dictionary")
        return members

    def item_or_inner_list(self) -> Item | InnerList:
        # RFC 9651 §4.2.1.1
        if self.peek() == "(":
            return self.inner_list()
        return self.item()

    def inner_list(self) -> InnerList:
        # RFC 9651 §4.2.1.2
        self.pos += 1
        items: list[Item] = []
        while not self.empty():
            self.skip_sp()
            if self.peek() == ")":
                self.pos += 1
                return InnerList(items, self.parameters())
            items.append(self.item())
            if self.peek() not in (" ", ")") or self.empty():
                raise self.fail("expected ' ' or ')' in inner list")
        raise self.fail("inner list not closed")

    def item(self) -> Item:
        # RFC 9651 §4.2.3
        value = self.bare_item()
        return Item(value, self.parameters())

    def bare_item(self) -> BareItem:
        # RFC 9651 §4.2.3.1
        c = self.peek()
        if c == "-" or c in _DIGITS:
            return self.number()
        if c == '"':
            return self.string()
        if c in _ALPHA or c == "*":
            return self.token()
        if c == ":":
            return self.byte_sequence()
        if c == "?":
            return self.boolean()
        if c == "@":
            return self.date()
        if c == "%":
            return self.display_string()
        raise self.fail("expected an item")

    def parameters(self) -> dict[str, BareItem]:
        # RFC 9651 §4.2.3.2
        params: dict[str, BareItem] = {}
        while self.peek() == ";":
            self.pos += 1
            self.skip_sp()
            key = self.key()
            value: BareItem = True
            if self.peek() == "=":
                self.pos += 1
                value = self.bare_item()
            params[key] = value
        return params

    def key(self) -> str:
        # RFC 9651 §4.2.3.3
        start = self.pos
        if self.peek() not in _KEY_FIRST or self.empty():
            raise self.fail("expected a key")
        while not self.empty() and self.peek() in _KEY_CHARS:
            self.pos += 1
        return self.text[start : self.pos]

    def number(self) -> int | Decimal:
        # RFC 9651 §4.2.4
        sign = 1
        if self.peek() == "-":
            self.pos += 1
            sign = -1
        if self.empty() or self.peek() not in _DIGITS:
            raise self.fail("expected a digit")
        start = self.pos
        is_decimal = False
        while not self.empty():
            c = self.peek()
            if c in _DIGITS:
                self.pos += 1
            elif c == "." and not is_decimal:
                if self.pos - start > 12:
                    raise self.fail("decimal with more than 12 integer digits")
                is_decimal = True
                self.pos += 1
            else:
                break
            if self.pos - start > (16 if is_decimal else 15):
                raise self.fail("number too long")
        digits = self.text[start : self.pos]
        if not is_decimal:
            return sign * int(digits)
        if digits.endswith("."):
            raise self.fail("decimal ends with '.'")
        if len(digits) - digits.index(".") - 1 > 3:
            raise self.fail("decimal with more than 3 fractional digits")
        return sign * Decimal(digits)

    def string(self) -> str:
        # RFC 9651 §4.2.5
        self.pos += 1
        out: list[str] = []
        while not self.empty():
            c = self.text[self.pos]
            self.pos += 1
            if c == "\\":
                if self.empty():
                    raise self.fail("string ends after '\\'")
                nxt = self.text[self.pos]
                self.pos += 1
                if nxt not in ('"', "\\"):
                    raise self.fail("bad escape in string")
                out.append(nxt)
            elif c == '"':
                return "".join(out)
            elif not " " <= c <= "~":
                raise self.fail("control character in string")
            else:
                out.append(c)
        raise self.fail("string not closed")

    def token(self) -> Token:
        # RFC 9651 §4.2.6 (the first character was checked by bare_item)
        start = self.pos
        self.pos += 1
        while not self.empty() and self.peek() in _TOKEN_CHARS:
            self.pos += 1
        return Token(self.text[start : self.pos])

    def byte_sequence(self) -> bytes:
        # RFC 9651 §4.2.7
        self.pos += 1
        end = self.text.find(":", self.pos)
        if end < 0:
            raise self.fail("byte sequence not closed")
        content = self.text[self.pos : end]
        self.pos = end + 1
        if any(c not in _BASE64_CHARS for c in content):
            raise self.fail("invalid base64 character in byte sequence")
        # step 6 note: parsers SHOULD NOT fail on missing "=" padding or non-zero pad bits.
        data = content.rstrip("=")
        if "=" in data:
            raise self.fail("'=' inside base64 content")
        try:
            return base64.b64decode(data + "=" * (-len(data) % 4), validate=True)
        except (binascii.Error, ValueError) as exc:
            raise self.fail("undecodable base64 in byte sequence") from exc

    def boolean(self) -> bool:
        # RFC 9651 §4.2.8
        self.pos += 1
        c = self.peek()
        if c in ("0", "1") and not self.empty():
            self.pos += 1
            return c == "1"
        raise self.fail("expected ?0 or ?1")

    def date(self) -> Date:
        # RFC 9651 §4.2.9
        self.pos += 1
        value = self.number()
        if isinstance(value, Decimal):
            raise self.fail("date must be an integer")
        return Date(value)

    def display_string(self) -> DisplayString:
        # RFC 9651 §4.2.10
        self.pos += 1
        if self.peek() != '"' or self.empty():
            raise self.fail("expected '\"' after '%'")
        self.pos += 1
        out = bytearray()
        while not self.empty():
            c = self.text[self.pos]
            self.pos += 1
            if not " " <= c <= "~":
                raise self.fail("control character in display string")
            if c == "%":
                octet = self.text[self.pos : self.pos + 2]
                if len(octet) != 2 or any(h not in _LCHEX for h in octet):
                    raise self.fail("bad percent-encoding in display string")
                self.pos += 2
                out.append(int(octet, 16))
            elif c == '"':
                try:
                    return DisplayString(out.decode("utf-8"))
                except UnicodeDecodeError as exc:
                    raise self.fail("display string is not UTF-8") from exc
            else:
                out.append(ord(c))
        raise self.fail("display string not closed")


def parse_dictionary(value: str) -> dict[str, Item | InnerList]:
    """Parse an RFC 9651 Dictionary field value (RFC 9651 §4.2 with §4.2.2).

    Several field lines of one field must be joined with ``", "`` by the caller before parsing
    (RFC 9651 §4.2 step 1 note). An empty value is an empty dictionary.

    Raises:
        StructuredFieldError: the value is not ASCII or not a valid Dictionary.
    """
    if not value.isascii():
        # RFC 9651 §4.2 step 1: the input must be ASCII
        raise StructuredFieldError("structured field value is not ASCII")
    parser = _Parser(value)
    parser.skip_sp()  # step 2
    # steps 5-6 (trailing SP, nothing left) hold by construction: §4.2.2 only returns after
    # consuming trailing OWS at the end of the input, and fails otherwise.
    return parser.dictionary()


def parse_content_usage(value: str) -> dict[str, str]:
    """Process a ``Content-Usage`` field value into a statement of preference (spec §3.3).

    The value is parsed as an RFC 9651 Dictionary; then each member whose value is the Token
    ``y`` or ``n`` states that preference for its key, parameters ignored. Any other value (a
    String ``"n"``, Integer, Boolean, Inner List, other Token) leaves the category unknown, so it
    is absent from the result. A repeated key: the last occurrence wins (RFC 9651 §4.2.2). Keys
    other than the known categories are kept when they are valid category labels (spec §3.1);
    keys longer than :data:`MAX_CATEGORY_LENGTH` are dropped. Result keys are sorted.

    Raises:
        StructuredFieldError: the value is not a valid Dictionary. Per draft-ietf-aipref-vocab
            "Multiple Preferences", a recipient then treats every preference as unknown; the
            exception lets the caller decide, and log why.
    """
    prefs: dict[str, str] = {}
    for key, member in parse_dictionary(value).items():
        if not isinstance(member, Item) or not isinstance(member.value, Token):
            continue
        token = member.value.value
        if token in (ALLOW, DISALLOW) and len(key) <= MAX_CATEGORY_LENGTH:
            prefs[key] = token
    return dict(sorted(prefs.items()))


def format_content_usage(prefs: Mapping[str, str]) -> str:
    """Serialise a statement of preference as a ``Content-Usage`` value (spec §3.3.3).

    Canonical form: members sorted by category label (ASCII order), each ``label=y`` or
    ``label=n``, separated by ``", "``; no parameters. An empty statement gives ``""`` (the
    field is then omitted). :func:`parse_content_usage` inverts it exactly.

    Raises:
        PreferenceError: the statement is invalid (see :func:`validate_prefs`).
    """
    valid = validate_prefs(prefs)
    return ", ".join(f"{category}={valid[category]}" for category in sorted(valid))


def parse_robots_content_usage(value: str) -> tuple[str | None, dict[str, str]]:
    """Split a robots.txt ``Content-Usage`` rule value into its path and preferences.

    ``value`` is what follows ``Content-Usage:`` on the line (draft-ietf-aipref-attach,
    "Processing Content-Usage Rules"): the text up to the first CR, LF or ``#`` is the rule
    value; if it starts with ``/`` the path runs to the first SP or HTAB and the rest is the
    statement, otherwise there is no path (``None``).

    Raises:
        StructuredFieldError: the statement is not a valid Dictionary (spec §3.3).
    """
    rule = re.split(r"[\r\n#]", value, maxsplit=1)[0].strip(" \t")
    path: str | None = None
    if rule.startswith("/"):
        match = re.search(r"[ \t]", rule)
        path, rule = (rule, "") if match is None else (rule[: match.start()], rule[match.end() :])
    return path, parse_content_usage(rule.strip(" \t"))


# ---------------------------------------------------------------------------------------------
# The mapping table (spec §3.4).

Scheme = Literal["tdmai", "cawg", "tdmrep", "robots", "content-signals", "ai-txt", "rsl", "plus"]
SCHEMES: Final[tuple[str, ...]] = (
    "tdmai",
    "cawg",
    "tdmrep",
    "robots",
    "content-signals",
    "ai-txt",
    "rsl",
    "plus",
)


@dataclass(frozen=True, slots=True)
class MappingRow:
    """One row of the mapping table (spec §3.4): a foreign key and one AIPREF category.

    ``reads_n`` / ``reads_y``: the foreign "disallow" / "allow" value sets the category to
    ``n`` / ``y`` when importing. ``writes_n`` / ``writes_y``: the category's ``n`` / ``y``
    sets the foreign key to its disallow / allow value when exporting. A foreign key is written
    as disallowed if any of its rows writes ``n`` for a category that is ``n``; otherwise as
    allowed if any row writes ``y`` for a category that is ``y``.
    """

    scheme: Scheme
    key: str
    category: str
    reads_n: bool
    reads_y: bool
    writes_n: bool
    writes_y: bool
    note: str


def _row(scheme: Scheme, key: str, category: str, flags: str, note: str) -> MappingRow:
    # flags: four characters, "x" or "-", for reads_n, reads_y, writes_n, writes_y
    reads_n, reads_y, writes_n, writes_y = (f == "x" for f in flags)
    return MappingRow(scheme, key, category, reads_n, reads_y, writes_n, writes_y, note)


# spec §3.4. Principle: importing, a foreign disallow whose scope contains or overlaps the
# category disallows it ("any disallow wins"); a foreign allow sets "y" only when its scope
# contains the category. Exporting, "n" may widen into a broader foreign reservation (a
# conservative over-reservation); "y" is written only where the foreign scope is no broader.
MAPPING: Final[tuple[MappingRow, ...]] = (
    _row("tdmai", "all", "train-ai", "xx--", "automated processing contains AI training"),
    _row("tdmai", "all", "search", "xx--", "TDM·AI: opting out of all restricts search too"),
    _row("tdmai", "train-ai", "train-ai", "xx--", "any AI training contains generative"),
    _row("tdmai", "train-genai", "train-ai", "xxxx", "same scope: generative AI training"),
    _row("tdmai", "search", "search", "xxxx", "same scope"),
    _row("cawg", "cawg.data_mining", "train-ai", "x---", "a TDM reservation covers training"),
    _row("cawg", "cawg.ai_training", "train-ai", "x---", "conservative: related training use"),
    _row("cawg", "cawg.ai_generative_training", "train-ai", "xxxx", "same scope"),
    _row("tdmrep", "tdm-reservation", "train-ai", "xxx-", "1 reserves all TDM, 0 reserves none"),
    _row("robots", "noai", "train-ai", "x-x-", "no AI use of the content"),
    _row("robots", "noimageai", "train-ai", "x-x-", "no AI use of images (conservative)"),
    _row("robots", "noindex", "search", "x-x-", "not to be shown in search results"),
    _row("content-signals", "ai-train", "train-ai", "xxx-", "training or fine-tuning any model"),
    _row("content-signals", "search", "search", "xxxx", "same scope"),
    _row("ai-txt", "ai.txt", "train-ai", "xxx-", "AI datasets: training of any model"),
    _row("rsl", "all", "train-ai", "xx--", "every use contains AI training"),
    _row("rsl", "all", "search", "xx--", "every use contains search"),
    _row("rsl", "ai-all", "train-ai", "xx--", "every AI use contains AI training"),
    _row("rsl", "ai-train", "train-ai", "xxx-", "training or fine-tuning any model"),
    _row("rsl", "search", "search", "xxxx", "same scope"),
    _row("plus", "DMI-ALLOWED", "train-ai", "-x--", "all data mining allowed"),
    _row("plus", "DMI-ALLOWED", "search", "-x--", "all data mining allowed"),
    _row("plus", "DMI-PROHIBITED", "train-ai", "x---", "all data mining prohibited"),
    _row("plus", "DMI-PROHIBITED", "search", "x---", "indexing is data mining too"),
    _row("plus", "DMI-PROHIBITED-AIMLTRAINING", "train-ai", "x---", "any AI/ML training"),
    _row("plus", "DMI-PROHIBITED-GENAIMLTRAINING", "train-ai", "x-x-", "same scope"),
    _row("plus", "DMI-PROHIBITED-EXCEPTSEARCHENGINEINDEXING", "train-ai", "x---", "all but search"),
    _row("plus", "DMI-PROHIBITED-SEECONSTRAINT", "train-ai", "x---", "conservative: constrained"),
    _row("plus", "DMI-PROHIBITED-SEEEMBEDDEDRIGHTSEXPR", "train-ai", "x---", "conservative: terms"),
    _row("plus", "DMI-PROHIBITED-SEELINKEDRIGHTSEXPR", "train-ai", "x---", "conservative: terms"),
)

# spec §3.4.1: how each scheme writes "disallowed" and "allowed" ("" where it cannot).
SCHEME_VALUES: Final[dict[str, tuple[str, str]]] = {
    "tdmai": ('"false"', '"true"'),
    "cawg": ('"notAllowed" (or "constrained")', '"allowed"'),
    "tdmrep": ("1", "0"),
    "robots": ("directive present", ""),
    "content-signals": ("no", "yes"),
    "ai-txt": ("Disallow", "Allow"),
    "rsl": ('<prohibits type="usage">', '<permits type="usage">'),
    "plus": ("DMI-PROHIBITED... value", "DMI-ALLOWED value"),
}


def _rows(scheme: Scheme) -> tuple[MappingRow, ...]:
    return tuple(row for row in MAPPING if row.scheme == scheme)


def _import(scheme: Scheme, statement: Mapping[str, bool]) -> dict[str, str]:
    """Apply the table to foreign ``key -> allowed?`` facts; "any disallow wins"."""
    found: list[dict[str, str]] = []
    for row in _rows(scheme):
        allowed = statement.get(row.key)
        if allowed is False and row.reads_n:
            found.append({row.category: DISALLOW})
        elif allowed is True and row.reads_y:
            found.append({row.category: ALLOW})
    return combine(found)


def _export(scheme: Scheme, prefs: Mapping[str, str]) -> dict[str, bool]:
    """Apply the table the other way: ``key -> allowed?`` for the keys that get a value."""
    valid = validate_prefs(prefs)
    out: dict[str, bool] = {}
    for row in _rows(scheme):
        value = valid.get(row.category)
        if value == DISALLOW and row.writes_n:
            out[row.key] = False
        elif value == ALLOW and row.writes_y:
            out.setdefault(row.key, True)
    return dict(sorted(out.items()))


def from_tdmai(declaration: Mapping[str, object]) -> dict[str, str]:
    """Import a TDM·AI usage declaration (the flat ``key: "true"|"false"`` object).

    Keys ``all``, ``train-ai``, ``train-genai``, ``search`` are read per spec §3.4; other keys
    (``ai-use``, ``iscc``, ``intent``...) are ignored. Lossy: ``ai-use`` has no AIPREF category;
    TDM·AI's inheritance overrides (``all=false`` with ``train-genai=true``) are not honoured,
    any disallow wins. Values may be the strings ``"true"``/``"false"`` or JSON booleans.

    Raises:
        PreferenceError: a mapped key has another value.
    """
    facts: dict[str, bool] = {}
    keys = {row.key for row in _rows("tdmai")}
    for key, value in declaration.items():
        if key not in keys:
            continue
        if value in ("true", "false") or isinstance(value, bool):
            facts[key] = value is True or value == "true"
        else:
            raise PreferenceError(f"TDM·AI {key!r} must be 'true' or 'false'")
    return _import("tdmai", facts)


def to_tdmai(prefs: Mapping[str, str]) -> dict[str, str]:
    """Export to TDM·AI keys: ``train-ai`` -> ``train-genai``, ``search`` -> ``search``.

    Exact for the two AIPREF categories; unknown categories are dropped.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    return {k: "true" if v else "false" for k, v in _export("tdmai", prefs).items()}


_CAWG_USE: Final = {"allowed": True, "notAllowed": False, "constrained": False}


def from_cawg(assertion: Mapping[str, object]) -> dict[str, str]:
    """Import a CAWG ``cawg.training-mining`` assertion (``{"entries": {...}}``).

    Entries ``cawg.data_mining``, ``cawg.ai_training``, ``cawg.ai_generative_training`` are
    read per spec §3.4, as are the C2PA 1.x labels with the ``c2pa.`` prefix. ``constrained``
    counts as ``notAllowed`` (CAWG 1.1 §3.1). Lossy: ``cawg.ai_inference`` and custom entries
    are ignored; an allowed ``data_mining`` or ``ai_training`` says nothing about ``train-ai``.

    Raises:
        PreferenceError: ``entries`` is missing or not an object, or a mapped entry has no
            valid ``use``.
    """
    entries = assertion.get("entries")
    if not isinstance(entries, Mapping):
        raise PreferenceError("training-mining assertion has no 'entries' object")
    keys = {row.key for row in _rows("cawg")}
    facts: dict[str, bool] = {}
    for label, entry in entries.items():
        key = "cawg." + label[5:] if isinstance(label, str) and label[:5] == "c2pa." else label
        if key not in keys:
            continue
        use = entry.get("use") if isinstance(entry, Mapping) else None
        if not isinstance(use, str) or use not in _CAWG_USE:
            raise PreferenceError(f"training-mining entry {label!r} has no valid 'use'")
        facts[key] = _CAWG_USE[use] and facts.get(key, True)
    return _import("cawg", facts)


def to_cawg(prefs: Mapping[str, str]) -> dict[str, object]:
    """Export to a CAWG training-mining assertion: ``train-ai`` -> ``ai_generative_training``.

    Lossy: ``search`` and unknown categories have no CAWG entry and are dropped.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    entries = {
        key: {"use": "allowed" if allowed else "notAllowed"}
        for key, allowed in _export("cawg", prefs).items()
    }
    return {"entries": entries}


def from_tdmrep(fields: Mapping[str, object]) -> dict[str, str]:
    """Import W3C TDMRep properties (``tdm-reservation``, ``tdm-policy``).

    ``tdm-reservation`` 1 (all TDM rights reserved) -> ``train-ai=n``; 0 (not reserved) ->
    ``train-ai=y``; absent -> nothing. Integer or the header's text form ``"1"``/``"0"``. Lossy:
    ``tdm-policy`` (licensing offers) is ignored; TDMRep says nothing about search.

    Raises:
        PreferenceError: ``tdm-reservation`` is present with another value.
    """
    if "tdm-reservation" not in fields:
        return {}
    value = fields["tdm-reservation"]
    text = str(value) if type(value) is int else value
    if text in ("0", "1"):
        return _import("tdmrep", {"tdm-reservation": text == "0"})
    raise PreferenceError("tdm-reservation must be 0 or 1")


def to_tdmrep(prefs: Mapping[str, str]) -> dict[str, int]:
    """Export to TDMRep: ``train-ai=n`` -> ``{"tdm-reservation": 1}``, else ``{}``.

    Lossy and conservative: a reservation of AI training becomes a reservation of all TDM;
    ``train-ai=y`` is not written (it would waive all TDM rights); search is dropped.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    return dict.fromkeys(_export("tdmrep", prefs), 1)


def from_robots_tags(value: str) -> dict[str, str]:
    """Import robots meta / ``X-Robots-Tag`` directives (``"noindex, noai"``).

    Directives are comma separated and case-insensitive; ``noai`` and ``noimageai`` ->
    ``train-ai=n``, ``noindex`` -> ``search=n``; ``none`` means ``noindex`` too. Other
    directives, and directives scoped to a user agent (``"bot: noai"``), are ignored: the
    caller picks the group that applies. Lossy: these can only disallow.
    """
    tokens = {token.strip().lower() for token in value.split(",")}
    if "none" in tokens:
        tokens.add("noindex")
    return _import("robots", dict.fromkeys(tokens, False))


def to_robots_tags(prefs: Mapping[str, str]) -> str:
    """Export to robots directives: ``train-ai=n`` -> ``"noai, noimageai"``, ``search=n`` ->
    ``noindex``; sorted, comma separated; ``""`` if none apply. Lossy: ``y`` is not expressible.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    return ", ".join(_export("robots", prefs))


def from_content_signals(value: str) -> dict[str, str]:
    """Import a Cloudflare ``Content-Signal`` value (``"search=yes, ai-train=no"``).

    ``ai-train`` -> ``train-ai`` (``no`` -> ``n``; ``yes`` -> ``y``, training of any model
    includes generative), ``search`` -> ``search``. Lossy: ``ai-input`` and unknown signals are
    ignored. Names and values are compared case-insensitively; empty entries are skipped.

    Raises:
        PreferenceError: an entry is not ``name=value``, or a mapped signal's value is not
            ``yes`` or ``no``.
    """
    keys = {row.key for row in _rows("content-signals")}
    facts: dict[str, bool] = {}
    for entry in value.split(","):
        if not entry.strip():
            continue
        name, sep, signal = entry.partition("=")
        name, signal = name.strip().lower(), signal.strip().lower()
        if not sep or not name:
            raise PreferenceError(f"content signal {entry.strip()!r} is not name=value")
        if name not in keys:
            continue
        if signal not in ("yes", "no"):
            raise PreferenceError(f"content signal {name!r} must be 'yes' or 'no'")
        facts[name] = signal == "yes"
    return _import("content-signals", facts)


def to_content_signals(prefs: Mapping[str, str]) -> str:
    """Export to a ``Content-Signal`` value, sorted: e.g. ``"ai-train=no, search=yes"``.

    Lossy: ``train-ai=y`` is not written (``ai-train=yes`` would also allow non-generative
    training); ``ai-input`` is never written; unknown categories are dropped.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    exported = _export("content-signals", prefs)
    return ", ".join(f"{key}={'yes' if allowed else 'no'}" for key, allowed in exported.items())


def from_ai_txt(rule: str) -> dict[str, str]:
    """Import the ``ai.txt`` rule (Spawning) that applies to an asset: ``Disallow`` or ``Allow``.

    ``Disallow`` (AI datasets may not use it) -> ``train-ai=n``; ``Allow`` -> ``train-ai=y``
    (spec §3.4.2 item 7). Case-insensitive. Choosing the rule for a path (robots.txt syntax,
    the longest match wins) is the caller's.

    Raises:
        PreferenceError: ``rule`` is neither ``Allow`` nor ``Disallow``.
    """
    kind = rule.strip().lower()
    if kind not in ("allow", "disallow"):
        raise PreferenceError(f"ai.txt rule must be Allow or Disallow, not {rule!r}")
    return _import("ai-txt", {"ai.txt": kind == "allow"})


def to_ai_txt(prefs: Mapping[str, str]) -> str:
    """Export to an ``ai.txt`` rule: ``train-ai=n`` -> ``"Disallow"``; else ``""`` (no rule).

    Lossy: ``train-ai=y`` is not written (``Allow`` lets datasets use the asset for training
    of any model).

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    return "Disallow" if _export("ai-txt", prefs) else ""


_RSL_TOKEN: Final = re.compile(r"[a-z][a-z-]*")


def from_rsl(usage: Mapping[str, object]) -> dict[str, str]:
    """Import the usage tokens of an RSL 1.0 ``<license>``: ``{"permits": [...], "prohibits":
    [...]}`` (the whitespace-separated tokens of its ``<permits type="usage">`` and
    ``<prohibits type="usage">`` elements).

    ``all``, ``ai-all``, ``ai-train`` and ``search`` are read per spec §3.4; ``ai-input``,
    ``ai-index`` and unknown tokens are ignored. A token both permitted and prohibited is
    prohibited.

    Raises:
        PreferenceError: ``permits`` or ``prohibits`` is not a list of tokens.
    """
    facts: dict[str, bool] = {}
    for member, allowed in (("permits", True), ("prohibits", False)):
        tokens = usage.get(member, [])
        if not isinstance(tokens, list | tuple) or not all(
            isinstance(t, str) and _RSL_TOKEN.fullmatch(t) for t in tokens
        ):
            raise PreferenceError(f"RSL {member!r} must be a list of usage tokens")
        for token in tokens:
            facts[token] = allowed and facts.get(token, True)
    return _import("rsl", facts)


def to_rsl(prefs: Mapping[str, str]) -> dict[str, list[str]]:
    """Export to RSL usage tokens: ``{"permits": [...], "prohibits": [...]}``, sorted.

    ``train-ai=n`` -> ``ai-train`` prohibited; ``search`` both ways. Lossy: ``train-ai=y`` is
    not written (``ai-train`` covers training of any model); unknown categories are dropped.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    exported = _export("rsl", prefs)
    return {
        "permits": [key for key, allowed in exported.items() if allowed],
        "prohibits": [key for key, allowed in exported.items() if not allowed],
    }


PLUS_VOCAB: Final = "http://ns.useplus.org/ldf/vocab/"
"""The PLUS vocabulary's namespace: values of ``plus:DataMining`` are ``PLUS_VOCAB + code``."""
_PLUS_ALLOWED: Final = "DMI-ALLOWED"
_PLUS_SILENT: Final = frozenset({"DMI-UNSPECIFIED"})


def from_plus_data_mining(value: str) -> dict[str, str]:
    """Import an IPTC/PLUS ``plus:DataMining`` value (the PLUS vocabulary URI or its code).

    ``DMI-ALLOWED`` -> ``train-ai=y, search=y``; every ``DMI-PROHIBITED...`` value ->
    ``train-ai=n`` (and ``DMI-PROHIBITED`` also ``search=n``); ``DMI-UNSPECIFIED`` -> nothing.

    Raises:
        PreferenceError: the value is not in the PLUS Data Mining vocabulary.
    """
    code = value.strip()
    code = code[len(PLUS_VOCAB) :] if code.startswith(PLUS_VOCAB) else code
    if code in _PLUS_SILENT:
        return {}
    if code not in {row.key for row in _rows("plus")}:
        raise PreferenceError(f"{value!r} is not a PLUS Data Mining value")
    return _import("plus", {code: code == _PLUS_ALLOWED})


def to_plus_data_mining(prefs: Mapping[str, str]) -> str:
    """Export to a ``plus:DataMining`` value (a PLUS vocabulary URI), or ``""`` if none applies.

    ``train-ai=n`` -> ``DMI-PROHIBITED-GENAIMLTRAINING`` (same scope). Lossy: ``y`` is not
    written (``DMI-ALLOWED`` allows all data mining); ``search`` has no value of its own.

    Raises:
        PreferenceError: ``prefs`` is invalid.
    """
    exported = _export("plus", prefs)
    return PLUS_VOCAB + next(iter(exported)) if exported else ""
