"""Signed records: the declaration, its works, limits, signing and record ids (spec §2).

A *record* is a JSON object of the restricted model (spec §1.2) with a ``type`` and a version
``v`` (spec §2.2). The only type today is the creator's *declaration* (spec §2.3), about 1 to
:data:`MAX_WORKS` works (spec §2.4). A record's log entry is its canonical JSON with the
signature (:func:`encode_record`); its id is the SHA-256 of those bytes (:func:`record_id`).

Reading an entry (:func:`decode_record`, spec §2.7) accepts it only if re-encoding the decoded
record gives back the same bytes, which rejects duplicate keys, unknown fields, whitespace,
non-canonical escapes and explicit default values in one comparison. :func:`load_record` also
checks the signature: it is what a node calls on a submission or on a peer's entry.

Building a record (spec §2.10): :func:`new_work` and :func:`new_declaration` sort and normalise
their inputs; :func:`sign_declaration` signs; :func:`entry_size` tells how big the entry will be.

Trust records (spec §9.3: :class:`Binding`, :class:`PlatformAttestation`, :class:`Rotation`,
:class:`Revocation`, :class:`CounterStatement`) share the encoding, decoding and signature rules.
:func:`decode_entry` and :func:`load_entry` read an entry of any kind; :func:`decode_record` and
:func:`load_record` keep reading declarations only, so that a reader not yet implementing spec §9
refuses trust records as unknown types (spec §0.3). :func:`sign_record` signs a trust record with
the key :func:`signer_of` names.
"""

from __future__ import annotations

import base64
import hashlib
import itertools
import re
from collections.abc import Iterable, Mapping
from typing import Any, Final, TypeAlias, cast

import msgspec

from registry.core.encoding import (
    MAX_SAFE_INTEGER,
    b64decode,
    b64encode,
    canonical_json,
    parse_json,
)
from registry.core.errors import (
    EncodingError,
    FutureRecordError,
    LimitError,
    NonCanonicalError,
    ProtocolError,
    RecordError,
    SignatureError,
)
from registry.core.keys import SIGNATURE_SIZE, PrivateKey, PublicKey
from registry.core.prefs import ALLOW, DISALLOW, MAX_CATEGORY_LENGTH, validate_prefs
from registry.core.urls import MAX_URL_LENGTH, normalize_url

__all__ = [
    "DEFAULT_CLOCK_SKEW",
    "ENTRY_TYPES",
    "MAX_ACCOUNT_LENGTH",
    "MAX_ATTESTED_HASHES",
    "MAX_DOMAIN_LENGTH",
    "MAX_ENTRY_BYTES",
    "MAX_ISCC_LENGTH",
    "MAX_ISSUED_AT",
    "MAX_MEDIA_TYPE_PART",
    "MAX_ORIGIN_LENGTH",
    "MAX_PDQ_VARIANTS",
    "MAX_PREFS",
    "MAX_PREF_KEY_LENGTH",
    "MAX_SUPERSEDES",
    "MAX_URLS_PER_WORK",
    "MAX_URL_LENGTH",
    "MAX_WORKS",
    "PREF_VALUES",
    "RECORD_TYPES",
    "RECORD_VERSION",
    "STATEMENTS",
    "AnyRecord",
    "Binding",
    "CounterStatement",
    "Declaration",
    "PlatformAttestation",
    "Record",
    "Revocation",
    "Rotation",
    "TrustRecord",
    "Work",
    "attested_hashes",
    "check_issued_at",
    "decode_entry",
    "decode_record",
    "decode_stored",
    "decode_stored_entry",
    "encode_record",
    "entry_size",
    "load_entry",
    "load_record",
    "new_declaration",
    "new_work",
    "pack_hashes",
    "record_id",
    "sign_declaration",
    "sign_record",
    "signer_of",
    "signing_input",
    "validate_domain",
    "validate_record",
    "verify_record",
]

# spec §2.6: limits.
RECORD_VERSION: Final = 1
MAX_ENTRY_BYTES: Final = 65535
"""Largest entry: C2SP tlog-tiles entry bundles prefix each entry with a 16-bit length."""
MAX_WORKS: Final = 1000
MAX_URLS_PER_WORK: Final = 16
MAX_SUPERSEDES: Final = 1000
MAX_PREFS: Final = 32
MAX_PREF_KEY_LENGTH: Final = MAX_CATEGORY_LENGTH
MAX_ISCC_LENGTH: Final = 128
MAX_PDQ_VARIANTS: Final = 16
"""PDQ hashes of crops of an image a work may carry besides its own ``pdq`` (spec §2.4)."""
MAX_MEDIA_TYPE_PART: Final = 127
MAX_ISSUED_AT: Final = MAX_SAFE_INTEGER
PREF_VALUES: Final = (DISALLOW, ALLOW)

