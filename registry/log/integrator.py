"""The integrator: appends a batch of entries to the log in one transaction (ADR 0005).

For a batch it (1) de-duplicates against the log (one batched query) and within the batch,
(2) computes the new tiles and root with the core's pure append step from the right-edge tiles
it holds in memory, (3) signs the new checkpoint, (4) commits entries, tiles and checkpoint in
ONE transaction whose first statement is a compare-and-swap on the checkpoint's tree size, and
only then (5) builds each entry's receipt. If the compare-and-swap fails, another writer
extended the log: the integrator reloads the tree state and redoes the batch.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass

from registry.core.checkpoint import Checkpoint, open_checkpoint, sign_checkpoint
from registry.core.errors import ProtocolError
from registry.core.merkle import append_leaves, leaf_hash, root_from_tiles, tiles_for_append
from registry.core.note import NoteSigner
from registry.core.tiles import TileCoord
from registry.log.errors import BatchError, LogCorruptError
from registry.log.receipts import make_receipts
from registry.log.tilestore import FullTileCache, fetch_tiles
from registry.log.types import Submitted
from registry.storage.repository import Head, LogStore, StoredEntry

__all__ = ["MAX_ATTEMPTS", "Integrator", "TreeState", "load_tree"]

MAX_ATTEMPTS = 20
"""How many times a batch is retried after losing the compare-and-swap to another writer."""


@dataclass(frozen=True, slots=True)
class TreeState:
    """The log as of its latest checkpoint: size, root, signed note and right-edge tiles.

    ``edge`` holds exactly the tiles of ``tiles_for_append(size)``, each at its width at
    ``size`` (what the core's append step needs).
    """

    size: int
    root: bytes
    note: bytes
    edge: Mapping[TileCoord, bytes]


async def load_tree(
    store: LogStore, signer: NoteSigner, cache: FullTileCache | None = None
) -> TreeState:
    """Load the latest checkpoint and right-edge tiles, and check that they agree.

    Checks that the checkpoint note is signed by the node key and states the stored size and
    root, and that the root recomputed from the tiles equals it. Raises LogCorruptError
    otherwise, or if the log was never initialised.
    """
    head = await store.head()
    if head is None:
        raise LogCorruptError("the database has no checkpoint row; was the log initialised?")
    try:
        opened = open_checkpoint(head.note, signer.verifier)
    except ProtocolError as exc:
        raise LogCorruptError(f"the stored checkpoint does not verify: {exc}") from exc
    if (opened.checkpoint.size, opened.checkpoint.root_hash) != (head.size, head.root):
        raise LogCorruptError(
            f"the stored checkpoint note (size {opened.checkpoint.size}) disagrees with the "
            f"checkpoint row (size {head.size})"
        )
    edge = await fetch_tiles(store, tiles_for_append(head.size), cache)
    if root_from_tiles(head.size, edge) != head.root:
        raise LogCorruptError(
            f"the root hash computed from the stored tiles differs from the checkpoint's at "
            f"size {head.size}"
        )
    return TreeState(head.size, head.root, head.note, edge)


def sign_tree_head(signer: NoteSigner, size: int, root: bytes) -> bytes:
    """Return the node's signed checkpoint note for a tree of ``size`` with ``root``.

    The origin line is the key name, which the node keeps equal to its origin (spec §5.5).
    """
    return sign_checkpoint(Checkpoint(signer.name, size, root), signer)


class Integrator:
    """Integrates batches into one log; holds the tree state between batches.

    Not safe for concurrent use: the sequencer calls :meth:`integrate` from one task.
    Concurrency with other *processes* (or other Integrators) is handled by the
    compare-and-swap.
    """

    def __init__(self, store: LogStore, signer: NoteSigner, cache: FullTileCache) -> None:
        self._store = store
        self._signer = signer
        self._cache = cache
        self._tree: TreeState | None = None

    async def tree(self) -> TreeState:
        """Return the current tree state, loading it from the database if unknown."""
        if self._tree is None:
            self._tree = await load_tree(self._store, self._signer, self._cache)
        return self._tree

    def reset(self) -> None:
        """Forget the tree state; the next batch reloads it from the database."""
        self._tree = None

    async def integrate(self, batch: Sequence[tuple[str, bytes]]) -> list[Submitted]:
        """Append the (record id, entry) pairs of ``batch`` that are new; answer every one.

        Returns one :class:`Submitted` per item, in order; a repeated or already logged entry
        gets its existing index and ``duplicate=True``. Raises BatchError if the log kept
        moving under another writer for MAX_ATTEMPTS tries; LogCorruptError if the stored
        state is inconsistent; database errors as they come (nothing was committed then).
        """
        for _attempt in range(MAX_ATTEMPTS):
            result = await self._try_integrate(batch)
            if result is not None:
                return result
            self._tree = None  # another writer moved the log: reload and redo the batch
        raise BatchError(
            f"the log kept being extended by another writer; gave up after {MAX_ATTEMPTS} tries"
        )

    async def _try_integrate(self, batch: Sequence[tuple[str, bytes]]) -> list[Submitted] | None:
        """One attempt at :meth:`integrate`; None if another writer got there first."""
        tree = await self.tree()
        existing = await self._store.indexes_of(record_id for record_id, _ in batch)
        if any(index >= tree.size for index in existing.values()):
            return None  # logged by another writer after our checkpoint: we are stale
        assigned = dict(existing)
        new: list[StoredEntry] = []
        duplicate: list[bool] = []
        for record_id, entry in batch:
            duplicate.append(record_id in assigned)
            if record_id not in assigned:
                assigned[record_id] = tree.size + len(new)
                new.append(StoredEntry(assigned[record_id], record_id, entry))
        known: Mapping[TileCoord, bytes] = tree.edge
        if new:
            grown = append_leaves(tree.size, tree.edge, [leaf_hash(e.data) for e in new])
            note = sign_tree_head(self._signer, grown.size, grown.root)
            head = Head(grown.size, grown.root, note)
            written = [(c.level, c.index, data) for c, data in grown.tiles.items()]
            if not await self._store.append(
                tree.size, head, new, written, index_origin=self._signer.name
            ):
                return None
            # At this point the batch is durable and covered by a signed checkpoint: entries,
            # tiles and checkpoint were committed together, and no other writer moved the log
            # between our state and our commit (the compare-and-swap on the size succeeded).
            known = {**tree.edge, **grown.tiles}
            for coord, data in grown.tiles.items():
                self._cache.put(coord.level, coord.index, data)
            edge = {c: known[c] for c in tiles_for_append(grown.size)}
            tree = TreeState(grown.size, grown.root, note, edge)
            self._tree = tree
        receipts = await make_receipts(
            self._store,
            assigned.values(),
            tree.size,
            tree.note,
            known=known,
            cache=self._cache,
        )
        return [
            Submitted(record_id, assigned[record_id], receipts[assigned[record_id]], dup)
            for (record_id, _), dup in zip(batch, duplicate, strict=True)
        ]
