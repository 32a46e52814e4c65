"""``verify_log``: check a whole log database from its entries up (``registry log verify``).

The tree is recomputed from the stored entries, streaming in pages with the core's append
step, and compared with every stored tile and with the signed checkpoint; every entry must
decode as a record whose id is the stored id (and, by default, carry a valid signature).

Mirrored peer logs (spec §7.2) are checked the same way up to their committed checkpoint:
the checkpoint note verifies under the configured peer key, and the root recomputed from the
mirrored entries, each decoded in full (spec §2.7, §2.8), is the checkpoint's. This is what
makes it safe for the indexes to decode stored entries by shape alone (spec §6.11 item 3).
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping

from registry.core.checkpoint import open_checkpoint
from registry.core.errors import ProtocolError
from registry.core.merkle import HASH_SIZE, append_leaves, leaf_hash, tiles_for_append
from registry.core.note import NoteVerifier
from registry.core.records import decode_entry, load_entry, record_id
from registry.core.tiles import TileCoord, tiles_for_size
from registry.log.errors import LogCorruptError
from registry.log.keys import ORIGIN_META, VERIFIER_KEY_META
from registry.log.startup import check_schema
from registry.log.types import LogReport, MirrorReport
from registry.storage.engine import create_engine
from registry.storage.federation import FederationStore, MirrorHead
from registry.storage.repository import Head, LogStore

__all__ = ["VERIFY_PAGE", "verify_log"]

VERIFY_PAGE = 4096
"""Entries read per query while verifying."""


async def verify_log(database_url: str, *, check_signatures: bool = True) -> LogReport:
    """Verify the log in the database at ``database_url`` from scratch.

    Checks, against the checkpoint read at the start: the checkpoint note is signed by the
    stored node key under the stored origin and states the checkpoint row's size and root;
    the entries are exactly indexes 0..size-1, each decodes as a record (and its creator's
    signature verifies, unless ``check_signatures`` is False) and has the stored id; the tree
    recomputed from the entries has the checkpoint's root and its tiles equal the stored ones.
    If no writer moved the log meanwhile, it also checks that nothing (entry or tile) lies
    beyond the checkpoint. Then each mirrored log, up to its committed checkpoint (see the
    module docstring). Returns a LogReport; raises LogCorruptError on any damage and
    NodeConfigError if the schema is not migrated.
    """
    engine = create_engine(database_url)
    try:
        await check_schema(engine)
        report = await _verify(LogStore(engine), check_signatures)
        mirrors = await _verify_mirrors(FederationStore(engine), check_signatures)
    finally:
        await engine.dispose()
    return dataclasses.replace(report, mirrors=mirrors)


async def _verify(store: LogStore, check_signatures: bool) -> LogReport:
    head = await store.head()
    if head is None:
        raise LogCorruptError("the database has no checkpoint row (the log was never opened)")
    verifier = await _node_verifier(store)
    _check_checkpoint(head, verifier)
    root, tiles_checked = await _recompute(store, head.size, check_signatures)
    if root != head.root:
        raise LogCorruptError(
            f"the root recomputed from the entries differs from the checkpoint at size {head.size}"
        )
    if await store.head() == head:  # quiescent: nothing may lie beyond the checkpoint
        last = await store.max_index()
        if (last is not None and last >= head.size) or (last is None and head.size):
            raise LogCorruptError(
                f"the entries table ends at index {last}, the checkpoint at size {head.size}"
            )
        stored_tiles = await store.tile_count()
        if stored_tiles != len(tiles_for_size(head.size)):
            raise LogCorruptError(
                f"{stored_tiles} hash tiles are stored; a tree of size {head.size} has "
                f"{len(tiles_for_size(head.size))}"
            )
    return LogReport(
        origin=verifier.name,
        verifier_key=verifier.vkey,
        size=head.size,
        root_hash=head.root,
        entries_checked=head.size,
        tiles_checked=tiles_checked,
    )


async def _node_verifier(store: LogStore) -> NoteVerifier:
    """The node key's public half as the database records it, checked against the origin.

    Only the public half is needed (and only it is in the database, ADR 0012): verifying a log
    never needs the node's signing key.
    """
    vkey = await store.meta(VERIFIER_KEY_META)
    origin = await store.meta(ORIGIN_META)
    if vkey is None or origin is None:
        raise LogCorruptError("the database has no node verifier key or no origin")
    try:
        verifier = NoteVerifier.from_vkey(vkey)
    except ProtocolError as exc:
        raise LogCorruptError(f"the stored node verifier key is malformed: {exc}") from None
    if verifier.name != origin:
        raise LogCorruptError(f"the node key is named {verifier.name!r}, the origin is {origin!r}")
    return verifier


def _check_checkpoint(head: Head, verifier: NoteVerifier) -> None:
    """The checkpoint note verifies under the node key and matches the checkpoint row."""
    try:
        opened = open_checkpoint(head.note, verifier)
    except ProtocolError as exc:
        raise LogCorruptError(f"the stored checkpoint does not verify: {exc}") from exc
    if opened.checkpoint.size != head.size or opened.checkpoint.root_hash != head.root:
        raise LogCorruptError("the signed checkpoint disagrees with the checkpoint row")


class _Tree:
    """A tree grown page by page with the core's append step, keeping only its edge tiles."""

    def __init__(self) -> None:
        self.size = 0
        self.root = append_leaves(0, {}, []).root
        self._edge: Mapping[TileCoord, bytes] = {}

    def append(self, leaves: list[bytes]) -> Mapping[TileCoord, bytes]:
        """Append leaf hashes; return the tiles they completed or changed."""
        grown = append_leaves(self.size, self._edge, leaves)
        merged = {**self._edge, **grown.tiles}
        self._edge = {c: merged[c] for c in tiles_for_append(grown.size)}
        self.size, self.root = grown.size, grown.root
        return grown.tiles