# spec §2.4: field formats.
_HEX64 = re.compile(r"[0-9a-f]{64}")
_ISCC = re.compile(rf"ISCC:[A-Z2-7]{{16,{MAX_ISCC_LENGTH - 5}}}")
_MEDIA_NAME = rf"[a-z0-9][a-z0-9!#$&^_.+\-]{{0,{MAX_MEDIA_TYPE_PART - 1}}}"
_MEDIA_TYPE = re.compile(f"{_MEDIA_NAME}/{_MEDIA_NAME}")
# RFC 9651 §3.1.2 sf-key: ( lcalpha / "*" ) *( lcalpha / DIGIT / "_" / "-" / "." / "*" )
# The base64 text of a 64-byte signature, used to size an entry before it is signed.
_SIG_PLACEHOLDER: Final = b64encode(bytes(SIGNATURE_SIZE))


class Work(
    msgspec.Struct, frozen=True, kw_only=True, forbid_unknown_fields=True, omit_defaults=True
):
    """One work a declaration is about (spec §2.4): its SHA-256 and optional fingerprints."""

    sha256: str
    """Lowercase hex SHA-256 of the work's bytes (64 digits)."""
    pdq: str | None = None
    """Lowercase hex 256-bit PDQ perceptual hash of an image, for near-duplicate lookup."""
    pdq_quality: int | None = None
    """PDQ quality 0..100; present if and only if ``pdq`` is."""
    pdq_variants: tuple[str, ...] = ()
    """PDQ hashes of crops of the image (spec §2.4): matched like ``pdq``, so that cropped,
    bordered or captioned copies are found; only with ``pdq``, sorted, unique."""
    iscc: str | None = None
    """An ISCC code, ``ISCC:`` and RFC 4648 base32 (uppercase, no padding)."""
    urls: tuple[str, ...] = ()
    """Where the work is published: normalised (spec §2.5) http(s) URLs, sorted, unique."""
    media_type: str | None = None
    """RFC 6838 ``type/subtype``, lowercase, without parameters."""


class Declaration(
    msgspec.Struct,
    tag_field="type",
    tag="declaration",
    frozen=True,
    kw_only=True,
    forbid_unknown_fields=True,
    omit_defaults=True,
):
    """A creator's signed statement of preferences about some works (spec §2.3)."""

    v: int
    """Record version: :data:`RECORD_VERSION`."""
    creator: str
    """The creator's Ed25519 ``did:key`` (spec §1.5); the key that signs the record."""
    issued_at: int
    """When the creator made the statement: Unix time in seconds, 0..2**53-1."""
    works: tuple[Work, ...]
    """1..MAX_WORKS works, sorted by ``sha256``, no two with the same ``sha256``."""
    prefs: dict[str, str]
    """AIPREF category -> ``"y"`` or ``"n"`` (spec §3); empty exactly when ``withdraw``."""
    supersedes: tuple[str, ...] = ()
    """Record ids (spec §2.9) of the creator's earlier declarations this one replaces."""
    withdraw: bool = False
    """A withdrawal: the creator no longer states any preference for these works."""
    sig: str = ""
    """Base64 Ed25519 signature over :func:`signing_input`; empty while unsigned."""


Record: TypeAlias = Declaration
"""The record a creator submits as a declaration (spec §2.3): what :func:`decode_record` and
:func:`load_record` accept. Trust records (spec §9) are decoded by :func:`decode_entry`."""

RECORD_TYPES: Final[Mapping[str, type[Record]]] = {"declaration": Declaration}
"""The declaration type by its ``type`` tag (spec §2.2)."""

_DECODER: Final = msgspec.json.Decoder(Record)


# --- trust records (spec §9.3) ----------------------------------------------------------------


class _TrustStruct(
    msgspec.Struct, tag_field="type", frozen=True, kw_only=True, forbid_unknown_fields=True,
    omit_defaults=True,
):  # fmt: skip
    """Shared options of the trust record kinds (spec §9.3): tagged, closed, defaults omitted."""


class Binding(_TrustStruct, tag="binding", frozen=True, kw_only=True):
    """A node's signed attestation that a domain named a creator's key (spec §9.3.1)."""

    v: int
    node: str
    """The checking node's Ed25519 ``did:key``: the signing key."""
    origin: str
    """The checking node's log origin (spec §5), the log this binding is appended to."""
    domain: str
    """The domain checked: a lowercase DNS name, no port, no trailing dot."""
    creator: str
    """The creator's ``did:key`` the domain's document named (or no longer named)."""
    issued_at: int
    """When the node checked, Unix seconds."""
    evidence: str
    """Lowercase hex SHA-256 of the exact document bytes the node fetched."""
    lapsed: bool = False
    """True: the re-check found the key no longer named; the binding ends at ``issued_at``."""
    sig: str = ""


