"""Fixtures for the SDK's tests (helpers in :mod:`sdk_support`)."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.clients.sdk_support import ThreadNode, node_settings, start_registry, stop_registry


@pytest.fixture
def sync_node(tmp_path: Path) -> Iterator[ThreadNode]:
    """The real node app on a background loop, for the synchronous client (in process)."""
    node = ThreadNode(node_settings(tmp_path / "node"))
    node.start()
    try:
        yield node
    finally:
        node.stop()


@pytest.fixture(scope="module")
def served_node(tmp_path_factory: pytest.TempPathFactory) -> Iterator[str]:
    """A real ``registry serve`` process on 127.0.0.1 (one per test module); its URL."""
    process, base = start_registry(
        tmp_path_factory.mktemp("served") / "data", "--snapshot-interval", "1"
    )
    try:
        yield base
    finally:
        stop_registry(process)
