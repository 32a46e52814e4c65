"""Levels files: what a snapshot's hits resolve to under each policy, signed (spec §8.10).

A snapshot's filter (spec §8.4) holds every subject reserved under *any* policy and trust
configuration (spec §8.1 item 7), so offline a hit only says "possibly reserved". A **levels
file** is an opt-in companion of one snapshot that says, for the subjects whose answer trust
records change, what the node answers under each policy of spec §9.4.7, with every claim's
identity level, the ids of the binding and attestation records behind it (spec §9.4.5) and the
counter-statements shown on it, so that a crawler can decide those hits and check their evidence
offline (spec §9.5). Every other subject of the filter has the **default** answer: every claim at
level ``none``, none disputed; reserved under ``any`` and ``verified``, not under
``verified-only``.

The file is ``u32be(len(note)) || note || body``: the note is a C2SP signed note (spec §5.1) by
the node's log key over a header (spec §8.10.2) bound to the snapshot (origin, size, root, name,
filter-sha256, category), naming the logs the node mirrors whose records the answers count, each
at a size (the node answers for every log it holds, spec §3.5.5), the trust configuration the
answers were computed under, and the SHA-256 of the body; the body (spec §8.10.3) holds a table
of distinct (levels, evidence) sets, the claims, and rows sorted by subject key (spec §8.2) for
binary search.

This module is pure: :func:`make_levels` encodes and signs, :func:`open_levels` verifies
against a verified :class:`~registry.core.snapshot.Snapshot`, :func:`row_of` turns the
resolutions of :class:`registry.core.trust.TrustState` into a row. Errors:
:class:`~registry.core.errors.SnapshotError` for the container, header and body, and the
:mod:`registry.core.note` errors for the signature.
"""

from __future__ import annotations

import bisect
import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Final

from registry.core.encoding import b64decode, b64encode
from registry.core.errors import EncodingError, ProtocolError, SnapshotError
from registry.core.keys import PublicKey
from registry.core.note import NoteSigner, NoteVerifier, open_note, sign_note
from registry.core.snapshot import (
    Snapshot,
    SnapshotHeader,
    encode_snapshot,
    split_snapshot,
    subject_key,
)
from registry.core.state import Subject
from registry.core.trust import LEVEL_NONE, POLICIES, Policy, TrustedResolution

__all__ = [
    "DEFAULT_RESERVED",
    "LEVELS_FORMAT_LINE",
    "LevelClaim",
    "LevelRow",
    "LevelsHeader",
    "MirroredSize",
    "SnapshotLevels",
    "delta_rows",
    "encode_levels_body",
    "level_rows",
    "make_levels",
    "merge_levels",
    "open_levels",
    "parse_levels_body",
    "row_of",
    "subject_row",
]

LEVELS_FORMAT_LINE: Final = "consent-registry/snapshot-levels/v1"
"""First line of every levels header (spec §8.10.2)."""

DEFAULT_RESERVED: Final[frozenset[Policy]] = frozenset({"any", "verified"})
"""The policies under which a filter hit without a row is reserved (spec §8.10.1)."""

_POLICY_BITS: Final[dict[Policy, int]] = {"any": 1, "verified": 2, "verified-only": 4}
_PREFERENCES: Final[tuple[str | None, ...]] = (None, "y", "n")
_COUNTED_VERIFIED: Final = 4
_U16: Final = 0xFFFF
_U32: Final = 0xFFFFFFFF
_HEX64: Final = re.compile(r"[0-9a-f]{64}")
_DECIMAL: Final = re.compile(r"0|[1-9][0-9]{0,18}")
_LEVEL: Final = re.compile(r"(domain|platform):[!#-\[\]-~]{1,253}")
_PLATFORM_NAME: Final = re.compile(r"[a-z0-9-]{1,64}")


# -- the answers -------------------------------------------------------------------------------


@dataclass(frozen=True)
class LevelClaim:
    """One principal's claim on a subject as a levels file gives it (spec §8.10.3).

    ``levels`` is empty for level ``none``; ``evidence`` the ids of the binding and attestation
    records behind the levels; ``preference`` the claim's value for the file's category
    (``"y"``, ``"n"`` or None); ``counted_verified`` whether it counts under ``verified``
    (under ``any`` every claim counts, under ``verified-only`` the verified ones);
    ``disputed_by`` the counter-statements shown on it (spec §9.4.6).
    """

    declaration_id: str
    levels: tuple[str, ...]
    evidence: tuple[str, ...]
    preference: str | None
    counted_verified: bool
    disputed_by: tuple[str, ...] = ()

    @property
    def level(self) -> str:
        """*The* level (spec §9.1): the first of :attr:`levels`, or ``none``."""
        return self.levels[0] if self.levels else LEVEL_NONE

    def counted(self, policy: Policy) -> bool:
        """Whether the claim counts under ``policy`` (spec §9.4.7)."""
        if policy == "any":
            return True
        if policy == "verified-only":
            return bool(self.levels)
        return self.counted_verified