class PlatformAttestation(_TrustStruct, tag="platform-attestation", frozen=True, kw_only=True):
    """A platform says an account is a key and uploaded these works (spec §9.3.2)."""

    v: int
    platform: str
    """The platform's Ed25519 ``did:key``: the signing key (its key id)."""
    account: str
    """The account handle on the platform, 1..MAX_ACCOUNT_LENGTH printable ASCII."""
    creator: str
    """The ``did:key`` the account holder registered with the platform."""
    issued_at: int
    """The time T of the statement: the works were uploaded by the account by then."""
    hashes: str = ""
    """Packed SHA-256 digests: base64 of the concatenated 32-byte digests, sorted, unique."""
    works: tuple[Work, ...] = ()
    """Works with fingerprints or URLs, as in a declaration (spec §2.4), sorted by ``sha256``."""
    sig: str = ""


class Rotation(_TrustStruct, tag="rotation", frozen=True, kw_only=True):
    """A creator's old key names its new key (spec §9.3.3)."""

    v: int
    creator: str
    """The old key: the signing key."""
    new_key: str
    """The new key's ``did:key``; different from ``creator``."""
    issued_at: int
    sig: str = ""


class Revocation(_TrustStruct, tag="revocation", frozen=True, kw_only=True):
    """A key is compromised since a time (spec §9.3.4)."""

    v: int
    creator: str
    """The signing key: the revoked key itself, or a trusted platform that attested it."""
    key: str
    """The revoked key's ``did:key``."""
    since: int
    """What ``key`` signed with ``issued_at >= since`` no longer counts; ``since <= issued_at``."""
    issued_at: int
    sig: str = ""


class CounterStatement(_TrustStruct, tag="counter-statement", frozen=True, kw_only=True):
    """A creator's signed statement about another's declaration (spec §9.3.5)."""

    v: int
    creator: str
    """The signing key; the statement counts where its creator is verified (spec §9.4.6)."""
    target: str
    """The record id (spec §2.9) of the declaration the statement is about."""
    statement: str
    """What is stated: one of :data:`STATEMENTS`."""
    issued_at: int
    sig: str = ""


TrustRecord: TypeAlias = Binding | PlatformAttestation | Rotation | Revocation | CounterStatement
"""The trust record kinds (spec §9.3)."""

AnyRecord: TypeAlias = Declaration | TrustRecord
"""Every record kind a log entry can hold (spec §2.2, §9.3)."""

ENTRY_TYPES: Final[Mapping[str, type[AnyRecord]]] = {
    "declaration": Declaration,
    "binding": Binding,
    "platform-attestation": PlatformAttestation,
    "rotation": Rotation,
    "revocation": Revocation,
    "counter-statement": CounterStatement,
}
"""Every record kind by its ``type`` tag (spec §2.2, §9.3)."""

_ENTRY_DECODER: Final = msgspec.json.Decoder(AnyRecord)

# spec §9.3: limits and formats of the trust records.
MAX_ATTESTED_HASHES: Final = 2048
"""Packed digests per attestation; the entry limit binds first (spec §9.3.2)."""
MAX_ACCOUNT_LENGTH: Final = 128
MAX_ORIGIN_LENGTH: Final = 255
MAX_DOMAIN_LENGTH: Final = 253
STATEMENTS: Final = ("not-rightsholder",)
"""Counter-statement kinds (spec §9.3.5)."""
# printable ASCII except space, '"' and '\\': no JSON escapes, so canonical encoding stays simple
_TOKEN = r"[!#-\[\]-~]"  # noqa: S105 - a character class, not a secret
_ACCOUNT = re.compile(f"{_TOKEN}{{1,{MAX_ACCOUNT_LENGTH}}}")
_ORIGIN = re.compile(f"{_TOKEN}{{1,{MAX_ORIGIN_LENGTH}}}")
_LABEL = r"[a-z0-9_](?:[a-z0-9_\-]{0,61}[a-z0-9_])?"
_DOMAIN = re.compile(rf"{_LABEL}(?:\.{_LABEL})*")
_ALL_DIGITS = re.compile(r"[0-9.]+")
_DIGEST_SIZE: Final = 32


# --- validation (spec §2.3, §2.4, §2.6) -------------------------------------------------------


def _check_sorted_unique(items: tuple[str, ...], what: str) -> None:
    for before, after in itertools.pairwise(items):
        if not before < after:
            raise RecordError(f"{what} must be sorted and unique (spec §2.3)")


