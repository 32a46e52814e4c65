"""Helpers for the trust tests (spec §9): fixed keys, a small signed log built locally, and the
node settings the end-to-end tests run with.

:class:`LocalLog` appends entries to an in-memory RFC 6962 tree and signs checkpoints with a
fixed note key, so that records built and signed in a test get real receipts (C2SP
tlog-proof) that :func:`consent.proofs.verify_record_entry` checks, with no node at all.
"""

from __future__ import annotations

import hashlib

from consent.proofs import VerifiedRecord, verifier_from_key, verify_record_entry

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.keys import PrivateKey
from registry.core.merkle import leaf_hash, root
from registry.core.note import NoteSigner
from registry.core.proof import build_receipt
from registry.core.records import AnyRecord, encode_record

T0 = 1767225600
"""2026-01-01T00:00:00Z: the time the trust tests' records are issued around."""


def key(name: str) -> PrivateKey:
    """A deterministic key for a role in a test (test data only)."""
    return PrivateKey.from_seed(hashlib.sha256(b"trust test " + name.encode()).digest())


def _proof(index: int, leaves: list[bytes]) -> list[bytes]:
    """RFC 6962 §2.1.1 PATH(index, leaves): the inclusion proof of one leaf."""
    if len(leaves) <= 1:
        return []
    split = 1 << ((len(leaves) - 1).bit_length() - 1)
    if index < split:
        return [*_proof(index, leaves[:split]), root(leaves[split:])]
    return [*_proof(index - split, leaves[split:]), root(leaves[:split])]


class LocalLog:
    """A log held in memory: entries, a signed checkpoint, and receipts for them."""

    def __init__(self, origin: str = "trust.test/log") -> None:
        self.origin = origin
        self.signer = NoteSigner.from_seed(origin, hashlib.sha256(origin.encode()).digest())
        self.entries: list[bytes] = []

    @property
    def vkey(self) -> str:
        """The log's verifier key (what a crawler pins)."""
        return self.signer.verifier.vkey

    def append(self, record: AnyRecord) -> bytes:
        """Append a signed record; return its entry."""
        entry = encode_record(record)
        self.entries.append(entry)
        return entry

    def receipt(self, entry: bytes) -> str:
        """A tlog-proof receipt of ``entry`` against a checkpoint of the whole log."""
        leaves = [leaf_hash(e) for e in self.entries]
        index = self.entries.index(entry)
        checkpoint = Checkpoint(origin=self.origin, size=len(leaves), root_hash=root(leaves))
        note = sign_checkpoint(checkpoint, self.signer)
        return build_receipt(index, _proof(index, leaves), note)

    def verified(self, entry: bytes) -> VerifiedRecord:
        """``entry`` verified with its receipt, as a crawler would (spec §9.5)."""
        return verify_record_entry(entry, self.receipt(entry), verifier_from_key(self.vkey))