async def _recompute(store: LogStore, size: int, check_signatures: bool) -> tuple[bytes, int]:
    """Rebuild the tree from entries 0..size-1; compare every tile. Returns (root, tiles)."""
    decode = load_entry if check_signatures else decode_entry
    tree, checked = _Tree(), 0
    while tree.size < size:
        position = tree.size
        rows = await store.entries(position, min(position + VERIFY_PAGE, size))
        leaves: list[bytes] = []
        for index, stored_id, data in rows:
            if index != position + len(leaves):
                raise LogCorruptError(f"entry {position + len(leaves)} is missing")
            if record_id(data) != stored_id:
                raise LogCorruptError(f"entry {index} does not hash to its stored id")
            try:
                decode(data)
            except ProtocolError as exc:
                raise LogCorruptError(f"entry {index} is not a valid record: {exc}") from exc
            leaves.append(leaf_hash(data))
        if not leaves:
            raise LogCorruptError(f"entry {position} is missing")
        tiles = tree.append(leaves)
        checked += await _compare_tiles(store, tiles, final=tree.size == size)
    return tree.root, checked


async def _compare_tiles(
    store: LogStore, computed: Mapping[TileCoord, bytes], *, final: bool
) -> int:
    """Compare the recomputed tiles that are final (full, or the last page's partial ones)
    with the stored ones. Returns how many were compared."""
    due = {c: d for c, d in computed.items() if c.is_full or final}
    stored = await store.tiles((c.level, c.index) for c in due)
    for coord, data in due.items():
        have = stored.get((coord.level, coord.index))
        if have is None or have[: coord.width * HASH_SIZE] != data:
            state = "missing" if have is None else "different from the recomputed tile"
            raise LogCorruptError(f"hash tile level {coord.level} index {coord.index} is {state}")
    return len(due)


async def _verify_mirrors(
    store: FederationStore, check_signatures: bool
) -> tuple[MirrorReport, ...]:
    peers = {peer.origin: peer for peer in await store.peers()}
    reports: list[MirrorReport] = []
    for origin, head in sorted((await store.mirror_heads()).items()):
        if head.size == 0:
            continue
        signed = False
        peer = peers.get(origin)
        if peer is not None and head.note is not None:
            _check_mirror_checkpoint(head, head.note, NoteVerifier.from_vkey(peer.vkey))
            signed = True
        root = await _mirror_root(store, head, check_signatures)
        if root != head.root:
            raise LogCorruptError(
                f"mirrored log {origin}: the root recomputed from its entries differs from its "
                f"checkpoint at size {head.size}"
            )
        reports.append(MirrorReport(origin, head.size, head.root, head.size, signed))
    return tuple(reports)


def _check_mirror_checkpoint(head: MirrorHead, note: bytes, verifier: NoteVerifier) -> None:
    try:
        opened = open_checkpoint(note, verifier)
    except ProtocolError as exc:
        raise LogCorruptError(
            f"mirrored log {head.origin}: the stored checkpoint does not verify: {exc}"
        ) from exc
    if opened.checkpoint.size != head.size or opened.checkpoint.root_hash != head.root:
        raise LogCorruptError(
            f"mirrored log {head.origin}: the signed checkpoint disagrees with the stored head"
        )


async def _mirror_root(store: FederationStore, head: MirrorHead, check_signatures: bool) -> bytes:
    decode = load_entry if check_signatures else decode_entry
    tree = _Tree()
    while tree.size < head.size:
        position = tree.size
        stop = min(position + VERIFY_PAGE, head.size)
        leaves: list[bytes] = []
        for index, data in await store.mirror_entries(head.origin, position, stop):
            if index != position + len(leaves):
                break
            try:
                decode(data)
            except ProtocolError as exc:
                raise LogCorruptError(
                    f"mirrored log {head.origin}: entry {index} is not a valid record: {exc}"
                ) from exc
            leaves.append(leaf_hash(data))
        if len(leaves) != stop - position:
            raise LogCorruptError(
                f"mirrored log {head.origin}: entry {position + len(leaves)} is missing"
            )
        tree.append(leaves)
    return tree.root