def _validate_work(work: Work, index: int) -> None:
    """Check one work (spec §2.4); ``index`` only names it in error messages."""
    where = f"works[{index}]"
    if not _HEX64.fullmatch(work.sha256):
        raise RecordError(f"{where}.sha256 is not 64 lowercase hex digits (spec §2.4)")
    if work.pdq is None:
        if work.pdq_quality is not None:
            raise RecordError(f"{where}.pdq_quality without pdq (spec §2.4)")
    else:
        if not _HEX64.fullmatch(work.pdq):
            raise RecordError(f"{where}.pdq is not 64 lowercase hex digits (spec §2.4)")
        if work.pdq_quality is None or not 0 <= work.pdq_quality <= 100:
            raise RecordError(f"{where}.pdq_quality must be 0..100 with pdq (spec §2.4)")
    _validate_pdq_variants(work, where)
    if work.iscc is not None:
        _validate_iscc(work.iscc, where)
    if len(work.urls) > MAX_URLS_PER_WORK:
        raise LimitError(f"{where} has more than {MAX_URLS_PER_WORK} urls (spec §2.6)")
    for url in work.urls:
        if normalize_url(url) != url:
            raise RecordError(f"{where}.urls: {url[:80]!r} is not normalised (spec §2.5)")
    _check_sorted_unique(work.urls, f"{where}.urls")
    if work.media_type is not None and not _MEDIA_TYPE.fullmatch(work.media_type):
        raise RecordError(f"{where}.media_type is not a lowercase type/subtype (spec §2.4)")


def _validate_pdq_variants(work: Work, where: str) -> None:
    """spec §2.4: ``pdq_variants`` only with ``pdq``, at most MAX_PDQ_VARIANTS hex hashes,
    sorted, unique and none equal to ``pdq``."""
    if not work.pdq_variants:
        return
    if work.pdq is None:
        raise RecordError(f"{where}.pdq_variants without pdq (spec §2.4)")
    if len(work.pdq_variants) > MAX_PDQ_VARIANTS:
        raise LimitError(f"{where} has more than {MAX_PDQ_VARIANTS} pdq_variants (spec §2.6)")
    for variant in work.pdq_variants:
        if not _HEX64.fullmatch(variant):
            raise RecordError(f"{where}.pdq_variants holds a non-hash (spec §2.4)")
        if variant == work.pdq:
            raise RecordError(f"{where}.pdq_variants repeats pdq (spec §2.4)")
    _check_sorted_unique(work.pdq_variants, f"{where}.pdq_variants")


def _validate_iscc(code: str, where: str) -> None:
    if not _ISCC.fullmatch(code):
        raise RecordError(f"{where}.iscc is not 'ISCC:' and base32 (spec §2.4)")
    body = code[5:]
    try:
        data = base64.b32decode(body + "=" * (-len(body) % 8))
    except ValueError as exc:  # binascii.Error: a length no byte string encodes to
        raise RecordError(f"{where}.iscc is not valid base32 (spec §2.4)") from exc
    if base64.b32encode(data).decode("ascii").rstrip("=") != body:
        raise RecordError(f"{where}.iscc is not canonical base32 (spec §2.4)")


def _validate_prefs(prefs: dict[str, str]) -> None:
    if len(prefs) > MAX_PREFS:
        raise LimitError(f"more than {MAX_PREFS} preferences (spec §2.6)")
    # One source of truth for category labels and values: spec §3.1 via prefs.
    validate_prefs(prefs)


def _validate_signature_format(sig: str) -> bytes:
    if not sig:
        raise SignatureError("record is not signed (spec §2.8)")
    try:
        raw = b64decode(sig)
    except EncodingError as exc:
        raise SignatureError(f"sig is not canonical base64: {exc}") from exc
    if len(raw) != SIGNATURE_SIZE:
        raise SignatureError(f"sig must encode 64 bytes, got {len(raw)} (spec §2.8)")
    return raw


def validate_record(record: AnyRecord, *, signed: bool = True) -> None:
    """Check every schema rule and limit of spec §2.3-§2.6 (a declaration) or §9.3 (a trust
    record) except the entry size and signature.

    With ``signed=True`` the ``sig`` field must be well-formed (not verified: see
    :func:`verify_record`); with ``signed=False`` it is ignored. Checks run in the order of
    spec §2.7 step 5 and the first failure raises: :class:`RecordError` (or its
    :class:`LimitError`), :class:`PreferenceError` for preferences,
    :class:`~registry.core.errors.KeyFormatError` for the creator, :class:`SignatureError`
    for a malformed ``sig``.
    """
    if record.v != RECORD_VERSION:
        raise RecordError(f"unsupported record version {record.v} (spec §2.2)")
    if not isinstance(record, Declaration):
        _validate_trust(record)
    else:
        _validate_declaration(record)
    if signed:
        _validate_signature_format(record.sig)


