"""Ed25519 keys, signatures and ``did:key`` creator identifiers (spec §1.4, §1.5).

Signing and verification are RFC 8032 PureEdDSA (Ed25519) as OpenSSL implements it, through
pyca/cryptography: every node uses the same verifier, so all nodes agree on which signatures
are valid (spec §1.4.3). A creator is named by the ``did:key`` of their public key (spec §1.5).

There is deliberately no ``generate()``: the core takes no randomness of its own. Callers make
a seed with ``secrets.token_bytes(32)`` and pass it to :meth:`PrivateKey.from_seed`.
"""

from __future__ import annotations

from typing import Final

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey, Ed25519PublicKey
from cryptography.hazmat.primitives.serialization import Encoding, PublicFormat

from registry.core.encoding import b58decode, b58encode
from registry.core.errors import EncodingError, KeyFormatError, SignatureError

__all__ = [
    "DID_KEY_PREFIX",
    "ED25519_PUB_MULTICODEC",
    "PUBLIC_KEY_SIZE",
    "SEED_SIZE",
    "SIGNATURE_SIZE",
    "PrivateKey",
    "PublicKey",
    "point_encoding_problem",
]

PUBLIC_KEY_SIZE: Final = 32
SEED_SIZE: Final = 32
SIGNATURE_SIZE: Final = 64

DID_KEY_PREFIX: Final = "did:key:"
# spec §1.5: multicodec "ed25519-pub" is 0xed, written as the unsigned varint 0xed 0x01.
ED25519_PUB_MULTICODEC: Final = b"\xed\x01"
# "did:key:" + "z" + base58btc of 34 bytes is 56 characters; anything longer is rejected
# before base58 decoding (which is quadratic in the input length).
_MAX_DID_LENGTH: Final = 64

# spec §1.4.4: the field prime of edwards25519, and the canonical encodings of its eight
# small-order points (the torsion subgroup E[8]: the identity, one point of order 2, two of
# order 4, four of order 8). tests/core/test_keys.py derives them again from the curve.
_P: Final = 2**255 - 19
_SMALL_ORDER: Final = frozenset(
    bytes.fromhex(h)
    for h in (
        "0100000000000000000000000000000000000000000000000000000000000000",
        "ecffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff7f",
        "0000000000000000000000000000000000000000000000000000000000000000",
        "0000000000000000000000000000000000000000000000000000000000000080",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc05",
        "26e8958fc2b227b045c3f489f2ef98f0d5dfac05d3c63339b13802886d53fc85",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac037a",
        "c7176a703d4dd84fba3c0b760d10670f2a2053fa2c39ccc64ec7fd7792ac03fa",
    )
)


def point_encoding_problem(encoded: bytes) -> str | None:
    """Why a 32-byte point encoding is refused by spec §1.4.4, or None if it is not.

    Refused: a non-canonical encoding (y >= p, or x = 0 written with the sign bit set) and
    the encoding of a small-order point. Whether the bytes decode to a curve point at all is
    left to the Ed25519 implementation (RFC 8032 §5.1.3).
    """
    y = int.from_bytes(encoded, "little") & ((1 << 255) - 1)
    if y >= _P:
        return "non-canonical encoding (y >= p)"
    if encoded[31] & 0x80 and y in (1, _P - 1):  # the two points with x = 0
        return "non-canonical encoding (x = 0 with the sign bit set)"
    if encoded in _SMALL_ORDER:
        return "a small-order point"
    return None


