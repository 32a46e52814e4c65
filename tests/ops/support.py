"""Helpers of the operations tests: real ``registry`` processes on loopback, signed entries.

Every node here is a real ``registry serve`` subprocess on ``127.0.0.1`` and a free port, as an
operator (or the container image) runs it; its environment is this process's minus every
``REGISTRY_*`` variable, plus what the test gives.
"""

from __future__ import annotations

import hashlib
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from collections.abc import Iterator, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import httpx

from registry.core.keys import PrivateKey
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration

BIN = Path(sys.executable).parent
REGISTRY = shutil.which("registry", path=str(BIN)) or "registry"
REPO = Path(__file__).resolve().parents[2]
DOCKER = REPO / "docker"


def free_port() -> int:
    """A TCP port free on 127.0.0.1 right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


def clean_env(extra: dict[str, str] | None = None) -> dict[str, str]:
    """This process's environment without ``REGISTRY_*`` variables, plus ``extra``; the venv's
    ``bin`` first on PATH (so ``registry`` resolves as in an installed image)."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    env["PATH"] = f"{BIN}{os.pathsep}{env.get('PATH', '')}"
    env.update(extra or {})
    return env


def run_registry(
    *args: str, env: dict[str, str] | None = None, timeout: float = 120
) -> subprocess.CompletedProcess[str]:
    """Run ``registry ARGS`` to completion (no check of its status)."""
    return subprocess.run(
        [REGISTRY, *args],
        capture_output=True,
        text=True,
        env=clean_env(env),
        timeout=timeout,
        check=False,
    )


class NodeProcess:
    """A running node process; its combined stdout/stderr goes to ``log_path``."""

    def __init__(self, argv: Sequence[str], env: dict[str, str], port: int, log_path: Path):
        self.port = port
        self.base = f"http://127.0.0.1:{port}"
        self.log_path = log_path
        self._log = log_path.open("ab")
        # its own process group, so that kill() reaches granian's worker processes too; run in
        # the test's directory, so a node without --data-dir keeps its key file there
        self.process = subprocess.Popen(
            list(argv),
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
            start_new_session=True,
            cwd=log_path.parent,
        )

    def output(self) -> str:
        """Everything the process printed so far."""
        return self.log_path.read_text(errors="replace")

    def wait_ready(self, path: str = "/readyz", timeout: float = 60) -> None:
        """Wait until ``path`` answers 200; fail with the process output if it dies first."""
        deadline = time.monotonic() + timeout
        while True:
            if self.process.poll() is not None:
                raise AssertionError(f"node exited {self.process.returncode}:\n{self.output()}")
            try:
                if httpx.get(self.base + path, timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"node not ready after {timeout}s:\n{self.output()}")
            time.sleep(0.1)

    def kill(self) -> None:
        """SIGKILL the server and every worker it started (no clean-up at all)."""
        # granian runs workers as child processes: kill the whole process group.
        with suppress(ProcessLookupError):
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._log.close()

    def stop(self, timeout: float = 30) -> int:
        """SIGINT (graceful shutdown); SIGKILL if it does not exit in ``timeout`` seconds."""
        if self.process.poll() is None:
            self.process.send_signal(signal.SIGINT)
            try:
                self.process.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                self.kill()
        self._log.close()
        return self.process.returncode


@contextmanager
def serving(
    tmp_path: Path, *options: str, env: dict[str, str] | None = None, name: str = "node"
) -> Iterator[NodeProcess]:
    """``registry serve`` on a free loopback port with ``options``; stopped afterwards."""
    port = free_port()
    argv = [REGISTRY, "serve", "--host", "127.0.0.1", "--port", str(port), *options]
    node = NodeProcess(argv, clean_env(env), port, tmp_path / f"{name}.log")
    try:
        node.wait_ready()
        yield node
    finally:
        node.stop()


def creator(seed: int) -> PrivateKey:
    """A deterministic creator key (test data only)."""
    return PrivateKey.from_seed(hashlib.sha256(b"ops creator %d" % seed).digest())


def declarations(seed: int, count: int, *, works: int = 1) -> list[bytes]:
    """``count`` distinct signed declaration entries by creator ``seed``."""
    key = creator(seed)
    entries = []
    for i in range(count):
        hashes = sorted(
            hashlib.sha256(b"ops work %d %d %d" % (seed, i, j)).hexdigest() for j in range(works)
        )
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=[new_work(h) for h in hashes],
            prefs={"train-ai": "n"},
        )
        entries.append(encode_record(sign_declaration(record, key)))
    return entries


def record_id(entry: bytes) -> str:
    """The declaration id of an entry (spec §2.9)."""
    return hashlib.sha256(entry).hexdigest()
