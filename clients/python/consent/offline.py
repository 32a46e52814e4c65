"""Offline checks against a node's signed snapshot chains (spec §8): ``consent check --offline``.

A crawler downloads the node's snapshot chain once (``GET /v1/snapshots`` and each file,
cached on disk by name: a name always denotes the same bytes, spec §8.8), verifies every file
against the node's verifier key and the chain's links (:func:`registry.core.snapshot.
open_snapshot`, :func:`~registry.core.snapshot.verify_chain`), and checks its items locally:
millions a second with NumPy (:mod:`consent.snapshot_numpy`), or one by one without it. A miss
means the item was not reserved at the chain's log size; a hit may be a false positive (rate
:attr:`OfflineChecker.fpr`) or a stale entry, so only hits are asked of the node
(``POST /v1/check``), whose answer is authoritative.

A node's snapshot covers its own log only (spec §8.1 item 6), while its answers also cover
every log it mirrors (§7.7). So the checker also syncs the chain of every log the node lists in
``GET /v1/peers`` (§7.2.3), from that peer, verified under that log's key (the caller's
``log_keys`` first), and an item is a hit if any chain holds it (spec §8.9). A mirrored log
whose chain cannot be used (the peer is down, its snapshots do not verify, it is flagged for
equivocation) is *uncovered*: then every item is asked of the node, so that the check never
answers "not reserved" where the node would answer "reserved".

With ``levels=True`` the checker also fetches the signed **levels file** of the last snapshot of
the node's chain (spec §8.10) and verifies it against that snapshot: for the subjects whose
answer trust records change it gives the answer under every policy with each claim's level and
evidence, and every other hit has a stated default. Its answers count the logs the node mirrors
too, each at a size its header names (spec §8.10.1): where those sizes reach the mirrored chains'
sizes (:attr:`OfflineChecker.levels_gap` is None), a hit that the levels file decides under the
caller's policy is answered locally (its claims carry their levels and evidence ids, to check
offline, spec §9.5); the others are asked of the node as before.

Declarations logged after a chain's size are not in it: nodes refresh their chains every
minute or so, and :meth:`OfflineChecker.sync` fetches only the files the cache lacks.

Both clients are served: :meth:`OfflineChecker.sync` and :func:`check_offline` take a
:class:`~consent.client.ConsentClient`, :meth:`OfflineChecker.async_sync` and
:func:`acheck_offline` an :class:`~consent.client.AsyncConsentClient`. What they do apart from
fetching is written once: :func:`_sync_steps` is the whole download-and-verify procedure of
one log's chain as a generator that yields each path to fetch and is sent its body,
:func:`_plan` chooses the mirrored logs, and :class:`_Filtered` splits the items into those the
chains rule out and those asked of the node.
"""

from __future__ import annotations

import asyncio
import hashlib
import os
from collections.abc import Awaitable, Callable, Generator, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Final

import httpx
import msgspec

from consent.answers import Answer, Kind, Policy
from consent.client import PEERS_ENDPOINT, AsyncConsentClient, ConsentClient
from consent.errors import ConsentError, NodeError, TransportError, VerificationError
from consent.proofs import verifier_from_key
from registry.core.errors import ProtocolError
from registry.core.levels import LevelRow, SnapshotLevels, merge_levels, open_levels
from registry.core.snapshot import SnapshotChain, open_snapshot, sha256_key, url_key, verify_chain
from registry.core.trust import DEFAULT_POLICY
from registry.core.urls import normalize_url
from registry.wire import ClaimIdentity, NodeInfo, PeerView, SnapshotListing

__all__ = [
    "MirroredChain",
    "OfflineChecker",
    "OfflineReport",
    "UncoveredLog",
    "acheck_offline",
    "check_offline",
    "default_cache_dir",
]

SNAPSHOTS_ENDPOINT: Final = "snapshots"
LISTING_PATH: Final = "/v1/snapshots"
"""Where a node lists its chain (spec §8.8), unless its description names another path."""


