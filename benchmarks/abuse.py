"""Adversarial benchmark (issue 11): replay each attack of the audit against a real node.

Starts ``registry serve`` (granian, one worker, SQLite in a temporary directory) on loopback,
seeds it with one work claimed by 1,000 creators (with a PDQ hash), then runs each attack for a
few seconds while two bystanders keep going:

- a health probe, ``GET /healthz`` every 20 ms: its p99 latency during the attack;
- another client, ``GET /v1/works/sha256/<h>`` every 100 ms from its own address: whether every
  one of its requests was answered 2xx;

and samples the worker processes' RSS every 50 ms (growth = peak during the attack minus the
level just before it). Every answer of the attacker and the bystanders is counted: the 5xx
column must stay 0. The first row is the baseline: the same bystanders with no attack.

Targets (issue 11): /healthz p99 <= 100 ms, RSS growth <= 100 MB, no 5xx, others served.

    .venv/bin/python benchmarks/abuse.py [--seconds 6] [--json out.json]

Clients reach the node through ``X-Forwarded-For`` (the node trusts 127.0.0.1 as a proxy), so
that each role has its own address for the rate limiter (120 requests a minute per address):
the attacks but the IPv6 one come from a fresh IPv4 address per request (a botnet), so that the
rate limiter does not hide their cost; the IPv6 one rotates addresses inside one /64.
"""

from __future__ import annotations

import argparse
import gzip
import hashlib
import http.server
import json
import multiprocessing
import os
import platform
import signal
import socket
import socketserver
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from registry.core.checkpoint import Checkpoint, sign_checkpoint
from registry.core.keys import PrivateKey
from registry.core.note import NoteSigner
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration

REGISTRY = str(Path(sys.executable).with_name("registry"))
TOKEN = "abuse-benchmark-operator-token-0123456789"  # noqa: S105 - a throwaway node's token
RATE_LIMIT = 120
CLAIMED = hashlib.sha256(b"the much-claimed work").hexdigest()
PDQ = "f" * 64
CREATORS = 1000

# -- the node -----------------------------------------------------------------------------------


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def children(pid: int) -> list[int]:
    """Every descendant of ``pid`` (from /proc)."""
    found: list[int] = []
    try:
        tasks = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return found
    for task in tasks:
        try:
            text = Path(f"/proc/{pid}/task/{task}/children").read_text()
        except OSError:
            continue
        for child in text.split():
            found.append(int(child))
            found += children(int(child))
    return found


def rss_bytes(pid: int) -> int:
    try:
        for line in Path(f"/proc/{pid}/status").read_text().splitlines():
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) * 1024
    except OSError:
        pass
    return 0


@dataclass
class Node:
    process: subprocess.Popen[bytes]
    base: str

    def workers(self) -> list[int]:
        return children(self.process.pid) or [self.process.pid]

    def rss(self) -> int:
        return max((rss_bytes(p) for p in self.workers()), default=0)


@contextmanager
def node(directory: Path, source: Path | None = None) -> Iterator[Node]:
    port = free_port()
    env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
    if source is not None:  # another version of the node's code, for a before/after run
        env["PYTHONPATH"] = str(source)
    env.update(REGISTRY_ADMIN_TOKEN=TOKEN, REGISTRY_PEER_ALLOW_HTTP="1")
    log = (directory / "node.log").open("wb")
    process = subprocess.Popen(  # noqa: S603 - our own executable
        [
            REGISTRY,
            "serve",
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
            "--data-dir",
            str(directory / "data"),
            "--workers",
            "1",
            "--rate-limit",
            str(RATE_LIMIT),
            "--trusted-proxies",
            "127.0.0.1",
            "--peer-poll-interval",
            "0.5",
            "--peer-timeout",
            "2",
            "--log-level",
            "warning",
        ],
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    base = f"http://127.0.0.1:{port}"
    deadline = time.monotonic() + 60
    while True:
        if process.poll() is not None:
            raise SystemExit(f"node exited: {(directory / 'node.log').read_text()}")
        try:
            if httpx.get(base + "/readyz", timeout=1).status_code == 200:
                break
        except httpx.HTTPError:
            pass
        if time.monotonic() > deadline:
            raise SystemExit("node not ready after 60 s")
        time.sleep(0.1)
    try:
        yield Node(process, base)
    finally:
        os.killpg(process.pid, signal.SIGINT)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            os.killpg(process.pid, signal.SIGKILL)
            process.wait()
        log.close()


def seed(base: str) -> None:
    """One work (with a PDQ hash) claimed by CREATORS creators, in batches of 250."""
    entries = []
    for i in range(CREATORS):
        key = PrivateKey.from_seed(hashlib.sha256(b"abuse creator %d" % i).digest())
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_760_000_000,
            works=[new_work(CLAIMED, pdq=PDQ, pdq_quality=100)],
            prefs={"train-ai": "n"},
        )
        entries.append(encode_record(sign_declaration(record, key)))
    with httpx.Client(base_url=base, timeout=120, headers=_from("192.0.2.250")) as client:
        for start in range(0, len(entries), 250):
            body = b'{"declarations":[' + b",".join(entries[start : start + 250]) + b"]}"
            answer = client.post(
                "/v1/declarations:batch",
                content=body,
                headers={"Content-Type": "application/json"},
            )
            answer.raise_for_status()
        deadline = time.monotonic() + 60
        while _claims(client) < CREATORS:
            if time.monotonic() > deadline:
                raise SystemExit("the index did not catch up with the seed")
            time.sleep(0.2)