class PublicKey:
    """An Ed25519 public key: verifies signatures and names a creator by ``did:key``."""

    __slots__ = ("_key", "_raw")

    def __init__(self, raw: bytes, key: Ed25519PublicKey) -> None:
        """Internal: use :meth:`from_bytes` or :meth:`from_did`."""
        self._raw = raw
        self._key = key

    @classmethod
    def from_bytes(cls, raw: bytes) -> PublicKey:
        """Load a 32-byte RFC 8032 public key.

        Raises :class:`KeyFormatError` if it is not 32 bytes, or is a small-order point or a
        non-canonical encoding (spec §1.4.4): such a key would let anyone write as it.
        """
        if len(raw) != PUBLIC_KEY_SIZE:
            raise KeyFormatError(f"an Ed25519 public key is 32 bytes, got {len(raw)}")
        problem = point_encoding_problem(bytes(raw))
        if problem is not None:
            raise KeyFormatError(f"refused Ed25519 public key: {problem} (spec §1.4.4)")
        try:
            key = Ed25519PublicKey.from_public_bytes(bytes(raw))
        except ValueError as exc:  # pragma: no cover - OpenSSL accepts any 32 bytes here
            raise KeyFormatError(f"invalid Ed25519 public key: {exc}") from exc
        return cls(bytes(raw), key)

    @classmethod
    def from_did(cls, did: str) -> PublicKey:
        """Parse a ``did:key`` Ed25519 identifier (spec §1.5.2).

        Raises :class:`KeyFormatError` unless ``did`` is exactly ``did:key:z`` followed by the
        base58btc encoding of ``0xed 0x01`` and 32 key bytes (no fragment, no other key type).
        """
        if len(did) > _MAX_DID_LENGTH or not did.startswith(DID_KEY_PREFIX + "z"):
            raise KeyFormatError(f"not an Ed25519 did:key: {did[:_MAX_DID_LENGTH]!r}")
        try:
            decoded = b58decode(did[len(DID_KEY_PREFIX) + 1 :])
        except EncodingError as exc:
            raise KeyFormatError(f"did:key is not base58btc: {exc}") from exc
        if not decoded.startswith(ED25519_PUB_MULTICODEC):
            raise KeyFormatError("did:key does not hold an ed25519-pub (0xed01) key")
        return cls.from_bytes(decoded[len(ED25519_PUB_MULTICODEC) :])

    @property
    def raw(self) -> bytes:
        """The 32-byte public key (RFC 8032 §5.1.5)."""
        return self._raw

    @property
    def did(self) -> str:
        """The ``did:key`` identifier of this key (spec §1.5.1)."""
        return DID_KEY_PREFIX + "z" + b58encode(ED25519_PUB_MULTICODEC + self._raw)

    def verify(self, signature: bytes, message: bytes) -> None:
        """Check an Ed25519 signature over ``message`` (spec §1.4.3).

        Raises :class:`SignatureError` if ``signature`` is not 64 bytes, if its ``R`` is a
        small-order point or a non-canonical encoding (spec §1.4.4), or if it does not verify.
        """
        if len(signature) != SIGNATURE_SIZE:
            raise SignatureError(f"an Ed25519 signature is 64 bytes, got {len(signature)}")
        problem = point_encoding_problem(bytes(signature[:32]))
        if problem is not None:
            raise SignatureError(f"refused Ed25519 signature: R is {problem} (spec §1.4.4)")
        try:
            self._key.verify(bytes(signature), bytes(message))
        except InvalidSignature as exc:
            raise SignatureError(f"signature does not verify under {self.did}") from exc

    def __eq__(self, other: object) -> bool:
        if not isinstance(other, PublicKey):
            return NotImplemented
        return self._raw == other._raw

    def __hash__(self) -> int:
        return hash(self._raw)

    def __repr__(self) -> str:
        return f"PublicKey({self.did!r})"


class PrivateKey:
    """An Ed25519 signing key made from a 32-byte seed (RFC 8032 §5.1.5)."""

    __slots__ = ("_key", "_public", "_seed")

    def __init__(self, seed: bytes, key: Ed25519PrivateKey) -> None:
        """Internal: use :meth:`from_seed`."""
        self._seed = seed
        self._key = key
        raw = key.public_key().public_bytes(Encoding.Raw, PublicFormat.Raw)
        # A seed's public key is [a]B with a clamped: canonical and of prime order, so the
        # §1.4.4 checks cannot refuse it.
        self._public = PublicKey(raw, key.public_key())

    @classmethod
    def from_seed(cls, seed: bytes) -> PrivateKey:
        """Load a key from its 32-byte seed. Raises :class:`KeyFormatError` otherwise."""
        if len(seed) != SEED_SIZE:
            raise KeyFormatError(f"an Ed25519 seed is 32 bytes, got {len(seed)}")
        return cls(bytes(seed), Ed25519PrivateKey.from_private_bytes(bytes(seed)))

    @property
    def seed(self) -> bytes:
        """The 32-byte seed (the RFC 8032 private key)."""
        return self._seed

    @property
    def public_key(self) -> PublicKey:
        """The matching public key."""
        return self._public

    def sign(self, message: bytes) -> bytes:
        """Return the 64-byte deterministic Ed25519 signature of ``message`` (RFC 8032 §5.1.6)."""
        return self._key.sign(bytes(message))

    def __repr__(self) -> str:
        return f"PrivateKey(public={self._public.did!r})"  # never show the seed