def default_cache_dir() -> Path:
    """``$CONSENT_CACHE``, else ``$XDG_CACHE_HOME/consent/snapshots`` (``~/.cache``)."""
    explicit = os.environ.get("CONSENT_CACHE")
    if explicit:
        return Path(explicit)
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "consent" / "snapshots"


def _safe_name(name: str) -> str:
    if not name or not all(c.isalnum() or c in "-_" for c in name):
        raise VerificationError(f"a listing names a snapshot with an unsafe name {name[:80]!r}")
    return name


@dataclass(frozen=True)
class _Log:
    """A log whose chain is synced: its origin, the verifier key its snapshots must be signed
    with, and the path of its listing on the server publishing it."""

    origin: str
    verifier_key: str
    listing: str = LISTING_PATH


Synced = tuple[SnapshotChain, int, SnapshotLevels | None]
Steps = Generator[str, bytes, Synced]


def _cached(
    folder: Path, name: str, sha256: str, url: str
) -> Generator[str, bytes, tuple[bytes, int]]:
    """A file of the listing from the cache, else fetched (and cached) if its SHA-256 is the
    listing's; and 1 if it was fetched.

    Raises:
        VerificationError: the fetched file differs from the listing.
    """
    file = folder / _safe_name(name)
    data = file.read_bytes() if file.exists() else b""
    if hashlib.sha256(data).hexdigest() == sha256:
        return data, 0
    data = yield url
    if hashlib.sha256(data).hexdigest() != sha256:
        raise VerificationError(f"snapshot {name} differs from its listing")
    temporary = file.with_name(f".{file.name}.tmp")
    temporary.write_bytes(data)
    temporary.replace(file)
    return data, 1


def _sync_steps(log: _Log, cache_dir: Path, category: str, *, levels: bool = False) -> Steps:
    """Download and verify one log's chain without doing I/O: yields the path of each
    resource to fetch (the listing, then every file the cache lacks) and is sent its body.
    Returns the verified chain, how many files were fetched, and with ``levels`` the merged
    levels files of the chain's snapshots (spec §8.10.5), if the node lists them.

    Nothing is trusted before it verifies: a file is used only if its SHA-256 is the
    listing's, then :func:`open_snapshot` checks its signature by the log's key and its
    header (spec §8.5), and :func:`verify_chain` the delta links (spec §8.7). The listing
    itself is not signed, so it can only cost a download. Files are cached in one folder per
    origin.

    Raises:
        ConsentError: the chain holds another category's reservations.
        VerificationError: the key is not the log's, the listing is malformed or of another
            log, a file differs from it, or a snapshot or the chain does not verify.
    """
    verifier = verifier_from_key(log.verifier_key)
    if verifier.name != log.origin:  # spec §8.5 step 3 binds the snapshots to the key's name
        raise VerificationError(f"the key given for {log.origin} is a key of {verifier.name}")
    try:
        listing = msgspec.json.decode((yield log.listing), type=SnapshotListing)
    except msgspec.DecodeError as exc:
        raise VerificationError(
            f"the snapshot listing of {log.origin} is malformed: {exc}"
        ) from exc
    if listing.origin != log.origin:
        raise VerificationError(f"the snapshot listing of {log.origin} is of {listing.origin}")
    if listing.category != category:
        raise ConsentError(
            f"the snapshots of {log.origin} hold {listing.category!r} reservations,"
            f" not {category!r}"
        )
    folder = cache_dir / hashlib.sha256(log.origin.encode()).hexdigest()[:16]
    folder.mkdir(parents=True, exist_ok=True)
    snapshots, downloaded = [], 0
    for entry in listing.chain:
        data, fetched = yield from _cached(folder, entry.name, entry.sha256, entry.url)
        downloaded += fetched
        try:
            snapshots.append(open_snapshot(data, verifier, category=category))
        except ProtocolError as exc:
            raise VerificationError(f"snapshot {entry.name}: {exc}") from exc
    try:
        chain = verify_chain(snapshots)
    except ProtocolError as exc:
        raise VerificationError(f"snapshot chain of {log.origin}: {exc}") from exc
    if not levels or not listing.chain or any(e.levels is None for e in listing.chain):
        return chain, downloaded, None
    # spec §8.10.5: the levels file of every snapshot of the chain, each bound to its snapshot
    # and signed by the node, a delta's naming the one before it; their rows merged
    files = []
    for entry, snapshot in zip(listing.chain, chain.snapshots, strict=True):
        assert entry.levels is not None
        name = f"{entry.name}-levels"
        data, fetched = yield from _cached(folder, name, entry.levels.sha256, entry.levels.url)
        downloaded += fetched
        try:
            files.append(open_levels(data, verifier, snapshot))
        except ProtocolError as exc:
            raise VerificationError(f"levels file {name}: {exc}") from exc
    try:
        return chain, downloaded, merge_levels(files)
    except ProtocolError as exc:
        raise VerificationError(f"levels files of {log.origin}: {exc}") from exc


