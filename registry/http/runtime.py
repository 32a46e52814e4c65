"""The running node inside one worker process: settings, the open log, the index, its follower.

:class:`Node` is created by the app's lifespan (:func:`registry.app.create_app`) and handed to
controllers through Litestar's dependency injection (``node: Node``). Start-up order: migrate the
database, open the log (which loads or creates the node key), open the persistent index (ADR
0010: nothing is rebuilt; the worker loads its near-duplicate index from the index tables),
start federation (spec §7: peers, mirrors, witness, pusher) and load the mirrored logs' near
items, then follow the log and the mirrors. Shutdown reverses it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging

from registry.config.settings import Settings
from registry.federation.service import Federation
from registry.indexes.nearfile import DIRECTORY as NEAR_DIRECTORY
from registry.indexes.persistent import NodeIndex
from registry.log import NodeLog, upgrade
from registry.log.custody import private_dir
from registry.observability.metrics import Metrics
from registry.services.quota import CreatorQuota

__all__ = ["Node"]

_log = logging.getLogger("registry.node")


class Node:
    """One worker's view of the node: use :meth:`start` then :meth:`stop`."""

    def __init__(
        self,
        settings: Settings,
        log: NodeLog,
        index: NodeIndex,
        federation: Federation,
        metrics: Metrics | None = None,
    ) -> None:
        self.settings = settings
        self.log = log
        self.index = index
        self.federation = federation
        self.metrics = metrics or Metrics()
        limit = settings.creator_hourly_limit
        self.quota = CreatorQuota(limit) if limit > 0 else None  # per creator key (issue 7)
        self._follower: asyncio.Task[None] | None = None

    @classmethod
    async def start(cls, settings: Settings, *, metrics: Metrics | None = None) -> Node:
        """Migrate, open the log, build the index and start following the log.

        ``metrics``: where to count events (the app's; a private one if None).

        Raises:
            Exception: whatever the database or the log raise; start-up then fails loudly.
        """
        database_url = settings.resolved_database_url()
        if not settings.database_url:
            private_dir(settings.data_dir)  # 0700: it holds the database and the key file
        custody = settings.key_custody()
        await upgrade(database_url, custody=custody)
        metrics = metrics or Metrics()
        log = await NodeLog.open(
            database_url,
            origin=settings.origin,
            signing_key=settings.signing_key,
            custody=custody,
            batch_interval=settings.batch_interval,
            max_batch=settings.max_batch,
            max_pending=settings.max_pending,
            on_batch=metrics.observe_batch,
        )
        try:
            index = NodeIndex(
                log.engine,
                log.origin,
                settings.data_dir / NEAR_DIRECTORY,
                poll_interval=settings.index_poll_interval,
            )
            stats = await index.start(log)
            federation = await Federation.start(
                settings, log, on_mirror_commit=lambda _origin: index.poke()
            )
        except BaseException:
            await log.close()
            raise
        try:
            await index.catch_up_mirrors(federation.store)
        except BaseException:
            await federation.stop()
            await log.close()
            raise
        _log.info(
            "node %s ready: near items of %d entries loaded in %.2fs, %d mirrored logs",
            log.origin,
            stats.entries,
            stats.seconds,
            len(index.mirrored),
        )
        node = cls(settings, log, index, federation, metrics)
        node._follower = asyncio.create_task(
            index.follow(log, mirrors=federation.store), name="index-follower"
        )
        return node

    async def stop(self) -> None:
        """Stop following the log and close it (the log drains its pending submissions)."""
        if self._follower is not None:
            self._follower.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._follower
            self._follower = None
        await self.index.close()
        try:
            await self.federation.stop()
        finally:
            await self.log.close()
