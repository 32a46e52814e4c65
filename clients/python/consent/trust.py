"""Trust records on the client side (spec §9.3): build and sign them, and the did.json to publish.

- :func:`rotation`, :func:`revocation`, :func:`counter_statement`: one signed record each
  (spec §9.3.3 to §9.3.5), checked by the core (:func:`registry.core.records.sign_record`).
- :func:`attestations`: a platform's statement that an account (a creator's ``did:key``)
  uploaded many works, split into as few signed ``platform-attestation`` records as the entry
  limit allows (spec §9.3.2 "How many fit": at most :data:`MAX_PACKED_PER_ATTESTATION` packed
  digests each).
- :func:`did_document`: the did:web document a creator publishes at
  ``https://HOST/.well-known/did.json`` to bind the domain to their key (spec §9.2).
- :class:`TrustConfig`: the node keys and platform keys a resolving party trusts (spec §9.1),
  what offline verification of identity evidence checks against (:mod:`consent.evidence`).

Everything here is pure: nothing is sent. The clients submit the entries
(:meth:`consent.client.ConsentClient.submit_records`).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Final, TypeVar

import msgspec

from registry.core.errors import LimitError, RecordError
from registry.core.keys import PrivateKey, PublicKey
from registry.core.records import (
    MAX_ATTESTED_HASHES,
    MAX_ENTRY_BYTES,
    MAX_WORKS,
    RECORD_VERSION,
    STATEMENTS,
    CounterStatement,
    PlatformAttestation,
    Revocation,
    Rotation,
    Work,
    entry_size,
    pack_hashes,
    sign_record,
)
from registry.wire import TrustInfo

__all__ = [
    "DID_JSON_PATH",
    "MAX_PACKED_PER_ATTESTATION",
    "NOT_RIGHTSHOLDER",
    "PlatformTrust",
    "TrustConfig",
    "attestations",
    "counter_statement",
    "did_document",
    "did_json",
    "packed_capacity",
    "revocation",
    "rotation",
]

MAX_PACKED_PER_ATTESTATION: Final = 1528
"""Packed digests that fit in one attestation entry (spec §9.3.2, vector
``largest-packed-attestation``); :func:`packed_capacity` computes it for a given account."""
NOT_RIGHTSHOLDER: Final = STATEMENTS[0]
"""The one counter-statement of version 1 (spec §9.3.5)."""
DID_JSON_PATH: Final = "/.well-known/did.json"
"""Where a domain publishes its did:web document (spec §9.2)."""
_DID_CONTEXT: Final = "https://www.w3.org/ns/did/v1"


def rotation(old: PrivateKey, new_key: str, *, issued_at: int) -> Rotation:
    """The old key names its successor ``new_key`` (spec §9.3.3), signed by ``old``.

    Raises:
        KeyFormatError: ``new_key`` is not an Ed25519 ``did:key``.
        RecordError: ``new_key`` is the old key, or ``issued_at`` is out of range.
    """
    record = Rotation(
        v=RECORD_VERSION, creator=old.public_key.did, new_key=new_key, issued_at=issued_at
    )
    return _signed(record, old, Rotation)


def revocation(
    signer: PrivateKey, *, key: str | None = None, since: int, issued_at: int
) -> Revocation:
    """``key`` (default: the signer's own) is compromised since ``since`` (spec §9.3.4).

    Signed by the revoked key itself, or by a platform key that attested it (spec §9.4.1).

    Raises:
        RecordError: ``since`` is after ``issued_at``, or a time is out of range.
    """
    record = Revocation(
        v=RECORD_VERSION,
        creator=signer.public_key.did,
        key=key or signer.public_key.did,
        since=since,
        issued_at=issued_at,
    )
    return _signed(record, signer, Revocation)


def counter_statement(
    signer: PrivateKey, target: str, *, issued_at: int, statement: str = NOT_RIGHTSHOLDER
) -> CounterStatement:
    """The signer says the author of declaration ``target`` is not the rightsholder
    (spec §9.3.5); it is shown where the signer is verified for the work (spec §9.4.6).

    Raises:
        RecordError: ``target`` is not a record id (64 lowercase hex), or the statement is
            unknown.
    """
    record = CounterStatement(
        v=RECORD_VERSION,
        creator=signer.public_key.did,
        target=target,
        statement=statement,
        issued_at=issued_at,
    )
    return _signed(record, signer, CounterStatement)


R = TypeVar("R", Rotation, Revocation, CounterStatement, PlatformAttestation)


def _signed(record: R, key: PrivateKey, kind: type[R]) -> R:
    signed = sign_record(record, key)
    assert isinstance(signed, kind)  # sign_record returns the record it was given, signed
    return signed


def packed_capacity(platform: str, account: str, creator: str, issued_at: int) -> int:
    """How many packed digests fit in one attestation of this account (spec §9.3.2): the
    largest n whose signed entry is at most :data:`MAX_ENTRY_BYTES`, and at most
    :data:`MAX_ATTESTED_HASHES`."""

    def size(n: int) -> int:
        digests = [f"{i:064x}" for i in range(n)]
        record = PlatformAttestation(
            v=RECORD_VERSION,
            platform=platform,
            account=account,
            creator=creator,
            issued_at=issued_at,
            hashes=pack_hashes(digests),
        )
        return entry_size(record)

    low, high = 0, MAX_ATTESTED_HASHES
    while low < high:  # the largest n with size(n) <= MAX_ENTRY_BYTES
        middle = (low + high + 1) // 2
        if size(middle) <= MAX_ENTRY_BYTES:
            low = middle
        else:
            high = middle - 1
    return low


_WORK_ENCODER: Final = msgspec.json.Encoder(order="sorted")


def attestations(
    platform: PrivateKey,
    *,
    account: str,
    creator: str,
    issued_at: int,
    sha256s: Iterable[str] = (),
    works: Iterable[Work] = (),
) -> list[PlatformAttestation]:
    """A platform's signed attestations that ``account`` is ``creator`` and uploaded these
    works by ``issued_at`` (spec §9.3.2), in as few entries as fit.

    Bare SHA-256s are packed (``hashes``, :func:`packed_capacity` per entry, 1528 for a short
    account); works carrying URLs or fingerprints go in ``works``, packed greedily by entry
    size (at most :data:`MAX_WORKS` each). A SHA-256 given both ways is attested once, as a
    work. With nothing to attest, one account binding without works (spec §9.4.2: how a
    platform moves an account to a new key). Deterministic: the same arguments give the same
    records, sorted as the spec requires.

    Raises:
        RecordError: a hash is not 64 lowercase hex digits, the account or a key is
            malformed, or a work is invalid.
        LimitError: a single work does not fit in an entry.
    """
    did = platform.public_key.did
    PublicKey.from_did(creator)
    full = {work.sha256: work for work in works}
    bare = sorted(set(sha256s) - set(full))
    pack_hashes(bare)  # every hash checked before anything is signed

    def build(hashes: Sequence[str] = (), group: Sequence[Work] = ()) -> PlatformAttestation:
        return PlatformAttestation(
            v=RECORD_VERSION,
            platform=did,
            account=account,
            creator=creator,
            issued_at=issued_at,
            hashes=pack_hashes(hashes),
            works=tuple(sorted(group, key=lambda work: work.sha256)),
        )

    records: list[PlatformAttestation] = []
    if bare:
        per_entry = packed_capacity(did, account, creator, issued_at)
        if per_entry == 0:
            raise LimitError("the account name leaves no room for a hash in an entry")
        records += [build(bare[i : i + per_entry]) for i in range(0, len(bare), per_entry)]
    if full:
        records += [build(group=group) for group in _work_groups(build, full)]
    if not records:
        records.append(build())
    return [_signed(record, platform, PlatformAttestation) for record in records]


def _work_groups(
    build: Callable[..., PlatformAttestation], works: Mapping[str, Work]
) -> list[list[Work]]:
    """Works in SHA-256 order, packed greedily into entries (spec §2.10, as declarations)."""
    ordered = [works[sha256] for sha256 in sorted(works)]
    overhead = entry_size(build(group=ordered[:1])) - len(_WORK_ENCODER.encode(ordered[0]))
    groups: list[list[Work]] = [[]]
    size = overhead
    for work in ordered:
        cost = len(_WORK_ENCODER.encode(work)) + (1 if groups[-1] else 0)
        if groups[-1] and (size + cost > MAX_ENTRY_BYTES or len(groups[-1]) >= MAX_WORKS):
            groups.append([])
            size, cost = overhead, cost - 1
        groups[-1].append(work)
        size += cost
    for group in groups:
        if entry_size(build(group=group)) > MAX_ENTRY_BYTES:
            raise LimitError(f"the work {group[0].sha256[:16]} does not fit in one entry")
    return groups


def did_document(domain: str, did: str) -> dict[str, object]:
    """The did:web document naming ``did`` that the owner of ``domain`` publishes at
    ``https://DOMAIN/.well-known/did.json`` (spec §9.2): id ``did:web:DOMAIN``, the
    ``did:key`` in ``alsoKnownAs`` and as a ``Multikey`` verification method (either is
    enough for a node; both let other did:web tools read it).

    Raises:
        KeyFormatError: ``did`` is not an Ed25519 ``did:key``.
        RecordError: ``domain`` is not a lowercase DNS name (spec §9.3.1).
    """
    PublicKey.from_did(did)
    host = domain.strip().lower().removesuffix(".")
    _check_domain(host)
    web = f"did:web:{host}"
    return {
        "@context": [_DID_CONTEXT, "https://w3id.org/security/multikey/v1"],
        "id": web,
        "alsoKnownAs": [did],
        "verificationMethod": [
            {
                "id": f"{web}#{did.removeprefix('did:key:')}",
                "type": "Multikey",
                "controller": web,
                "publicKeyMultibase": did.removeprefix("did:key:"),
            }
        ],
    }


def did_json(domain: str, did: str) -> bytes:
    """:func:`did_document` as the bytes to publish (indented JSON, final newline)."""
    return json.dumps(did_document(domain, did), indent=2).encode() + b"\n"


def _check_domain(host: str) -> None:
    """spec §9.3.1: lowercase labels of ``a-z 0-9 - _``, no port, not an IPv4 address."""
    labels = host.split(".")
    if (
        not host
        or len(host) > 253
        or ":" in host
        or all(c.isdigit() or c == "." for c in host)
        or any(
            not 1 <= len(label) <= 63
            or label[0] == "-"
            or label[-1] == "-"
            or not all(c.isascii() and (c.isalnum() or c in "-_") for c in label)
            for label in labels
        )
    ):
        raise RecordError(
            f"{host[:80]!r} is not a domain name (lowercase labels, no port, no scheme, "
            "no path; spec §9.3.1)"
        )


@dataclass(frozen=True)
class PlatformTrust:
    """A platform a party trusts (spec §9.6 item 1): its name in ``platform:NAME``, key,
    scope (URL hosts, or ``*``) and daily quota as a node publishes them."""

    name: str
    key: str
    scope: tuple[str, ...] = ("*",)
    quota: int = 0


@dataclass(frozen=True)
class TrustConfig:
    """What a resolving party trusts (spec §9.1): node keys whose bindings count, and
    platform keys by name. Built by the caller, or adopted from a node's description
    (:meth:`from_description`, spec §9.6 item 3)."""

    nodes: frozenset[str] = frozenset()
    platforms: Mapping[str, str] = field(default_factory=dict)
    """Platform ``did:key`` -> name."""

    @classmethod
    def from_info(cls, trust: TrustInfo) -> TrustConfig:
        """From the ``trust`` member of a node's ``/.well-known/consent-registry``
        (spec §9.6 item 3): the platforms by key and name, and the node keys."""
        return cls(
            nodes=frozenset(trust.nodes),
            platforms={platform.key: platform.name for platform in trust.platforms},
        )

    def merged(self, other: TrustConfig) -> TrustConfig:
        """Both configurations' nodes and platforms (``other``'s names win)."""
        return TrustConfig(
            nodes=self.nodes | other.nodes, platforms={**self.platforms, **other.platforms}
        )
