"""The ``registry`` command, run as a subprocess as an operator would (SQLite and PostgreSQL).

Also the walk-through of the README: make a creator key, sign a declaration, submit it to a
real ``registry serve`` process over TCP, query it, and verify its receipt offline.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TypeVar

import httpx
import pytest

REGISTRY = shutil.which("registry", path=str(Path(sys.executable).parent)) or "registry"
ORIGIN = "cli.test/log"


def run(
    *args: str, env: dict[str, str] | None = None, cwd: Path | None = None, ok: bool = True
) -> subprocess.CompletedProcess[str]:
    """Run ``registry ARGS``; with ``ok`` assert it succeeded."""
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    full_env.update(env or {})
    result = subprocess.run(
        [REGISTRY, *args],
        capture_output=True,
        text=True,
        env=full_env,
        cwd=cwd,
        timeout=120,
        check=False,
    )
    if ok:
        assert result.returncode == 0, result.stderr
    return result


def db_args(database_url: str, tmp_path: Path) -> list[str]:
    """Options selecting the test database: --data-dir for SQLite, --database-url else (and a
    data directory under ``tmp_path`` for the node key file and snapshots)."""
    if database_url.startswith("sqlite"):
        return ["--data-dir", str(Path(database_url.split("///", 1)[1]).parent)]
    return ["--database-url", database_url, "--data-dir", str(tmp_path / "data")]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def test_help_everywhere() -> None:
    top = run("--help")
    for command in (
        "serve",
        "init",
        "keygen",
        "sign-declaration",
        "verify-receipt",
        "log",
        "index",
        "db",
    ):
        assert command in top.stdout
    for sub in (
        ["serve"],
        ["init"],
        ["keygen"],
        ["sign-declaration"],
        ["verify-receipt"],
        ["log", "verify"],
        ["index", "rebuild"],
        ["db", "upgrade"],
    ):
        result = run(*sub, "--help")
        assert "Usage: registry" in result.stdout
    assert (
        "REGISTRY_DATA_DIR" in run("serve", "--help").stdout
        or "--data-dir" in run("serve", "--help").stdout
    )


def test_init_verify_rebuild_and_upgrade(database_url: str, tmp_path: Path) -> None:
    args = db_args(database_url, tmp_path)
    init = run("init", *args, "--origin", ORIGIN)
    assert f"origin: {ORIGIN}" in init.stdout
    vkey = init.stdout.split("verifier key: ", 1)[1].split()[0]
    assert vkey.startswith(ORIGIN + "+")
    again = run("init", *args)  # idempotent: the stored identity is kept
    assert f"verifier key: {vkey}" in again.stdout
    assert "database at head" in run("db", "upgrade", *args).stdout
    verify = run("log", "verify", *args)
    assert "size: 0" in verify.stdout
    assert "log OK" in verify.stdout
    rebuild = run("index", "rebuild", *args)
    assert "entries: 0" in rebuild.stdout


def test_settings_from_environment(tmp_path: Path) -> None:
    data = tmp_path / "from-env"
    result = run("init", env={"REGISTRY_DATA_DIR": str(data), "REGISTRY_ORIGIN": "env.test/x"})
    assert "origin: env.test/x" in result.stdout
    assert (data / "registry.db").exists()


def test_errors_are_one_line_and_non_zero(tmp_path: Path) -> None:
    missing = run("log", "verify", "--data-dir", str(tmp_path / "nope"), ok=False)
    assert missing.returncode == 1
    assert missing.stderr.strip().splitlines() == [
        f"registry: error: no node database in {tmp_path / 'nope'}"
    ]
    run("init", "--data-dir", str(tmp_path / "d"), "--origin", "a.test/one")
    conflict = run("init", "--data-dir", str(tmp_path / "d"), "--origin", "b.test/two", ok=False)
    assert conflict.returncode == 1
    assert len(conflict.stderr.strip().splitlines()) == 1
    assert "origin" in conflict.stderr
    bad_option = run("serve", "--port", "0", ok=False)
    assert bad_option.returncode == 2
    assert "registry: error:" in bad_option.stderr
    bad_key = tmp_path / "bad.key"
    bad_key.write_text("not hex\n")
    signed = run("sign-declaration", "--key", str(bad_key), "--sha256", "00" * 32, ok=False)
    assert signed.returncode == 1
    assert "64-hex-digit seed" in signed.stderr


def test_keygen_node_and_creator_keys(tmp_path: Path) -> None:
    node = run("keygen", "--origin", "k.test/log")
    assert node.stdout.startswith("PRIVATE+KEY+k.test/log+")
    assert "verifier key: k.test/log+" in node.stderr
    out = tmp_path / "creator.key"
    creator = run("keygen", "--creator", "--out", str(out))
    assert "did: did:key:z6Mk" in creator.stderr
    assert len(out.read_text().strip()) == 64
    assert out.stat().st_mode & 0o777 == 0o600
    refused = run("keygen", "--creator", "--out", str(out), ok=False)
    assert refused.returncode == 1
    assert "exists" in refused.stderr


@contextmanager
def serving(*args: str, env: dict[str, str] | None = None) -> Iterator[str]:
    """Run ``registry serve ARGS`` on a free port; yield its base URL once it is ready."""
    port = free_port()
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    full_env.update(env or {})
    process = subprocess.Popen(
        [REGISTRY, "serve", "--host", "127.0.0.1", "--port", str(port), *args],
        env=full_env,
        stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT,
        text=True,
    )
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 60
        while True:
            assert process.poll() is None, process.stdout.read() if process.stdout else ""
            try:
                if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            assert time.monotonic() < deadline, "registry serve did not become ready"
            time.sleep(0.1)
        yield base
    finally:
        process.send_signal(signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()
        if process.stdout:
            process.stdout.close()


T = TypeVar("T")


def eventually(request: Callable[[], T], done: Callable[[T], bool]) -> T:
    """Repeat ``request`` until ``done`` says its answer is complete (at most 5 s): with two
    workers, each one's index follows the shared log within its poll interval."""
    deadline = time.monotonic() + 5
    while True:
        response = request()
        if done(response) or time.monotonic() > deadline:
            return response
        time.sleep(0.05)


