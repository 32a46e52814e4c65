"""Offline snapshots: a signed binary fuse filter of every reserved subject (spec §8).

A node publishes the set of subjects (spec §3.5.1) whose resolved ``train-ai`` preference is
``n`` at one size of its log as a compact filter (spec §8.4): a binary fuse filter (Graf and
Lemire, "Binary Fuse Filters: Fast and Smaller Than Xor Filters", 2022) with 8- or 16-bit
fingerprints. A crawler downloads it once, checks items locally and asks the node only about
the filter's hits: a member always hits (no false negatives); a non-member hits with
probability ``2^-bits`` (the false-positive rate stated in the header).

The snapshot file (spec §8.6) is ``u32be(len(note)) || note || filter bytes``; the note is a
C2SP signed note (spec §5.1) over a small text header (spec §8.3) that binds the log origin,
the tree size and root hash, the filter parameters, the seed and the SHA-256 of the filter
bytes. Snapshots form chains (spec §8.7): one full snapshot and deltas that only add.

This module is pure: building (:func:`build_filter`, :func:`make_snapshot`), parsing and
verification (:func:`open_snapshot`, :func:`verify_chain`) and single-item lookups. Batch
lookups with NumPy live outside the core (:mod:`consent.snapshot_numpy`).

Errors: :class:`SnapshotError` for anything wrong with a snapshot's container, header, filter
or chain; :class:`NoteError` / :class:`UnverifiedNoteError` / :class:`KeyFormatError` from
:mod:`registry.core.note` for its signatures.
"""

from __future__ import annotations

import array
import hashlib
import math
import re
import sys
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Final, Literal, Protocol

from registry.core.checkpoint import MAX_TREE_SIZE, Checkpoint
from registry.core.encoding import b64decode, b64encode
from registry.core.errors import EncodingError, SnapshotError
from registry.core.note import NoteSigner, NoteVerifier, open_note, parse_note, sign_note

__all__ = [
    "DEFAULT_CATEGORY",
    "FINGERPRINT_BITS",
    "FORMAT_LINE",
    "MAX_ITEMS",
    "MAX_NOTE_BYTES",
    "URL_KEY_LABEL",
    "BinaryFuseFilter",
    "Slots",
    "Snapshot",
    "SnapshotChain",
    "SnapshotHeader",
    "assign",
    "build_filter",
    "encode_snapshot",
    "fuse_filter",
    "make_snapshot",
    "open_snapshot",
    "parse_snapshot",
    "peel",
    "sha256_key",
    "split_snapshot",
    "subject_key",
    "url_key",
    "verify_chain",
]

FORMAT_LINE: Final = "consent-registry/snapshot/v1"
"""First line of every snapshot header (spec §8.3); it also keeps a snapshot note from ever
parsing as a checkpoint, whose second line is a decimal size."""

FINGERPRINT_BITS: Final = (8, 16)
"""Allowed fingerprint widths (spec §8.4.1)."""

DEFAULT_CATEGORY: Final = "train-ai"
"""The usage category whose reservations a snapshot holds unless stated otherwise (§8.1)."""

MAX_ITEMS: Final = (1 << 31) - 1
"""Most items one filter may hold (spec §8.4.1; keeps the array length below 2^32)."""

MAX_NOTE_BYTES: Final = 65_536
"""Largest signed note a snapshot file may carry (spec §8.6): the header and cosignatures."""

MAX_ATTEMPTS: Final = 100
"""Seeds tried by :func:`build_filter` before giving up (spec §8.4.3)."""

URL_KEY_LABEL: Final = b"consent-registry/snapshot url\n"
"""Domain separation label of URL keys (spec §8.2)."""

SEED_LABEL: Final = b"consent-registry/snapshot seed\n"
"""Domain separation label of the seed derivation (spec §8.4.3)."""

_M64: Final = (1 << 64) - 1
_MAX_SEGMENT_LENGTH: Final = 1 << 18
_MAX_ARRAY_LENGTH: Final = 1 << 32
_LENGTH_PREFIX: Final = 4
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_HEX16: Final = re.compile(r"[0-9a-f]{16}")
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_CATEGORY: Final = re.compile(r"[a-z*][a-z0-9_.*-]{0,63}")  # spec §3.1 item 1

Kind = Literal["full", "delta"]