@dataclass(frozen=True)
class LevelRow:
    """The answer for one subject key (spec §8.10.3): the policies under which it is reserved
    and every claim on it."""

    key: int
    reserved: frozenset[Policy]
    claims: tuple[LevelClaim, ...] = ()

    def is_default(self) -> bool:
        """True if a row adds nothing to the default answer (spec §8.10.1)."""
        return self.reserved == DEFAULT_RESERVED and all(
            not c.levels and not c.disputed_by for c in self.claims
        )


def row_of(key: int, resolutions: Mapping[Policy, TrustedResolution], category: str) -> LevelRow:
    """The row of a subject from its resolution under each policy (spec §9.4.7): ``reserved``
    from the combined preferences, the claims (identical under every policy but for
    ``counted``) from the ``verified`` one.

    Raises:
        SnapshotError: a resolution is missing for a policy.
    """
    if set(resolutions) != set(POLICIES):
        raise SnapshotError("a row needs the resolution under every policy")
    reserved = frozenset(p for p in POLICIES if resolutions[p].reserved(category))
    claims = tuple(
        sorted(
            (
                LevelClaim(
                    declaration_id=c.declaration_id,
                    levels=c.levels,
                    evidence=c.evidence,
                    preference=c.prefs.get(category),
                    counted_verified=c.counted,
                    disputed_by=c.disputed_by,
                )
                for c in resolutions["verified"].claims
            ),
            key=lambda c: c.declaration_id,
        )
    )
    return LevelRow(key=key, reserved=reserved, claims=claims)


def subject_row(
    subject: Subject, resolutions: Mapping[Policy, TrustedResolution], category: str
) -> LevelRow | None:
    """:func:`row_of` the subject's key; None for a subject with no key (a damaged stored
    hash, ADR 0009), which is in no filter."""
    try:
        key = subject_key(*subject)
    except SnapshotError:
        return None
    return row_of(key, resolutions, category)


def level_rows(candidates: Iterable[LevelRow]) -> list[LevelRow]:
    """The rows of a levels file (spec §8.10.1 item 3) from the rows of its candidate
    subjects: those whose answer is not the default. Subjects sharing a key (2^-64 a pair)
    share a row without claims whose policies are the union of theirs (item 5)."""
    by_key: dict[int, list[LevelRow]] = {}
    for row in candidates:
        by_key.setdefault(row.key, []).append(row)
    rows: list[LevelRow] = []
    for key, found in by_key.items():
        row = found[0]
        if len(found) > 1:
            row = LevelRow(key=key, reserved=frozenset().union(*(r.reserved for r in found)))
        if not row.is_default():
            rows.append(row)
    return rows


def delta_rows(before: Mapping[int, LevelRow], after: Mapping[int, LevelRow]) -> list[LevelRow]:
    """The rows of a delta's levels file (spec §8.10.1 item 4): those of ``after`` (the rows
    at the delta's size, by key) that differ from ``before`` (the chain's rows at the previous
    snapshot's size), and for each key of ``before`` without a row in ``after`` a row with the
    default policies and no claims, which returns it to the default answer."""
    changed = [row for key, row in after.items() if before.get(key) != row]
    changed += [LevelRow(key=k, reserved=DEFAULT_RESERVED) for k in before if k not in after]
    return changed


# -- the body (spec §8.10.3) ---------------------------------------------------------------------


def _encode_set(levels: Sequence[str], evidence: Sequence[str]) -> bytes:
    out = bytearray(len(levels).to_bytes(2, "big"))
    for level in levels:
        data = level.encode("ascii")
        out += len(data).to_bytes(2, "big") + data
    out += len(evidence).to_bytes(2, "big")
    for record in evidence:
        out += bytes.fromhex(record)
    return bytes(out)


