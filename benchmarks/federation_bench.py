"""Federation benchmark (a script, not a test): backfill rate and cross-node visibility.

Runs real nodes (``registry serve``) on 127.0.0.1 with fresh SQLite databases and measures:

* **backfill**: a source node holds N declarations; a node started empty with the source as its
  peer mirrors and verifies all of them (every signature, every tile): entries per second from
  the follower's start until ``/v1/peers`` reports ``verified_size == N``;
* **visibility**: one declaration at a time is submitted to one node, and the other node is
  polled (``GET /v1/declarations/{id}``) until it serves it: the delay from the submission's
  answer to the first successful read, median and 95th percentile (push through
  ``add-checkpoint``; polling every ``--poll`` seconds is only the fallback).

Usage::

    .venv/bin/python benchmarks/federation_bench.py [--entries 20000] [--samples 50]

Numbers are machine-dependent (both nodes and the load generator share this machine).
"""

from __future__ import annotations

import argparse
import hashlib
import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

import httpx

from registry.core.keys import PrivateKey
from registry.core.note import NoteSigner
from registry.core.records import encode_record, new_declaration, new_work, sign_declaration
from registry.federation.keys import derive_witness_signer

REGISTRY = shutil.which("registry", path=str(Path(sys.executable).parent)) or "registry"