def _validate_issued_at(issued_at: int, name: str = "issued_at") -> None:
    if not 0 <= issued_at <= MAX_ISSUED_AT:
        raise RecordError(f"{name} must be 0..2**53-1 (spec §2.3)")


def _validate_declaration(record: Declaration) -> None:
    PublicKey.from_did(record.creator)
    _validate_issued_at(record.issued_at)
    if not record.works:
        raise RecordError("a declaration needs at least one work (spec §2.3)")
    if len(record.works) > MAX_WORKS:
        raise LimitError(f"more than {MAX_WORKS} works (spec §2.6)")
    for index, work in enumerate(record.works):
        _validate_work(work, index)
    _check_sorted_unique(tuple(work.sha256 for work in record.works), "works (by sha256)")
    _validate_prefs(record.prefs)
    if record.withdraw and record.prefs:
        raise RecordError("a withdrawal must have empty prefs (spec §2.3)")
    if not record.withdraw and not record.prefs:
        raise RecordError("a declaration needs at least one preference (spec §2.3)")
    if len(record.supersedes) > MAX_SUPERSEDES:
        raise LimitError(f"more than {MAX_SUPERSEDES} superseded ids (spec §2.6)")
    for declaration_id in record.supersedes:
        if not _HEX64.fullmatch(declaration_id):
            raise RecordError("supersedes holds a non-id: 64 lowercase hex digits (spec §2.3)")
    _check_sorted_unique(record.supersedes, "supersedes")


def validate_domain(domain: str) -> None:
    """Check that ``domain`` is a domain as a ``binding`` names it (spec §9.3.1).

    Raises :class:`RecordError` unless it is a DNS name written as a URL host after §2.5
    step 5: lowercase labels, without a port, a trailing dot or an IP address.
    """
    if (
        len(domain) > MAX_DOMAIN_LENGTH
        or not _DOMAIN.fullmatch(domain)
        or _ALL_DIGITS.fullmatch(domain)
    ):
        raise RecordError(f"domain {domain[:80]!r} is not a lowercase DNS name (spec §9.3.1)")


def _validate_hex64(value: str, name: str) -> None:
    if not _HEX64.fullmatch(value):
        raise RecordError(f"{name} is not 64 lowercase hex digits (spec §9.3)")


def attested_hashes(record: PlatformAttestation) -> tuple[str, ...]:
    """The SHA-256 digests packed in an attestation's ``hashes``, as lowercase hex (spec §9.3.2).

    Raises :class:`RecordError` if ``hashes`` is not canonical base64 of whole digests.
    """
    try:
        raw = b64decode(record.hashes) if record.hashes else b""
    except EncodingError as exc:
        raise RecordError(f"hashes is not canonical base64: {exc} (spec §9.3.2)") from exc
    if len(raw) % _DIGEST_SIZE:
        raise RecordError("hashes must pack whole 32-byte digests (spec §9.3.2)")
    return tuple(raw[i : i + _DIGEST_SIZE].hex() for i in range(0, len(raw), _DIGEST_SIZE))


def pack_hashes(digests: Iterable[str]) -> str:
    """Pack lowercase hex SHA-256 digests for ``PlatformAttestation.hashes``: sorted, unique.

    Raises :class:`RecordError` if one is not 64 lowercase hex digits.
    """
    unique = sorted(set(digests))
    for digest in unique:
        _validate_hex64(digest, "a packed hash")
    return b64encode(b"".join(bytes.fromhex(digest) for digest in unique))


def _validate_attestation(record: PlatformAttestation) -> None:
    if not _ACCOUNT.fullmatch(record.account):
        raise RecordError(
            f"account must be 1..{MAX_ACCOUNT_LENGTH} printable ASCII characters without "
            "space, '\"' or '\\' (spec §9.3.2)"
        )
    PublicKey.from_did(record.creator)
    _validate_issued_at(record.issued_at)
    hashes = attested_hashes(record)
    if len(hashes) > MAX_ATTESTED_HASHES:
        raise LimitError(f"more than {MAX_ATTESTED_HASHES} packed hashes (spec §9.3.2)")
    _check_sorted_unique(hashes, "hashes")
    if len(record.works) > MAX_WORKS:
        raise LimitError(f"more than {MAX_WORKS} works (spec §9.3.2)")
    for index, work in enumerate(record.works):
        _validate_work(work, index)
    listed = tuple(work.sha256 for work in record.works)
    _check_sorted_unique(listed, "works (by sha256)")
    if not set(hashes).isdisjoint(listed):
        raise RecordError("a work is both in hashes and in works (spec §9.3.2)")


