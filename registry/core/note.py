"""C2SP signed notes (c2sp.org/signed-note@v1.0.0): keys, signing and verification.

A signed note is a UTF-8 text followed by a blank line and one or more signature lines
``— <key name> base64(key ID || signature)``. This module implements spec §5.1-§5.4:

- key names and key IDs (§5.2), verifier keys ``name+hex8+base64(alg||pubkey)`` and signer keys
  ``PRIVATE+KEY+name+hex8+base64(alg||seed)`` (§5.3), for two signature types: Ed25519 note
  signatures (type ``0x01``) and C2SP tlog-cosignature ``cosignature/v1`` timestamped Ed25519
  cosignatures (type ``0x04``);
- :func:`sign_note` and :func:`open_note` with the verification rules of §5.4: signatures from
  unknown keys are kept aside as unverified, a failing signature from a known key rejects the
  whole note, and a note with no verifying known signature is rejected.

Every function raises a :class:`~registry.core.errors.ProtocolError` subclass:
:class:`KeyFormatError` for key strings, :class:`NoteError` for malformed notes and
:class:`UnverifiedNoteError` when verification fails.
"""

from __future__ import annotations

import hashlib
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from registry.core.encoding import b64decode, b64encode
from registry.core.errors import (
    EncodingError,
    KeyFormatError,
    NoteError,
    SignatureError,
    UnverifiedNoteError,
)
from registry.core.keys import PrivateKey, PublicKey

__all__ = [
    "ALG_COSIGNATURE_V1",
    "ALG_ED25519",
    "MAX_NOTE_BYTES",
    "MAX_SIGNATURES",
    "MAX_TIMESTAMP",
    "Note",
    "NoteSignature",
    "NoteSigner",
    "NoteVerifier",
    "append_signature_lines",
    "check_key_name",
    "cosignature_message",
    "key_id",
    "open_note",
    "parse_note",
    "parse_signature_lines",
    "sign_note",
]

ALG_ED25519 = 0x01
"""Signature type of Ed25519 note signatures (C2SP signed-note, spec §5.2)."""

ALG_COSIGNATURE_V1 = 0x04
"""Signature type of timestamped Ed25519 cosignatures (C2SP tlog-cosignature, spec §5.6)."""

MAX_SIGNATURES = 100
"""Most signature lines a note may carry (spec §5.1; signed-note requires at least 16)."""

MAX_NOTE_BYTES = 1 << 20
"""Largest signed note, in bytes of UTF-8, that is signed or opened (spec §5.1)."""

MAX_TIMESTAMP = (1 << 63) - 1
"""Largest cosignature timestamp (C2SP tlog-cosignature: it MUST NOT exceed 2^63 - 1)."""

_ALGORITHMS = (ALG_ED25519, ALG_COSIGNATURE_V1)
_SIG_PREFIX = "\u2014 "  # em dash U+2014, space
_ED25519_KEY_BYTES = 32
_ED25519_SIG_BYTES = 64
_TIMESTAMP_BYTES = 8
_KEY_ID_BYTES = 4
_COSIGNATURE_HEADER = b"cosignature/v1\n"
_HEX8 = re.compile(r"[0-9a-f]{8}")

# The Unicode White_Space property (what "Unicode spaces" means in C2SP signed-note, and what
# Go's unicode.IsSpace tests). Spec §5.2.
_UNICODE_SPACES = frozenset(
    "\t\n\v\f\r \x85\xa0\u1680\u2000\u2001\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009"
    "\u200a\u2028\u2029\u202f\u205f\u3000"
)


def check_key_name(name: str) -> None:
    """Check a note key name (spec §5.2): non-empty, valid UTF-8, no Unicode space, no ``+``.

    Names with ASCII control characters are refused too, since no signed note can carry them.

    Raises:
        KeyFormatError: the name is not a valid key name.
    """
    if not name:
        raise KeyFormatError("key name is empty")
    if "+" in name:
        raise KeyFormatError(f"key name {name!r} contains '+'")
    for char in name:
        if char in _UNICODE_SPACES or ord(char) < 0x20:
            raise KeyFormatError(f"key name {name!r} contains a space or control character")
        if 0xD800 <= ord(char) <= 0xDFFF:
            raise KeyFormatError(f"key name {name!r} is not valid UTF-8 (lone surrogate)")


