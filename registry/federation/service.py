"""The node's federation: peers, mirrors, witness, pusher and their HTTP-facing queries (§7).

:class:`Federation` is created by :class:`registry.http.runtime.Node` in every worker process.
Every worker answers the federation endpoints from the database (peer list and status,
evidence, the witness endpoint, mirrored declarations with their proofs); the worker holding
the leader lock (:mod:`registry.federation.leader`) also runs one mirror task per peer and the
pusher, and reconciles them with the ``peers`` table every ``poll_interval`` seconds (peers
added or removed through the admin API of any worker).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Final

from sqlalchemy.ext.asyncio import AsyncEngine

from registry.config.settings import Settings
from registry.core.checkpoint import Checkpoint
from registry.core.errors import ProtocolError
from registry.core.merkle import inclusion_proof, tiles_for_inclusion
from registry.core.note import (
    NoteSigner,
    NoteVerifier,
    append_signature_lines,
    parse_note,
    parse_signature_lines,
)
from registry.core.proof import build_receipt, parse_receipt
from registry.core.tiles import TileCoord
from registry.federation.client import PeerClient
from registry.federation.config import PeerSpec, load_peers_file, require_https
from registry.federation.errors import PeerConfigError
from registry.federation.keys import derive_witness_signer
from registry.federation.leader import LeaderLock, lock_path
from registry.federation.mirror import PeerMirror, load_mirror_tiles
from registry.federation.push import CheckpointSource, Pusher, PushTarget
from registry.federation.witness import Witness, WitnessResult
from registry.log import NodeLog
from registry.log.tilestore import fetch_tiles
from registry.storage.engine import create_engine
from registry.storage.federation import EvidenceRow, FederationStore, PeerRow
from registry.storage.repository import LogStore

__all__ = ["Federation", "MirroredDeclaration", "PeerStatus"]

_log = logging.getLogger("registry.federation")

LEADER_RETRY: Final = 2.0
"""Seconds between a non-leader worker's attempts to take the leader lock."""


@dataclass(frozen=True, slots=True)
class PeerStatus:
    """One row of ``GET /v1/peers`` (spec §7.2.3)."""

    origin: str
    url: str
    verifier_key: str
    witness_key: str | None
    source: str
    verified_size: int
    seen_size: int
    cosigned_size: int
    last_error: str | None
    last_attempt: int | None
    last_success: int | None
    flagged: bool
    evidence: int

    @property
    def lag(self) -> int:
        """Entries the peer has shown us that we have not verified yet."""
        return max(0, self.seen_size - self.verified_size)


@dataclass(frozen=True, slots=True)
class MirroredDeclaration:
    """A declaration found in a mirrored log, with a receipt against that log's checkpoint."""

    origin: str
    index: int
    entry: bytes
    receipt: str
    checkpoint: bytes


