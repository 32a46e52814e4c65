"""ISCC Content-Codes as 64-bit Hamming hashes, and an index of them per content kind.

How an ISCC string maps to bits (ISO 24138 / iscc-core codec; ADR 0006 §ISCC):

- A code in a record is ``ISCC:`` then RFC 4648 base32 without padding (spec §2.4). Decoded, it
  is an ISCC-HEADER then an ISCC-BODY.
- The header is four *varnibbles*: MainType, SubType, Version, Length. A varnibble is one to
  four 4-bit groups: ``0xxx`` (0-7), ``10xxxxxx`` (8-71), ``110x xxxxxxxx`` (72-583),
  ``1110 xxxxxxxxxxxx`` (584-4679). An odd number of nibbles is padded with ``0000``.
- A Content-Code *unit* has MainType CONTENT (2); its SubType says what was hashed: TEXT (0),
  IMAGE (1), AUDIO (2), VIDEO (3), MIXED (4). Its Length ``L`` means ``32 * (L + 1)`` body bits.
  Longer codes extend shorter ones (the first 64 bits of a 256-bit Text-Code are the 64-bit
  Text-Code), so we compare the first 64 body bits.
- A composite ISCC-CODE has MainType ISCC (5); SubType TEXT..MIXED names its content kind and
  Length is a set of flags of the optional 64-bit units present (1: CONTENT, 2: SEMANTIC,
  4: META). The body holds those units in MainType order (META, SEMANTIC, CONTENT), each 64
  bits, then the 64-bit Data-Code and Instance-Code. SubTypes SUM, NONE and WIDE carry no
  Content-Code.
- Similarity is the Hamming distance between the 64-bit bodies, meaningful only between codes
  of the same MainType/SubType: :class:`IsccIndex` keeps one :class:`HammingIndex` per SubType.
"""

from __future__ import annotations

import base64
import binascii
import re
from collections.abc import Sequence
from typing import Final, NamedTuple

import numpy as np

from registry.neardup.errors import InvalidIsccError
from registry.neardup.hamming import DEFAULT_TAIL_SIZE, HammingIndex, Match

__all__ = [
    "CONTENT_SUBTYPES",
    "ISCC_MAX_DISTANCE",
    "IsccContent",
    "IsccIndex",
    "iscc_content",
]

MAIN_CONTENT: Final = 2
MAIN_ISCC: Final = 5
CONTENT_SUBTYPES: Final = {0: "text", 1: "image", 2: "audio", 3: "video", 4: "mixed"}
"""Content-Code SubTypes (ISO 24138 ST_CC); composite ISCC-CODE SubTypes 0-4 mean the same."""

ISCC_MAX_DISTANCE: Final = 12
"""Default radius in bits over the 64-bit body: a policy choice (unrelated texts sit near 32)."""

_FLAG_CONTENT: Final = 1
_FLAG_SEMANTIC: Final = 2
_FLAG_META: Final = 4
_CODE = re.compile(r"ISCC:[A-Z2-7]{16,123}")


class IsccContent(NamedTuple):
    """The comparable part of an ISCC: Content-Code SubType and the first 64 body bits."""

    subtype: int
    body: bytes


def _nibbles(data: bytes) -> list[int]:
    return [n for byte in data[:8] for n in (byte >> 4, byte & 0xF)]