def _run(steps: Steps, get: Callable[[str], bytes]) -> Synced:
    """Drive :func:`_sync_steps` with a synchronous ``get``."""
    try:
        path = next(steps)
        while True:
            path = steps.send(get(path))
    except StopIteration as done:
        result: Synced = done.value
        return result
    finally:
        steps.close()


async def _arun(steps: Steps, get: Callable[[str], Awaitable[bytes]]) -> Synced:
    """Drive :func:`_sync_steps` with an awaitable ``get``."""
    try:
        path = next(steps)
        while True:
            path = steps.send(await get(path))
    except StopIteration as done:
        result: Synced = done.value
        return result
    finally:
        steps.close()


def _own_log(info: NodeInfo) -> _Log:
    """The node's own log, under the key the client trusts for it (spec §8.5)."""
    return _Log(
        info.origin, info.verifier_key, info.endpoints.get(SNAPSHOTS_ENDPOINT, LISTING_PATH)
    )


@dataclass(frozen=True)
class MirroredChain:
    """The verified snapshot chain of a log the node mirrors, fetched from that peer."""

    origin: str
    url: str
    chain: SnapshotChain
    downloaded: int
    """Files fetched (the others came from the cache)."""

    @property
    def size(self) -> int:
        """The size of the peer's log the chain covers."""
        return self.chain.size

    @property
    def root_hash(self) -> bytes:
        """The root of the peer's log at :attr:`size`."""
        return self.chain.root_hash


@dataclass(frozen=True)
class UncoveredLog:
    """A log the node mirrors whose snapshots could not be used, and why: every item of the
    check is then asked of the node (spec §8.9)."""

    origin: str
    url: str
    reason: str


@dataclass(frozen=True)
class _Peer:
    """A mirrored log to sync: where its snapshots are and the key they must verify under."""

    url: str
    log: _Log


def _plan(
    peers: Sequence[PeerView], own_origin: str, pinned: Mapping[str, str]
) -> tuple[list[_Peer], list[UncoveredLog]]:
    """Which of the node's peers need a chain (spec §8.9 items 2-4), and which are uncovered
    from the start.

    A log the node has verified nothing of (``verified_size`` 0) adds nothing to its answers
    and needs no chain. A flagged peer (spec §7.6.4) is uncovered: the node still serves the
    entries it verified before the equivocation, but the peer's snapshots may describe the
    other history, so they cannot rule anything out. Keys the caller pinned win over the
    node's word about its peers.
    """
    chosen: list[_Peer] = []
    uncovered: list[UncoveredLog] = []
    seen = {own_origin}
    for peer in peers:
        if peer.origin in seen or peer.verified_size == 0:
            continue
        seen.add(peer.origin)
        if peer.flagged:
            reason = "flagged for equivocation (spec §7.6.4): its snapshots cannot be trusted"
            uncovered.append(UncoveredLog(peer.origin, peer.url, reason))
        elif not peer.url:
            uncovered.append(UncoveredLog(peer.origin, "", "the node lists no URL for it"))
        else:
            key = pinned.get(peer.origin, peer.verifier_key)
            chosen.append(_Peer(peer.url, _Log(peer.origin, key)))
    return chosen, uncovered