def encode_levels_body(rows: Iterable[LevelRow]) -> bytes:
    """The body of a levels file (spec §8.10.3) for ``rows``, in canonical form.

    Raises:
        SnapshotError: two rows with one key, a row whose claims repeat a declaration, or a
            field out of range (levels, record ids, counts); see :func:`parse_levels_body`.
    """
    ordered = sorted(rows, key=lambda r: r.key)
    claims = bytearray()
    table = bytearray()
    claim_count = 0
    try:
        sets = sorted({_encode_set(c.levels, c.evidence) for row in ordered for c in row.claims})
        index = {encoded: i for i, encoded in enumerate(sets)}
        for row in ordered:
            table += row.key.to_bytes(8, "big")
            table.append(sum(_POLICY_BITS[p] for p in row.reserved))
            table += len(row.claims).to_bytes(2, "big")
            for claim in sorted(row.claims, key=lambda c: c.declaration_id):
                claims += bytes.fromhex(claim.declaration_id)
                claims += index[_encode_set(claim.levels, claim.evidence)].to_bytes(4, "big")
                flags = _PREFERENCES.index(claim.preference)
                flags |= _COUNTED_VERIFIED if claim.counted_verified else 0
                claims.append(flags)
                claims += len(claim.disputed_by).to_bytes(2, "big")
                for counter in claim.disputed_by:
                    claims += bytes.fromhex(counter)
                claim_count += 1
    except (ValueError, OverflowError) as exc:
        raise SnapshotError(f"a levels row cannot be encoded: {exc}") from exc
    body = (
        len(sets).to_bytes(4, "big")
        + b"".join(sets)
        + claim_count.to_bytes(4, "big")
        + bytes(claims)
        + len(ordered).to_bytes(4, "big")
        + bytes(table)
    )
    parse_levels_body(body)  # the same rules for the writer as for every reader
    return body


class _Reader:
    """Big-endian fields read off a body, each checked to be there."""

    def __init__(self, data: bytes) -> None:
        self.data = data
        self.at = 0

    def take(self, n: int) -> bytes:
        end = self.at + n
        if end > len(self.data):
            raise SnapshotError("levels body is truncated")
        out = self.data[self.at : end]
        self.at = end
        return out

    def uint(self, n: int) -> int:
        return int.from_bytes(self.take(n), "big")

    def ids(self, what: str) -> tuple[str, ...]:
        """A u16 count of 32-byte record ids, strictly ascending."""
        out = tuple(self.take(32).hex() for _ in range(self.uint(2)))
        if any(a >= b for a, b in itertools.pairwise(out)):
            raise SnapshotError(f"{what} ids are not strictly ascending")
        return out


def _level_order(level: str) -> tuple[bool, str]:
    return (not level.startswith("domain:"), level)


def _parse_set(reader: _Reader) -> tuple[tuple[str, ...], tuple[str, ...]]:
    levels = []
    for _ in range(reader.uint(2)):
        raw = reader.take(reader.uint(2))
        level = raw.decode("latin-1")
        if not _LEVEL.fullmatch(level):
            raise SnapshotError(f"{level[:80]!r} is not a domain: or platform: level")
        levels.append(level)
    if any(_level_order(a) >= _level_order(b) for a, b in itertools.pairwise(levels)):
        raise SnapshotError("levels are not in order (domain: first, then platform:, ASCII)")
    evidence = reader.ids("evidence")
    if bool(levels) != bool(evidence):
        raise SnapshotError("a set has evidence if and only if it has levels")
    return tuple(levels), evidence


