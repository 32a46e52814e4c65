"""Operator guard rails of ``registry serve`` (issue 11 item 6, docs/operations.md): a second
node refuses a port another process listens on, and a data directory or database a running node
holds; one readable line and a non-zero exit each. Real ``registry serve`` processes, on SQLite
and PostgreSQL (the ``database_url`` fixture)."""

from __future__ import annotations

import socket
from pathlib import Path
from urllib.parse import urlsplit

from tests.node.test_cli import free_port, run, serving


def _refusal(*args: str) -> str:
    """Run ``registry serve ARGS``, expecting it to refuse: its one stderr line."""
    result = run("serve", "--host", "127.0.0.1", *args, ok=False)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1, result.stderr
    return lines[0]


def test_second_node_refuses_a_busy_port(tmp_path: Path) -> None:
    with serving("--data-dir", str(tmp_path / "a")) as base:
        port = str(urlsplit(base).port)
        line = _refusal("--port", port, "--data-dir", str(tmp_path / "b"))
    assert (
        line == f"registry: error: port {port} on 127.0.0.1 is in use by another process; "
        "choose another --port"
    )
    assert not (tmp_path / "b").exists()  # refused before anything was created


def test_a_port_any_other_process_listens_on_is_refused(tmp_path: Path) -> None:
    with socket.socket() as other:
        other.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)  # what granian does
        other.bind(("127.0.0.1", 0))
        other.listen()
        port = str(other.getsockname()[1])
        line = _refusal("--port", port, "--data-dir", str(tmp_path / "d"))
    assert f"port {port} on 127.0.0.1 is in use" in line


def test_second_node_refuses_a_held_data_directory(tmp_path: Path) -> None:
    data = tmp_path / "shared"
    with serving("--data-dir", str(data)):
        line = _refusal("--port", str(free_port()), "--data-dir", str(data))
        assert f"data directory {data} is in use by a running node" in line
        assert str(data / "registry.lock") in line
    # once the first node has stopped, the data directory is free again
    with serving("--data-dir", str(data)) as base:
        assert base


def test_second_node_refuses_a_held_database(database_url: str, tmp_path: Path) -> None:
    with serving("--data-dir", str(tmp_path / "a"), "--database-url", database_url):
        line = _refusal(
            "--port",
            str(free_port()),
            "--data-dir",
            str(tmp_path / "b"),
            "--database-url",
            database_url,
        )
    if database_url.startswith("postgresql"):
        # another node (no copy of this node's key) is refused by the log's key check
        assert "key file" in line, line
    else:
        assert "in use by a running node" in line
        assert "database " in line