def free_port() -> int:
    """A free TCP port on 127.0.0.1."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port: int = sock.getsockname()[1]
        return port


class Node:
    """A ``registry serve`` process with keys made up front."""

    def __init__(self, origin: str, data_dir: Path) -> None:
        self.signer = NoteSigner.from_seed(origin, hashlib.sha256(origin.encode()).digest())
        self.witness = derive_witness_signer(self.signer.skey)
        self.data_dir = data_dir
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.process: subprocess.Popen[bytes] | None = None

    def peers_line(self) -> str:
        """This node's line in a peers file."""
        return f"{self.url} {self.signer.verifier.vkey} {self.witness.verifier.vkey}\n"

    def start(self, peers: list[Node], poll: float) -> None:
        """Start serving, peering with ``peers``; wait until ready."""
        peers_file = self.data_dir.with_suffix(".peers")
        peers_file.write_text("".join(p.peers_line() for p in peers))
        env = {k: v for k, v in os.environ.items() if not k.startswith("REGISTRY_")}
        env["REGISTRY_SIGNING_KEY"] = self.signer.skey
        env["REGISTRY_PEER_ALLOW_HTTP"] = "1"  # the nodes talk plain http on loopback
        # one client address and few keys submit the whole backfill: no hourly admission caps
        env["REGISTRY_ADDRESS_HOURLY_LIMIT"] = "0"
        env["REGISTRY_CREATOR_HOURLY_LIMIT"] = "0"
        self.process = subprocess.Popen(  # noqa: S603 - our own executable
            [
                REGISTRY,
                "serve",
                "--port",
                str(self.port),
                "--data-dir",
                str(self.data_dir),
                "--origin",
                self.signer.name,
                "--rate-limit",
                "0",
                "--peers",
                str(peers_file),
                "--peer-poll-interval",
                str(poll),
                "--log-level",
                "warning",
            ],
            env=env,
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline:
            try:
                if httpx.get(self.url + "/readyz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.05)
        raise SystemExit(f"{self.signer.name} did not start")

    def stop(self) -> None:
        """Stop the process."""
        if self.process is not None:
            self.process.send_signal(signal.SIGINT)
            self.process.wait(timeout=30)
            self.process = None


def declarations(count: int, salt: str, creators: int = 50) -> list[bytes]:
    """``count`` signed declarations, one work each, by ``creators`` creators in turn (a node
    limits the declarations one creator key may submit an hour)."""
    keys = [
        PrivateKey.from_seed(hashlib.sha256(f"bench {salt} {n}".encode()).digest())
        for n in range(creators)
    ]
    out = []
    for i in range(count):
        key = keys[i % creators]
        digest = hashlib.sha256(f"{salt} work {i}".encode()).hexdigest()
        record = new_declaration(
            creator=key.public_key.did,
            issued_at=1_700_000_000 + i,
            works=[new_work(digest)],
            prefs={"train-ai": "n"},
        )
        out.append(encode_record(sign_declaration(record, key)))
    return out


def submit(node: Node, entries: list[bytes]) -> None:
    """Submit in batches of 1000; items shed with 503 (the pool is full) are sent again."""
    with httpx.Client(base_url=node.url, timeout=120) as client:
        for start in range(0, len(entries), 1000):
            pending = entries[start : start + 1000]
            while pending:
                body = b'{"declarations":[' + b",".join(pending) + b"]}"
                response = client.post(
                    "/v1/declarations:batch",
                    content=body,
                    headers={"Content-Type": "application/json"},
                )
                response.raise_for_status()
                results = response.json()["results"]
                if any(r["status"] not in (200, 201, 503) for r in results):
                    bad = next(r for r in results if r["status"] not in (200, 201, 503))
                    raise SystemExit(f"the source rejected a declaration: {str(bad)[:300]}")
                pending = [e for e, r in zip(pending, results, strict=True) if r["status"] == 503]
                if pending:
                    time.sleep(0.2)


@dataclass(frozen=True)
class Backfill:
    """Entries per second: mirrored by an empty follower, and ingested by the source (the same
    entries through its batch endpoint, the same verify-and-store work: the baseline)."""

    entries: int
    mirror_rate: float
    ingest_rate: float


def backfill(tmp: Path, entries: int, poll: float) -> Backfill:
    """Measure how fast an empty node mirrors a source of ``entries`` declarations."""
    source = Node("source.bench/log", tmp / "source")
    follower = Node("follower.bench/log", tmp / "follower")
    source.start([], poll)
    try:
        print(f"signing and submitting {entries} declarations to the source...")
        signed = declarations(entries, "backfill")
        submitted = time.monotonic()
        submit(source, signed)
        ingest_rate = entries / (time.monotonic() - submitted)
        started = time.monotonic()
        follower.start([source], poll)
        ready = time.monotonic()
        while True:
            peers = httpx.get(follower.url + "/v1/peers", timeout=10).json()
            if peers and peers[0]["verified_size"] == entries:
                break
            if peers and peers[0]["last_error"]:
                print("  follower reports:", peers[0]["last_error"])
            time.sleep(0.05)
        done = time.monotonic()
        print(
            f"backfill: {entries} entries verified and stored in {done - ready:.2f} s "
            f"({entries / (done - ready):,.0f} entries/s; {done - started:.2f} s with start-up)"
        )
        return Backfill(entries, entries / (done - ready), ingest_rate)
    finally:
        follower.stop()
        source.stop()


def visibility(tmp: Path, samples: int, poll: float) -> None:
    """Measure the delay from a submission on one node to its visibility on another."""
    a = Node("a.bench/log", tmp / "a")
    b = Node("b.bench/log", tmp / "b")
    a.start([b], poll)
    b.start([a], poll)
    try:
        delays = []
        with httpx.Client(timeout=30) as client:
            for entry in declarations(samples, "visibility"):
                answer = client.post(
                    a.url + "/v1/declarations",
                    content=entry,
                    headers={"Content-Type": "application/json"},
                )
                answer.raise_for_status()
                accepted = time.monotonic()
                declaration_id = answer.json()["id"]
                while client.get(f"{b.url}/v1/declarations/{declaration_id}").status_code != 200:
                    time.sleep(0.002)
                delays.append(time.monotonic() - accepted)
        delays.sort()
        p95 = delays[max(0, int(len(delays) * 0.95) - 1)]
        print(
            f"visibility on the other node: median {statistics.median(delays) * 1000:.0f} ms, "
            f"p95 {p95 * 1000:.0f} ms, max {delays[-1] * 1000:.0f} ms ({samples} samples, "
            f"poll fallback {poll:g} s)"
        )
    finally:
        a.stop()
        b.stop()


def main() -> None:
    """Parse arguments and run both measurements."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=20_000, help="backfill size")
    parser.add_argument("--samples", type=int, default=50, help="visibility samples")
    parser.add_argument("--poll", type=float, default=5.0, help="peer poll interval, seconds")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="federation-bench-") as tmp:
        backfill(Path(tmp), args.entries, args.poll)
        visibility(Path(tmp), args.samples, args.poll)


if __name__ == "__main__":
    main()