def _why(exc: Exception) -> str:
    if isinstance(exc, NodeError | TransportError | httpx.InvalidURL):
        return f"snapshots unavailable ({exc})"
    return f"snapshots rejected ({exc})"


def _sync_peer(
    client: ConsentClient, peer: _Peer, cache_dir: Path, category: str
) -> MirroredChain | UncoveredLog:
    """One mirrored log's chain from the peer itself (spec §8.9 item 3), or why not."""
    try:
        with client.peer_client(peer.url) as remote:
            chain, downloaded, _ = _run(
                _sync_steps(peer.log, cache_dir, category), remote.get_bytes
            )
    except (ConsentError, httpx.InvalidURL) as exc:
        return UncoveredLog(peer.log.origin, peer.url, _why(exc))
    return MirroredChain(peer.log.origin, peer.url, chain, downloaded)


async def _async_sync_peer(
    client: AsyncConsentClient, peer: _Peer, cache_dir: Path, category: str
) -> MirroredChain | UncoveredLog:
    """:func:`_sync_peer` through an :class:`~consent.client.AsyncConsentClient`."""
    try:
        async with client.peer_client(peer.url) as remote:
            steps = _sync_steps(peer.log, cache_dir, category)
            chain, downloaded, _ = await _arun(steps, remote.get_bytes)
    except (ConsentError, httpx.InvalidURL) as exc:
        return UncoveredLog(peer.log.origin, peer.url, _why(exc))
    return MirroredChain(peer.log.origin, peer.url, chain, downloaded)