def _validate_trust(record: TrustRecord) -> None:
    """Field rules of the trust record kinds (spec §9.3), in the order of their tables."""
    PublicKey.from_did(signer_of(record))
    if isinstance(record, Binding):
        if not _ORIGIN.fullmatch(record.origin):
            raise RecordError("origin must be 1..255 printable ASCII characters (spec §9.3.1)")
        validate_domain(record.domain)
        PublicKey.from_did(record.creator)
        _validate_issued_at(record.issued_at)
        _validate_hex64(record.evidence, "evidence")
    elif isinstance(record, PlatformAttestation):
        _validate_attestation(record)
    elif isinstance(record, Rotation):
        PublicKey.from_did(record.new_key)
        if record.new_key == record.creator:
            raise RecordError("a rotation must name a different key (spec §9.3.3)")
        _validate_issued_at(record.issued_at)
    elif isinstance(record, Revocation):
        PublicKey.from_did(record.key)
        _validate_issued_at(record.since, "since")
        _validate_issued_at(record.issued_at)
        if record.since > record.issued_at:
            raise RecordError("a revocation's since must not be after its issued_at (spec §9.3.4)")
    else:
        _validate_hex64(record.target, "target")
        if record.statement not in STATEMENTS:
            raise RecordError(f"unknown statement {record.statement[:40]!r} (spec §9.3.5)")
        _validate_issued_at(record.issued_at)


def signer_of(record: AnyRecord) -> str:
    """The ``did:key`` whose signature a record carries (spec §2.8, §9.3)."""
    if isinstance(record, Binding):
        return record.node
    if isinstance(record, PlatformAttestation):
        return record.platform
    return record.creator


# --- encoding, signing (spec §2.8, §2.9) ------------------------------------------------------


def _encode(record: AnyRecord) -> bytes:
    # A validated record holds only printable ASCII strings needing no escapes and ASCII keys,
    # for which msgspec's sorted encoding is exactly RFC 8785 (spec §1.2.2); the tests check
    # this against canonical_json. Default values are omitted (spec §2.3).
    return msgspec.json.encode(record, order="sorted")


def _signing_input(record: AnyRecord) -> bytes:
    return _encode(msgspec.structs.replace(record, sig=""))


def signing_input(record: AnyRecord) -> bytes:
    """The bytes a record's signature covers: its canonical JSON without ``sig`` (spec §2.8).

    Raises as :func:`validate_record` with ``signed=False``.
    """
    validate_record(record, signed=False)
    return _signing_input(record)


def _check_size(entry: bytes) -> None:
    if len(entry) > MAX_ENTRY_BYTES:
        raise LimitError(f"entry is {len(entry)} bytes, more than {MAX_ENTRY_BYTES} (spec §2.6)")


def encode_record(record: AnyRecord) -> bytes:
    """The canonical bytes of a signed record: its log entry (spec §2.8).

    Raises as :func:`validate_record` (the ``sig`` must be present and well-formed) and
    :class:`LimitError` if the entry exceeds :data:`MAX_ENTRY_BYTES`.
    """
    validate_record(record, signed=True)
    entry = _encode(record)
    _check_size(entry)
    return entry


def entry_size(record: AnyRecord) -> int:
    """How many bytes ``record``'s entry has, or will have once signed (spec §2.10).

    Clients use it to pack works into declarations of at most :data:`MAX_ENTRY_BYTES`. Does
    not validate ``record``.
    """
    return len(_encode(msgspec.structs.replace(record, sig=_SIG_PLACEHOLDER)))


DEFAULT_CLOCK_SKEW: Final = 600
"""Seconds a record's ``issued_at`` may be ahead of a receiver's clock (spec §2.11)."""


def check_issued_at(record: AnyRecord, *, now: int, skew: int = DEFAULT_CLOCK_SKEW) -> None:
    """Refuse a record dated beyond ``now + skew`` (spec §2.11).

    ``now`` is the receiver's clock in Unix seconds, passed in: the core reads no clock.

    Raises:
        FutureRecordError: ``record.issued_at > now + skew``.
    """
    if record.issued_at > now + skew:
        raise FutureRecordError(
            f"issued_at {record.issued_at} is {record.issued_at - now} s ahead of this "
            f"receiver's clock; at most {skew} s is allowed (spec §2.11)"
        )


