"""Offline checks against a node's signed snapshot chain (spec §8): ``consent check --offline``.

A crawler downloads the node's snapshot chain once (``GET /v1/snapshots`` and each file,
cached on disk by name: a name always denotes the same bytes, spec §8.8), verifies every file
against the node's verifier key and the chain's links (:func:`registry.core.snapshot.
open_snapshot`, :func:`~registry.core.snapshot.verify_chain`), and checks its items locally:
millions a second with NumPy (:mod:`registry.snapshot_numpy`), or one by one without it. A miss
means the item was not reserved at the chain's log size; a hit may be a false positive (rate
:attr:`OfflineChecker.fpr`) or a stale entry, so only hits are asked of the node
(``POST /v1/check``), whose answer is authoritative.

Declarations logged after the chain's size are not in it: the node refreshes its chain every
minute or so, and :meth:`OfflineChecker.sync` fetches only the files the cache lacks.

Both clients are served: :meth:`OfflineChecker.sync` and :func:`check_offline` take a
:class:`~consent.client.ConsentClient`, :meth:`OfflineChecker.async_sync` and
:func:`acheck_offline` an :class:`~consent.client.AsyncConsentClient`. What they do apart from
fetching is written once: :func:`_sync_steps` is the whole download-and-verify procedure as a
generator that yields each path to fetch and is sent its body, and :class:`_Filtered` splits
the items into those the chain rules out and those asked of the node.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Generator, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import msgspec

from consent.client import AsyncConsentClient, ConsentClient
from consent.errors import ConsentError, VerificationError
from consent.proofs import verifier_from_key
from consent.wire import Answer, NodeInfo
from registry.core.errors import ProtocolError
from registry.core.snapshot import SnapshotChain, open_snapshot, verify_chain
from registry.core.urls import normalize_url

__all__ = [
    "OfflineChecker",
    "OfflineReport",
    "acheck_offline",
    "check_offline",
    "default_cache_dir",
]

SNAPSHOTS_ENDPOINT: Final = "snapshots"


class SnapshotEntry(msgspec.Struct, frozen=True, kw_only=True):
    """One file of the node's listing (spec §8.8)."""

    name: str
    kind: str
    size: int
    bytes: int
    sha256: str
    url: str


class SnapshotListing(msgspec.Struct, frozen=True, kw_only=True):
    """``GET /v1/snapshots`` (spec §8.8); not signed: every file is."""

    origin: str
    size: int
    category: str
    fingerprint_bits: int
    fpr: float
    chain: list[SnapshotEntry]