def key_id(name: str, alg: int, public_key: bytes) -> bytes:
    """Return the 4-byte key ID of a key (spec §5.2).

    ``SHA-256(key name || 0x0A || signature type || public key)[:4]``, as C2SP signed-note
    recommends and C2SP tlog-cosignature requires.

    Raises:
        KeyFormatError: the name is invalid or ``alg`` is not a byte value.
    """
    check_key_name(name)
    if not 0 <= alg <= 0xFF:
        raise KeyFormatError(f"signature type {alg} is not a byte")
    digest = hashlib.sha256(name.encode("utf-8") + b"\n" + bytes([alg]) + public_key).digest()
    return digest[:_KEY_ID_BYTES]


def cosignature_message(text: str, timestamp: int) -> bytes:
    """Return the message a ``cosignature/v1`` signature signs (spec §5.6).

    ``"cosignature/v1\\n" + "time <timestamp>\\n" + note text``.

    Raises:
        SignatureError: the timestamp is negative or exceeds 2^63 - 1.
    """
    if not 0 <= timestamp <= MAX_TIMESTAMP:
        raise SignatureError(f"cosignature timestamp {timestamp} out of range 0..2^63-1")
    return _COSIGNATURE_HEADER + f"time {timestamp}\n".encode("ascii") + text.encode("utf-8")


def _split_key_string(text: str, parts: int, what: str) -> list[str]:
    # The base64 field may itself contain '+': only the first separators split (spec §5.3).
    fields = text.split("+", parts - 1)
    if len(fields) != parts:
        raise KeyFormatError(f"{what} must have {parts} '+'-separated fields")
    return fields


def _decode_key_material(name: str, hex8: str, b64: str, what: str) -> tuple[int, bytes]:
    check_key_name(name)
    if not _HEX8.fullmatch(hex8):
        raise KeyFormatError(f"{what} key ID must be 8 lowercase hex digits")
    try:
        raw = b64decode(b64)
    except EncodingError as exc:
        raise KeyFormatError(f"{what} key material is not canonical base64") from exc
    if len(raw) != 1 + _ED25519_KEY_BYTES:
        raise KeyFormatError(f"{what} key material must be 1 + 32 bytes, got {len(raw)}")
    if raw[0] not in _ALGORITHMS:
        raise KeyFormatError(f"{what} signature type 0x{raw[0]:02x} is not supported")
    return raw[0], raw[1:]


@dataclass(frozen=True)
class NoteSignature:
    """One signature line of a note (spec §5.1).

    ``signature`` is the raw signature after the key ID (for ``cosignature/v1`` it starts with
    the 8-byte timestamp). ``timestamp`` is the verified cosignature time, or ``None`` for an
    Ed25519 note signature or a signature that was not verified.
    """

    name: str
    key_id: bytes
    signature: bytes
    timestamp: int | None = None

    @property
    def line(self) -> str:
        """The signature line, without its final newline."""
        return f"{_SIG_PREFIX}{self.name} {b64encode(self.key_id + self.signature)}"


@dataclass(frozen=True)
class Note:
    """An opened signed note: its text and its signatures (spec §5.4).

    ``signatures`` verified under a known key, in note order; ``unverified`` are the signatures
    from keys the caller did not supply (their text MUST NOT be trusted on their account).
    """

    text: str
    signatures: tuple[NoteSignature, ...]
    unverified: tuple[NoteSignature, ...]