def parse_levels_body(body: bytes) -> tuple[LevelRow, ...]:
    """Parse a levels body strictly (spec §8.10.3): every count, order and flag checked, and
    nothing after the last row.

    Raises:
        SnapshotError: truncated, trailing bytes, a set or row out of order or repeated, a
            malformed level, a set index out of range, unknown flag bits, or claims that do
            not add up to the rows' counts.
    """
    reader = _Reader(body)
    sets: list[tuple[tuple[str, ...], tuple[str, ...]]] = []
    previous = b""
    for i in range(reader.uint(4)):
        start = reader.at
        sets.append(_parse_set(reader))
        encoded = body[start : reader.at]
        if i and encoded <= previous:
            raise SnapshotError("level sets are not strictly ascending")
        previous = encoded
    claims: list[LevelClaim] = []
    for _ in range(reader.uint(4)):
        declaration_id = reader.take(32).hex()
        set_index = reader.uint(4)
        if set_index >= len(sets):
            raise SnapshotError(f"claim refers to level set {set_index} of {len(sets)}")
        flags = reader.uint(1)
        if flags & ~(_COUNTED_VERIFIED | 3) or flags & 3 == 3:
            raise SnapshotError(f"claim flags {flags:#04x} have unknown bits")
        levels, evidence = sets[set_index]
        claims.append(
            LevelClaim(
                declaration_id=declaration_id,
                levels=levels,
                evidence=evidence,
                preference=_PREFERENCES[flags & 3],
                counted_verified=bool(flags & _COUNTED_VERIFIED),
                disputed_by=reader.ids("counter-statement"),
            )
        )
    rows: list[LevelRow] = []
    used = 0
    for _ in range(reader.uint(4)):
        key, bits, count = reader.uint(8), reader.uint(1), reader.uint(2)
        if rows and key <= rows[-1].key:
            raise SnapshotError("rows are not strictly ascending by key")
        if bits & ~7:
            raise SnapshotError(f"row policy bits {bits:#04x} have unknown bits")
        own = tuple(claims[used : used + count])
        if len(own) != count:
            raise SnapshotError("rows name more claims than the body holds")
        if any(a.declaration_id >= b.declaration_id for a, b in itertools.pairwise(own)):
            raise SnapshotError("a row's claims are not strictly ascending by declaration id")
        used += count
        reserved = frozenset(p for p in POLICIES if bits & _POLICY_BITS[p])
        rows.append(LevelRow(key=key, reserved=reserved, claims=own))
    if used != len(claims):
        raise SnapshotError("the body holds claims no row names")
    if reader.at != len(body):
        raise SnapshotError("levels body has trailing bytes")
    return tuple(rows)


# -- the header (spec §8.10.2) -------------------------------------------------------------------


@dataclass(frozen=True, order=True)
class MirroredSize:
    """A log the node mirrors, at the size a levels file's answers count it (spec §8.10.2
    ``mirror`` line): its entries 0 … ``size``-1, whose Merkle root is ``root_hash``."""

    origin: str
    size: int
    root_hash: bytes

    def line(self) -> str:
        """The header line (spec §8.10.2)."""
        return f"mirror {self.origin} {self.size} {b64encode(self.root_hash)}"


@dataclass(frozen=True)
class LevelsHeader:
    """The signed header of a levels file (spec §8.10.2)."""

    origin: str
    size: int
    root_hash: bytes
    snapshot: str
    """The name of the snapshot (spec §8.6) the file belongs to."""
    filter_sha256: bytes
    category: str
    mirrors: tuple[MirroredSize, ...]
    """The mirrored logs the answers count, at their sizes (spec §8.10.1), by origin."""
    nodes: tuple[str, ...]
    """The node keys whose bindings counted (spec §9.1), sorted."""
    platforms: tuple[tuple[str, str], ...]
    """The trusted platforms as (name, key), sorted."""
    body_sha256: bytes
    previous: bytes | None = None
    """A delta's: the SHA-256 of the levels file of the chain's previous snapshot (spec
    §8.10.2); None for a full snapshot's."""

    def to_text(self) -> str:
        """The note text, every line ending in a newline."""
        lines = [
            LEVELS_FORMAT_LINE,
            f"origin {self.origin}",
            f"size {self.size}",
            f"root {b64encode(self.root_hash)}",
            f"snapshot {self.snapshot}",
            f"filter-sha256 {self.filter_sha256.hex()}",
            f"category {self.category}",
            *(mirror.line() for mirror in self.mirrors),
            *(f"trusted-node {node}" for node in self.nodes),
            *(f"trusted-platform {name} {key}" for name, key in self.platforms),
            *([] if self.previous is None else [f"previous-levels {self.previous.hex()}"]),
            f"body-sha256 {self.body_sha256.hex()}",
        ]
        return "".join(f"{line}\n" for line in lines)

    @classmethod
    def from_text(cls, text: str) -> LevelsHeader:
        """Parse a header strictly: the lines in order, mirror and trust lines sorted, nothing
        else.

        Raises:
            SnapshotError: a line missing, extra, out of order or not canonical; a mirror line
                naming the file's own origin or an origin twice.
        """
        if not text.endswith("\n"):
            raise SnapshotError("levels header must end with a newline")
        lines = text[:-1].split("\n")
        if len(lines) < 8 or lines[0] != LEVELS_FORMAT_LINE:
            raise SnapshotError(f"not a {LEVELS_FORMAT_LINE} header")
        previous = None
        if len(lines) > 8 and lines[-2].startswith("previous-levels "):
            previous = _field(lines.pop(-2), "previous-levels")
            if not _HEX64.fullmatch(previous):
                raise SnapshotError("previous-levels is 64 lowercase hex digits")
        fixed = [
            _field(line, key)
            for line, key in zip(
                lines[1:7],
                ("origin", "size", "root", "snapshot", "filter-sha256", "category"),
                strict=True,
            )
        ]
        origin, size, root, snapshot, filter_sha256, category = fixed
        mirrors: list[MirroredSize] = []
        nodes: list[str] = []
        platforms: list[tuple[str, str]] = []
        for line in lines[7:-1]:
            if line.startswith("mirror ") and not nodes and not platforms:
                mirrors.append(_mirror(_field(line, "mirror")))
                continue
            if line.startswith("trusted-node ") and not platforms:
                nodes.append(_did(_field(line, "trusted-node")))
                continue
            name, _, key = _field(line, "trusted-platform").partition(" ")
            if not _PLATFORM_NAME.fullmatch(name):
                raise SnapshotError(f"platform name {name!r} is not lowercase a-z0-9-")
            platforms.append((name, _did(key)))
        if nodes != sorted(set(nodes)) or platforms != sorted(set(platforms)):
            raise SnapshotError("trusted nodes and platforms must be sorted and unique")
        names = [m.origin for m in mirrors]
        if names != sorted(set(names)) or origin in names:
            raise SnapshotError("mirror lines must be sorted by origin, unique and not the own log")
        body = _field(lines[-1], "body-sha256")
        if not (_HEX64.fullmatch(filter_sha256) and _HEX64.fullmatch(body)):
            raise SnapshotError("filter-sha256 and body-sha256 are 64 lowercase hex digits")
        return cls(
            origin=origin,
            size=_size(size),
            root_hash=_root(root),
            snapshot=snapshot,
            filter_sha256=bytes.fromhex(filter_sha256),
            category=category,
            mirrors=tuple(mirrors),
            nodes=tuple(nodes),
            platforms=tuple(platforms),
            body_sha256=bytes.fromhex(body),
            previous=None if previous is None else bytes.fromhex(previous),
        )


