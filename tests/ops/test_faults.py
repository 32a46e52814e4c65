"""Faults under a real ``registry serve`` (issue 7): crashes, read-only and full disks, and a
database that goes away.

- SIGKILL at random moments of a sustained HTTP write load, many cycles, SQLite and
  PostgreSQL: after every restart each acknowledged entry is at its acknowledged index with a
  receipt that verifies, resubmitting it is a duplicate, and ``registry log verify`` is clean.
- A read-only file system (a tmpfs remounted read-only): the node refuses to start with one
  clear line, and the log on it is unchanged.
- A full disk (a tiny tmpfs): submissions are answered 503 ``unavailable`` with
  ``Retry-After``, reads and health checks keep working, nothing partial is written, and
  writes succeed again once space is freed.
- PostgreSQL unreachable (a TCP proxy in this test between the node and the server, cut and
  restored; the shared server is never stopped): queries keep being answered from the
  in-memory index, submissions get 503 rather than 500, and the node recovers by itself.

The file-system tests mount tmpfs file systems, which needs root (CI and the development
machines run as root); each mount is removed afterwards.
"""

from __future__ import annotations

import asyncio
import contextlib
import os
import random
import subprocess
import threading
import time
from collections.abc import AsyncIterator, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import httpx
import pytest
from sqlalchemy.engine import make_url

from registry.core.note import NoteVerifier
from registry.core.proof import verify_receipt
from registry.core.tiles import TILE_WIDTH, decode_entry_bundle, entry_bundle_path
from tests.conftest import BACKENDS, create_postgres_database, drop_postgres_database
from tests.ops.support import (
    REGISTRY,
    NodeProcess,
    clean_env,
    declarations,
    free_port,
    record_id,
    run_registry,
    serving,
)

JSON = {"Content-Type": "application/json"}


# --- SIGKILL under write load -------------------------------------------------------------------


@dataclass
class Acks:
    """Every acknowledged entry: id -> (index, entry bytes), and the receipts received."""

    entries: dict[str, tuple[int, bytes]] = field(default_factory=dict)
    receipts: list[tuple[str, bytes]] = field(default_factory=list)

    def add(self, entry: bytes, index: int, receipt: str | None = None) -> None:
        known = self.entries.get(record_id(entry))
        assert known is None or known[0] == index, "an entry acknowledged at two indexes"
        self.entries[record_id(entry)] = (index, entry)
        if receipt is not None:
            self.receipts.append((receipt, entry))


async def write_load(base: str, entries: list[bytes], acks: Acks, workers: int = 6) -> None:
    """Submit ``entries`` from ``workers`` concurrent clients (singles, and batches of 5 every
    fourth request), recording each acknowledgement; stops at the first connection error."""
    queue = list(reversed(entries))

    async def worker(client: httpx.AsyncClient, n: int) -> None:
        sent = 0
        while queue:
            take = 5 if (sent + n) % 4 == 0 else 1
            chunk = [queue.pop() for _ in range(min(take, len(queue)))]
            sent += 1
            if len(chunk) == 1:
                response = await client.post("/v1/declarations", content=chunk[0], headers=JSON)
                assert response.status_code in (200, 201, 503), response.text
                if response.status_code != 503:
                    body = response.json()
                    acks.add(chunk[0], body["index"], body["receipt"])
                continue
            body = b'{"declarations":[' + b",".join(chunk) + b"]}"
            response = await client.post("/v1/declarations:batch", content=body, headers=JSON)
            assert response.status_code in (200, 503), response.text
            if response.status_code == 200:
                for entry, result in zip(chunk, response.json()["results"], strict=True):
                    assert result["status"] in (200, 201), result
                    acks.add(entry, result["index"], result["receipt"])

    async with httpx.AsyncClient(base_url=base, timeout=30) as client:
        with contextlib.suppress(httpx.TransportError):
            async with asyncio.TaskGroup() as group:
                for n in range(workers):
                    group.create_task(worker(client, n))


async def load_then_kill(node: NodeProcess, entries: list[bytes], acks: Acks, delay: float) -> int:
    """Run the write load; SIGKILL the node ``delay`` seconds after its first acknowledgement.
    Returns how many entries were acknowledged in this cycle."""
    before = len(acks.entries)
    load = asyncio.create_task(write_load(node.base, entries, acks))
    deadline = time.monotonic() + 30
    while len(acks.entries) == before:
        assert not load.done() or load.exception() is None, load.exception()
        assert time.monotonic() < deadline, "no acknowledgement within 30 s"
        await asyncio.sleep(0.01)
    await asyncio.sleep(delay)
    await asyncio.to_thread(node.kill)
    with contextlib.suppress(httpx.TransportError, ExceptionGroup):
        await asyncio.wait_for(load, timeout=30)
    return len(acks.entries) - before


