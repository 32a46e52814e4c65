"""The binary batch check's answer format (spec §6.8.4), for crawlers checking millions of hashes.

Request: N raw 32-byte SHA-256 digests, concatenated. Answer: N status bytes, one per item in
request order, then details for the items that are known only, in the same order:

- status bit 0 (``KNOWN``): at least one current claim; bit 1 (``TRAIN_AI_N``): ``train-ai``
  resolves to ``n``; bit 2 (``TRAIN_AI_Y``): it resolves to ``y``; other bits are zero.
- per known item: ``u8`` P, then P times (``u8`` length, the category in ASCII, one byte ``y`` or
  ``n``), categories in ascending order; then ``u16`` D (big-endian), then D declaration ids of
  32 bytes each, ascending.
- with identity (``?identity=1``, ADR 0023), after each known item's D ids and for each of those
  D declarations in the same order, its claim's identity (spec §9.4.5): ``u16`` L and L bytes of
  the level in printable ASCII (``none``, ``domain:HOST``, ``platform:NAME``); ``u8`` flags (bit
  0: counted under the policy, other bits zero); ``u16`` E and E evidence record ids; ``u16`` K
  and K counter-statement ids (``disputed_by``); ids 32 bytes each, ascending. Every count is
  big-endian.

Pure: no I/O. :func:`encode_answers` is what a node sends, :func:`decode_answers` what a client
reads; both raise :class:`registry.core.errors.EncodingError` on malformed input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from registry.core.errors import EncodingError

__all__ = [
    "COUNTED",
    "KNOWN",
    "TRAIN_AI_N",
    "TRAIN_AI_Y",
    "CheckAnswer",
    "CheckClaim",
    "decode_answers",
    "encode_answers",
    "encode_hits",
    "split_digests",
]

KNOWN: Final = 0x01
TRAIN_AI_N: Final = 0x02
TRAIN_AI_Y: Final = 0x04
DIGEST: Final = 32
COUNTED: Final = 0x01
"""Bit 0 of a claim's flags (spec §6.8.4): the claim counts under the policy (§9.4.7)."""
MAX_COUNT: Final = 0xFFFF


class CheckClaim(NamedTuple):
    """The identity of one declaration's claim about an item (spec §9.4.5), as the JSON batch
    check gives it: level, evidence ids, whether it counts, counter-statement ids."""

    declaration: str
    level: str
    evidence: list[str]
    counted: bool
    disputed_by: list[str]


class CheckAnswer(NamedTuple):
    """What is known about one item: combined preferences and the declarations behind them;
    ``claims`` (one per declaration, in the order of the sorted ids) only in an answer with
    identity, None otherwise."""

    prefs: dict[str, str]
    declarations: list[str]
    claims: list[CheckClaim] | None = None


def split_digests(body: bytes) -> list[str]:
    """The lowercase hex SHA-256s of a request body of concatenated 32-byte digests.

    Raises:
        EncodingError: the body's length is not a multiple of 32.
    """
    if len(body) % DIGEST:
        raise EncodingError(f"the body must be 32-byte SHA-256 digests; got {len(body)} bytes")
    return [body[i : i + DIGEST].hex() for i in range(0, len(body), DIGEST)]


def _status(answer: CheckAnswer) -> int:
    value = answer.prefs.get("train-ai")
    return KNOWN | (TRAIN_AI_N if value == "n" else TRAIN_AI_Y if value == "y" else 0)


def encode_answers(answers: Sequence[CheckAnswer | None], *, identity: bool = False) -> bytes:
    """The answer body for items answered ``answers`` (None: nothing known), in order.

    Raises:
        EncodingError: as :func:`encode_hits`.
    """
    hits = {i: a for i, a in enumerate(answers) if a is not None}
    return encode_hits(len(answers), hits, identity=identity)


def _raw_id(value: str, what: str) -> bytes:
    try:
        raw = bytes.fromhex(value)
    except ValueError:
        raw = b""
    if len(raw) != DIGEST:
        raise EncodingError(f"{what} {value!r} is not 64 hex digits")
    return raw


def _put_ids(out: bytearray, ids: Sequence[str], what: str) -> None:
    """A ``u16`` count, then the ids ascending, 32 raw bytes each."""
    if len(ids) > MAX_COUNT:
        raise EncodingError(f"more than {MAX_COUNT} {what}s")
    out += len(ids).to_bytes(2, "big")
    for value in sorted(ids):
        out += _raw_id(value, what)