def _field(line: str, key: str) -> str:
    prefix = f"{key} "
    if not line.startswith(prefix) or len(line) == len(prefix):
        raise SnapshotError(f"expected a {key!r} line, got {line[:80]!r}")
    return line[len(prefix) :]


def _size(text: str) -> int:
    if not _DECIMAL.fullmatch(text):
        raise SnapshotError(f"size {text[:80]!r} is not a canonical decimal")
    return int(text)


def _root(text: str) -> bytes:
    try:
        root = b64decode(text)
    except EncodingError as exc:
        raise SnapshotError(f"root {text[:80]!r} is not canonical base64") from exc
    if len(root) != 32:
        raise SnapshotError(f"root {text[:80]!r} is not 32 bytes")
    return root


def _mirror(text: str) -> MirroredSize:
    """``<origin> <size> <root>`` of a mirror line (spec §8.10.2)."""
    parts = text.split(" ")
    if len(parts) != 3 or not parts[0]:
        raise SnapshotError(f"mirror line {text[:80]!r} is not '<origin> <size> <root>'")
    origin, size, root = parts
    return MirroredSize(origin, _size(size), _root(root))


def _did(text: str) -> str:
    try:
        PublicKey.from_did(text)
    except ProtocolError as exc:
        raise SnapshotError(f"{text[:80]!r} is not a did:key") from exc
    return text


# -- the file (spec §8.10.4) ---------------------------------------------------------------------


@dataclass(frozen=True)
class SnapshotLevels:
    """A verified levels file (spec §8.10.5): look a key up with :meth:`row`."""

    header: LevelsHeader
    rows: tuple[LevelRow, ...]
    note: bytes
    sha256: bytes = b""
    """The SHA-256 of the whole file, which the next delta's ``previous-levels`` names."""

    def row(self, key: int) -> LevelRow | None:
        """The row of ``key``, or None: the default answer (spec §8.10.1) if the filter hits."""
        i = bisect.bisect_left(self.rows, key, key=lambda r: r.key)
        if i < len(self.rows) and self.rows[i].key == key:
            return self.rows[i]
        return None

    def mirror(self, origin: str) -> MirroredSize | None:
        """The size at which the answers count the mirrored log ``origin``, or None if they
        do not count it (spec §8.10.5 item 5)."""
        for mirror in self.header.mirrors:
            if mirror.origin == origin:
                return mirror
        return None

    def reserved(self, key: int, policy: Policy) -> bool:
        """Whether a filter hit ``key`` is reserved under ``policy`` at the snapshot's size."""
        row = self.row(key)
        return policy in (DEFAULT_RESERVED if row is None else row.reserved)