@dataclass(frozen=True)
class OfflineChecker:
    """The verified snapshot chains of one node's log and of the logs it mirrors, for local
    checks."""

    chain: SnapshotChain
    """The node's own log's chain."""
    category: str
    downloaded: int
    """Files fetched by :meth:`sync` or :meth:`async_sync`, of every chain (the others came
    from the cache)."""
    mirrored: tuple[MirroredChain, ...] = ()
    """The chains of the logs the node mirrors, by origin."""
    uncovered: tuple[UncoveredLog, ...] = ()
    """Mirrored logs without a usable chain: while any is, every item is a hit."""
    levels: SnapshotLevels | None = None
    """The verified levels file of the node's last snapshot (spec §8.10), if asked for and
    listed."""

    @property
    def size(self) -> int:
        """The node's own log size its chain covers."""
        return self.chain.size

    @property
    def chains(self) -> tuple[SnapshotChain, ...]:
        """The node's chain, then the mirrored logs' chains."""
        return (self.chain, *(m.chain for m in self.mirrored))

    @property
    def complete(self) -> bool:
        """True if every log the node listed is covered by a chain (nothing uncovered)."""
        return not self.uncovered

    @property
    def fpr(self) -> float:
        """Upper bound of the false-positive rate of the chains' union (spec §8.4.4)."""
        return sum(chain.fpr for chain in self.chains)

    @classmethod
    def _of(
        cls,
        own: Synced,
        category: str,
        peers: Sequence[MirroredChain | UncoveredLog],
        uncovered: Sequence[UncoveredLog],
    ) -> OfflineChecker:
        mirrored = tuple(p for p in peers if isinstance(p, MirroredChain))
        failed = [p for p in peers if isinstance(p, UncoveredLog)]
        downloaded = own[1] + sum(m.downloaded for m in mirrored)
        return cls(own[0], category, downloaded, mirrored, (*uncovered, *failed), own[2])

    @classmethod
    def sync(
        cls,
        client: ConsentClient,
        cache_dir: Path,
        *,
        category: str = "train-ai",
        levels: bool = False,
    ) -> OfflineChecker:
        """List the node's chain, fetch the files the cache lacks, verify every one; then the
        same for every log the node mirrors, from its peer (spec §8.9).

        The node's key is the one ``client`` trusts (its pinned ``node_key``, else the key the
        node presents); a mirrored log's key is the one pinned in ``log_keys``, else the one
        the node lists in ``GET /v1/peers``. A mirrored log whose chain cannot be fetched or
        does not verify is not an error: it is in :attr:`uncovered`. With ``levels``, also
        the levels file of the node's last snapshot (spec §8.10), verified against it, if the
        node lists one (:attr:`levels`).

        Raises:
            NotSupportedError / NodeError: the node has no snapshots (yet), or its peer list
                fails.
            VerificationError: the node's key is not the pinned one, the listing is
                malformed, a file's hash differs from the listing, or a snapshot or the chain
                does not verify (spec §8.5, §8.7), or the levels file does not (spec §8.10.5).
            ConsentError: the snapshots hold another category than ``category``.
        """
        info = client.info()
        steps = _sync_steps(_own_log(info), cache_dir, category, levels=levels)
        own = _run(steps, client.get_bytes)
        # spec §8.9 item 1: a node whose description lists no peer list mirrors no log
        listed = client.peers() if PEERS_ENDPOINT in info.endpoints else []
        peers, uncovered = _plan(listed, info.origin, client.log_keys)
        synced = [_sync_peer(client, peer, cache_dir, category) for peer in peers]
        return cls._of(own, category, synced, uncovered)

    @classmethod
    async def async_sync(
        cls,
        client: AsyncConsentClient,
        cache_dir: Path,
        *,
        category: str = "train-ai",
        levels: bool = False,
    ) -> OfflineChecker:
        """:meth:`sync` through an :class:`~consent.client.AsyncConsentClient`: the same
        verification, the same cache; the mirrored logs' chains are fetched concurrently.

        Raises:
            NotSupportedError / NodeError, VerificationError, ConsentError: as :meth:`sync`.
        """
        info = await client.info()
        steps = _sync_steps(_own_log(info), cache_dir, category, levels=levels)
        own = await _arun(steps, client.get_bytes)
        listed = await client.peers() if PEERS_ENDPOINT in info.endpoints else []
        peers, uncovered = _plan(listed, info.origin, client.log_keys)
        synced = await asyncio.gather(
            *(_async_sync_peer(client, peer, cache_dir, category) for peer in peers)
        )
        return cls._of(own, category, synced, uncovered)

    def hits_sha256(self, hashes: Sequence[str]) -> list[bool]:
        """For each hash, True if a chain may hold it (ask the node). A malformed hash is a
        "hit": the node's answer for it is then the same as online. Every hash is a hit while
        a mirrored log is uncovered (spec §8.9 item 5)."""
        out = [True] * len(hashes)
        if self.uncovered:
            return out
        digests = bytearray()
        valid: list[int] = []
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
            from consent.snapshot_numpy import chain_contains, sha256_keys  # noqa: PLC0415
        except ImportError:  # pragma: no cover - numpy is an SDK dependency
            return [
                any(c.contains_sha256(digests[32 * i : 32 * i + 32]) for c in self.chains)
                for i in range(count)
            ]
        keys = sha256_keys(digests)
        found = chain_contains(self.chain, keys)
        for mirrored in self.mirrored:
            found |= chain_contains(mirrored.chain, keys)
        hits: list[bool] = found.tolist()
        return hits

    def hits_urls(self, urls: Sequence[str]) -> list[bool]:
        """For each URL (normalised first, spec §2.5), True if a chain may hold it. A URL that
        does not normalise is a "hit", so that the node reports its error; so is every URL
        while a mirrored log is uncovered."""
        if self.uncovered:
            return [True] * len(urls)
        out = []
        for url in urls:
            try:
                normalized = normalize_url(url)
            except ProtocolError:
                out.append(True)
                continue
            out.append(any(chain.contains_url(normalized) for chain in self.chains))
        return out

    @property
    def levels_gap(self) -> str | None:
        """Why the levels file cannot decide hits, or None if it can (spec §8.10.5 item 5): it
        must count every mirrored log whose chain was used, at least at that chain's size
        (and, at the same size, at the same root), and no log may be uncovered."""
        levels = self.levels
        if levels is None:
            return "no levels file"
        if self.uncovered:
            return "a mirrored log is uncovered"
        for mirrored in self.mirrored:
            counted = levels.mirror(mirrored.origin)
            if counted is None:
                return f"the levels file does not count {mirrored.origin}"
            if counted.size < mirrored.size:
                return (
                    f"the levels file counts {mirrored.origin} at size {counted.size}, "
                    f"before its snapshot's {mirrored.size}"
                )
            if counted.size == mirrored.size and counted.root_hash != mirrored.root_hash:
                return (
                    f"the levels file and {mirrored.origin}'s snapshot name different roots "
                    f"at size {counted.size}: one of the two logs' views is not the log's"
                )
        return None

    def decide(self, kind: Kind, value: str, policy: Policy) -> Answer | None:
        """The answer the levels file gives for a hit under ``policy`` (spec §8.10.5), or None
        if the node must be asked: no usable levels file (:attr:`levels_gap`), or a hit
        without a row under a policy whose default is "possibly reserved"."""
        levels = self.levels
        if levels is None or self.levels_gap is not None:
            return None
        try:
            key = sha256_key(value) if kind == "sha256" else url_key(normalize_url(value))
        except ProtocolError:
            return None
        row = levels.row(key)
        if row is None:
            # spec §8.10.1: without a row every claim is at level none, so none counts
            return (
                Answer(kind=kind, key=value, policy=policy) if policy == "verified-only" else None
            )
        return _answer_of(kind, value, row, policy, self.category)