# -- keys (spec §8.2) -------------------------------------------------------------------------


def sha256_key(digest: bytes | str) -> int:
    """The 64-bit key of a work's SHA-256 (spec §8.2): its first 8 bytes, big-endian.

    ``digest`` is the 32 raw bytes or 64 lowercase hex characters.

    Raises:
        SnapshotError: ``digest`` is not a SHA-256 in either form.
    """
    if isinstance(digest, str):
        if not _HEX64.fullmatch(digest):
            raise SnapshotError("a work SHA-256 must be 64 lowercase hex characters")
        return int(digest[:16], 16)
    if len(digest) != 32:
        raise SnapshotError(f"a work SHA-256 must be 32 bytes, got {len(digest)}")
    return int.from_bytes(digest[:8], "big")


def url_key(url: str) -> int:
    """The 64-bit key of a normalised URL (spec §8.2).

    ``be64(SHA-256("consent-registry/snapshot url\\n" || UTF-8(url))[0:8])``. The URL must
    already be normalised (spec §2); this function does not normalise it.

    Raises:
        SnapshotError: the URL is not encodable as UTF-8 (a lone surrogate).
    """
    try:
        data = url.encode("utf-8")
    except UnicodeEncodeError as exc:
        raise SnapshotError("a URL must be valid UTF-8") from exc
    return int.from_bytes(hashlib.sha256(URL_KEY_LABEL + data).digest()[:8], "big")


def subject_key(kind: str, value: str) -> int:
    """The key of a subject ``("sha256", hex)`` or ``("url", normalised URL)`` (spec §8.2).

    Raises:
        SnapshotError: unknown kind, or a value that is not valid for its kind.
    """
    if kind == "sha256":
        return sha256_key(value)
    if kind == "url":
        return url_key(value)
    raise SnapshotError(f"unknown subject kind {kind!r}")


# -- the filter (spec §8.4) -------------------------------------------------------------------


