"""The node's witness key: a cosignature/v1 key derived from its log signing key (spec §7.5).

A node cosigns its peers' checkpoints with a C2SP tlog-cosignature ``cosignature/v1`` key (type
``0x04``), never with its log key (type ``0x01``): one key per signature type keeps the two
kinds of signed message apart. The witness key is derived, not stored: its seed is
``SHA-256("consent-registry witness key v1" || 0x0A || log key seed)``, so it exists wherever the
log key does and changes only with it. Its name is ``<origin>/witness``.
"""

from __future__ import annotations

import hashlib
from typing import Final

from registry.core.encoding import b64decode
from registry.core.note import ALG_COSIGNATURE_V1, NoteSigner

__all__ = ["WITNESS_KEY_LABEL", "derive_witness_signer", "witness_name"]

WITNESS_KEY_LABEL: Final = b"consent-registry witness key v1\n"
"""Domain separation label of the witness key derivation."""


def witness_name(origin: str) -> str:
    """The key name of the witness key of the node whose log origin is ``origin``."""
    return f"{origin}/witness"


def derive_witness_signer(log_key: str) -> NoteSigner:
    """Return the cosignature/v1 signer derived from the node's log signer key string.

    Raises:
        KeyFormatError: ``log_key`` is not a valid C2SP signer key.
    """
    log_signer = NoteSigner.from_skey(log_key)  # validates every field first
    # PRIVATE+KEY+name+hex8+base64(type || seed): fields split at the first four plus signs,
    # the base64 field may itself contain '+' (spec §5.3.2).
    seed = b64decode(log_key.split("+", 4)[4])[1:]
    derived = hashlib.sha256(WITNESS_KEY_LABEL + seed).digest()
    return NoteSigner.from_seed(witness_name(log_signer.name), derived, alg=ALG_COSIGNATURE_V1)
