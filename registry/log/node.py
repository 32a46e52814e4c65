"""NodeLog: the node's transparency log, the one object the HTTP layer and the CLI use."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable, Sequence

from sqlalchemy.ext.asyncio import AsyncEngine

from registry.core.note import NoteSigner
from registry.core.records import TrustRecord, sign_record
from registry.log.custody import KeyCustody, default_custody
from registry.log.integrator import Integrator
from registry.log.keys import load_identity
from registry.log.reader import LogReader
from registry.log.sequencer import Sequencer
from registry.log.startup import check_entries, check_schema, init_checkpoint
from registry.log.tilestore import FullTileCache
from registry.log.types import BatchObserver, Submitted
from registry.storage.engine import create_engine
from registry.storage.repository import LogStore

__all__ = ["NodeLog"]


class NodeLog:
    """One node's append-only log over a SQLite or PostgreSQL database.

    Open it with :meth:`open` (after :func:`registry.log.upgrade`) and close it with
    :meth:`close`. Submissions are pooled and integrated in batches; every read goes to the
    database, so several NodeLogs (processes) may serve one database, and even write to it: the
    compare-and-swap on the checkpoint keeps the log from forking.
    """

    origin: str
    """The log origin (first line of every checkpoint, and the signing key's name)."""
    verifier_key: str
    """The C2SP verifier key ``name+hex8+base64`` of the checkpoint signing key."""

    def __init__(
        self,
        engine: AsyncEngine,
        signer: NoteSigner,
        sequencer: Sequencer,
        reader: LogReader,
        clock: Callable[[], float],
    ) -> None:
        """Use :meth:`open`; this constructor only wires already opened parts together."""
        self._engine = engine
        self._sequencer = sequencer
        self._reader = reader
        self._closed = False
        self.clock = clock
        self.origin = signer.name
        self.verifier_key = signer.verifier.vkey
        self._signer = signer

    @property
    def signer(self) -> NoteSigner:
        """The node's signing key, lent to the parts of the node that sign with it (snapshots,
        the witness key derived from it). Never log or serialise it."""
        return self._signer

    @property
    def node_did(self) -> str:
        """The node's ``did:key``: its log key's public key (spec §9.3.1, the ``node`` of its
        bindings)."""
        return self._signer.key.public_key.did

    def sign_record(self, record: TrustRecord) -> TrustRecord:
        """Sign a trust record the node makes (a binding, spec §9.3.1) with the log key; the
        key never leaves the log (ADR 0012)."""
        return sign_record(record, self._signer.key)

    @property
    def entries_read(self) -> int:
        """How many entries :meth:`entries` has streamed since the log was opened."""
        return self._reader.entries_read

    @property
    def engine(self) -> AsyncEngine:
        """The log's database engine (the persistent index reads the same database)."""
        return self._engine

    @classmethod
    async def open(
        cls,
        database_url: str,
        *,
        origin: str | None = None,
        signing_key: str | None = None,
        custody: KeyCustody | None = None,
        batch_interval: float = 0.05,
        max_batch: int = 1024,
        max_pending: int = 10_000,
        clock: Callable[[], float] = time.time,
        on_batch: BatchObserver | None = None,
    ) -> NodeLog:
        """Open the log in the (already migrated) database at ``database_url``.

        On first start the origin is stored and the signing key (a C2SP ``PRIVATE+KEY+...``
        string named after the origin) is kept in ``custody`` (default: the file ``node.key``
        beside an SQLite database; required for other databases), mode 0600, with only its
        public half in the database (ADR 0012); a fresh key is generated if none is given, and a
        default origin derived from it if none is given. Later starts read the key file and
        refuse a key that is not the log's. Then the log is checked: the checkpoint must
        be signed by the node key, state the stored size (largest entry index + 1) and the
        root recomputed from the stored tiles. Finally the integrator task starts.

        ``clock`` is the time source for anything the engine timestamps; tests inject one.
        ``on_batch`` is told about every integrated (or failed) batch: size and duration.

        Raises:
            NodeConfigError: the schema is not migrated, or origin / key conflict with the
                stored ones or are malformed.
            LogCorruptError: the stored log is inconsistent (refuse to serve it).
            ValueError: nonsensical batch_interval / max_batch / max_pending.
        """
        engine = create_engine(database_url)
        try:
            store = LogStore(engine)
            await check_schema(engine)
            signer = await load_identity(
                store,
                custody or default_custody(database_url),
                origin=origin,
                signing_key=signing_key,
            )
            await init_checkpoint(store, signer)
            cache = FullTileCache()
            await check_entries(store)
            integrator = Integrator(store, signer, cache)
            await integrator.tree()  # checks the checkpoint signature and root against tiles
            sequencer = Sequencer(
                integrator,
                batch_interval=batch_interval,
                max_batch=max_batch,
                max_pending=max_pending,
                on_batch=on_batch,
            )
        except BaseException:
            await engine.dispose()
            raise
        sequencer.start()
        return cls(engine, signer, sequencer, LogReader(store, cache), clock)

    async def close(self) -> None:
        """Integrate what is pooled, stop the integrator and release the database."""
        if self._closed:
            return
        self._closed = True
        try:
            await self._sequencer.close()
        finally:
            await self._engine.dispose()

    async def __aenter__(self) -> NodeLog:
        return self

    async def __aexit__(self, *_exc: object) -> None:
        await self.close()

    # -- writing ---------------------------------------------------------------------------

    async def submit(self, entry: bytes) -> Submitted:
        """Append ``entry`` and return once it is durably logged under a signed checkpoint.

        The entry MUST already be validated by the caller (``registry.core.records.
        load_record``). A duplicate returns the existing index with ``duplicate=True`` and a
        fresh receipt. Raises Overloaded when the pool is full, LogClosedError after close,
        BatchError if its batch failed.
        """
        (result,) = await self._sequencer.submit_many([entry])
        return result

    async def submit_many(self, entries: Sequence[bytes]) -> list[Submitted]:
        """Append several entries (all admitted to the pool, or none); one result each, in
        order. Raises as :meth:`submit`."""
        return await self._sequencer.submit_many(entries)

    @property
    def pending(self) -> int:
        """Submissions waiting in this process's pool or being integrated."""
        return self._sequencer.pending

    # -- reading ---------------------------------------------------------------------------

    async def checkpoint(self) -> bytes:
        """Return the latest signed checkpoint note (C2SP tlog-checkpoint)."""
        return (await self._reader.head()).note

    async def size(self) -> int:
        """Return the number of entries in the log (the latest checkpoint's size)."""
        return (await self._reader.head()).size

    async def read_tile(self, level: int, index: int, width: int | None) -> bytes | None:
        """Return a hash tile (``width`` None = full, else the partial ``.p/<width>``), or
        None if it does not exist (yet)."""
        return await self._reader.read_tile(level, index, width)

    async def read_entry_bundle(self, index: int, width: int | None) -> bytes | None:
        """Return an entry bundle (``width`` None = full), or None if not (yet) available."""
        return await self._reader.read_entry_bundle(index, width)

    async def find(self, declaration_id: str) -> tuple[int, bytes] | None:
        """Return (index, entry) for a declaration id (hex SHA-256 of the entry), or None."""
        return await self._reader.find(declaration_id)

    async def receipt(self, index: int) -> str:
        """Return a fresh receipt (C2SP tlog-proof) for entry ``index`` against the latest
        checkpoint. Raises UnknownEntryError if there is no such entry."""
        return await self._reader.receipt(index)

    def entries(self, start: int, stop: int) -> AsyncIterator[tuple[int, bytes]]:
        """Iterate (index, entry) for start <= index < stop (paged; stops at the log's end)."""
        return self._reader.entries(start, stop)