def _sizing(items: int) -> tuple[int, int, int]:
    """Recommended (segment length, segment count, array length) for ``items`` keys (§8.4.3)."""
    if items == 0:
        return 0, 0, 0
    exponent = math.floor(math.log(items) / math.log(3.33) + 2.25)
    segment_length = min(_MAX_SEGMENT_LENGTH, max(4, 1 << exponent))
    factor = 2.0 if items == 1 else max(1.125, 0.875 + 0.25 * math.log(1e6) / math.log(items))
    capacity = round(items * factor)
    segment_count = max(1, -(-capacity // segment_length) - 2)
    return segment_length, segment_count, (segment_count + 2) * segment_length


def _check_parameters(
    bits: int, items: int, segment_length: int, segment_count: int, array_length: int
) -> None:
    """spec §8.4.1: the filter parameters are consistent."""
    if bits not in FINGERPRINT_BITS:
        raise SnapshotError(f"fingerprint width {bits} is not 8 or 16")
    if not 0 <= items <= MAX_ITEMS:
        raise SnapshotError(f"item count {items} is out of range 0..2^31-1")
    if items == 0:
        if (segment_length, segment_count, array_length) != (0, 0, 0):
            raise SnapshotError("an empty filter has segment length, count and array length 0")
        return
    if segment_length < 4 or segment_length > _MAX_SEGMENT_LENGTH:
        raise SnapshotError(f"segment length {segment_length} is out of range 4..2^18")
    if segment_length & (segment_length - 1):
        raise SnapshotError(f"segment length {segment_length} is not a power of two")
    if segment_count < 1:
        raise SnapshotError("segment count must be at least 1")
    if array_length != (segment_count + 2) * segment_length:
        raise SnapshotError("array length must be (segment count + 2) * segment length")
    if array_length >= _MAX_ARRAY_LENGTH:
        raise SnapshotError("array length must be below 2^32")
    if items > array_length:
        raise SnapshotError("a filter cannot hold more items than it has slots")


class BinaryFuseFilter:
    """A 3-wise binary fuse filter over 64-bit keys (spec §8.4), read-only once built.

    Build one with :func:`build_filter`, or from stated parameters and bytes with the
    constructor (which checks them). :meth:`contains` is the lookup of spec §8.4.2.
    """

    __slots__ = (
        "_slots",
        "array_length",
        "data",
        "fingerprint_bits",
        "items",
        "seed",
        "segment_count",
        "segment_length",
    )

    def __init__(
        self,
        *,
        fingerprint_bits: int,
        seed: int,
        items: int,
        segment_length: int,
        segment_count: int,
        array_length: int,
        data: bytes,
    ) -> None:
        """Wrap filter bytes with their parameters.

        Raises:
            SnapshotError: inconsistent parameters (spec §8.4.1), a seed outside 0..2^64-1,
                or ``data`` not ``array_length * fingerprint_bits / 8`` bytes long.
        """
        _check_parameters(fingerprint_bits, items, segment_length, segment_count, array_length)
        if not 0 <= seed <= _M64:
            raise SnapshotError("seed must be a 64-bit unsigned integer")
        if len(data) != array_length * fingerprint_bits // 8:
            raise SnapshotError(
                f"filter is {len(data)} bytes, parameters say "
                f"{array_length * fingerprint_bits // 8}"
            )
        self.fingerprint_bits = fingerprint_bits
        self.seed = seed
        self.items = items
        self.segment_length = segment_length
        self.segment_count = segment_count
        self.array_length = array_length
        self.data = bytes(data)
        self._slots: bytes | array.array[int] = self.data
        if fingerprint_bits == 16:
            # spec §8.4.1: 16-bit fingerprints are stored little-endian
            slots = array.array("H", self.data)
            if sys.byteorder == "big":  # pragma: no cover - only on big-endian machines
                slots.byteswap()
            self._slots = slots

    @property
    def fpr(self) -> float:
        """The stated false-positive rate, ``2^-fingerprint_bits`` (spec §8.4.4)."""
        return 1.0 / (1 << self.fingerprint_bits)

    @property
    def bits_per_entry(self) -> float:
        """Filter bits per item (0.0 for an empty filter)."""
        return 8 * len(self.data) / self.items if self.items else 0.0

    def contains(self, key: int) -> bool:
        """True if ``key`` may be in the set; False means it certainly is not (spec §8.4.2).

        ``key`` must be a 64-bit key from :func:`sha256_key`, :func:`url_key` or
        :func:`subject_key`.
        """
        if self.items == 0:
            return False
        h = (key + self.seed) & _M64  # spec §8.4.2 step 1, as in _hashes
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & _M64
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & _M64
        h ^= h >> 33
        length = self.segment_length
        mask = length - 1
        h0 = (h * (self.segment_count * length)) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + 2 * length) ^ (h & mask)
        fingerprint = (h ^ (h >> 32)) & ((1 << self.fingerprint_bits) - 1)
        slots = self._slots
        return fingerprint == slots[h0] ^ slots[h1] ^ slots[h2]


def _seed(seed_material: bytes, attempt: int) -> int:
    """spec §8.4.3: ``be64(SHA-256(label || seed material || be32(attempt))[0:8])``."""
    digest = hashlib.sha256(SEED_LABEL + seed_material + attempt.to_bytes(4, "big")).digest()
    return int.from_bytes(digest[:8], "big")


def _hashes(keys: Sequence[int], seed: int) -> list[int]:
    """spec §8.4.2 step 1 for every key: the MurmurHash3 64-bit finaliser of ``key + seed``
    (mod 2^64), inlined, since construction spends much of its time here."""
    out: list[int] = []
    append = out.append
    for key in keys:
        h = (key + seed) & _M64
        h ^= h >> 33
        h = (h * 0xFF51AFD7ED558CCD) & _M64
        h ^= h >> 33
        h = (h * 0xC4CEB9FE1A85EC53) & _M64
        append(h ^ (h >> 33))
    return out


class Slots(Protocol):
    """An integer array indexed by slot: a ``list``, or a ``memoryview`` of a typed array."""

    def __getitem__(self, index: int, /) -> int: ...

    def __setitem__(self, index: int, value: int, /) -> None: ...


def peel(
    count: Slots,
    xor: Slots,
    queue: list[int] | array.array[int],
    order: Slots,
    peeled: Slots,
    *,
    span: int,
    length: int,
) -> int:
    """spec §8.4.3 steps 3-4: peel the 3-hypergraph whose slot key counts are ``count`` and
    slot XORs of key hashes ``xor`` (both consumed), starting from ``queue`` (the slots of
    count 1 in ascending order, popped from the end). Writes the key hashes in peeling order
    to ``order`` and the slot each was peeled from to ``peeled``; returns how many were
    peeled (fewer than the keys: the peel got stuck)."""
    double = 2 * length
    mask = length - 1
    pop, push = queue.pop, queue.append
    done = 0
    while queue:
        slot = pop()
        if count[slot] != 1:
            continue
        h = xor[slot]  # the one key hash left in this slot
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + double) ^ (h & mask)
        count[h0] -= 1
        count[h1] -= 1
        count[h2] -= 1
        xor[h0] ^= h
        xor[h1] ^= h
        xor[h2] ^= h
        if count[h0] == 1:
            push(h0)
        if count[h1] == 1:
            push(h1)
        if count[h2] == 1:
            push(h2)
        order[done] = h
        peeled[done] = slot
        done += 1
    return done


