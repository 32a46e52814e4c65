"""The node's ASGI application: :func:`create_app` builds it from a :class:`Settings` value.

Nothing is read at import time. ``registry serve`` runs :func:`create_app_from_env` in every
worker process (the settings travel as ``REGISTRY_*`` variables); tests call
:func:`create_app` with the settings they want.

The app's lifespan starts a :class:`registry.http.runtime.Node` (migrations, log, index, index
follower) and stops it on shutdown; handlers receive it as the ``node`` dependency.
"""

from __future__ import annotations

import gc
import logging
import sys
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from typing import cast

from litestar import Litestar
from litestar.config.cors import CORSConfig
from litestar.datastructures import State
from litestar.di import Provide
from litestar.logging import LoggingConfig
from litestar.middleware import DefineMiddleware
from litestar.openapi import OpenAPIConfig
from litestar.openapi.plugins import OpenAPIRenderPlugin, SwaggerRenderPlugin

import registry
from registry.config.settings import Settings
from registry.http.controllers import ROUTE_HANDLERS
from registry.http.controllers.web import web_assets
from registry.http.hygiene import hygienic
from registry.http.observe import ObserveMiddleware
from registry.http.problems import exception_handlers
from registry.http.ratelimit import RateLimiter
from registry.http.runtime import Node
from registry.indexes.snapshots import SnapshotService
from registry.observability.logs import (
    formatter_factory,
    install_request_id_factory,
    resolve_log_format,
)
from registry.observability.metrics import Metrics

__all__ = ["create_app", "create_app_from_env"]


def _node(state: State) -> Node:
    """Dependency provider: the worker's running node."""
    return cast(Node, state.node)


def create_app(settings: Settings) -> Litestar:
    """Build the node's Litestar app for ``settings`` (spec §6)."""

    @asynccontextmanager
    async def lifespan(app: Litestar) -> AsyncIterator[None]:
        node = await Node.start(settings, metrics=metrics)
        app.state.node = node
        try:
            # spec §8: offline snapshots, built by the federation leader worker only and
            # shared with the other workers through the data directory
            app.state.snapshots = await SnapshotService.start(
                settings.resolved_database_url(),
                node.log,
                interval=settings.snapshot_interval,
                directory=settings.data_dir / "snapshots",
                is_leader=lambda: node.federation.is_leader,
                signer=node.log.signer,
                trust=lambda: node.index.consent.trust,
            )
        except BaseException:
            await node.stop()
            raise
        try:
            yield
        finally:
            try:
                await app.state.snapshots.stop()
            finally:
                await node.stop()

    metrics = Metrics()
    install_request_id_factory()
    # The observer is outermost: 429 answers of the rate limiter get a request id and count.
    middleware = [DefineMiddleware(ObserveMiddleware, metrics=metrics)]
    if settings.rate_limit > 0:
        middleware.append(
            DefineMiddleware(
                RateLimiter,
                per_minute=settings.rate_limit,
                trusted_proxies=settings.trusted_proxy_list,
            )
        )
    app = Litestar(
        route_handlers=ROUTE_HANDLERS,
        dependencies={"node": Provide(_node, sync_to_thread=False)},
        lifespan=[lifespan],
        exception_handlers=exception_handlers(),
        middleware=middleware,
        cors_config=_cors(settings),
        request_max_body_size=settings.max_body_size,
        openapi_config=OpenAPIConfig(
            title="consent-registry node",
            version=registry.__version__,
            description="Signed do-not-train declarations, served as a C2SP transparency log.",
            path="/schema",
            render_plugins=_schema_viewers(),
        ),
        logging_config=LoggingConfig(
            formatters={"standard": formatter_factory(resolve_log_format(settings.log_format))},
            root={"level": settings.log_level.upper(), "handlers": ["queue_listener"]},
            loggers={
                "litestar": {"level": "INFO", "handlers": ["queue_listener"], "propagate": False},
                "alembic": {"level": "WARNING"},
                "aiosqlite": {"level": "INFO"},  # a line per statement at debug
                # federation's HTTP client would log every request to every peer
                "httpx": {"level": "WARNING"},
            },
            log_exceptions="debug",
            disable_stack_trace={404, 405, 400, 413, 422, 429},
        ),
        debug=False,
    )
    # Outside Litestar's router: HEAD for every GET route, security headers on every answer
    # (404 and 405 included), spec §6.1.3.
    app.asgi_handler = hygienic(app.asgi_handler)
    return app


def _schema_viewers() -> list[OpenAPIRenderPlugin]:
    """Swagger UI at ``/schema`` and ``/schema/swagger``, from assets the node serves itself
    (the web app's build ships them), so the documentation works with no internet."""
    urls = web_assets().swagger_urls()
    if urls is None:  # a source checkout whose web app was never built: Litestar's defaults
        return [SwaggerRenderPlugin(path=["/", "/swagger"])]
    return [
        SwaggerRenderPlugin(
            js_url=urls["js"],
            css_url=urls["css"],
            standalone_preset_js_url=urls["preset"],
            favicon=f"<link rel='icon' type='image/png' href='{urls['favicon']}'>",
            path=["/", "/swagger"],
        )
    ]


def _cors(settings: Settings) -> CORSConfig | None:
    """CORS for browser clients at ``settings.cors_origins`` (none by default): reads,
    submissions and checks; the admin API's bearer token is a header browsers may send too,
    but no cookie is ever used (``allow_credentials`` stays off)."""
    origins = list(settings.cors_origin_list)
    if not origins:
        return None
    return CORSConfig(
        allow_origins=origins,
        allow_methods=["GET", "POST", "DELETE", "OPTIONS"],
        allow_headers=["Content-Type", "Authorization", "X-Request-ID"],
        expose_headers=[
            "Retry-After",
            "Content-Usage",
            "Location",
            "X-Request-ID",
            "Consent-Identity",
        ],
        allow_credentials=False,
        max_age=600,
    )


SWITCH_INTERVAL = 0.0005
"""Seconds a thread holds the GIL before another waiting for it gets a turn, in a server worker
(ADR 0025; Python's default is 0.005). Signature checks, SQLite and hashing release the GIL
thousands of times per batch and must take it back each time: with the default a thread that
only needs it back waits up to 5 ms behind the event loop, and ingest slows by a fifth."""


def create_app_from_env() -> Litestar:
    """App factory for server workers: settings from the ``REGISTRY_*`` environment."""
    settings = Settings.from_env()
    logging.getLogger("registry").setLevel(settings.log_level.upper())
    sys.setswitchinterval(SWITCH_INTERVAL)
    app = create_app(settings)
    app.on_startup.append(_freeze_start_up_objects)
    return app


def _freeze_start_up_objects() -> None:
    """Move what the worker's start-up made (modules, the app, engines, caches) out of the
    cyclic garbage collector's reach (ADR 0025): they live as long as the worker, and every
    full collection during ingest would otherwise traverse them again. Runs after the
    lifespan (the node is started), in server workers only."""
    gc.collect()
    gc.freeze()