def make_levels(
    snapshot: SnapshotHeader,
    rows: Iterable[LevelRow],
    *,
    signers: Sequence[NoteSigner],
    nodes: Iterable[str] = (),
    platforms: Mapping[str, str] | None = None,
    mirrors: Iterable[MirroredSize] = (),
    previous: bytes | None = None,
) -> bytes:
    """Encode and sign the levels file of ``snapshot`` (spec §8.10.4).

    ``nodes`` and ``platforms`` (key -> name) are the trust configuration the rows were
    resolved under; ``mirrors`` the logs other than the node's own whose records they count,
    each at its size (spec §8.10.1); ``previous`` a delta's: the SHA-256 of the levels file of
    the chain's previous snapshot, whose rows ``rows`` update (see :func:`delta_rows`);
    ``signers`` the node's log key first, as for the snapshot.

    Raises:
        SnapshotError: see :func:`encode_levels_body`; a trust key that is not a did:key; a
            mirror of the snapshot's own origin or an origin twice.
        NoteError: no signers.
    """
    body = encode_levels_body(rows)
    header = LevelsHeader(
        origin=snapshot.origin,
        size=snapshot.size,
        root_hash=snapshot.root_hash,
        snapshot=snapshot.name,
        filter_sha256=snapshot.filter_sha256,
        category=snapshot.category,
        mirrors=tuple(sorted(mirrors)),
        nodes=tuple(sorted(set(nodes))),
        platforms=tuple(sorted((name, key) for key, name in (platforms or {}).items())),
        body_sha256=hashlib.sha256(body).digest(),
        previous=previous,
    )
    text = header.to_text()
    LevelsHeader.from_text(text)  # the writer obeys the reader's rules
    return encode_snapshot(sign_note(text, signers), body)


def open_levels(data: bytes, node: NoteVerifier, snapshot: Snapshot) -> SnapshotLevels:
    """Verify a levels file against the verified ``snapshot`` it belongs to (spec §8.10.5).

    Raises:
        SnapshotError: malformed container, header or body; a header not bound to
            ``snapshot`` (origin, size, root, name, filter-sha256, category); a body whose
            SHA-256 is not the header's.
        NoteError: the note is malformed.
        UnverifiedNoteError: the node's signature is missing or does not verify.
    """
    note, body = split_snapshot(data)
    opened = open_note(note, [node])
    header = LevelsHeader.from_text(opened.text)
    bound = snapshot.header
    if (
        header.origin,
        header.size,
        header.root_hash,
        header.snapshot,
        header.filter_sha256,
        header.category,
    ) != (
        bound.origin,
        bound.size,
        bound.root_hash,
        bound.name,
        bound.filter_sha256,
        bound.category,
    ):
        raise SnapshotError(f"levels file of {header.snapshot!r} is not bound to {bound.name!r}")
    if hashlib.sha256(body).digest() != header.body_sha256:
        raise SnapshotError("levels body does not match the header's body-sha256")
    if (header.previous is None) != (bound.kind == "full"):
        raise SnapshotError("a delta's levels file names the previous one, a full one's does not")
    return SnapshotLevels(
        header=header,
        rows=parse_levels_body(body),
        note=note,
        sha256=hashlib.sha256(data).digest(),
    )


def merge_levels(files: Sequence[SnapshotLevels]) -> SnapshotLevels:
    """The answers of a chain's levels files (spec §8.10.5): each verified with
    :func:`open_levels` against its snapshot, in chain order. A delta's rows replace the rows
    of their keys; a row with the default answer removes its key. The result has the last
    file's header and note.

    Raises:
        SnapshotError: no file; the first names a previous file; a delta's
            ``previous-levels`` is not the SHA-256 of the file before it.
    """
    if not files:
        raise SnapshotError("a chain of levels files has at least its full snapshot's")
    rows: dict[int, LevelRow] = {}
    for i, levels in enumerate(files):
        if levels.header.previous != (files[i - 1].sha256 if i else None):
            raise SnapshotError(
                f"levels file of {levels.header.snapshot!r} does not follow the one before it"
            )
        for row in levels.rows:
            rows.pop(row.key, None)
            if not row.is_default():
                rows[row.key] = row
    last = files[-1]
    merged = tuple(sorted(rows.values(), key=lambda r: r.key))
    return SnapshotLevels(header=last.header, rows=merged, note=last.note, sha256=last.sha256)