def assign(
    slots: Slots, order: Slots, peeled: Slots, *, items: int, span: int, length: int, bits: int
) -> None:
    """spec §8.4.3 step 5: fill ``slots`` (all 0) with fingerprints, in reverse peeling order."""
    double = 2 * length
    mask = length - 1
    fingerprint_mask = (1 << bits) - 1
    for index in range(items - 1, -1, -1):
        h = order[index]
        slot = peeled[index]
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + double) ^ (h & mask)
        # slots[slot] is still 0 here, so XOR-ing all three positions is the other two
        slots[slot] = ((h ^ (h >> 32)) & fingerprint_mask) ^ slots[h0] ^ slots[h1] ^ slots[h2]


def _try_build(
    keys: Sequence[int], seed: int, segment_length: int, segment_count: int, bits: int
) -> bytes | None:
    """One construction attempt (spec §8.4.3): the filter's bytes, or None if peeling got
    stuck."""
    length = segment_length
    double = 2 * length
    mask = length - 1
    span = segment_count * length
    array_length = span + double
    count = [0] * array_length
    xor = [0] * array_length
    for h in _hashes(keys, seed):
        h0 = (h * span) >> 64
        h1 = (h0 + length) ^ ((h >> 18) & mask)
        h2 = (h0 + double) ^ (h & mask)
        count[h0] += 1
        count[h1] += 1
        count[h2] += 1
        xor[h0] ^= h
        xor[h1] ^= h
        xor[h2] ^= h
    queue = [i for i, c in enumerate(count) if c == 1]
    order, peeled = [0] * len(keys), [0] * len(keys)
    if peel(count, xor, queue, order, peeled, span=span, length=length) != len(keys):
        return None
    slots = count  # every count is 0 now: reuse the list as the fingerprint array
    assign(slots, order, peeled, items=len(keys), span=span, length=length, bits=bits)
    if bits == 8:
        return bytes(slots)
    packed = array.array("H", slots)
    if sys.byteorder == "big":  # pragma: no cover - only on big-endian machines
        packed.byteswap()
    return packed.tobytes()


def fuse_filter(
    items: int,
    fingerprint_bits: int,
    seed_material: bytes,
    attempt: Callable[[int, int, int], bytes | None],
) -> BinaryFuseFilter:
    """The filter of ``items`` distinct keys (spec §8.4.3): sized, then ``attempt(seed,
    segment_length, segment_count)`` for each seed in turn until it returns the filter's
    bytes (None: the peel got stuck). Every construction of the filter goes through here.

    Raises:
        SnapshotError: no seed among :data:`MAX_ATTEMPTS` peels the keys.
    """
    segment_length, segment_count, array_length = _sizing(items)
    if not items:
        return BinaryFuseFilter(
            fingerprint_bits=fingerprint_bits,
            seed=0,
            items=0,
            segment_length=0,
            segment_count=0,
            array_length=0,
            data=b"",
        )
    for number in range(MAX_ATTEMPTS):
        seed = _seed(seed_material, number)
        data = attempt(seed, segment_length, segment_count)
        if data is not None:
            return BinaryFuseFilter(
                fingerprint_bits=fingerprint_bits,
                seed=seed,
                items=items,
                segment_length=segment_length,
                segment_count=segment_count,
                array_length=array_length,
                data=data,
            )
    raise SnapshotError(  # pragma: no cover - probability far below 2^-100
        f"no seed in {MAX_ATTEMPTS} attempts builds a filter of {items} keys"
    )