def default_cache_dir() -> Path:
    """``$CONSENT_CACHE``, else ``$XDG_CACHE_HOME/consent/snapshots`` (``~/.cache``)."""
    explicit = os.environ.get("CONSENT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consent" / "snapshots"


def _safe_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise VerificationError(f"the node lists a snapshot with an unsafe name {name[:80]!r}")
    return name


def _sync_steps(
    info: NodeInfo, cache_dir: Path, category: str
) -> Generator[str, bytes, tuple[SnapshotChain, int]]:
    """Download and verify the node's chain without doing I/O with the node: yields the path
    of each resource to fetch (the listing, then every file the cache lacks) and is sent its
    body. Returns the verified chain and how many files were fetched.

    Nothing is trusted before it verifies: a file is used only if its SHA-256 is the
    listing's, then :func:`open_snapshot` checks its signature by the node's key and its
    binding to a signed checkpoint (spec §8.5), and :func:`verify_chain` the delta links
    (spec §8.7). The listing itself is not signed, so it can only cost a download.

    Raises:
        ConsentError: the chain holds another category's reservations.
        VerificationError: the listing is malformed, a file differs from it, or a snapshot or
            the chain does not verify.
    """
    path = info.endpoints.get(SNAPSHOTS_ENDPOINT, "/v1/snapshots")
    try:
        listing = msgspec.json.decode((yield path), type=SnapshotListing)
    except msgspec.DecodeError as exc:
        raise VerificationError(f"the node's snapshot listing is malformed: {exc}") from exc
    if listing.category != category:
        raise ConsentError(
            f"the node's snapshots hold {listing.category!r} reservations, not {category!r}"
        )
    verifier = verifier_from_key(info.verifier_key)
    folder = cache_dir / hashlib.sha256(info.origin.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    snapshots, downloaded = [], 0
    for entry in listing.chain:
        file = folder / _safe_name(entry.name)
        data = file.read_bytes() if file.exists() else b""
        if hashlib.sha256(data).hexdigest() != entry.sha256:
            data = yield entry.url
            downloaded += 1
            if hashlib.sha256(data).hexdigest() != entry.sha256:
                raise VerificationError(f"snapshot {entry.name} differs from its listing")
            temporary = file.with_name(f".{file.name}.tmp")
            temporary.write_bytes(data)
            temporary.replace(file)
        try:
            snapshots.append(open_snapshot(data, verifier, category=category))
        except ProtocolError as exc:
            raise VerificationError(f"snapshot {entry.name}: {exc}") from exc
    try:
        chain = verify_chain(snapshots)
    except ProtocolError as exc:
        raise VerificationError(f"snapshot chain: {exc}") from exc
    return chain, downloaded


@dataclass(frozen=True)
class OfflineChecker:
    """A verified snapshot chain of one node, for local checks."""

    chain: SnapshotChain
    category: str
    downloaded: int
    """Files fetched by :meth:`sync` or :meth:`async_sync` (the others came from the cache)."""

    @property
    def size(self) -> int:
        """The node's log size the chain covers."""
        return self.chain.size

    @property
    def fpr(self) -> float:
        """Upper bound of the chain's false-positive rate (spec §8.4.4)."""
        return self.chain.fpr

    @classmethod
    def sync(
        cls, client: ConsentClient, cache_dir: Path, *, category: str = "train-ai"
    ) -> OfflineChecker:
        """List the node's chain, fetch the files the cache lacks, verify every one.

        The node's key is the one ``client`` trusts (its pinned ``node_key``, else the key the
        node presents).

        Raises:
            NotSupportedError / NodeError: the node has no snapshots (yet).
            VerificationError: the node's key is not the pinned one, the listing is
                malformed, a file's hash differs from the listing, or a snapshot or the chain
                does not verify (spec §8.5, §8.7).
            ConsentError: the snapshots hold another category than ``category``.
        """
        steps = _sync_steps(client.info(), cache_dir, category)
        try:
            path = next(steps)
            while True:
                path = steps.send(client.get_bytes(path))
        except StopIteration as done:
            chain, downloaded = done.value
        finally:
            steps.close()
        return cls(chain, category, downloaded)

    @classmethod
    async def async_sync(
        cls, client: AsyncConsentClient, cache_dir: Path, *, category: str = "train-ai"
    ) -> OfflineChecker:
        """:meth:`sync` through an :class:`~consent.client.AsyncConsentClient`: the same
        verification, the same cache.

        Raises:
            NotSupportedError / NodeError, VerificationError, ConsentError: as :meth:`sync`.
        """
        steps = _sync_steps(await client.info(), cache_dir, category)
        try:
            path = next(steps)
            while True:
                path = steps.send(await client.get_bytes(path))
        except StopIteration as done:
            chain, downloaded = done.value
        finally:
            steps.close()
        return cls(chain, category, downloaded)

    def hits_sha256(self, hashes: Sequence[str]) -> list[bool]:
        """For each hash, True if the chain may hold it (ask the node). A malformed hash is a
        "hit": the node's answer for it is then the same as online."""
        digests = bytearray()
        valid: list[int] = []
        out = [True] * len(hashes)
        for position, value in enumerate(hashes):
            if len(value) == 64:
                try:
                    digests += bytes.fromhex(value)
                except ValueError:
                    continue
                valid.append(position)
        found = self._contains_digests(bytes(digests), len(valid))
        for position, hit in zip(valid, found, strict=True):
            out[position] = hit
        return out

    def _contains_digests(self, digests: bytes, count: int) -> list[bool]:
        try:
            from registry.snapshot_numpy import chain_contains, sha256_keys  # noqa: PLC0415
        except ImportError:  # pragma: no cover - numpy is an SDK dependency
            return [self.chain.contains_sha256(digests[32 * i : 32 * i + 32]) for i in range(count)]
        hits: list[bool] = chain_contains(self.chain, sha256_keys(digests)).tolist()
        return hits

    def hits_urls(self, urls: Sequence[str]) -> list[bool]:
        """For each URL (normalised first, spec §2.5), True if the chain may hold it. A URL
        that does not normalise is a "hit", so that the node reports its error."""
        out = []
        for url in urls:
            try:
                out.append(self.chain.contains_url(normalize_url(url)))
            except ProtocolError:
                out.append(True)
        return out


@dataclass(frozen=True)
class OfflineReport:
    """The answers of an offline check, in the order asked, and what it cost."""

    answers: list[Answer]
    checked: int
    asked: int
    """Items the snapshot could not rule out, asked of the node."""
    checker: OfflineChecker


@dataclass(frozen=True)
class _Filtered:
    """The items of one offline check and which of them the chain could not rule out."""

    sha256s: Sequence[str]
    urls: Sequence[str]
    hash_hits: list[bool]
    url_hits: list[bool]

    @classmethod
    def of(cls, checker: OfflineChecker, sha256s: Sequence[str], urls: Sequence[str]) -> _Filtered:
        return cls(sha256s, urls, checker.hits_sha256(sha256s), checker.hits_urls(urls))

    @property
    def asked_hashes(self) -> list[str]:
        return [h for h, hit in zip(self.sha256s, self.hash_hits, strict=True) if hit]

    @property
    def asked_urls(self) -> list[str]:
        return [u for u, hit in zip(self.urls, self.url_hits, strict=True) if hit]

    def report(self, online: Sequence[Answer], checker: OfflineChecker) -> OfflineReport:
        """Merge the node's answers about the hits (hashes then URLs, as asked) with "nothing
        known" for every item the chain ruled out, in the order of the items."""
        answers_online = iter(online)
        answers = [
            next(answers_online) if hit else Answer(kind="sha256", key=h)
            for h, hit in zip(self.sha256s, self.hash_hits, strict=True)
        ]
        answers += [
            next(answers_online) if hit else Answer(kind="url", key=u)
            for u, hit in zip(self.urls, self.url_hits, strict=True)
        ]
        return OfflineReport(
            answers=answers,
            checked=len(answers),
            asked=sum(self.hash_hits) + sum(self.url_hits),
            checker=checker,
        )


def check_offline(
    client: ConsentClient,
    *,
    sha256s: Sequence[str] = (),
    urls: Sequence[str] = (),
    cache_dir: Path | None = None,
    category: str = "train-ai",
) -> OfflineReport:
    """Check hashes and URLs against the node's snapshot chain; ask the node about hits only.

    Answers come in the order asked, hashes then URLs, like :meth:`ConsentClient.check`; an
    item the snapshot rules out is answered with no preferences (not reserved for
    ``category`` at the chain's size).

    Raises:
        VerificationError: the snapshots do not verify (see :meth:`OfflineChecker.sync`).
    """
    checker = OfflineChecker.sync(client, cache_dir or default_cache_dir(), category=category)
    filtered = _Filtered.of(checker, sha256s, urls)
    online = client.check(sha256s=filtered.asked_hashes, urls=filtered.asked_urls)
    return filtered.report(online, checker)


async def acheck_offline(
    client: AsyncConsentClient,
    *,
    sha256s: Sequence[str] = (),
    urls: Sequence[str] = (),
    cache_dir: Path | None = None,
    category: str = "train-ai",
) -> OfflineReport:
    """:func:`check_offline` through an :class:`~consent.client.AsyncConsentClient`.

    The local lookups (NumPy, a few seconds for tens of millions of items) run in a worker
    thread, so they do not stall the event loop.

    Raises:
        VerificationError: the snapshots do not verify (see :meth:`OfflineChecker.sync`).
    """
    cache = cache_dir or default_cache_dir()
    checker = await OfflineChecker.async_sync(client, cache, category=category)
    filtered = await asyncio.to_thread(_Filtered.of, checker, sha256s, urls)
    online = await client.check(sha256s=filtered.asked_hashes, urls=filtered.asked_urls)
    return filtered.report(online, checker)