def _put_claims(out: bytearray, ids: list[str], claims: list[CheckClaim] | None) -> None:
    """The identity section of one item (spec §6.8.4): one entry per declaration id."""
    if claims is None:
        raise EncodingError("an answer with identity needs the claims of every known item")
    ordered = sorted(claims, key=lambda c: c.declaration)
    if [c.declaration for c in ordered] != ids:
        raise EncodingError("the claims must be those of the item's declarations, one each")
    for claim in ordered:
        if not 0 < len(claim.level) <= MAX_COUNT or not _printable(claim.level):
            raise EncodingError(f"level {claim.level!r} cannot be encoded")
        out += len(claim.level).to_bytes(2, "big")
        out += claim.level.encode("ascii")
        out.append(COUNTED if claim.counted else 0)
        if claim.evidence or claim.disputed_by:
            _put_ids(out, claim.evidence, "evidence id")
            _put_ids(out, claim.disputed_by, "counter-statement id")
        else:
            out += b"\x00\x00\x00\x00"  # the common unverified claim: no ids either way


def _printable(text: str) -> bool:
    """Printable ASCII without space (``0x21``-``0x7e``), the characters of a level."""
    return text.isascii() and text.isprintable() and " " not in text


def encode_hits(count: int, hits: Mapping[int, CheckAnswer], *, identity: bool = False) -> bytes:
    """The answer body for ``count`` items of which only those at the positions of ``hits``
    are known (the work is proportional to the hits, not to ``count``); with ``identity``,
    each known item's claims follow its declaration ids (spec §6.8.4).

    Raises:
        EncodingError: a category is not 1-255 ASCII characters, a value not ``y``/``n``, a
            declaration id not 64 hex digits, or more than 65535 declarations; with
            ``identity``: an item without claims or whose claims are not one per declaration,
            a level not 1-65535 printable ASCII characters, an evidence or counter-statement
            id not 64 hex digits, or more than 65535 of them on a claim.
    """
    out = bytearray(count)
    for position, answer in hits.items():
        out[position] = _status(answer)
    for _, answer in sorted(hits.items()):
        out.append(len(answer.prefs))
        for category, value in sorted(answer.prefs.items()):
            name = category.encode("ascii", "replace")
            if not 0 < len(name) < 256 or value not in ("y", "n"):
                raise EncodingError(f"preference {category!r}={value!r} cannot be encoded")
            out.append(len(name))
            out += name
            out += value.encode()
        ids = sorted(answer.declarations)
        _put_ids(out, ids, "declaration id")
        if identity:
            _put_claims(out, ids, answer.claims)
    return bytes(out)


def decode_answers(data: bytes, count: int, *, identity: bool = False) -> list[CheckAnswer | None]:
    """Read an answer body for ``count`` items: one :class:`CheckAnswer` or None per item;
    ``identity``: the body carries the claims' identity (``?identity=1``), read into
    :attr:`CheckAnswer.claims`.

    Raises:
        EncodingError: the body is truncated, too long, or its status bytes, a level or a
            claim's flags are invalid.
    """
    if len(data) < count:
        raise EncodingError(f"expected {count} status bytes, got {len(data)} bytes")
    statuses = data[:count]
    position = count
    out: list[CheckAnswer | None] = []

    def take(n: int) -> bytes:
        nonlocal position
        if position + n > len(data):
            raise EncodingError("the answer is truncated")
        chunk = data[position : position + n]
        position += n
        return chunk

    def ids_of() -> list[str]:
        return [take(DIGEST).hex() for _ in range(int.from_bytes(take(2), "big"))]

    def claim_of(declaration: str) -> CheckClaim:
        raw = take(int.from_bytes(take(2), "big"))
        level = raw.decode("ascii") if raw.isascii() else ""
        if not level or not _printable(level):
            raise EncodingError(f"invalid level {raw!r}")
        flags = take(1)[0]
        if flags & ~COUNTED:
            raise EncodingError(f"invalid claim flags {flags:#04x}")
        evidence = ids_of()
        return CheckClaim(declaration, level, evidence, bool(flags), ids_of())

    for status in statuses:
        if status & ~(KNOWN | TRAIN_AI_N | TRAIN_AI_Y) or (status and not status & KNOWN):
            raise EncodingError(f"invalid status byte {status:#04x}")
        if not status:
            out.append(None)
            continue
        prefs: dict[str, str] = {}
        for _ in range(take(1)[0]):
            name = take(take(1)[0]).decode("ascii", "replace")
            value = take(1).decode("ascii", "replace")
            if value not in ("y", "n"):
                raise EncodingError(f"invalid preference value {value!r}")
            prefs[name] = value
        ids = ids_of()
        if _status(CheckAnswer(prefs, ids)) != status:
            raise EncodingError(f"status byte {status:#04x} disagrees with the details")
        out.append(CheckAnswer(prefs, ids, [claim_of(d) for d in ids] if identity else None))
    if position != len(data):
        raise EncodingError("unexpected bytes after the answer")
    return out