def build_filter(
    keys: Iterable[int], *, fingerprint_bits: int = 16, seed_material: bytes = b""
) -> BinaryFuseFilter:
    """Build a binary fuse filter holding ``keys`` (spec §8.4.3).

    Duplicate keys are merged; the keys are sorted first, so the result depends only on the
    set of keys, ``fingerprint_bits`` and ``seed_material`` (the node passes the root hash).

    Raises:
        SnapshotError: a key outside 0..2^64-1, a width other than 8 or 16, more than
            :data:`MAX_ITEMS` keys (checked by :class:`BinaryFuseFilter`), or no seed among
            :data:`MAX_ATTEMPTS` peels the keys.
    """
    if fingerprint_bits not in FINGERPRINT_BITS:
        raise SnapshotError(f"fingerprint width {fingerprint_bits} is not 8 or 16")
    unique = sorted(set(keys))
    if unique and not (unique[0] >= 0 and unique[-1] <= _M64):
        raise SnapshotError("keys must be 64-bit unsigned integers")
    return fuse_filter(
        len(unique),
        fingerprint_bits,
        seed_material,
        lambda seed, length, count: _try_build(unique, seed, length, count, fingerprint_bits),
    )


# -- the header (spec §8.3) -------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotHeader:
    """The signed text of a snapshot (spec §8.3): what the filter is and what it covers.

    ``kind`` is ``"full"`` or ``"delta"``; a delta extends the chain whose full snapshot is at
    size ``base`` and whose previous snapshot is at size ``previous`` (both equal ``size`` for
    a full snapshot). Construction validates every field, so a header always has a text form.

    Raises:
        SnapshotError: any field is out of range or inconsistent.
    """

    origin: str
    size: int
    root_hash: bytes
    kind: Kind
    base: int
    previous: int
    category: str
    items: int
    fingerprint_bits: int
    seed: int
    segment_length: int
    segment_count: int
    array_length: int
    filter_sha256: bytes

    def __post_init__(self) -> None:
        if not self.origin or any(
            c in " \t" or ord(c) < 0x20 or 0xD800 <= ord(c) <= 0xDFFF for c in self.origin
        ):
            raise SnapshotError("origin must be non-empty, without spaces or control characters")
        if not 0 <= self.size <= MAX_TREE_SIZE:
            raise SnapshotError(f"size {self.size} is out of range 0..2^63-1")
        if len(self.root_hash) != 32:
            raise SnapshotError("root hash must be 32 bytes")
        if self.kind == "full":
            if (self.base, self.previous) != (self.size, self.size):
                raise SnapshotError("a full snapshot's base and previous are its own size")
        elif self.kind == "delta":
            if not 0 <= self.base <= self.previous < self.size:
                raise SnapshotError("a delta needs base <= previous < size")
        else:
            raise SnapshotError(f"unknown snapshot kind {self.kind!r}")
        if not _CATEGORY.fullmatch(self.category):
            raise SnapshotError(f"category {self.category!r} is not an AIPREF label")
        _check_parameters(
            self.fingerprint_bits,
            self.items,
            self.segment_length,
            self.segment_count,
            self.array_length,
        )
        if not 0 <= self.seed <= _M64:
            raise SnapshotError("seed must be a 64-bit unsigned integer")
        if len(self.filter_sha256) != 32:
            raise SnapshotError("filter SHA-256 must be 32 bytes")

    @property
    def fpr(self) -> float:
        """The stated false-positive rate of the filter, ``2^-fingerprint_bits`` (§8.4.4)."""
        return 1.0 / (1 << self.fingerprint_bits)

    @property
    def name(self) -> str:
        """The snapshot's name (spec §8.6): ``full-<size>`` or ``delta-<previous>-<size>``."""
        if self.kind == "full":
            return f"full-{self.size}"
        return f"delta-{self.previous}-{self.size}"

    def to_text(self) -> str:
        """The note text of spec §8.3, every line ending in a newline."""
        kind = "kind full" if self.kind == "full" else f"kind delta {self.base} {self.previous}"
        lines = [
            FORMAT_LINE,
            f"origin {self.origin}",
            f"size {self.size}",
            f"root {b64encode(self.root_hash)}",
            kind,
            f"category {self.category}",
            f"items {self.items}",
            f"filter binary-fuse-3 {self.fingerprint_bits}",
            f"seed {self.seed:016x}",
            f"segment-length {self.segment_length}",
            f"segment-count {self.segment_count}",
            f"array-length {self.array_length}",
            f"fpr 1/{1 << self.fingerprint_bits}",
            f"filter-sha256 {self.filter_sha256.hex()}",
        ]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> SnapshotHeader:
        """Parse a header strictly (spec §8.3): the fourteen lines, in order, nothing else.

        Raises:
            SnapshotError: any line is missing, extra, out of order or not canonical.
        """
        if not text.endswith("\n"):
            raise SnapshotError("snapshot header must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) != 14:
            raise SnapshotError(f"snapshot header has {len(lines)} lines, expected 14")
        if lines[0] != FORMAT_LINE:
            raise SnapshotError(f"not a {FORMAT_LINE} header: {lines[0]!r}")
        fields = [_field(line, key) for line, key in zip(lines[1:], _KEYS, strict=True)]
        origin, size, root, kind, category, items, filt, seed, seg_len, seg_count = fields[:10]
        array_length, fpr, filter_sha256 = fields[10:]
        try:
            root_hash = b64decode(root)
        except EncodingError as exc:
            raise SnapshotError(f"root {root!r} is not canonical base64") from exc
        kind_name, base, previous = _parse_kind(kind, _decimal(size))
        bits = _parse_filter(filt)
        if fpr != f"1/{1 << bits}":
            raise SnapshotError(f"fpr {fpr!r} does not match {bits}-bit fingerprints")
        if not _HEX16.fullmatch(seed):
            raise SnapshotError("seed must be 16 lowercase hex digits")
        if not _HEX64.fullmatch(filter_sha256):
            raise SnapshotError("filter-sha256 must be 64 lowercase hex digits")
        return cls(
            origin=origin,
            size=_decimal(size),
            root_hash=root_hash,
            kind=kind_name,
            base=base,
            previous=previous,
            category=category,
            items=_decimal(items),
            fingerprint_bits=bits,
            seed=int(seed, 16),
            segment_length=_decimal(seg_len),
            segment_count=_decimal(seg_count),
            array_length=_decimal(array_length),
            filter_sha256=bytes.fromhex(filter_sha256),
        )


_KEYS: Final = (
    "origin",
    "size",
    "root",
    "kind",
    "category",
    "items",
    "filter",
    "seed",
    "segment-length",
    "segment-count",
    "array-length",
    "fpr",
    "filter-sha256",
)


def _field(line: str, key: str) -> str:
    prefix = f"{key} "
    if not line.startswith(prefix) or len(line) == len(prefix):
        raise SnapshotError(f"expected a {key!r} line, got {line!r}")
    return line[len(prefix) :]


def _decimal(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise SnapshotError(f"{text!r} is not a canonical decimal")
    return int(text)


def _parse_kind(text: str, size: int) -> tuple[Kind, int, int]:
    if text == "full":
        return "full", size, size
    parts = text.split(" ")
    if len(parts) != 3 or parts[0] != "delta":
        raise SnapshotError(f"kind {text!r} is neither 'full' nor 'delta <base> <previous>'")
    return "delta", _decimal(parts[1]), _decimal(parts[2])


def _parse_filter(text: str) -> int:
    for bits in FINGERPRINT_BITS:
        if text == f"binary-fuse-3 {bits}":
            return bits
    raise SnapshotError(f"filter {text!r} is not binary-fuse-3 with 8 or 16 bits")


# -- snapshots: building, container, verification (spec §8.5, §8.6) ----------------------------


@dataclass(frozen=True)
class Snapshot:
    """A verified snapshot (spec §8.5): its header, filter and signed note.

    Lookups answer "maybe reserved" (ask the node) or "certainly not reserved at ``size``".
    """

    header: SnapshotHeader
    filter: BinaryFuseFilter
    note: bytes

    @property
    def name(self) -> str:
        """The snapshot's name (spec §8.6)."""
        return self.header.name

    def contains_key(self, key: int) -> bool:
        """True if the key may be reserved (a hit: ask the node); False: not in this filter."""
        return self.filter.contains(key)

    def contains_sha256(self, digest: bytes | str) -> bool:
        """:meth:`contains_key` of :func:`sha256_key` (raises SnapshotError if malformed)."""
        return self.filter.contains(sha256_key(digest))

    def contains_url(self, normalized_url: str) -> bool:
        """:meth:`contains_key` of :func:`url_key`; the URL must be normalised (spec §2)."""
        return self.filter.contains(url_key(normalized_url))


def encode_snapshot(note: bytes, filter_bytes: bytes) -> bytes:
    """The snapshot file (spec §8.6): ``u32be(len(note)) || note || filter bytes``.

    Raises:
        SnapshotError: the note is empty or larger than :data:`MAX_NOTE_BYTES`.
    """
    if not 0 < len(note) <= MAX_NOTE_BYTES:
        raise SnapshotError(f"snapshot note must be 1..{MAX_NOTE_BYTES} bytes")
    return len(note).to_bytes(_LENGTH_PREFIX, "big") + note + filter_bytes


def split_snapshot(data: bytes) -> tuple[bytes, bytes]:
    """Split a snapshot file into its signed note and filter bytes, verifying nothing (§8.6).

    Raises:
        SnapshotError: the file is shorter than its length prefix says, or the note length is
            0 or above :data:`MAX_NOTE_BYTES`.
    """
    if len(data) < _LENGTH_PREFIX:
        raise SnapshotError("snapshot file is shorter than its 4-byte length prefix")
    length = int.from_bytes(data[:_LENGTH_PREFIX], "big")
    if not 0 < length <= MAX_NOTE_BYTES:
        raise SnapshotError(f"snapshot note length {length} is out of range 1..{MAX_NOTE_BYTES}")
    end = _LENGTH_PREFIX + length
    if len(data) < end:
        raise SnapshotError("snapshot file is truncated inside its note")
    return bytes(data[_LENGTH_PREFIX:end]), bytes(data[end:])


def make_snapshot(
    *,
    origin: str,
    size: int,
    root_hash: bytes,
    fuse: BinaryFuseFilter,
    signers: Sequence[NoteSigner],
    kind: Kind = "full",
    base: int | None = None,
    previous: int | None = None,
    category: str = DEFAULT_CATEGORY,
) -> bytes:
    """Sign a header for the filter ``fuse`` and return the snapshot file (spec §8.3, §8.6).

    ``signers``: the node's log key first (its name is the origin), then any cosigners. For a
    delta, ``base`` and ``previous`` are the sizes of the chain's full and previous snapshots.

    Raises:
        SnapshotError: invalid header fields (see :class:`SnapshotHeader`).
        NoteError: no signers, or signers that cannot sign this text.
    """
    header = SnapshotHeader(
        origin=origin,
        size=size,
        root_hash=root_hash,
        kind=kind,
        base=size if base is None else base,
        previous=size if previous is None else previous,
        category=category,
        items=fuse.items,
        fingerprint_bits=fuse.fingerprint_bits,
        seed=fuse.seed,
        segment_length=fuse.segment_length,
        segment_count=fuse.segment_count,
        array_length=fuse.array_length,
        filter_sha256=hashlib.sha256(fuse.data).digest(),
    )
    return encode_snapshot(sign_note(header.to_text(), signers), fuse.data)


def parse_snapshot(data: bytes) -> tuple[SnapshotHeader, bytes, bytes]:
    """Split a snapshot file and parse its header, verifying NO signature (spec §8.6).

    For reading a snapshot's origin and size before choosing keys; use :func:`open_snapshot`.

    Raises:
        SnapshotError: malformed container or header.
        NoteError: the note is not a well-formed signed note.
    """
    note, filter_bytes = split_snapshot(data)
    text, _ = parse_note(note)
    return SnapshotHeader.from_text(text), note, filter_bytes


def open_snapshot(
    data: bytes,
    node: NoteVerifier,
    *,
    checkpoint: Checkpoint | None = None,
    category: str = DEFAULT_CATEGORY,
) -> Snapshot:
    """Verify a snapshot file and return it, ready for lookups (spec §8.5).

    ``node`` is the node's verifier key (``verifier_key`` of ``/.well-known/consent-registry``;
    its name is the log origin). ``checkpoint``: a checkpoint of the same log the caller has
    already verified; if it has the snapshot's size its root hash must be the snapshot's.

    Raises:
        SnapshotError: malformed container or header, origin other than the key's name,
            another category, filter bytes whose length or SHA-256 differ from the header,
            or a checkpoint of another origin, or of the same size with another root.
        NoteError: the note is malformed.
        UnverifiedNoteError: the node's signature is missing or does not verify.
    """
    # spec §8.5 step 1: the container
    note, filter_bytes = split_snapshot(data)
    # step 2: the node's signature (C2SP signed-note, spec §5.4); cosignatures are kept aside
    opened = open_note(note, [node])
    # step 3: the header, and that it is the node's log
    header = SnapshotHeader.from_text(opened.text)
    if header.origin != node.name:
        raise SnapshotError(f"snapshot of {header.origin!r} signed by key {node.name!r}")
    if header.category != category:
        raise SnapshotError(f"snapshot holds {header.category!r} reservations, not {category!r}")
    # step 4: the filter bytes are the ones the header commits to
    if hashlib.sha256(filter_bytes).digest() != header.filter_sha256:
        raise SnapshotError("filter bytes do not match the header's filter-sha256")
    filt = BinaryFuseFilter(
        fingerprint_bits=header.fingerprint_bits,
        seed=header.seed,
        items=header.items,
        segment_length=header.segment_length,
        segment_count=header.segment_count,
        array_length=header.array_length,
        data=filter_bytes,
    )
    # step 5: the binding to a checkpoint the caller trusts
    if checkpoint is not None:
        if checkpoint.origin != header.origin:
            raise SnapshotError("checkpoint is of another log than the snapshot")
        if checkpoint.size == header.size and checkpoint.root_hash != header.root_hash:
            raise SnapshotError(
                f"snapshot and checkpoint disagree on the root at size {header.size}"
            )
    return Snapshot(header=header, filter=filt, note=note)


@dataclass(frozen=True)
class SnapshotChain:
    """A full snapshot and the deltas after it (spec §8.7): the set at the last one's size.

    A key is a hit if any filter of the chain holds it; the chain's false-positive rate is at
    most the sum of its filters' (spec §8.4.4).
    """

    snapshots: tuple[Snapshot, ...]

    @property
    def size(self) -> int:
        """The log size the chain covers: that of its last snapshot."""
        return self.snapshots[-1].header.size

    @property
    def root_hash(self) -> bytes:
        """The root hash at :attr:`size`, as the node signed it."""
        return self.snapshots[-1].header.root_hash

    @property
    def fpr(self) -> float:
        """Upper bound of the chain's false-positive rate (union bound, spec §8.4.4)."""
        return sum(s.header.fpr for s in self.snapshots if s.header.items)

    def contains_key(self, key: int) -> bool:
        """True if any filter may hold ``key`` (ask the node); False: not reserved."""
        return any(s.filter.contains(key) for s in self.snapshots)

    def contains_sha256(self, digest: bytes | str) -> bool:
        """:meth:`contains_key` of :func:`sha256_key`."""
        return self.contains_key(sha256_key(digest))

    def contains_url(self, normalized_url: str) -> bool:
        """:meth:`contains_key` of :func:`url_key`."""
        return self.contains_key(url_key(normalized_url))


def verify_chain(snapshots: Sequence[Snapshot]) -> SnapshotChain:
    """Check that verified snapshots form one chain (spec §8.7) and return it.

    The first is full; each next one is a delta of the same origin and category whose base is
    the full snapshot's size and whose previous is the size of the one before it.

    Raises:
        SnapshotError: empty, not starting with a full snapshot, or a link that does not
            follow.
    """
    if not snapshots:
        raise SnapshotError("a chain needs a full snapshot")
    first = snapshots[0].header
    if first.kind != "full":
        raise SnapshotError("a chain starts with a full snapshot")
    before = first
    for snapshot in snapshots[1:]:
        header = snapshot.header
        if header.kind != "delta":
            raise SnapshotError(f"{header.name}: only deltas follow a full snapshot")
        if (header.origin, header.category) != (first.origin, first.category):
            raise SnapshotError(f"{header.name}: another origin or category than the chain")
        if header.base != first.size or header.previous != before.size:
            raise SnapshotError(f"{header.name} does not extend {before.name}")
        before = header
    return SnapshotChain(tuple(snapshots))
