"""The node's identity: its log origin and its checkpoint signing key.

On first start the node stores its origin (``meta.origin``) and signing key (``node_key``),
either the operator's or a fresh one from ``secrets.token_bytes(32)``. On every later start the
given values must agree with the stored ones: a log's origin and key are its identity, and
changing either would make every earlier checkpoint and receipt unverifiable. The key is
C2SP signed-note's ``PRIVATE+KEY+<name>+<hex8>+<base64>``, its name equal to the origin (spec
§5.5). Key material never appears in an error message or log line.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from registry.core.errors import KeyFormatError
from registry.core.note import ALG_ED25519, NoteSigner, check_key_name
from registry.log.errors import NodeConfigError
from registry.storage.repository import LogStore

__all__ = ["default_origin", "load_identity"]

ORIGIN_META = "origin"
"""The ``meta`` row holding the log origin."""


def default_origin(public_key: bytes) -> str:
    """Return the origin a node uses when none is configured: unique per node key."""
    return f"consent-registry.localhost/{hashlib.sha256(public_key).hexdigest()[:16]}"


def _parse_key(signing_key: str, what: str) -> NoteSigner:
    """Parse a signer key string; raise NodeConfigError (without the key) if malformed."""
    try:
        signer = NoteSigner.from_skey(signing_key)
    except KeyFormatError as exc:
        raise NodeConfigError(f"{what} is not a valid C2SP signer key: {exc}") from None
    if signer.alg != ALG_ED25519:
        raise NodeConfigError(f"{what} is not an Ed25519 note key (signature type 0x01)")
    return signer


async def load_identity(
    store: LogStore,
    *,
    origin: str | None,
    signing_key: str | None,
    seed: Callable[[], bytes] = lambda: secrets.token_bytes(32),
) -> NoteSigner:
    """Return the node's checkpoint signer (its name is the origin), storing it on first start.

    Raises NodeConfigError if ``origin`` or ``signing_key`` differs from the stored one, if the
    key is malformed, or if the key's name is not the origin.
    """
    given = None if signing_key is None else _parse_key(signing_key, "the given signing key")
    stored_origin = await store.meta(ORIGIN_META)
    if origin is not None:
        try:
            check_key_name(origin)
        except KeyFormatError as exc:
            raise NodeConfigError(f"origin {origin!r} cannot name a note key: {exc}") from None
    if origin is not None and stored_origin is not None and origin != stored_origin:
        raise NodeConfigError(
            f"origin {origin!r} differs from this database's log origin {stored_origin!r}; "
            "a log's origin cannot change"
        )
    origin = origin or stored_origin or (given.name if given else None)

    stored_key = await store.signing_key()
    if stored_key is None:
        if given is None:
            fresh = seed()
            if origin is None:
                origin = default_origin(NoteSigner.from_seed("key", fresh).verifier.public_key)
            given_or_new = NoteSigner.from_seed(origin, fresh)
        else:
            given_or_new = given
        stored_key = await store.init_signing_key(given_or_new.skey)
    if given is not None and given.skey != stored_key:
        raise NodeConfigError(
            "the given signing key differs from the key stored in the database; refusing to "
            "start (a log's key cannot change)"
        )
    signer = _parse_key(stored_key, "the stored signing key")
    origin = origin or signer.name
    if signer.name != origin:
        raise NodeConfigError(
            f"the signing key is named {signer.name!r} but the log origin is {origin!r}; "
            "the key name must equal the origin"
        )
    stored_origin = await store.init_meta(ORIGIN_META, origin)
    if stored_origin != origin:
        raise NodeConfigError(
            f"origin {origin!r} differs from this database's log origin {stored_origin!r}"
        )
    return signer
