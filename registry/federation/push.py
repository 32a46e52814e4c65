"""Pushing this node's checkpoints to its peers, and collecting their cosignatures (spec §7.4).

When the node's log has a new checkpoint, the pusher sends it to every peer's C2SP
tlog-witness ``add-checkpoint`` endpoint with a consistency proof from the size that peer last
cosigned. One request does two things: the peer learns at once that there is something new to
mirror (it pokes its mirror of us), and it answers with its cosignature, which we verify with
its witness key and keep, so that ``GET /checkpoint`` and receipts carry it (spec §7.5.3).

The size each peer last cosigned is learnt from its 409 answers (C2SP tlog-witness: a client
without that information MAY start with ``old 0``). A peer that fails is retried at the next
checkpoint or after ``retry_interval``; polling by the peers is the fallback either way.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import re
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Final

from registry.core.checkpoint import Checkpoint, add_cosignatures
from registry.core.encoding import b64encode
from registry.core.errors import ProtocolError
from registry.core.merkle import consistency_proof, tiles_for_consistency
from registry.core.note import ALG_COSIGNATURE_V1, NoteVerifier, parse_note, parse_signature_lines
from registry.core.tiles import TileCoord
from registry.federation.client import PeerClient
from registry.federation.config import PeerSpec
from registry.federation.errors import FederationError, PeerMisbehavingError, PeerUnavailableError
from registry.storage.federation import FederationStore

__all__ = ["CheckpointSource", "PushTarget", "Pusher", "witness_request_body"]

_log = logging.getLogger("registry.federation.push")
_SIZE_BODY: Final = re.compile(rb"(0|[1-9][0-9]{0,18})\n")

TileFetcher = Callable[[set[TileCoord]], Awaitable[dict[TileCoord, bytes]]]
"""Returns our own log's tiles (exact widths) for a consistency proof."""


class CheckpointSource:
    """Our own log, as the pusher needs it: the latest note and tiles for proofs."""

    def __init__(
        self, checkpoint: Callable[[], Awaitable[bytes]], tiles: TileFetcher, log_vkey: str
    ) -> None:
        self.checkpoint = checkpoint
        self.tiles = tiles
        self.verifier = NoteVerifier.from_vkey(log_vkey)


@dataclass
class PushTarget:
    """One peer as a witness of our log: its client and what we know of its state."""

    peer: PeerSpec
    client: PeerClient
    witness: NoteVerifier | None = None
    cosigned: int = 0  # the size it last cosigned, as far as we know
    done: int = -1  # the size of our checkpoint it last cosigned for us (-1: none)
    last_error: str | None = field(default=None)


def witness_request_body(old_size: int, proof: list[bytes], note: bytes) -> bytes:
    """The C2SP tlog-witness ``add-checkpoint`` request body."""
    lines = [f"old {old_size}", *(b64encode(h) for h in proof)]
    return ("".join(f"{line}\n" for line in lines) + "\n").encode() + note