def sign_declaration(record: Declaration, key: PrivateKey) -> Declaration:
    """Return ``record`` signed by ``key`` (spec §2.8).

    Raises :class:`RecordError` if ``record.creator`` is not ``key``'s ``did:key``, as
    :func:`validate_record` for an invalid record, and :class:`LimitError` if the signed
    entry would exceed :data:`MAX_ENTRY_BYTES`.
    """
    if record.creator != key.public_key.did:
        raise RecordError("creator is not the did:key of the signing key (spec §2.8)")
    validate_record(record, signed=False)
    signature = key.sign(_signing_input(record))
    signed = msgspec.structs.replace(record, sig=b64encode(signature))
    _check_size(_encode(signed))
    return signed


def sign_record(record: TrustRecord, key: PrivateKey) -> TrustRecord:
    """Return a trust record (spec §9.3) signed by ``key`` (spec §2.8).

    Raises :class:`RecordError` if ``key`` is not the record's signer (:func:`signer_of`), as
    :func:`validate_record` for an invalid record, and :class:`LimitError` if the signed entry
    would exceed :data:`MAX_ENTRY_BYTES`.
    """
    if signer_of(record) != key.public_key.did:
        raise RecordError("the record's signer is not the did:key of the signing key (spec §2.8)")
    validate_record(record, signed=False)
    signed = msgspec.structs.replace(record, sig=b64encode(key.sign(_signing_input(record))))
    _check_size(_encode(signed))
    return signed


def _verify(record: AnyRecord) -> None:
    signature = _validate_signature_format(record.sig)
    PublicKey.from_did(signer_of(record)).verify(signature, _signing_input(record))


def verify_record(record: AnyRecord) -> None:
    """Check a record's signature by its creator (spec §2.8).

    Raises as :func:`validate_record` for a malformed record and :class:`SignatureError` if
    the signature does not verify.
    """
    validate_record(record, signed=True)
    _verify(record)


def record_id(entry: bytes) -> str:
    """A record's id: lowercase hex SHA-256 of its entry bytes (spec §2.9)."""
    return hashlib.sha256(entry).hexdigest()


# --- decoding (spec §2.7) ---------------------------------------------------------------------


def _decode_fast(data: bytes, decoder: msgspec.json.Decoder[Any] = _DECODER) -> AnyRecord | None:
    """Decode a *valid* entry quickly, or return None so the stepwise decoder names the error.

    If this returns a record, the stepwise procedure of spec §2.7 would return the same one:
    the bytes are the canonical encoding of a validated record, so they parse (step 2), are
    canonical (step 3), match the schema (step 4), validate (step 5) and re-encode (step 6).
    """
    try:
        record = decoder.decode(data)
        validate_record(record, signed=True)
    except (msgspec.DecodeError, UnicodeDecodeError, ProtocolError):
        return None
    return record if _encode(record) == data else None


def _decode_stepwise(data: bytes, types: Mapping[str, type[AnyRecord]] = RECORD_TYPES) -> AnyRecord:
    """Decode an entry by following spec §2.7 steps 2-6 literally (step 1 done by the caller)."""
    # spec §2.7 step 2: strict JSON in the restricted model.
    value = parse_json(data)
    # spec §2.7 step 3: byte-identical to the canonical form of the parsed value.
    if canonical_json(value) != data:
        raise NonCanonicalError("entry is not canonical JSON (spec §2.7 step 3)")
    # spec §2.7 step 4: an object whose "type" names a known record type; then its schema.
    if not isinstance(value, dict):
        raise RecordError("a record is a JSON object (spec §2.7 step 4)")
    tag = value.get("type")
    record_type = types.get(tag) if isinstance(tag, str) else None
    if record_type is None:
        raise RecordError(f"unknown record type {tag!r} (spec §2.7 step 4)")
    try:
        record = msgspec.convert(value, record_type)
    except msgspec.ValidationError as exc:
        raise RecordError(f"record does not match its schema: {exc} (spec §2.7 step 4)") from exc
    # spec §2.7 step 5: field rules and limits.
    validate_record(record, signed=True)
    # spec §2.7 step 6: default values must be omitted, so re-encoding gives the same bytes.
    if _encode(record) != data:
        raise NonCanonicalError("entry writes a default value explicitly (spec §2.7 step 6)")
    return record


def decode_record(data: bytes) -> Record:
    """Decode and validate a log entry (spec §2.7). Does NOT verify the signature.

    Raises :class:`LimitError` if ``data`` exceeds :data:`MAX_ENTRY_BYTES` (checked before
    parsing), :class:`EncodingError` if it is not strict JSON of the restricted model,
    :class:`NonCanonicalError` if it is not the record's canonical encoding,
    :class:`RecordError` / :class:`PreferenceError` / ``KeyFormatError`` /
    :class:`SignatureError` (malformed ``sig``) for schema and field violations.
    """
    # _DECODER and RECORD_TYPES know only the declaration
    return cast("Declaration", _decode(bytes(data), _DECODER, RECORD_TYPES))


