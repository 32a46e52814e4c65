"""The binary batch check's answer format (spec §6.8.4), for crawlers checking millions of hashes.

Request: N raw 32-byte SHA-256 digests, concatenated. Answer: N status bytes, one per item in
request order, then details for the items that are known only, in the same order:

- status bit 0 (``KNOWN``): at least one current claim; bit 1 (``TRAIN_AI_N``): ``train-ai``
  resolves to ``n``; bit 2 (``TRAIN_AI_Y``): it resolves to ``y``; other bits are zero.
- per known item: ``u8`` P, then P times (``u8`` length, the category in ASCII, one byte ``y`` or
  ``n``), categories in ascending order; then ``u16`` D (big-endian), then D declaration ids of
  32 bytes each, ascending.

Pure: no I/O. :func:`encode_answers` is what a node sends, :func:`decode_answers` what a client
reads; both raise :class:`registry.core.errors.EncodingError` on malformed input.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Final, NamedTuple

from registry.core.errors import EncodingError

__all__ = [
    "KNOWN",
    "TRAIN_AI_N",
    "TRAIN_AI_Y",
    "CheckAnswer",
    "decode_answers",
    "encode_answers",
    "encode_hits",
    "split_digests",
]

KNOWN: Final = 0x01
TRAIN_AI_N: Final = 0x02
TRAIN_AI_Y: Final = 0x04
DIGEST: Final = 32


class CheckAnswer(NamedTuple):
    """What is known about one item: combined preferences and the declarations behind them."""

    prefs: dict[str, str]
    declarations: list[str]


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


def encode_answers(answers: Sequence[CheckAnswer | None]) -> bytes:
    """The answer body for items answered ``answers`` (None: nothing known), in order.

    Raises:
        EncodingError: as :func:`encode_hits`.
    """
    return encode_hits(len(answers), {i: a for i, a in enumerate(answers) if a is not None})


def encode_hits(count: int, hits: Mapping[int, CheckAnswer]) -> bytes:
    """The answer body for ``count`` items of which only those at the positions of ``hits``
    are known (the work is proportional to the hits, not to ``count``).

    Raises:
        EncodingError: a category is not 1-255 ASCII characters, a value not ``y``/``n``, a
            declaration id not 64 hex digits, or more than 65535 declarations.
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
        if len(ids) > 0xFFFF:
            raise EncodingError("too many declarations for one item")
        out += len(ids).to_bytes(2, "big")
        for declaration in ids:
            try:
                raw = bytes.fromhex(declaration)
            except ValueError:
                raw = b""
            if len(raw) != DIGEST:
                raise EncodingError(f"declaration id {declaration!r} is not 64 hex digits")
            out += raw
    return bytes(out)


def decode_answers(data: bytes, count: int) -> list[CheckAnswer | None]:
    """Read an answer body for ``count`` items: one :class:`CheckAnswer` or None per item.

    Raises:
        EncodingError: the body is truncated, too long, or its status bytes are invalid.
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
        ids = [take(DIGEST).hex() for _ in range(int.from_bytes(take(2), "big"))]
        if _status(CheckAnswer(prefs, ids)) != status:
            raise EncodingError(f"status byte {status:#04x} disagrees with the details")
        out.append(CheckAnswer(prefs, ids))
    if position != len(data):
        raise EncodingError("unexpected bytes after the answer")
    return out
