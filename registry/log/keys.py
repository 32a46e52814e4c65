"""The node's identity: its log origin and its checkpoint signing key (ADR 0012).

On first start the node keeps its origin (``meta.origin``), its signing key (the operator's, or
a fresh one from ``secrets.token_bytes(32)``) in its key custody (:mod:`registry.log.custody`:
a key file outside the database), and the key's public half (``meta.verifier_key``) in the
database. On every later start the key in custody must be the one whose public half the
database holds, and a given origin or key must agree: a log's origin and key are its identity,
and changing either would make every earlier checkpoint and receipt unverifiable. The key is
C2SP signed-note's ``PRIVATE+KEY+<name>+<hex8>+<base64>``, its name equal to the origin (spec
§5.5). Key material never appears in an error message or log line.

The order of the first start is crash-safe: the key is kept in custody before its public half
is recorded, so a crash in between leaves a key file that the next start adopts.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable

from registry.core.errors import KeyFormatError
from registry.core.note import NoteSigner, check_key_name
from registry.log.custody import KeyCustody, parse_signing_key
from registry.log.errors import NodeConfigError
from registry.storage.repository import LogStore

__all__ = ["ORIGIN_META", "VERIFIER_KEY_META", "default_origin", "load_identity"]

ORIGIN_META = "origin"
"""The ``meta`` row holding the log origin."""
VERIFIER_KEY_META = "verifier_key"
"""The ``meta`` row holding the C2SP verifier key of the node's signing key (its public half)."""


def default_origin(public_key: bytes) -> str:
    """Return the origin a node uses when none is configured: unique per node key."""
    return f"consent-registry.localhost/{hashlib.sha256(public_key).hexdigest()[:16]}"


async def load_identity(
    store: LogStore,
    custody: KeyCustody,
    *,
    origin: str | None,
    signing_key: str | None,
    seed: Callable[[], bytes] = lambda: secrets.token_bytes(32),
) -> NoteSigner:
    """Return the node's checkpoint signer (its name is the origin), keeping it on first start.

    Raises NodeConfigError if ``origin`` or ``signing_key`` differs from the node's, if the key
    in custody is missing or is not the key whose public half the database holds, if a key is
    malformed, or if the key's name is not the origin.
    """
    given = None if signing_key is None else parse_signing_key(signing_key, "the given signing key")
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

    stored_vkey = await store.meta(VERIFIER_KEY_META)
    kept = custody.load()
    if kept is None:
        if stored_vkey is not None:
            raise NodeConfigError(
                f"the node signing key is missing: no {custody.location}; this log is signed "
                f"by {stored_vkey}; restore the key file from its backup"
            )
        if given is None:
            fresh = seed()
            if origin is None:
                origin = default_origin(NoteSigner.from_seed("key", fresh).verifier.public_key)
            given_or_new = NoteSigner.from_seed(origin, fresh)
        else:
            given_or_new = given
        _check_name(given_or_new, origin or given_or_new.name)
        custody.create(given_or_new)  # first the key, then its public half (crash-safe)
        kept = custody.load()
        if kept is None:  # pragma: no cover - create() just wrote it
            raise NodeConfigError(f"the {custody.location} vanished after it was written")
    if given is not None and given.skey != kept.skey:
        raise NodeConfigError(
            f"the given signing key differs from the node key in the {custody.location}; "
            "refusing to start (a log's key cannot change)"
        )
    origin = origin or kept.name
    _check_name(kept, origin)
    vkey = kept.verifier.vkey
    stored_vkey = await store.init_meta(VERIFIER_KEY_META, vkey)
    if stored_vkey != vkey:
        raise NodeConfigError(
            f"the {custody.location} holds the key {vkey}, but this log is signed by "
            f"{stored_vkey}; refusing to start (a log's key cannot change)"
        )
    stored_origin = await store.init_meta(ORIGIN_META, origin)
    if stored_origin != origin:
        raise NodeConfigError(
            f"origin {origin!r} differs from this database's log origin {stored_origin!r}"
        )
    return kept


def _check_name(signer: NoteSigner, origin: str) -> None:
    if signer.name != origin:
        raise NodeConfigError(
            f"the signing key is named {signer.name!r} but the log origin is {origin!r}; "
            "the key name must equal the origin"
        )