class NoteVerifier:
    """A public key that verifies note signatures of one type under one key name (spec §5.3).

    Build it from a verifier key string (:meth:`from_vkey`) or from a raw Ed25519 public key
    (:meth:`from_public_key`). Equal when name, type and key are equal.
    """

    __slots__ = ("_key", "alg", "key_id", "name", "public_key")

    def __init__(self, name: str, public_key: bytes, *, alg: int = ALG_ED25519) -> None:
        """Make a verifier for ``name`` and a 32-byte Ed25519 public key.

        Raises:
            KeyFormatError: invalid name, unsupported type or not an Ed25519 public key.
        """
        if alg not in _ALGORITHMS:
            raise KeyFormatError(f"signature type 0x{alg:02x} is not supported")
        if len(public_key) != _ED25519_KEY_BYTES:
            raise KeyFormatError(f"Ed25519 public key must be 32 bytes, got {len(public_key)}")
        self.name = name
        self.alg = alg
        self.public_key = bytes(public_key)
        self.key_id = key_id(name, alg, self.public_key)
        self._key = PublicKey.from_bytes(self.public_key)

    @classmethod
    def from_public_key(
        cls, name: str, public_key: bytes, *, alg: int = ALG_ED25519
    ) -> NoteVerifier:
        """Same as the constructor; reads better at call sites."""
        return cls(name, public_key, alg=alg)

    @classmethod
    def from_vkey(cls, vkey: str) -> NoteVerifier:
        """Parse a verifier key ``<name>+<hex8 key ID>+<base64(type || public key)>`` (§5.3).

        Parsing is strict: lowercase hex only, canonical padded base64, a supported signature
        type, a 32-byte key, and a key ID equal to the one computed from name, type and key.

        Raises:
            KeyFormatError: any of these checks fails.
        """
        name, hex8, b64 = _split_key_string(vkey, 3, "verifier key")
        alg, public_key = _decode_key_material(name, hex8, b64, "verifier key")
        verifier = cls(name, public_key, alg=alg)
        if verifier.key_id.hex() != hex8:
            raise KeyFormatError(f"verifier key ID {hex8} does not match the key")
        return verifier

    @property
    def vkey(self) -> str:
        """The verifier key string ``name+hex8+base64(type || public key)`` (spec §5.3)."""
        material = b64encode(bytes([self.alg]) + self.public_key)
        return f"{self.name}+{self.key_id.hex()}+{material}"

    def verify(self, text: str, signature: bytes) -> int | None:
        """Verify ``signature`` (the bytes after the key ID) over the note ``text``.

        Returns the cosignature timestamp for ``cosignature/v1`` keys, ``None`` for Ed25519.

        Raises:
            SignatureError: wrong length, timestamp out of range, or the signature is invalid.
        """
        timestamp: int | None = None
        if self.alg == ALG_COSIGNATURE_V1:
            # C2SP tlog-cosignature: timestamped_signature = u64 timestamp (big-endian) || sig
            if len(signature) != _TIMESTAMP_BYTES + _ED25519_SIG_BYTES:
                raise SignatureError(f"{self.name}: cosignature must be 72 bytes")
            timestamp = int.from_bytes(signature[:_TIMESTAMP_BYTES], "big")
            message = cosignature_message(text, timestamp)
            signature = signature[_TIMESTAMP_BYTES:]
        else:
            if len(signature) != _ED25519_SIG_BYTES:
                raise SignatureError(f"{self.name}: Ed25519 signature must be 64 bytes")
            message = text.encode("utf-8")
        try:
            self._key.verify(signature, message)
        except SignatureError as exc:
            raise SignatureError(
                f"invalid signature for key {self.name}+{self.key_id.hex()}"
            ) from exc
        return timestamp

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, NoteVerifier):
            return NotImplemented
        return (self.name, self.alg, self.public_key) == (other.name, other.alg, other.public_key)

    def __hash__(self) -> int:
        return hash((self.name, self.alg, self.public_key))

    def __repr__(self) -> str:
        return f"NoteVerifier({self.vkey!r})"