class Pusher:
    """Sends our checkpoints to every peer's witness endpoint and keeps the cosignatures."""

    def __init__(
        self,
        source: CheckpointSource,
        store: FederationStore,
        *,
        retry_interval: float = 5.0,
        check_interval: float = 0.5,
    ) -> None:
        self.source = source
        self.store = store
        self.retry_interval = retry_interval
        self.check_interval = check_interval
        self.targets: dict[str, PushTarget] = {}
        self._poke = asyncio.Event()

    def poke(self) -> None:
        """Our log has (probably) a new checkpoint: push it now."""
        self._poke.set()

    async def run(self) -> None:
        """Push forever: on a poke, when the log grew, and retry laggards every interval."""
        last_retry = 0.0
        loop = asyncio.get_running_loop()
        while True:
            self._poke.clear()
            force = loop.time() - last_retry >= self.retry_interval
            if force:
                last_retry = loop.time()
            try:
                await self.push_all(force=force)
            except Exception:  # our own database: report and keep going
                _log.exception("pushing our checkpoint failed")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._poke.wait(), timeout=self.check_interval)

    async def push_all(self, *, force: bool = False) -> None:
        """Push our latest checkpoint to every peer that has not cosigned it yet.

        Without ``force`` a peer whose last push failed is skipped until the next retry.
        """
        if not self.targets:
            return  # no peer to push to: no need to read the checkpoint at every write
        note = await self.source.checkpoint()
        checkpoint = Checkpoint.from_text(parse_note(note)[0])
        if checkpoint.size == 0:
            return  # nothing to witness yet
        due = [
            t
            for t in list(self.targets.values())
            if t.done < checkpoint.size and (force or t.last_error is None)
        ]
        if due:
            await asyncio.gather(*(self._push_one(t, note, checkpoint) for t in due))

    async def _push_one(self, target: PushTarget, note: bytes, checkpoint: Checkpoint) -> None:
        try:
            await self.push(target, note, checkpoint)
            target.last_error = None
        except FederationError as exc:
            target.last_error = str(exc)
            _log.info("push to %s: %s", target.peer.origin, exc)

    async def push(self, target: PushTarget, note: bytes, checkpoint: Checkpoint) -> None:
        """Send ``note`` to one peer; store its cosignature. Retries once after a 409.

        Raises:
            PeerUnavailableError: the peer did not answer or refused.
            PeerMisbehavingError: its answer is malformed or its cosignature does not verify.
        """
        for _attempt in range(2):
            body = await self._body(target.cosigned, note, checkpoint)
            answer = await target.client.add_checkpoint(body)
            if answer.status == 409:
                # C2SP tlog-witness: the body is the size it last cosigned.
                match = _SIZE_BODY.fullmatch(answer.body)
                if match is None:
                    raise PeerMisbehavingError("409 answer without a tree size")
                size = int(match.group(1))
                if size > checkpoint.size:
                    raise PeerMisbehavingError(
                        f"it cosigned size {size} of our log, larger than our {checkpoint.size}"
                    )
                if size == target.cosigned:
                    raise PeerUnavailableError(f"409 Conflict at size {size}")
                target.cosigned = size
                continue
            if answer.status != 200:
                raise PeerUnavailableError(f"add-checkpoint answered HTTP {answer.status}")
            await self._keep(target, note, checkpoint, answer.body)
            return
        raise PeerUnavailableError("add-checkpoint kept answering 409 Conflict")

    async def _body(self, old: int, note: bytes, checkpoint: Checkpoint) -> bytes:
        proof: list[bytes] = []
        if 0 < old < checkpoint.size:
            tiles = await self.source.tiles(tiles_for_consistency(old, checkpoint.size))
            proof = consistency_proof(old, checkpoint.size, tiles)
        return witness_request_body(old, proof, note)

    async def _keep(
        self, target: PushTarget, note: bytes, checkpoint: Checkpoint, body: bytes
    ) -> None:
        """Verify the cosignature lines with the peer's witness key and store them."""
        target.cosigned = checkpoint.size
        target.done = checkpoint.size
        witness = await self._witness_key(target)
        try:
            text = body.decode("utf-8")
            lines = [s for s in parse_signature_lines(text) if _by(s.name, s.key_id, witness)]
            if not lines:
                raise PeerMisbehavingError("the answer has no cosignature from its witness key")
            mine = "".join(f"{s.line}\n" for s in lines)
            add_cosignatures(note, mine, self.source.verifier, [witness])  # verifies each line
        except (UnicodeDecodeError, ProtocolError) as exc:
            raise PeerMisbehavingError(f"its cosignature does not verify: {exc}") from exc
        witness_id = f"{witness.name}+{witness.key_id.hex()}"
        await self.store.put_cosignature(
            witness_id, checkpoint.size, checkpoint.root_hash, lines[-1].line
        )

    async def _witness_key(self, target: PushTarget) -> NoteVerifier:
        """The peer's witness key: configured, pinned earlier, or learnt now and pinned."""
        if target.witness is not None:
            return target.witness
        row = await self.store.peer(target.peer.origin)
        vkey = row.witness_vkey if row is not None else None
        if vkey is None:
            info = await target.client.node_info()
            learnt = info.get("witness_key")
            if not isinstance(learnt, str):
                raise PeerMisbehavingError("its node description has no witness_key")
            vkey = learnt
        try:
            witness = NoteVerifier.from_vkey(vkey)
        except ProtocolError as exc:
            raise PeerMisbehavingError(f"its witness key is malformed: {exc}") from exc
        if witness.alg != ALG_COSIGNATURE_V1:
            raise PeerMisbehavingError("its witness key is not a cosignature/v1 key")
        if row is not None and row.witness_vkey is None:
            await self.store.set_witness_vkey(target.peer.origin, witness.vkey)  # pin (TOFU)
        target.witness = witness
        return witness


def _by(name: str, key_id: bytes, verifier: NoteVerifier) -> bool:
    return (name, key_id) == (verifier.name, verifier.key_id)