def _answer_of(kind: Kind, value: str, row: LevelRow, policy: Policy, category: str) -> Answer:
    """An answer from a row of a levels file: reserved or not under ``policy``, every claim
    with its level, evidence and whether it counts (spec §9.4.5)."""
    prefs: dict[str, str] = {}
    if policy in row.reserved:
        prefs[category] = "n"
    elif any(c.preference == "y" for c in row.claims if c.counted(policy)):
        prefs[category] = "y"
    claims = [
        ClaimIdentity(
            declaration=c.declaration_id,
            level=c.level,
            evidence=list(c.evidence),
            counted=c.counted(policy),
            disputed_by=list(c.disputed_by),
        )
        for c in row.claims
    ]
    return Answer(
        kind=kind,
        key=value,
        prefs=prefs,
        declarations=[c.declaration_id for c in row.claims],
        policy=policy,
        claims=claims,
    )


@dataclass(frozen=True)
class OfflineReport:
    """The answers of an offline check, in the order asked, and what it cost."""

    answers: list[Answer]
    checked: int
    asked: int
    """Items the snapshots could not rule out, asked of the node."""
    checker: OfflineChecker
    decided: int = 0
    """Hits the levels file decided (spec §8.10), not asked of the node."""

    @property
    def uncovered(self) -> tuple[UncoveredLog, ...]:
        """Mirrored logs without a usable chain; if any, every item was asked of the node."""
        return self.checker.uncovered


Local = Answer | None
"""Per item: the answer decided locally by the levels file, or None."""