class NoteSigner:
    """A private key that signs notes under one key name (spec §5.3).

    Build it from a signer key string (:meth:`from_skey`) or from a 32-byte Ed25519 seed
    (:meth:`from_seed`). Its :attr:`verifier` is the matching public verifier.
    """

    __slots__ = ("_key", "verifier")

    def __init__(self, name: str, seed: bytes, *, alg: int = ALG_ED25519) -> None:
        """Make a signer for ``name`` from a 32-byte Ed25519 seed (RFC 8032 private key).

        Raises:
            KeyFormatError: invalid name, unsupported type or a seed that is not 32 bytes.
        """
        if len(seed) != _ED25519_KEY_BYTES:
            raise KeyFormatError(f"Ed25519 seed must be 32 bytes, got {len(seed)}")
        self._key = PrivateKey.from_seed(bytes(seed))
        self.verifier = NoteVerifier(name, self._key.public_key.raw, alg=alg)

    @property
    def key(self) -> PrivateKey:
        """The Ed25519 private key itself, for signing records with the same key (spec §9.3.1:
        a node signs its bindings with its log key)."""
        return self._key

    @classmethod
    def from_seed(cls, name: str, seed: bytes, *, alg: int = ALG_ED25519) -> NoteSigner:
        """Same as the constructor; reads better at call sites."""
        return cls(name, seed, alg=alg)

    @classmethod
    def from_skey(cls, skey: str) -> NoteSigner:
        """Parse a signer key ``PRIVATE+KEY+<name>+<hex8>+<base64(type || seed)>`` (§5.3).

        The key ID is that of the derived public key, as in the verifier key.

        Raises:
            KeyFormatError: wrong prefix, malformed fields, unsupported type, wrong seed
                length, or a key ID that does not match the derived public key.
        """
        private, key, name, hex8, b64 = _split_key_string(skey, 5, "signer key")
        if (private, key) != ("PRIVATE", "KEY"):
            raise KeyFormatError("signer key must start with PRIVATE+KEY+")
        alg, seed = _decode_key_material(name, hex8, b64, "signer key")
        signer = cls(name, seed, alg=alg)
        if signer.key_id.hex() != hex8:
            raise KeyFormatError(f"signer key ID {hex8} does not match the key")
        return signer

    @property
    def name(self) -> str:
        """The key name."""
        return self.verifier.name

    @property
    def alg(self) -> int:
        """The signature type byte."""
        return self.verifier.alg

    @property
    def key_id(self) -> bytes:
        """The 4-byte key ID."""
        return self.verifier.key_id

    @property
    def skey(self) -> str:
        """The signer key string ``PRIVATE+KEY+name+hex8+base64(type || seed)`` (§5.3)."""
        material = b64encode(bytes([self.alg]) + self._key.seed)
        return f"PRIVATE+KEY+{self.name}+{self.key_id.hex()}+{material}"

    def sign(self, text: str, *, timestamp: int | None = None) -> NoteSignature:
        """Sign a note text; ``timestamp`` is required for, and only for, cosignature keys.

        Raises:
            NoteError: the text is not a valid note text, or ``timestamp`` is missing/extra.
            SignatureError: the timestamp is out of range.
        """
        _check_text(text)
        if self.alg == ALG_COSIGNATURE_V1:
            if timestamp is None:
                raise NoteError(f"{self.name}: a cosignature/v1 signature needs a timestamp")
            message = cosignature_message(text, timestamp)
            signature = timestamp.to_bytes(_TIMESTAMP_BYTES, "big") + self._key.sign(message)
        else:
            if timestamp is not None:
                raise NoteError(f"{self.name}: an Ed25519 note signature takes no timestamp")
            signature = self._key.sign(text.encode("utf-8"))
        return NoteSignature(self.name, self.key_id, signature, timestamp)

    def __repr__(self) -> str:
        return f"NoteSigner({self.verifier.vkey!r})"


def _check_text(text: str) -> None:
    """Spec §5.1: a note text is UTF-8 without control characters but newline, ending in one."""
    if not text.endswith("\n"):
        raise NoteError("note text must end with a newline")
    _check_characters(text)


def _check_characters(text: str) -> None:
    for char in text:
        code = ord(char)
        if code < 0x20 and char != "\n":
            raise NoteError(f"note contains control character U+{code:04X}")
        if 0xD800 <= code <= 0xDFFF:
            raise NoteError("note is not valid UTF-8 (lone surrogate)")


def _parse_signature_line(line: str) -> NoteSignature:
    """Parse ``— <name> <base64(key ID || signature)>`` (spec §5.1)."""
    if not line.startswith(_SIG_PREFIX):
        raise NoteError(f"signature line does not start with an em dash and space: {line!r}")
    name, _, b64 = line[len(_SIG_PREFIX) :].partition(" ")
    try:
        check_key_name(name)
        raw = b64decode(b64)
    except (KeyFormatError, EncodingError) as exc:
        raise NoteError(f"malformed signature line: {line!r}") from exc
    if len(raw) <= _KEY_ID_BYTES:
        raise NoteError(f"signature line has no signature after the key ID: {line!r}")
    return NoteSignature(name, raw[:_KEY_ID_BYTES], raw[_KEY_ID_BYTES:])


def parse_signature_lines(lines: str) -> tuple[NoteSignature, ...]:
    """Parse a block of signature lines, each ending in a newline (spec §5.1).

    This is the form in which a witness returns cosignatures (C2SP tlog-witness).

    Raises:
        NoteError: the block is empty, does not end in a newline, has a malformed line, a
            control character, or more than :data:`MAX_SIGNATURES` lines.
    """
    if not lines.endswith("\n"):
        raise NoteError("signature lines must end with a newline")
    _check_characters(lines)
    parts = lines[:-1].split("\n")
    if len(parts) > MAX_SIGNATURES:
        raise NoteError(f"note has more than {MAX_SIGNATURES} signatures")
    return tuple(_parse_signature_line(line) for line in parts)


def parse_note(data: bytes) -> tuple[str, tuple[NoteSignature, ...]]:
    """Split a signed note into its text and signature lines, verifying nothing (spec §5.1).

    The text MUST NOT be trusted: use :func:`open_note` for that. Useful to read which keys
    signed a note before choosing verifiers, or to append signatures.

    Raises:
        NoteError: the note is too large, not UTF-8, has control characters, has no blank
            line before the signatures, has a malformed signature line or too many of them.
    """
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"note is larger than {MAX_NOTE_BYTES} bytes")
    try:
        message = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        raise NoteError("note is not valid UTF-8") from exc
    _check_characters(message)
    # The text is separated from the signatures by the last empty line of the note.
    split = message.rfind("\n\n")
    if split < 0:
        raise NoteError("note has no blank line before its signatures")
    return message[: split + 1], parse_signature_lines(message[split + 2 :])