def check_acknowledged(node: NodeProcess, acks: Acks, verifier: NoteVerifier) -> None:
    """Every acknowledged entry is in the log at its acknowledged index (read back from the
    log's entry bundles, tlog-tiles), the receipts the node gave when it acknowledged verify,
    and a sample of entries gets a fresh receipt that verifies against the current tree."""
    for receipt, entry in acks.receipts:
        verify_receipt(receipt, entry, verifier)
    acks.receipts.clear()  # verified once; the entries stay checked below after every restart
    with httpx.Client(base_url=node.base, timeout=30) as client:
        size = int(client.get("/checkpoint").text.splitlines()[1])
        logged: list[bytes] = []
        for start in range(0, size, TILE_WIDTH):
            width = min(TILE_WIDTH, size - start)
            bundle = client.get("/" + entry_bundle_path(start // TILE_WIDTH, width))
            assert bundle.status_code == 200, bundle.text
            logged += decode_entry_bundle(bundle.content, width)
        for index, entry in acks.entries.values():
            assert index < size, f"acknowledged entry {index} lost: the log has {size}"
            assert logged[index] == entry, f"entry {index} is not the acknowledged one"
        sample = random.Random(size).sample(sorted(acks.entries), min(20, len(acks.entries)))
        for declaration_id in sample:
            index, entry = acks.entries[declaration_id]
            body = client.get(f"/v1/declarations/{declaration_id}").json()
            assert body["index"] == index
            verify_receipt(body["receipt"], entry, verifier)


@contextlib.contextmanager
def database_for(backend: str, tmp_path: Path) -> Iterator[list[str]]:
    """``registry`` options naming a fresh database of ``backend``."""
    if backend == "sqlite":
        yield ["--data-dir", str(tmp_path / "data")]
        return
    url = asyncio.run(create_postgres_database())
    try:
        yield ["--database-url", url]
    finally:
        asyncio.run(drop_postgres_database(url))


@pytest.mark.slow
@pytest.mark.parametrize("backend", BACKENDS)
def test_sigkill_under_write_load_loses_no_acknowledged_entry(backend: str, tmp_path: Path) -> None:
    cycles = 6 if backend == "sqlite" else 4
    rng = random.Random(20251121)
    acks = Acks()
    with database_for(backend, tmp_path) as db_options:
        argv = [REGISTRY, "serve", "--host", "127.0.0.1", "--origin", "kill.test/log", *db_options]
        argv += ["--rate-limit", "0", "--batch-interval", "0.01"]
        vkey = ""
        for cycle in range(cycles):
            port = free_port()
            node = NodeProcess(
                [*argv, "--port", str(port)], clean_env(), port, tmp_path / f"node-{cycle}.log"
            )
            try:
                node.wait_ready()
                info = httpx.get(node.base + "/.well-known/consent-registry").json()
                vkey = vkey or info["verifier_key"]
                assert info["verifier_key"] == vkey, "the node keeps its identity"
                check_acknowledged(node, acks, NoteVerifier.from_vkey(vkey))
                for _, entry in list(acks.entries.values())[:3]:  # idempotent resubmission
                    again = httpx.post(node.base + "/v1/declarations", content=entry, headers=JSON)
                    assert again.status_code == 200, again.text
                    assert again.json()["duplicate"] is True
                acked = asyncio.run(
                    load_then_kill(
                        node, declarations(100 + cycle, 3000), acks, rng.uniform(0.1, 1.2)
                    )
                )
                assert acked > 0
            finally:
                node.kill()
        assert len(acks.entries) > cycles
        with serving(tmp_path, *db_options, name="final") as node:
            check_acknowledged(node, acks, NoteVerifier.from_vkey(vkey))
            size = int(httpx.get(node.base + "/checkpoint").text.splitlines()[1])
        assert size >= len(acks.entries)  # entries in flight at a kill may be logged unacked
        verified = run_registry("log", "verify", *db_options)
        assert verified.returncode == 0, verified.stderr
        assert "log OK" in verified.stdout


# --- read-only and full file systems ----------------------------------------------------------


@contextlib.contextmanager
def tmpfs(path: Path, size: str) -> Iterator[Path]:
    """A tmpfs of ``size`` mounted at ``path`` for the duration (needs root)."""
    assert os.geteuid() == 0, "mounting a tmpfs needs root (as on CI and the dev machines)"
    path.mkdir(parents=True, exist_ok=True)
    subprocess.run(["mount", "-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(path)], check=True)
    try:
        yield path
    finally:
        if subprocess.run(["umount", str(path)], check=False).returncode != 0:
            subprocess.run(["umount", "-l", str(path)], check=False)


def remount(path: Path, mode: str) -> None:
    subprocess.run(["mount", "-o", f"remount,{mode}", str(path)], check=True)


def submit(base: str, entry: bytes) -> httpx.Response:
    return httpx.post(base + "/v1/declarations", content=entry, headers=JSON, timeout=30)


def test_read_only_file_system_refuses_to_start_with_one_line(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "ro", "16m") as mount:
        data = mount / "data"
        with serving(tmp_path, "--data-dir", str(data), "--rate-limit", "0") as node:
            for entry in declarations(21, 3):
                assert submit(node.base, entry).status_code == 201
        before = {str(p.relative_to(data)): p.read_bytes() for p in data.rglob("*") if p.is_file()}
        remount(mount, "ro")
        try:
            for data_dir in (data, mount / "fresh"):
                started = run_registry(
                    "serve", "--data-dir", str(data_dir), "--port", str(free_port()), timeout=60
                )
                assert started.returncode == 1, started.stdout
                lines = started.stderr.strip().splitlines()
                assert len(lines) == 1, started.stderr
                assert lines[0].startswith("registry: error: ")
                assert "database" in lines[0] or "Read-only file system" in lines[0]
        finally:
            remount(mount, "rw")
        after = {str(p.relative_to(data)): p.read_bytes() for p in data.rglob("*") if p.is_file()}
        assert after == before, "nothing written"
        verified = run_registry("log", "verify", "--data-dir", str(data))
        assert verified.returncode == 0, verified.stderr
        assert "size: 3" in verified.stdout


def test_full_disk_answers_503_writes_nothing_partial_and_recovers(tmp_path: Path) -> None:
    with tmpfs(tmp_path / "small", "8m") as mount:
        data = mount / "data"
        with serving(tmp_path, "--data-dir", str(data), "--rate-limit", "0") as node:
            stats = os.statvfs(mount)
            filler = mount / "filler"
            with filler.open("wb") as handle, contextlib.suppress(OSError):
                handle.write(bytes(stats.f_bavail * stats.f_frsize - 150_000))
            acks = Acks()
            refused = []
            for entry in declarations(22, 300, works=5):
                answer = submit(node.base, entry)
                assert answer.status_code in (201, 503), answer.text
                if answer.status_code == 201:
                    acks.add(entry, answer.json()["index"])
                else:
                    refused.append(answer)
                    if len(refused) >= 5:
                        break
            assert refused, "the disk never filled"
            for answer in refused:
                assert answer.json()["type"] == "/problems/unavailable"
                assert int(answer.headers["retry-after"]) >= 1
            assert httpx.get(node.base + "/healthz").status_code == 200
            assert httpx.get(node.base + "/readyz").status_code == 200
            size = int(httpx.get(node.base + "/checkpoint").text.splitlines()[1])
            assert size == len(acks.entries), "a refused entry was logged"
            filler.unlink()
            entry = declarations(23, 1)[0]
            recovered = submit(node.base, entry)
            assert recovered.status_code == 201, recovered.text
            assert recovered.json()["index"] == size
        verified = run_registry("log", "verify", "--data-dir", str(data))
        assert verified.returncode == 0, verified.stderr
        assert f"size: {size + 1}" in verified.stdout


# --- PostgreSQL unreachable -------------------------------------------------------------------


class CuttableProxy:
    """A TCP proxy on 127.0.0.1 to ``target``; :meth:`cut` drops every connection and answers
    new ones by closing them (a database that went away), :meth:`restore` forwards again."""

    def __init__(self, target: tuple[str, int]) -> None:
        self.target = target
        self.port = free_port()
        self.open = True
        self._loop = asyncio.new_event_loop()
        self._writers: set[asyncio.StreamWriter] = set()
        self._ready = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)
        self._thread.start()
        assert self._ready.wait(10)

    def _run(self) -> None:
        asyncio.set_event_loop(self._loop)
        server = self._loop.run_until_complete(
            asyncio.start_server(self._serve, "127.0.0.1", self.port)
        )
        self._ready.set()
        self._loop.run_forever()
        server.close()

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not self.open:
            writer.close()
            return
        try:
            up_reader, up_writer = await asyncio.open_connection(*self.target)
        except OSError:
            writer.close()
            return
        self._writers |= {writer, up_writer}

        async def pipe(src: asyncio.StreamReader, dst: asyncio.StreamWriter) -> None:
            with contextlib.suppress(OSError, asyncio.IncompleteReadError):
                while data := await src.read(65536):
                    dst.write(data)
                    await dst.drain()
            dst.close()

        await asyncio.gather(pipe(reader, up_writer), pipe(up_reader, writer))
        self._writers -= {writer, up_writer}

    def cut(self) -> None:
        def drop() -> None:
            self.open = False
            for writer in list(self._writers):
                writer.transport.abort()  # RST: the server is gone, mid-query or idle

        self._loop.call_soon_threadsafe(drop)

    def restore(self) -> None:
        self._loop.call_soon_threadsafe(lambda: setattr(self, "open", True))

    def close(self) -> None:
        self.cut()
        self._loop.call_soon_threadsafe(self._loop.stop)
        self._thread.join(10)


@pytest.fixture
async def proxied_postgres() -> AsyncIterator[tuple[str, CuttableProxy]]:
    """A fresh PostgreSQL database and a URL reaching it through a cuttable proxy."""
    url = await create_postgres_database()
    parsed = make_url(url)
    proxy = CuttableProxy((parsed.host or "127.0.0.1", parsed.port or 5432))
    proxied = parsed.set(host="127.0.0.1", port=proxy.port)
    try:
        yield proxied.render_as_string(hide_password=False), proxy
    finally:
        proxy.close()
        await drop_postgres_database(url)


@pytest.mark.postgres
async def test_reads_survive_a_postgres_outage_and_writes_recover(
    proxied_postgres: tuple[str, CuttableProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_postgres
    entries = declarations(31, 4)
    later = declarations(32, 2)
    with serving(tmp_path, "--database-url", url, "--rate-limit", "0") as node:
        async with httpx.AsyncClient(base_url=node.base, timeout=30) as client:
            for entry in entries:
                posted = await client.post("/v1/declarations", content=entry, headers=JSON)
                assert posted.status_code == 201, posted.text
            work = (await client.get(f"/v1/declarations/{record_id(entries[0])}")).json()
            sha256 = work["record"]["works"][0]["sha256"]
            proxy.cut()
            outage_end = time.monotonic() + 3
            while time.monotonic() < outage_end:  # several seconds without the database
                answer = await client.get(f"/v1/works/sha256/{sha256}")
                assert answer.status_code == 200, answer.text
                assert answer.json()["declarations"] == [record_id(entries[0])]
                checked = await client.post("/v1/check", json={"sha256s": [sha256]})
                assert checked.status_code == 200
                assert (await client.get("/healthz")).status_code == 200
                await asyncio.sleep(0.2)
            refused = await client.post("/v1/declarations", content=later[0], headers=JSON)
            assert refused.status_code == 503, refused.text
            assert "retry-after" in refused.headers
            proxy.restore()
            deadline = time.monotonic() + 30
            while True:
                posted = await client.post("/v1/declarations", content=later[1], headers=JSON)
                if posted.status_code == 201:
                    break
                assert posted.status_code == 503, posted.text
                assert time.monotonic() < deadline, "writes did not recover"
                await asyncio.sleep(0.5)
            assert (await client.get("/checkpoint")).status_code == 200
    verified = run_registry("log", "verify", "--database-url", url)
    assert verified.returncode == 0, verified.stderr
    assert "size: 5" in verified.stdout


@pytest.mark.postgres
async def test_database_backed_reads_answer_503_during_a_postgres_outage(
    proxied_postgres: tuple[str, CuttableProxy], tmp_path: Path
) -> None:
    url, proxy = proxied_postgres
    entry = declarations(33, 1)[0]
    with serving(tmp_path, "--database-url", url, "--rate-limit", "0") as node:
        async with httpx.AsyncClient(base_url=node.base, timeout=30) as client:
            assert (await client.post("/v1/declarations", content=entry, headers=JSON)).is_success
            proxy.cut()
            statuses = {}
            for path in ("/checkpoint", f"/v1/declarations/{record_id(entry)}", "/tile/0/000.p/1"):
                answer = await client.get(path)
                statuses[path] = answer.status_code
                if answer.status_code == 503:
                    assert "retry-after" in answer.headers
            proxy.restore()
    assert set(statuses.values()) <= {200, 503}, statuses
