"""Creator key files: an Ed25519 seed encrypted under a passphrase (scrypt + ChaCha20-Poly1305).

Format (``consent-registry-key/v1``), a small JSON object::

    {
      "format": "consent-registry-key/v1",
      "did": "did:key:z6Mk...",                  # public: readable without the passphrase
      "kdf": {"name": "scrypt", "n": 131072, "r": 8, "p": 1, "salt": "<base64, 16 bytes>"},
      "cipher": {"name": "chacha20-poly1305", "nonce": "<base64, 12 bytes>"},
      "ciphertext": "<base64: 32-byte seed + 16-byte tag>"
    }

The key-encryption key is scrypt (RFC 7914) of the UTF-8 passphrase; the seed is sealed with
ChaCha20-Poly1305 (RFC 8439) whose associated data is the canonical JSON of every other member,
so changing the ``did``, the KDF parameters or the nonce makes opening fail. The default
``n = 2**17, r = 8`` costs 128 MiB and about half a second per attempt, which makes offline
guessing of the passphrase expensive. Why not PKCS#8 ``BestAvailableEncryption``: with
cryptography it is PBKDF2 with 2,048 iterations, cheap to attack.

The ``did`` is readable without the passphrase (:func:`read_did`), so ``consent status`` does
not need it. Files are created with mode 0600 and never silently overwritten.
"""

from __future__ import annotations

import json
import os
import secrets
from pathlib import Path
from typing import Final

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import ChaCha20Poly1305
from cryptography.hazmat.primitives.kdf.scrypt import Scrypt

from consent.errors import KeyFileError
from registry.core.encoding import b64decode, b64encode, canonical_json
from registry.core.errors import ProtocolError
from registry.core.keys import PrivateKey, PublicKey

__all__ = [
    "DEFAULT_SCRYPT_N",
    "KEY_FORMAT",
    "generate_key",
    "load_key",
    "read_did",
    "save_key",
]

KEY_FORMAT: Final = "consent-registry-key/v1"
DEFAULT_SCRYPT_N: Final = 2**17
_SCRYPT_R: Final = 8
_SCRYPT_P: Final = 1
_MIN_SCRYPT_N: Final = 2**10  # below this a file is refused: it would be trivial to brute-force
_MAX_SCRYPT_N: Final = 2**22


def generate_key() -> PrivateKey:
    """A new creator key from 32 bytes of the operating system's CSPRNG."""
    return PrivateKey.from_seed(secrets.token_bytes(32))


def _kek(passphrase: str, salt: bytes, n: int) -> bytes:
    return Scrypt(salt=salt, length=32, n=n, r=_SCRYPT_R, p=_SCRYPT_P).derive(
        passphrase.encode("utf-8")
    )


def _header(did: str, n: int, salt: bytes, nonce: bytes) -> dict[str, object]:
    return {
        "format": KEY_FORMAT,
        "did": did,
        "kdf": {"name": "scrypt", "n": n, "r": _SCRYPT_R, "p": _SCRYPT_P, "salt": b64encode(salt)},
        "cipher": {"name": "chacha20-poly1305", "nonce": b64encode(nonce)},
    }


def save_key(
    key: PrivateKey,
    path: Path,
    passphrase: str,
    *,
    overwrite: bool = False,
    scrypt_n: int = DEFAULT_SCRYPT_N,
) -> None:
    """Write ``key`` to ``path`` encrypted under ``passphrase`` (mode 0600).

    Raises:
        KeyFileError: the passphrase is empty, ``path`` exists and ``overwrite`` is false, or
            the file cannot be written.
    """
    if not passphrase:
        raise KeyFileError("a passphrase is required to protect the key file")
    if not _MIN_SCRYPT_N <= scrypt_n <= _MAX_SCRYPT_N or scrypt_n & (scrypt_n - 1):
        raise KeyFileError(f"scrypt n must be a power of two in [2^10, 2^22], not {scrypt_n}")
    salt, nonce = secrets.token_bytes(16), secrets.token_bytes(12)
    header = _header(key.public_key.did, scrypt_n, salt, nonce)
    sealed = ChaCha20Poly1305(_kek(passphrase, salt, scrypt_n)).encrypt(
        nonce,
        key.seed,
        canonical_json(header),  # type: ignore[arg-type]
    )
    document = {**header, "ciphertext": b64encode(sealed)}
    data = json.dumps(document, indent=2, sort_keys=True).encode() + b"\n"
    flags = os.O_WRONLY | os.O_CREAT | (os.O_TRUNC if overwrite else os.O_EXCL)
    try:
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, flags, 0o600)
    except FileExistsError:
        raise KeyFileError(f"{path} already exists (refusing to overwrite a key)") from None
    except OSError as exc:
        raise KeyFileError(f"cannot create {path}: {exc.strerror}") from exc
    with os.fdopen(fd, "wb") as handle:
        handle.write(data)


def _read(path: Path) -> dict[str, object]:
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        raise KeyFileError(f"no key file at {path} (create one with `consent keygen`)") from None
    except (OSError, UnicodeDecodeError) as exc:
        raise KeyFileError(f"cannot read key file {path}: {exc}") from exc
    try:
        document = json.loads(text)
    except ValueError:
        document = None
    if not isinstance(document, dict) or document.get("format") != KEY_FORMAT:
        raise KeyFileError(f"{path} is not a consent-registry key file ({KEY_FORMAT})")
    return document


def read_did(path: Path) -> str:
    """The creator ``did:key`` stored in a key file, without the passphrase.

    Raises:
        KeyFileError: the file is missing or not a key file, or its DID is malformed.
    """
    did = _read(path).get("did")
    try:
        PublicKey.from_did(str(did))
    except ProtocolError as exc:
        raise KeyFileError(f"{path}: malformed did: {exc}") from exc
    return str(did)


def load_key(path: Path, passphrase: str) -> PrivateKey:
    """Open a key file with its passphrase.

    Raises:
        KeyFileError: missing or malformed file, wrong passphrase (or tampered file), or a key
            that does not match the file's ``did``.
    """
    document = _read(path)
    kdf, cipher = document.get("kdf"), document.get("cipher")
    malformed = KeyFileError(f"{path}: malformed key file")
    if not isinstance(kdf, dict) or not isinstance(cipher, dict):
        raise malformed
    n = kdf.get("n")
    well_formed = (
        kdf.get("name") == "scrypt"
        and kdf.get("r") == _SCRYPT_R
        and kdf.get("p") == _SCRYPT_P
        and cipher.get("name") == "chacha20-poly1305"
        and isinstance(n, int)
        and _MIN_SCRYPT_N <= n <= _MAX_SCRYPT_N
    )
    if not well_formed or not isinstance(n, int):
        raise malformed
    try:
        salt, nonce = b64decode(str(kdf.get("salt"))), b64decode(str(cipher.get("nonce")))
        sealed = b64decode(str(document.get("ciphertext")))
    except ProtocolError as exc:
        raise malformed from exc
    did = str(document.get("did"))
    if not passphrase:
        raise KeyFileError(f"{path} is encrypted: give a passphrase (or set CONSENT_PASSPHRASE)")
    header = _header(did, n, salt, nonce)
    try:
        seed = ChaCha20Poly1305(_kek(passphrase, salt, n)).decrypt(
            nonce,
            sealed,
            canonical_json(header),  # type: ignore[arg-type]
        )
    except (InvalidTag, ValueError):
        raise KeyFileError(f"{path}: wrong passphrase (or the file was altered)") from None
    key = PrivateKey.from_seed(seed)
    if key.public_key.did != did:
        raise KeyFileError(f"{path}: the key does not match the file's did")
    return key