class Federation:
    """Federation in one worker process; use :meth:`start` and :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        log: NodeLog,
        engine: AsyncEngine,
        witness_signer: NoteSigner,
        *,
        on_mirror_commit: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.settings = settings
        self.log = log
        self.engine = engine
        self.store = FederationStore(engine)
        self.log_store = LogStore(engine)
        self.witness_signer = witness_signer
        self.clock = clock
        self.on_mirror_commit = on_mirror_commit
        self.mirrors: dict[str, PeerMirror] = {}
        self._tasks: dict[str, asyncio.Task[None]] = {}
        self._specs: dict[str, PeerRow] = {}
        self.witness = Witness(
            witness_signer, self.store, clock=clock, on_checkpoint=self._poke_mirror
        )
        self.pusher = Pusher(
            CheckpointSource(log.checkpoint, self._own_tiles, log.verifier_key),
            self.store,
            retry_interval=settings.peer_poll_interval,
        )
        self._lock = LeaderLock(lock_path(settings.resolved_database_url()))
        self._leader_task: asyncio.Task[None] | None = None
        self._reconcile = asyncio.Event()

    @property
    def witness_key(self) -> str:
        """Our cosignature/v1 verifier key (published in the node description)."""
        return self.witness_signer.verifier.vkey

    @property
    def is_leader(self) -> bool:
        """True in the worker that runs the mirror tasks and the pusher."""
        return self._lock.held

    @classmethod
    async def start(
        cls,
        settings: Settings,
        log: NodeLog,
        *,
        on_mirror_commit: Callable[[str], None],
        clock: Callable[[], float] = time.time,
    ) -> Federation:
        """Open the federation's database engine and start leading (or trying to).

        Raises:
            PeerConfigError: the peers file does not parse (start-up then fails loudly).
        """
        peers = None
        if settings.peers_file is not None:
            peers = load_peers_file(settings.peers_file, own_origin=log.origin)
            require_https(peers, allow_http=settings.peer_allow_http)
        engine = create_engine(settings.resolved_database_url())
        try:
            federation = cls(
                settings,
                log,
                engine,
                derive_witness_signer(log.signer.skey),
                on_mirror_commit=on_mirror_commit,
                clock=clock,
            )
            if peers is not None:
                await federation._sync_peers_file(peers)
        except BaseException:
            await engine.dispose()
            raise
        federation._leader_task = asyncio.create_task(federation._lead(), name="federation-leader")
        return federation

    async def stop(self) -> None:
        """Stop every task, close the peers' connections and the engine."""
        tasks = [t for t in [self._leader_task, *self._tasks.values()] if t is not None]
        for task in tasks:
            task.cancel()
        for task in tasks:
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        self._tasks.clear()
        for mirror in self.mirrors.values():
            await mirror.client.close()
        for target in self.pusher.targets.values():
            await target.client.close()
        self.mirrors.clear()
        self.pusher.targets.clear()
        self._lock.release()
        await self.engine.dispose()

    # -- leading -----------------------------------------------------------------------------

    async def _lead(self) -> None:
        while not self._lock.try_acquire():
            await asyncio.sleep(LEADER_RETRY)
        _log.info("this worker runs federation (mirrors, pusher)")
        self._tasks["push"] = asyncio.create_task(self.pusher.run(), name="federation-push")
        while True:
            try:
                await self._reconcile_peers()
            except Exception:
                _log.exception("reconciling peers failed")
            self._reconcile.clear()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(
                    self._reconcile.wait(), timeout=self.settings.peer_poll_interval
                )

    async def _sync_peers_file(self, peers: Sequence[PeerSpec]) -> None:
        """The peers file is authoritative for the peers it configured (``source='file'``).

        Every worker does this at start-up; the writes are idempotent.
        """
        listed = {p.origin for p in peers}
        for row in await self.store.peers():
            if row.source == "file" and row.origin not in listed:
                await self.store.remove_peer(row.origin)
        for peer in peers:
            await self.store.put_peer(_row(peer, "file"))

    async def _reconcile_peers(self) -> None:
        """Start, restart and stop mirror tasks and push targets to match the ``peers`` table."""
        rows = {row.origin: row for row in await self.store.peers()}
        for origin in list(self._specs):
            old = self._specs[origin]
            new = rows.get(origin)
            if new is None or (new.url, new.vkey) != (old.url, old.vkey):
                await self._stop_peer(origin)
        for origin, row in rows.items():
            if origin not in self._specs:
                self._start_peer(row)

    def _start_peer(self, row: PeerRow) -> None:
        witness = NoteVerifier.from_vkey(row.witness_vkey) if row.witness_vkey else None
        spec = PeerSpec(row.url, NoteVerifier.from_vkey(row.vkey), witness)
        timeout = self.settings.peer_timeout
        allow_http = self.settings.peer_allow_http
        client = PeerClient(
            spec.url,
            timeout=timeout,
            concurrency=self.settings.peer_concurrency,
            allow_http=allow_http,
        )
        mirror = PeerMirror(
            spec,
            self.store,
            client,
            poll_interval=self.settings.peer_poll_interval,
            max_backoff=self.settings.peer_max_backoff,
            round_timeout=self.settings.peer_round_timeout,
            clock=self.clock,
            on_commit=self.on_mirror_commit,
            clock_skew=self.settings.clock_skew,
        )
        self.mirrors[row.origin] = mirror
        self._specs[row.origin] = row
        self._tasks[row.origin] = asyncio.create_task(mirror.run(), name=f"mirror {row.origin}")
        push_client = PeerClient(spec.url, timeout=timeout, concurrency=2, allow_http=allow_http)
        self.pusher.targets[row.origin] = PushTarget(spec, push_client, witness)
        self.pusher.poke()

    async def _stop_peer(self, origin: str) -> None:
        task = self._tasks.pop(origin, None)
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, Exception):
                await task
        mirror = self.mirrors.pop(origin, None)
        if mirror is not None:
            await mirror.client.close()
        target = self.pusher.targets.pop(origin, None)
        if target is not None:
            await target.client.close()
        self._specs.pop(origin, None)

    def _poke_mirror(self, origin: str) -> None:
        mirror = self.mirrors.get(origin)
        if mirror is not None:
            mirror.poke()

    def checkpoint_changed(self) -> None:
        """Our log has a new checkpoint: push it to the peers now (spec §7.4)."""
        self.pusher.poke()

    async def _own_tiles(self, coords: set[TileCoord]) -> dict[TileCoord, bytes]:
        return await fetch_tiles(self.log_store, coords)

    # -- admin ---------------------------------------------------------------------------------

    async def add_peer(self, peer: PeerSpec) -> None:
        """Add (or update) a peer at run time (admin API, spec §7.2.2).

        Raises:
            PeerConfigError: the peer's origin is our own, or its URL is plain http and the
                operator did not allow it.
        """
        if peer.origin == self.log.origin:
            raise PeerConfigError(f"{peer.origin} is this node's own origin")
        require_https([peer], allow_http=self.settings.peer_allow_http)
        await self.store.put_peer(_row(peer, "admin"))
        self._reconcile.set()

    async def remove_peer(self, origin: str) -> bool:
        """Stop mirroring a peer (its verified entries and evidence are kept, spec §7.2.2)."""
        removed = await self.store.remove_peer(origin)
        self._reconcile.set()
        return removed

    # -- answers -------------------------------------------------------------------------------

    async def add_checkpoint(self, body: bytes) -> WitnessResult:
        """The C2SP tlog-witness endpoint (spec §7.5)."""
        return await self.witness.add_checkpoint(body)

    async def peer_statuses(self) -> list[PeerStatus]:
        """Every configured peer with its state (spec §7.2.3)."""
        peers = await self.store.peers()
        heads = await self.store.mirror_heads()
        witnessed = await self.store.witness_heads()
        evidence = await self.store.evidence()
        counts: dict[str, int] = {}
        for found in evidence:
            counts[found.origin] = counts.get(found.origin, 0) + 1
        statuses = []
        for row in peers:
            head = heads.get(row.origin)
            cosigned = witnessed.get(row.origin)
            statuses.append(
                PeerStatus(
                    origin=row.origin,
                    url=row.url,
                    verifier_key=row.vkey,
                    witness_key=row.witness_vkey,
                    source=row.source,
                    verified_size=0 if head is None else head.size,
                    seen_size=row.seen_size,
                    cosigned_size=0 if cosigned is None else cosigned.size,
                    last_error=row.last_error,
                    last_attempt=row.last_attempt,
                    last_success=row.last_success,
                    flagged=row.origin in counts,
                    evidence=counts.get(row.origin, 0),
                )
            )
        return statuses

    async def evidence(self, origin: str | None = None) -> list[EvidenceRow]:
        """Stored equivocation evidence (spec §7.6.3)."""
        return await self.store.evidence(origin)

    async def cosigned(self, note: bytes) -> bytes:
        """Our checkpoint ``note`` with the cosignatures collected for it (spec §7.5.3)."""
        try:
            checkpoint = Checkpoint.from_text(parse_note(note)[0])
        except ProtocolError:  # pragma: no cover - our own note
            return note
        lines = await self.store.cosignature_lines(checkpoint.size, checkpoint.root_hash)
        if not lines:
            return note
        try:
            return append_signature_lines(
                note, parse_signature_lines("".join(f"{x}\n" for x in lines))
            )
        except ProtocolError:  # pragma: no cover - lines were verified when stored
            return note

    async def cosigned_receipt(self, receipt: str) -> str:
        """A receipt of our log whose checkpoint carries the collected cosignatures."""
        parsed = parse_receipt(receipt)
        note = await self.cosigned(parsed.checkpoint_note)
        if note == parsed.checkpoint_note:
            return receipt
        return build_receipt(parsed.index, list(parsed.proof), note, parsed.extra)

    async def find_mirrored(self, declaration_id: str) -> MirroredDeclaration | None:
        """A declaration in a mirrored log, with a fresh receipt against that log's mirrored
        checkpoint (spec §7.7.2); the first origin in sorted order if several hold it."""
        found = await self.store.find_mirrored(declaration_id)
        if not found:
            return None
        origin, index, entry = found[0]
        head = await self.store.mirror_head(origin)
        if head is None or head.note is None or index >= head.size:  # pragma: no cover
            return None
        tiles = await load_mirror_tiles(self.store, origin, tiles_for_inclusion(index, head.size))
        proof = inclusion_proof(index, head.size, tiles)
        receipt = build_receipt(index, proof, head.note)
        return MirroredDeclaration(origin, index, entry, receipt, head.note)

    async def origins_of(self, declaration_id: str) -> list[str]:
        """Every mirrored log holding the declaration (committed entries only)."""
        return sorted({origin for origin, _, _ in await self.store.find_mirrored(declaration_id)})


def _row(peer: PeerSpec, source: str) -> PeerRow:
    return PeerRow(
        origin=peer.origin,
        url=peer.url,
        vkey=peer.verifier.vkey,
        witness_vkey=None if peer.witness is None else peer.witness.vkey,
        source=source,
    )