def _claims(client: httpx.Client) -> int:
    answer = client.get(f"/v1/works/sha256/{CLAIMED}").json()
    return int(answer.get("claims_total", len(answer.get("claims", []))))


def _from(address: str) -> dict[str, str]:
    return {"X-Forwarded-For": address}


# -- measuring ----------------------------------------------------------------------------------


@dataclass
class Tally:
    """Answers seen by one role."""

    statuses: dict[int, int] = field(default_factory=dict)
    errors: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, status: int) -> None:
        with self.lock:
            self.statuses[status] = self.statuses.get(status, 0) + 1

    @property
    def server_errors(self) -> int:
        return sum(n for s, n in self.statuses.items() if s >= 500)


@dataclass
class Row:
    attack: str
    healthz_p50_ms: float
    healthz_p99_ms: float
    rss_growth_mb: float
    server_errors: int
    others_served: str
    note: str

    @property
    def ok(self) -> bool:
        return (
            self.healthz_p99_ms <= 100
            and self.rss_growth_mb <= 100
            and self.server_errors == 0
            and self.others_served.startswith("yes")
        )


def _bystanders(base: str, other_address: str, stop: Any, results: Any) -> None:
    """The health probe and the other client, in a process of their own (so that the
    attacker's threads never delay them in this process's GIL): results through a pipe."""
    latencies: list[float] = []
    probe_tally, other_tally = Tally(), Tally()

    def probe() -> None:
        with httpx.Client(base_url=base, timeout=30) as client:
            while not stop.is_set():
                started = time.perf_counter()
                try:
                    probe_tally.add(client.get("/healthz").status_code)
                except httpx.HTTPError:
                    probe_tally.errors += 1
                latencies.append(time.perf_counter() - started)
                time.sleep(0.02)

    def other() -> None:
        headers = _from(other_address)
        with httpx.Client(base_url=base, timeout=30, headers=headers) as client:
            while not stop.is_set():
                try:
                    other_tally.add(client.get(f"/v1/works/sha256/{CLAIMED}").status_code)
                except httpx.HTTPError:
                    other_tally.errors += 1
                time.sleep(0.1)

    threads = [threading.Thread(target=f) for f in (probe, other)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    results.send((latencies, probe_tally.statuses, other_tally.statuses, other_tally.errors))


def measure(
    target: Node, name: str, attack: Callable[[threading.Event, Tally], str], seconds: float
) -> Row:
    """Run ``attack`` (until told to stop, or done) with the bystanders; one row."""
    context = multiprocessing.get_context("fork")
    stop, bystanders_stop = threading.Event(), context.Event()
    attack_tally = Tally()
    rss_peak = [0]
    other_address = f"203.0.113.{sum(name.encode()) % 250 + 1}"

    def sample() -> None:
        while not stop.is_set():
            rss_peak[0] = max(rss_peak[0], target.rss())
            time.sleep(0.05)

    before = target.rss()
    receiving, sending = context.Pipe(duplex=False)
    bystanders = context.Process(
        target=_bystanders, args=(target.base, other_address, bystanders_stop, sending)
    )
    bystanders.start()
    time.sleep(0.2)  # the bystanders are running before the attack starts
    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    notes: list[str] = []
    runner = threading.Thread(
        target=_run_attack, args=(attack, stop, attack_tally, seconds, notes), daemon=True
    )
    runner.start()
    runner.join(seconds + 120)
    stop.set()
    bystanders_stop.set()
    latencies, probe_statuses, other_statuses, other_errors = receiving.recv()
    bystanders.join(35)
    sampler.join(5)
    note = notes[0] if notes else "attack did not finish"
    cuts = statistics.quantiles(latencies, n=100) if len(latencies) >= 2 else [0.0] * 99
    p50, p99 = cuts[49] * 1000, cuts[98] * 1000
    errors = attack_tally.server_errors + sum(
        n for s, n in [*probe_statuses.items(), *other_statuses.items()] if s >= 500
    )
    served_ok = sum(n for s, n in other_statuses.items() if 200 <= s < 300)
    served_all = sum(other_statuses.values()) + other_errors
    served = (
        f"{'yes' if served_ok == served_all and served_all else 'NO'} ({served_ok}/{served_all})"
    )
    return Row(name, p50, p99, max(0, rss_peak[0] - before) / 1e6, errors, served, note)


def _run_attack(
    attack: Callable[[threading.Event, Tally], str],
    stop: threading.Event,
    tally: Tally,
    seconds: float,
    notes: list[str],
) -> None:
    timer = threading.Timer(seconds, stop.set)
    timer.start()
    try:
        notes.append(attack(stop, tally))
    finally:
        timer.cancel()


# -- the attacks --------------------------------------------------------------------------------


def idle(stop: threading.Event, tally: Tally) -> str:
    stop.wait()
    return "no attack"


def repeat(
    base: str,
    address: str,
    send: Callable[[httpx.Client], httpx.Response],
    summary: Callable[[list[Answer]], str],
    *,
    concurrency: int = 1,
) -> Callable[[threading.Event, Tally], str]:
    """An attack sending ``send`` in a loop from ``concurrency`` threads until stopped."""

    def attack(stop: threading.Event, tally: Tally) -> str:
        answers: list[Answer] = []
        sent = [0]

        def loop() -> None:
            with httpx.Client(base_url=base, timeout=120) as client:
                while not stop.is_set():
                    sent[0] += 1
                    client.headers.update(_from(f"{address}.{sent[0] >> 8 & 255}.{sent[0] & 255}"))
                    try:
                        answer = send(client)
                    except httpx.HTTPError:
                        tally.errors += 1
                        continue
                    tally.add(answer.status_code)
                    answers.append(Answer(answer.status_code, len(answer.content)))

        threads = [threading.Thread(target=loop) for _ in range(concurrency)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
        return summary(answers)

    return attack


@dataclass(frozen=True)
class Answer:
    """What is kept of an answer (never its body: some are hundreds of MB before the fix)."""

    status_code: int
    size: int


def statuses(answers: list[Answer]) -> str:
    counts: dict[int, int] = {}
    for answer in answers:
        counts[answer.status_code] = counts.get(answer.status_code, 0) + 1
    return ", ".join(f"{n}x{s}" for s, n in sorted(counts.items()))


def largest(answers: list[Answer]) -> str:
    biggest = max((a.size for a in answers), default=0)
    return f"{len(answers)} requests, {statuses(answers)}, largest answer {biggest / 1e6:.2f} MB"


def amplification_pdq(base: str) -> Callable[[threading.Event, Tally], str]:
    body = json.dumps({"hashes": [PDQ] * 1000, "max_distance": 64}).encode()

    def send(client: httpx.Client) -> httpx.Response:
        return client.post(
            "/v1/check/pdq", content=body, headers={"Content-Type": "application/json"}
        )

    return repeat(base, "10.1", send, largest, concurrency=2)


def amplification_check(base: str) -> Callable[[threading.Event, Tally], str]:
    body = json.dumps({"sha256s": [CLAIMED] * 10_000}).encode()

    def send(client: httpx.Client) -> httpx.Response:
        return client.post("/v1/check", content=body, headers={"Content-Type": "application/json"})

    return repeat(base, "10.2", send, largest, concurrency=2)


DEEP = b"[" * 200_000 + b"]" * 200_000


def deep_json(base: str) -> Callable[[threading.Event, Tally], str]:
    paths = ["/v1/check", "/v1/declarations:batch", "/v1/check/pdq", "/v1/admin/peers"]
    turn = [0]

    def send(client: httpx.Client) -> httpx.Response:
        turn[0] += 1
        path = paths[turn[0] % len(paths)]
        headers = {"Content-Type": "application/json", "Authorization": f"Bearer {TOKEN}"}
        return client.post(path, content=DEEP, headers=headers)

    return repeat(base, "10.3", send, statuses)


MALFORMED = [
    b"\xff\xfe\xfd",
    b'{"\xff": 1}',
    b'{"sha256s": 5}',
    b'{"sha256s": [[[1]]], "urls": {"a": null}}',
    b"null",
    b'{"hashes": [{"a": 1}]}',
]


def malformed(base: str) -> Callable[[threading.Event, Tally], str]:
    turn = [0]

    def send(client: httpx.Client) -> httpx.Response:
        turn[0] += 1
        body = MALFORMED[turn[0] % len(MALFORMED)]
        path = ("/v1/check", "/v1/check/pdq", "/v1/declarations")[turn[0] % 3]
        return client.post(path, content=body, headers={"Content-Type": "application/json"})

    return repeat(base, "10.4", send, statuses)


ADMIN_BODY = b'{"url": "' + b"a" * (30 << 20) + b'"}'


def admin_without_token(base: str) -> Callable[[threading.Event, Tally], str]:
    def send(client: httpx.Client) -> httpx.Response:
        return client.post(
            "/v1/admin/peers", content=ADMIN_BODY, headers={"Content-Type": "application/json"}
        )

    return repeat(base, "10.5", send, statuses)


def ipv6_rotation(base: str) -> Callable[[threading.Event, Tally], str]:
    def attack(stop: threading.Event, tally: Tally) -> str:
        answers: list[Answer] = []
        with httpx.Client(base_url=base, timeout=30) as client:
            i = 0
            # at least twice the per-address budget, however long that takes
            while not stop.is_set() or i < 2 * RATE_LIMIT:
                i += 1
                address = f"2001:db8:abcd:12:{i >> 16 & 0xFFFF:x}:{i & 0xFFFF:x}::1"
                answer = client.get("/checkpoint", headers=_from(address))
                tally.add(answer.status_code)
                answers.append(Answer(answer.status_code, len(answer.content)))
        limited = sum(1 for a in answers if a.status_code == 429)
        return f"{len(answers)} addresses of one /64: {limited} answered 429"

    return attack


BAD_PATHS = [
    "/v1/works/sha256/zz",
    "/v1/works/sha256/" + "Z" * 64,
    "/v1/declarations/not-an-id",
    "/v1/creators/did:key:zzz",
    "/v1/works/pdq/xyz",
    "/tile/99/x.p/0",
    "/tile/entries/-1",
    "/v1/snapshots/..",
    "/v1/works/url?url=javascript:alert(1)",
]


def bad_paths(base: str) -> Callable[[threading.Event, Tally], str]:
    turn = [0]

    def send(client: httpx.Client) -> httpx.Response:
        turn[0] += 1
        return client.get(BAD_PATHS[turn[0] % len(BAD_PATHS)])

    return repeat(base, "10.6", send, statuses)


class _Server(socketserver.ThreadingMixIn, http.server.HTTPServer):
    daemon_threads = True
    allow_reuse_address = True


def gzip_bomb_peer(base: str, directory: Path) -> Callable[[threading.Event, Tally], str]:
    """A peer whose /checkpoint is 1 MiB of gzip inflating to 1 GiB, added by the operator."""
    signer = NoteSigner.from_seed("bomb.example/log", hashlib.sha256(b"bomb").digest())
    bomb_file = directory / "bomb.gz"
    if not bomb_file.exists():
        with gzip.open(bomb_file, "wb", compresslevel=9) as out:
            block = bytes(1 << 20)
            for _ in range(1024):
                out.write(block)
    bomb = bomb_file.read_bytes()
    served: list[int] = [0]

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            served[0] += 1
            self.send_response(200)
            self.send_header("Content-Encoding", "gzip")
            self.send_header("Content-Length", str(len(bomb)))
            self.end_headers()
            with suppress(OSError):
                self.wfile.write(bomb)

        def log_message(self, *_args: object) -> None:
            pass

    def attack(stop: threading.Event, tally: Tally) -> str:
        server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        admin = {"Authorization": f"Bearer {TOKEN}", **_from("192.0.2.251")}
        with httpx.Client(base_url=base, timeout=30, headers=admin) as client:
            added = client.post(
                "/v1/admin/peers", json={"url": url, "verifier_key": signer.verifier.vkey}
            )
            tally.add(added.status_code)
            stop.wait()
            peers = {p["origin"]: p for p in client.get("/v1/peers").json()}
            client.delete("/v1/admin/peers/bomb.example/log")
        server.shutdown()
        server.server_close()
        error = peers.get("bomb.example/log", {}).get("last_error") or "no error reported"
        return f"{len(bomb) / 1e6:.1f} MB bomb served {served[0]}x; /v1/peers: {error[:70]}"

    return attack


def absurd_peer(base: str) -> Callable[[threading.Event, Tally], str]:
    """A peer whose checkpoint claims 2^63 - 1 entries."""
    signer = NoteSigner.from_seed("huge.example/log", hashlib.sha256(b"huge").digest())
    note = sign_checkpoint(Checkpoint(signer.name, (1 << 63) - 1, bytes(32)), signer)

    class Handler(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = note if self.path == "/checkpoint" else b"\x00" * 8192
            self.send_response(200)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, *_args: object) -> None:
            pass

    def attack(stop: threading.Event, tally: Tally) -> str:
        server = _Server(("127.0.0.1", 0), Handler)
        threading.Thread(target=server.serve_forever, daemon=True).start()
        url = f"http://127.0.0.1:{server.server_address[1]}"
        admin = {"Authorization": f"Bearer {TOKEN}", **_from("192.0.2.252")}
        with httpx.Client(base_url=base, timeout=30, headers=admin) as client:
            tally.add(
                client.post(
                    "/v1/admin/peers", json={"url": url, "verifier_key": signer.verifier.vkey}
                ).status_code
            )
            stop.wait()
            peers = {p["origin"]: p for p in client.get("/v1/peers").json()}
            client.delete("/v1/admin/peers/huge.example/log")
        server.shutdown()
        server.server_close()
        error = peers.get("huge.example/log", {}).get("last_error") or "no error reported"
        return f"/v1/peers: {error[:80]}"

    return attack


# -- main ---------------------------------------------------------------------------------------


def machine() -> str:
    cpu = "?"
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                cpu = line.split(":", 1)[1].strip()
                break
        memory = int(Path("/proc/meminfo").read_text().split()[1]) / 1024 / 1024
    except OSError:
        memory = 0.0
    load = Path("/proc/loadavg").read_text().split()[0] if Path("/proc/loadavg").exists() else "?"
    return (
        f"{os.cpu_count()} CPUs ({cpu}), {memory:.1f} GiB, {platform.system()} "
        f"{platform.release()}, load average {load}"
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0, help="duration of each attack")
    parser.add_argument("--json", type=Path, help="write the rows to this file")
    parser.add_argument(
        "--node-source",
        type=Path,
        help="run the node from this source tree (PYTHONPATH), e.g. an export of an older "
        "commit: `git archive main registry | tar -x -C /tmp/before`",
    )
    args = parser.parse_args()
    started = time.monotonic()
    with (
        tempfile.TemporaryDirectory(prefix="abuse-") as tmp,
        node(Path(tmp), args.node_source) as target,
    ):
        seed(target.base)
        directory = Path(tmp)
        attacks: list[tuple[str, Callable[[threading.Event, Tally], str]]] = [
            ("baseline: no attack", idle),
            ("amplification /v1/check/pdq (1,000 x r64)", amplification_pdq(target.base)),
            ("amplification /v1/check (10,000 hashes)", amplification_check(target.base)),
            ("deep JSON (200,000 levels)", deep_json(target.base)),
            ("malformed bodies (UTF-8, types)", malformed(target.base)),
            ("admin body 30 MiB, no token", admin_without_token(target.base)),
            ("IPv6 /64 address rotation", ipv6_rotation(target.base)),
            ("bad path parameters", bad_paths(target.base)),
            ("gzip-bomb peer (1 GiB inflated)", gzip_bomb_peer(target.base, directory)),
            ("peer claiming 2^63-1 entries", absurd_peer(target.base)),
        ]
        rows = [measure(target, name, attack, args.seconds) for name, attack in attacks]
    elapsed = time.monotonic() - started
    print(
        f"consent-registry abuse benchmark ({machine()}; {elapsed:.0f} s, {args.seconds:g} s each)"
    )
    print("targets: /healthz p99 <= 100 ms, worker RSS growth <= 100 MB, no 5xx, others served")
    header = (
        f"{'attack':44} {'p50':>7} {'healthz p99':>11} {'RSS +MB':>8} {'5xx':>4}"
        f" {'others served':>16}  ok  what happened"
    )
    print(header)
    print("-" * len(header))
    for row in rows:
        print(
            f"{row.attack:44} {row.healthz_p50_ms:5.1f}ms {row.healthz_p99_ms:9.1f}ms "
            f"{row.rss_growth_mb:8.1f} "
            f"{row.server_errors:4d} {row.others_served:>16}  {'yes' if row.ok else 'NO ':3} "
            f"{row.note}"
        )
    if args.json:
        args.json.write_text(
            json.dumps(
                {"machine": machine(), "seconds": args.seconds, "rows": [r.__dict__ for r in rows]},
                indent=2,
            )
        )


if __name__ == "__main__":
    main()
