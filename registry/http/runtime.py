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

from registry.config.platforms import TrustedPlatform, load_platforms_file
from registry.config.settings import Settings
from registry.core.errors import ProtocolError
from registry.core.keys import PublicKey
from registry.core.note import NoteVerifier
from registry.core.records import Binding
from registry.federation.service import Federation
from registry.http.ratelimit import TrustedProxies
from registry.indexes.nearfile import DIRECTORY as NEAR_DIRECTORY
from registry.indexes.persistent import NodeIndex
from registry.log import NodeLog, upgrade
from registry.log.custody import private_dir
from registry.observability.metrics import Metrics
from registry.services.bindings import BindingContext, RecheckLoop, fetch_policy
from registry.services.quota import Admission
from registry.storage.repository import LogStore
from registry.storage.trustconfig import TrustConfig

__all__ = ["Node"]

_log = logging.getLogger("registry.node")

TRUST_REFRESH = 30.0
"""Seconds between re-reads of the peers whose bindings count (spec §9.6)."""
BINDING_FAILURES_META = "binding_failures"
"""The ``meta`` row keeping the re-check's failure streaks between restarts (spec §9.2)."""


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
        # admission by identity (issue 7, issue 12 item 6)
        self.admission = Admission(
            per_key=settings.creator_hourly_limit,
            per_verified_key=settings.verified_hourly_limit,
            per_address=settings.address_hourly_limit,
            per_address_checks=settings.binding_checks_per_hour,
        )
        self.proxies = TrustedProxies(settings.trusted_proxy_list)
        trusted = (
            load_platforms_file(settings.trusted_platforms)
            if settings.trusted_platforms is not None
            else []
        )
        self.platforms: dict[str, TrustedPlatform] = {p.key: p for p in trusted}
        # domain checks (spec §9.2): the node signs its bindings with its log key
        self.binding_context = BindingContext(
            node=log.node_did,
            origin=log.origin,
            sign=log.sign_record,
            policy=fetch_policy(settings),
        )
        streaks = LogStore(log.engine)  # §9.2: failure streaks outlive a restart
        self.rechecks = RecheckLoop(
            self.binding_context,
            load=self._own_bindings,
            append=self._append_lapse,
            interval=settings.binding_recheck_interval,
            restore=lambda: streaks.meta(BINDING_FAILURES_META),
            persist=lambda text: streaks.put_meta(BINDING_FAILURES_META, text),
        )
        self._follower: asyncio.Task[None] | None = None
        self._trust_refresher: asyncio.Task[None] | None = None

    async def _own_bindings(self) -> list[Binding]:
        """The bindings this node signed, for the re-check; only the federation leader
        re-checks, so that a lapse is appended once per node, not once per worker."""
        if not self.federation.is_leader:
            return []
        return await self.index.consent.bindings_by(self.log.node_did)

    async def _append_lapse(self, lapse: Binding) -> None:
        from registry.services.submissions import append_own  # noqa: PLC0415 - no cycle

        await append_own(self, lapse)

    async def refresh_trust(self) -> TrustConfig:
        """The node's trust configuration (spec §9.6): the trusted platforms, and for bindings
        its own key and its configured peers' keys; installed in the index's answers."""
        nodes = {self.log.node_did}
        for peer in await self.federation.store.peers():
            try:
                nodes.add(PublicKey.from_bytes(NoteVerifier.from_vkey(peer.vkey).public_key).did)
            except ProtocolError:  # pragma: no cover - peers are checked when configured
                continue
        config = TrustConfig(
            platforms={key: p.name for key, p in self.platforms.items()},
            nodes=frozenset(nodes),
        )
        self.index.consent.trust = config
        return config

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
        await node.refresh_trust()
        node._follower = asyncio.create_task(
            index.follow(log, mirrors=federation.store), name="index-follower"
        )
        node._trust_refresher = asyncio.create_task(node._refresh_trust_forever())
        node.rechecks.start()
        return node

    async def _refresh_trust_forever(self, interval: float = TRUST_REFRESH) -> None:
        """Follow the peers table (the admin API may add or remove peers, spec §7.2.2): their
        keys are the nodes whose bindings count (spec §9.6 item 2)."""
        while True:
            await asyncio.sleep(interval)
            try:
                await self.refresh_trust()
            except Exception as exc:  # the database may be down; answers keep the last one
                _log.warning("trust configuration refresh failed: %s", exc)

    async def stop(self) -> None:
        """Stop following the log and close it (the log drains its pending submissions)."""
        await self.rechecks.stop()
        if self._trust_refresher is not None:
            self._trust_refresher.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._trust_refresher
            self._trust_refresher = None
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