def _decode(
    data: bytes, decoder: msgspec.json.Decoder[Any], types: Mapping[str, type[AnyRecord]]
) -> AnyRecord:
    # spec §2.7 step 1: size first, before parsing anything.
    _check_size(data)
    record = _decode_fast(data, decoder)
    return record if record is not None else _decode_stepwise(data, types)


def decode_entry(data: bytes) -> AnyRecord:
    """Decode and validate a log entry of any kind (spec §2.7, §9.3). Does NOT verify the
    signature.

    As :func:`decode_record`, with the trust record kinds of spec §9.3 known besides the
    declaration. Raises the same error classes.
    """
    return _decode(bytes(data), _ENTRY_DECODER, ENTRY_TYPES)


def load_entry(data: bytes) -> AnyRecord:
    """Decode an entry of any kind and verify its signature by :func:`signer_of` (spec §2.8,
    §9.3). Raises as :func:`decode_entry`, and :class:`SignatureError` if the signature fails.
    """
    record = decode_entry(data)
    _verify(record)
    return record


def decode_stored(data: bytes) -> Record:
    """Decode an entry read back from storage that accepted it: the node's own log, or a
    mirrored log's committed rows (spec §6.11 item 3).

    Such an entry passed :func:`load_record` (spec §2.7, §2.8) before it was stored, so only
    its shape is checked again (a typed decode, ~20x faster than :func:`decode_record`): bytes
    damaged at rest raise :class:`EncodingError` (not JSON) or :class:`RecordError` (not a
    record) rather than yield a value of the wrong type. The field rules and canonical form
    (§2.7 steps 1, 3, 5, 6) are not re-checked; ``registry log verify`` re-checks everything.
    Never use this on bytes from a client or a peer.
    """
    try:
        return _DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise RecordError(f"stored entry is not a record: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise EncodingError(f"stored entry is not JSON: {exc}") from exc


def decode_stored_entry(data: bytes) -> AnyRecord:
    """:func:`decode_stored` for entries of any kind (spec §9.3): a declaration or a trust
    record read back from storage that accepted it. Never use this on bytes from a client or
    a peer.
    """
    try:
        return _ENTRY_DECODER.decode(data)
    except msgspec.ValidationError as exc:
        raise RecordError(f"stored entry is not a record: {exc}") from exc
    except msgspec.DecodeError as exc:
        raise EncodingError(f"stored entry is not JSON: {exc}") from exc


def load_record(data: bytes) -> Record:
    """Decode an entry and verify its signature (spec §2.7, §2.8): what a node accepts.

    Raises as :func:`decode_record`, and :class:`SignatureError` if the signature fails.
    """
    record = decode_record(data)
    _verify(record)
    return record


# --- construction helpers (spec §2.10) --------------------------------------------------------


def new_work(
    sha256: str,
    *,
    pdq: str | None = None,
    pdq_quality: int | None = None,
    pdq_variants: Iterable[str] = (),
    iscc: str | None = None,
    urls: Iterable[str] = (),
    media_type: str | None = None,
) -> Work:
    """Build a valid :class:`Work`: URLs are normalised (spec §2.5), deduplicated and sorted;
    ``pdq_variants`` are deduplicated, sorted, and any equal to ``pdq`` dropped.

    Raises :class:`RecordError` (or :class:`LimitError`) if a field is invalid.
    """
    normalised = tuple(sorted({normalize_url(url) for url in urls}))
    work = Work(
        sha256=sha256,
        pdq=pdq,
        pdq_quality=pdq_quality,
        pdq_variants=tuple(sorted(set(pdq_variants) - {pdq})),
        iscc=iscc,
        urls=normalised,
        media_type=media_type,
    )
    _validate_work(work, 0)
    return work


def new_declaration(
    *,
    creator: str,
    issued_at: int,
    works: Iterable[Work],
    prefs: Mapping[str, str],
    supersedes: Iterable[str] = (),
    withdraw: bool = False,
) -> Declaration:
    """Build a valid unsigned :class:`Declaration`, sorting works and superseded ids.

    Raises :class:`RecordError` if two works share a ``sha256``, and as
    :func:`validate_record` (``signed=False``) for anything else invalid. Sign the result with
    :func:`sign_declaration`.
    """
    ordered = tuple(sorted(works, key=lambda work: work.sha256))
    record = Declaration(
        v=RECORD_VERSION,
        creator=creator,
        issued_at=issued_at,
        works=ordered,
        prefs=dict(sorted(prefs.items())),
        supersedes=tuple(sorted(set(supersedes))),
        withdraw=withdraw,
    )
    validate_record(record, signed=False)
    return record