def _read_header(data: bytes) -> tuple[tuple[int, int, int, int], bytes]:
    """Decode the four varnibbles; return (MainType, SubType, Version, Length) and the body."""
    nibbles = _nibbles(data)
    fields: list[int] = []
    pos = 0
    for _ in range(4):
        if pos >= len(nibbles):
            raise InvalidIsccError("ISCC header is truncated")
        first = nibbles[pos]
        size = 1 if first < 0b1000 else 2 if first < 0b1100 else 3 if first < 0b1110 else 4
        if first == 0b1111 or pos + size > len(nibbles):
            raise InvalidIsccError("ISCC header has an invalid varnibble")
        value = 0
        for nibble in nibbles[pos : pos + size]:
            value = value << 4 | nibble
        data_bits = 3 * size
        offset = (0, 0, 8, 72, 584)[size]
        fields.append((value & ((1 << data_bits) - 1)) + offset)
        pos += size
    if pos % 2:
        if nibbles[pos] != 0:
            raise InvalidIsccError("ISCC header padding is not zero")
        pos += 1
    main, sub, version, length = fields
    return (main, sub, version, length), data[pos // 2 :]


def iscc_content(code: str) -> IsccContent:
    """The Content-Code SubType and 64-bit body of an ISCC Content-Code unit or ISCC-CODE.

    Raises :class:`InvalidIsccError` for a malformed code, an unknown version, or a code that
    has no Content-Code (Meta-, Data-, Instance-Codes, ISCC-IDs, SUM/NONE/WIDE ISCC-CODEs).
    """
    if not isinstance(code, str) or not _CODE.fullmatch(code):
        raise InvalidIsccError(f"not 'ISCC:' and base32: {str(code)[:80]!r}")
    text = code[5:]
    try:
        data = base64.b32decode(text + "=" * (-len(text) % 8))
    except binascii.Error as exc:
        raise InvalidIsccError(f"invalid base32 in {code[:80]!r}") from exc
    (main, sub, version, length), body = _read_header(data)
    if version != 0:
        raise InvalidIsccError(f"unsupported ISCC version {version}")
    if main == MAIN_CONTENT:
        if sub not in CONTENT_SUBTYPES:
            raise InvalidIsccError(f"unknown Content-Code SubType {sub}")
        bits = 32 * (length + 1)
        if bits < 64 or len(body) != bits // 8:
            raise InvalidIsccError(f"a Content-Code of {bits} bits cannot be compared on 64")
        return IsccContent(sub, body[:8])
    if main == MAIN_ISCC:
        if sub not in CONTENT_SUBTYPES or not length & _FLAG_CONTENT or length > 7:
            raise InvalidIsccError("this ISCC-CODE has no Content-Code unit")
        before = bool(length & _FLAG_META) + bool(length & _FLAG_SEMANTIC)
        units = before + 1 + 2  # the optional units, then Data-Code and Instance-Code
        if len(body) != 8 * units:
            raise InvalidIsccError("ISCC-CODE body length does not match its header")
        return IsccContent(sub, body[8 * before : 8 * before + 8])
    raise InvalidIsccError(f"ISCC MainType {main} is not a Content-Code or ISCC-CODE")


class IsccIndex:
    """Exact Hamming-radius search over ISCC Content-Codes, one 64-bit index per SubType."""

    def __init__(
        self, *, max_distance: int = ISCC_MAX_DISTANCE, tail_size: int = DEFAULT_TAIL_SIZE
    ) -> None:
        self.max_distance = max_distance
        self._tail_size = tail_size
        self._indexes: dict[int, HammingIndex] = {}

    def _index(self, subtype: int) -> HammingIndex:
        if subtype not in self._indexes:
            self._indexes[subtype] = HammingIndex(
                bits=64, max_distance=self.max_distance, tail_size=self._tail_size
            )
        return self._indexes[subtype]

    def add(self, code: str, payload: int) -> IsccContent:
        """Index a code's Content-Code under ``payload``; return what was indexed.

        Raises :class:`InvalidIsccError` (see :func:`iscc_content`).
        """
        content = iscc_content(code)
        self._index(content.subtype).add(content.body, payload)
        return content

    def search(self, code: str, *, max_distance: int | None = None) -> list[Match]:
        """Items of the same SubType within ``max_distance`` bits, by (distance, payload)."""
        content = iscc_content(code)
        index = self._indexes.get(content.subtype)
        if index is None:
            return []
        return index.search(content.body, max_distance=max_distance)

    def search_many(
        self, codes: Sequence[str], *, max_distance: int | None = None, workers: int = 1
    ) -> list[list[Match]]:
        """One match list per code; each SubType's queries are searched as one batch
        (split over ``workers`` threads, as :meth:`HammingIndex.search_arrays`)."""
        contents = [iscc_content(code) for code in codes]
        out: list[list[Match]] = [[] for _ in codes]
        for subtype, index in self._indexes.items():
            positions = [i for i, c in enumerate(contents) if c.subtype == subtype]
            if not positions:
                continue
            raw = b"".join(contents[i].body for i in positions)
            words = np.frombuffer(raw, dtype=">u8").astype(np.uint64).reshape(-1, 1)
            found = index.search_arrays(words, max_distance=max_distance, workers=workers)
            for local, matches in enumerate(found.per_query(len(positions))):
                out[positions[local]] = matches
        return out

    def __len__(self) -> int:
        return sum(len(index) for index in self._indexes.values())

    @property
    def nbytes(self) -> int:
        """Bytes held by all SubType indexes."""
        return sum(index.nbytes for index in self._indexes.values())