def filter_with_spawning_client(base: str, urls: list[str]) -> list[str]:
    """Spawning's own client (datadiligence), pointed at the node instead of Spawning."""
    from datadiligence.rules.spawning import (  # type: ignore[import-untyped]  # noqa: PLC0415
        SpawningAPI,
    )

    # The client insists on an API key (the node accepts and ignores it); set it only for
    # this call, so that no later test's subprocess inherits it.
    previous = os.environ.get("SPAWNING_OPTS_KEY")
    os.environ["SPAWNING_OPTS_KEY"] = "ignored-by-the-node"
    try:
        rule = SpawningAPI()
        rule.SPAWNING_AI_API_URL = base + "/api/v2/query/urls/"
        allowed: list[str] = rule.filter_allowed(urls=urls)
    finally:
        if previous is None:
            del os.environ["SPAWNING_OPTS_KEY"]
        else:
            os.environ["SPAWNING_OPTS_KEY"] = previous
    return allowed


def test_readme_walkthrough_against_a_real_server(database_url: str, tmp_path: Path) -> None:
    args = db_args(database_url, tmp_path)
    key = tmp_path / "creator.key"
    run("keygen", "--creator", "--out", str(key))
    work = tmp_path / "artwork.png"
    work.write_bytes(b"not really a png")
    digest = hashlib.sha256(work.read_bytes()).hexdigest()
    signed = run(
        "sign-declaration",
        "--key",
        str(key),
        "--file",
        str(work),
        "--url",
        "https://Example.com/art/1.png",
        "--no-train",
    )
    declaration_file = tmp_path / "declaration.json"
    declaration_file.write_text(signed.stdout)  # with its trailing newline, as curl -d @ sends
    with serving(*args, "--origin", ORIGIN, "--workers", "2") as base:
        info = httpx.get(base + "/.well-known/consent-registry").json()
        posted = httpx.post(
            base + "/v1/declarations",
            content=declaration_file.read_bytes(),
            headers={"Content-Type": "application/json"},
        )
        # two workers: the other one's index follows the log within its poll interval
        work_answer = eventually(
            lambda: httpx.get(f"{base}/v1/works/sha256/{digest}"),
            lambda r: bool(r.json()["declarations"]),
        )
        spawning = eventually(
            lambda: httpx.post(
                base + "/api/v2/query/urls/",
                content=b"https://example.com/art/1.png",
                headers={"Content-Type": "text/plain"},
            ),
            lambda r: bool(r.json()["urls"][0]["optOut"]),
        )
        declaration_id = posted.json()["id"]
        # Each of the client's requests may reach either worker: both must have caught up.
        spawning_client_filtered = eventually(
            lambda: filter_with_spawning_client(
                base, ["https://example.com/art/1.png", "https://example.com/art/2.png"]
            ),
            lambda allowed: allowed == ["https://example.com/art/2.png"],
        )
        fetched = httpx.get(f"{base}/v1/declarations/{declaration_id}")
    assert info["origin"] == ORIGIN
    assert posted.status_code == 201, posted.text
    assert work_answer.headers["content-usage"] == "train-ai=n"
    assert spawning.json()["urls"][0]["optOut"] is True
    assert spawning_client_filtered == ["https://example.com/art/2.png"]
    assert fetched.json()["index"] == 0
    receipt_file = tmp_path / "receipt.json"
    receipt_file.write_text(json.dumps(fetched.json()))
    verified = run(
        "verify-receipt",
        "--declaration",
        str(declaration_file),
        "--receipt",
        str(receipt_file),
        "--verifier-key",
        info["verifier_key"],
    )
    assert verified.stdout.startswith(f"receipt OK: entry 0 of {ORIGIN}")
    # after the server stopped, the log is intact and re-indexes
    assert "size: 1" in run("log", "verify", *args).stdout
    assert "declarations indexed: 1" in run("index", "rebuild", *args).stdout


@pytest.mark.parametrize("flag", ["--signing-key-file", "REGISTRY_SIGNING_KEY"])
def test_operator_supplied_signing_key(tmp_path: Path, flag: str) -> None:
    node = run("keygen", "--origin", "op.test/log")
    skey = node.stdout.strip()
    vkey = node.stderr.split("verifier key: ", 1)[1].strip()
    data = tmp_path / "data"
    if flag == "REGISTRY_SIGNING_KEY":
        result = run("init", "--data-dir", str(data), env={"REGISTRY_SIGNING_KEY": skey})
    else:
        key_file = tmp_path / "node.key"
        key_file.write_text(skey + "\n")
        result = run("init", "--data-dir", str(data), flag, str(key_file))
    assert "origin: op.test/log" in result.stdout
    assert f"verifier key: {vkey}" in result.stdout