@dataclass(frozen=True)
class _Filtered:
    """The items of one offline check, which of them the chains could not rule out, and which
    of those the levels file decides."""

    sha256s: Sequence[str]
    urls: Sequence[str]
    hash_hits: list[bool]
    url_hits: list[bool]
    hash_local: list[Local]
    url_local: list[Local]

    @classmethod
    def of(
        cls,
        checker: OfflineChecker,
        sha256s: Sequence[str],
        urls: Sequence[str],
        policy: Policy | None = None,
    ) -> _Filtered:
        hash_hits, url_hits = checker.hits_sha256(sha256s), checker.hits_urls(urls)
        chosen = policy or DEFAULT_POLICY
        hash_local = [
            checker.decide("sha256", h, chosen) if hit else None
            for h, hit in zip(sha256s, hash_hits, strict=True)
        ]
        url_local = [
            checker.decide("url", u, chosen) if hit else None
            for u, hit in zip(urls, url_hits, strict=True)
        ]
        return cls(sha256s, urls, hash_hits, url_hits, hash_local, url_local)

    @property
    def asked_hashes(self) -> list[str]:
        return [
            h
            for h, hit, local in zip(self.sha256s, self.hash_hits, self.hash_local, strict=True)
            if hit and local is None
        ]

    @property
    def asked_urls(self) -> list[str]:
        return [
            u
            for u, hit, local in zip(self.urls, self.url_hits, self.url_local, strict=True)
            if hit and local is None
        ]

    def report(self, online: Sequence[Answer], checker: OfflineChecker) -> OfflineReport:
        """Merge the node's answers about the hits (hashes then URLs, as asked), the levels
        file's answers about the hits it decides, and "nothing known" for every item the
        chains ruled out, in the order of the items."""
        answers_online = iter(online)

        def merged(
            kind: Kind, items: Sequence[str], hits: list[bool], local: list[Local]
        ) -> list[Answer]:
            return [
                decided
                if decided is not None
                else (next(answers_online) if hit else Answer(kind=kind, key=item))
                for item, hit, decided in zip(items, hits, local, strict=True)
            ]

        answers = merged("sha256", self.sha256s, self.hash_hits, self.hash_local)
        answers += merged("url", self.urls, self.url_hits, self.url_local)
        decided = sum(a is not None for a in (*self.hash_local, *self.url_local))
        return OfflineReport(
            answers=answers,
            checked=len(answers),
            asked=sum(self.hash_hits) + sum(self.url_hits) - decided,
            checker=checker,
            decided=decided,
        )


def check_offline(
    client: ConsentClient,
    *,
    sha256s: Sequence[str] = (),
    urls: Sequence[str] = (),
    cache_dir: Path | None = None,
    category: str = "train-ai",
    policy: Policy | None = None,
    levels: bool = False,
) -> OfflineReport:
    """Check hashes and URLs against the snapshot chains of the node and of every log it
    mirrors; ask the node (only the node) about hits only, under ``policy`` (spec §9.4.7;
    None: the node's default). A chain holds every subject reserved under every policy
    (spec §8.1 item 7), so a miss is a miss whatever the policy.

    With ``levels``, the node's levels file (spec §8.10) decides the hits it can under
    ``policy`` (None: ``verified``) without asking the node: such an answer lists every claim
    with its level and evidence ids (:attr:`OfflineReport.decided` counts them).

    Answers come in the order asked, hashes then URLs, like :meth:`ConsentClient.check`; an
    item the chains rule out is answered with no preferences (not reserved for ``category``
    at the chains' sizes). If a mirrored log is uncovered (:attr:`OfflineReport.uncovered`),
    every item is asked of the node.

    Raises:
        VerificationError: the node's snapshots do not verify (see :meth:`OfflineChecker.sync`).
    """
    checker = OfflineChecker.sync(
        client, cache_dir or default_cache_dir(), category=category, levels=levels
    )
    filtered = _Filtered.of(checker, sha256s, urls, policy)
    online = client.check(sha256s=filtered.asked_hashes, urls=filtered.asked_urls, policy=policy)
    return filtered.report(online, checker)


async def acheck_offline(
    client: AsyncConsentClient,
    *,
    sha256s: Sequence[str] = (),
    urls: Sequence[str] = (),
    cache_dir: Path | None = None,
    category: str = "train-ai",
    policy: Policy | None = None,
    levels: bool = False,
) -> OfflineReport:
    """:func:`check_offline` through an :class:`~consent.client.AsyncConsentClient`.

    The local lookups (NumPy, a few seconds for tens of millions of items) run in a worker
    thread, so they do not stall the event loop.

    Raises:
        VerificationError: the node's snapshots do not verify (see :meth:`OfflineChecker.sync`).
    """
    cache = cache_dir or default_cache_dir()
    checker = await OfflineChecker.async_sync(client, cache, category=category, levels=levels)
    filtered = await asyncio.to_thread(_Filtered.of, checker, sha256s, urls, policy)
    online = await client.check(
        sha256s=filtered.asked_hashes, urls=filtered.asked_urls, policy=policy
    )
    return filtered.report(online, checker)