def _index_verifiers(
    verifiers: Iterable[NoteVerifier],
) -> dict[tuple[str, bytes], NoteVerifier]:
    known: dict[tuple[str, bytes], NoteVerifier] = {}
    for verifier in verifiers:
        slot = (verifier.name, verifier.key_id)
        if known.setdefault(slot, verifier) != verifier:
            raise KeyFormatError(
                f"ambiguous verifiers: two keys named {verifier.name} with key ID "
                f"{verifier.key_id.hex()}"
            )
    return known


def open_note(data: bytes, verifiers: Iterable[NoteVerifier]) -> Note:
    """Parse a signed note and verify its signatures from known keys (spec §5.4).

    A signature whose (key name, key ID) matches no verifier is kept in ``Note.unverified``.
    Every signature from a known key is verified; identical repeated lines count once.

    Raises:
        NoteError: the note is malformed (see :func:`parse_note`).
        KeyFormatError: two different verifiers share a key name and key ID.
        UnverifiedNoteError: a signature from a known key fails to verify, or no signature
            from a known key is present.
    """
    text, signatures = parse_note(data)
    known = _index_verifiers(verifiers)
    verified: list[NoteSignature] = []
    unverified: list[NoteSignature] = []
    seen: set[NoteSignature] = set()
    for sig in signatures:
        if sig in seen:
            continue
        seen.add(sig)
        verifier = known.get((sig.name, sig.key_id))
        if verifier is None:
            unverified.append(sig)
            continue
        try:
            timestamp = verifier.verify(text, sig.signature)
        except SignatureError as exc:
            raise UnverifiedNoteError(
                f"signature from known key {sig.name}+{sig.key_id.hex()} does not verify"
            ) from exc
        verified.append(NoteSignature(sig.name, sig.key_id, sig.signature, timestamp))
    if not verified:
        raise UnverifiedNoteError("note has no verifiable signature from a known key")
    return Note(text, tuple(verified), tuple(unverified))


def _encode(text: str, signatures: Sequence[NoteSignature]) -> bytes:
    if not signatures:
        raise NoteError("a signed note needs at least one signature")
    if len(signatures) > MAX_SIGNATURES:
        raise NoteError(f"a note carries at most {MAX_SIGNATURES} signatures")
    lines = "".join(f"{sig.line}\n" for sig in signatures)
    data = f"{text}\n{lines}".encode()
    if len(data) > MAX_NOTE_BYTES:
        raise NoteError(f"signed note would be larger than {MAX_NOTE_BYTES} bytes")
    return data


def sign_note(text: str, signers: Sequence[NoteSigner], *, timestamp: int | None = None) -> bytes:
    """Sign a note text with each signer, in order, and return the signed note (spec §5.1).

    ``timestamp`` is used by ``cosignature/v1`` signers (and required if there is one).

    Raises:
        NoteError: invalid text, no signer, two signers with the same name and key ID, a
            cosignature signer without timestamp, or a note over the size limits.
        SignatureError: the timestamp is out of range.
    """
    _check_text(text)
    slots = [(signer.name, signer.key_id) for signer in signers]
    if len(set(slots)) != len(slots):
        raise NoteError("two signers share a key name and key ID")
    signatures = [
        signer.sign(text, timestamp=timestamp if signer.alg == ALG_COSIGNATURE_V1 else None)
        for signer in signers
    ]
    return _encode(text, signatures)


def append_signature_lines(data: bytes, lines: Sequence[NoteSignature]) -> bytes:
    """Add signature lines to a signed note, verifying nothing (spec §5.1).

    A new line replaces an existing one with the same key name and key ID (as when a witness
    cosigns again); the result keeps the existing order and appends the rest.

    Raises:
        NoteError: the note is malformed or the result exceeds the limits.
    """
    text, existing = parse_note(data)
    replaced = {(sig.name, sig.key_id) for sig in lines}
    kept = [sig for sig in existing if (sig.name, sig.key_id) not in replaced]
    unique: dict[tuple[str, bytes], NoteSignature] = {}
    for sig in lines:
        unique[(sig.name, sig.key_id)] = sig
    return _encode(text, [*kept, *unique.values()])
