"""Overload: a burst beyond the submission pool is shed with 503 + Retry-After (spec §6.4.1.3).

A real ``registry serve`` with a tiny pool (``--max-pending 4``) and slow batches takes a burst
of concurrent single and batch submissions. The node must answer every request (no 5xx but
the documented 503 ``overloaded`` with ``Retry-After``), keep answering ``/healthz`` during the
burst, and afterwards hold every acknowledged entry at its acknowledged index with a receipt,
in a log that ``registry log verify`` finds intact, and nothing it refused.
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import httpx

from registry.core.note import NoteVerifier
from registry.core.proof import verify_receipt
from tests.ops.support import declarations, record_id, run_registry, serving

JSON = {"Content-Type": "application/json"}


async def submit(client: httpx.AsyncClient, entry: bytes) -> tuple[bytes, httpx.Response]:
    return entry, await client.post("/v1/declarations", content=entry, headers=JSON)


async def submit_batch(
    client: httpx.AsyncClient, entries: list[bytes]
) -> tuple[list[bytes], httpx.Response]:
    body = b'{"declarations":[' + b",".join(entries) + b"]}"
    return entries, await client.post("/v1/declarations:batch", content=body, headers=JSON)


async def probe_health(client: httpx.AsyncClient, stop: asyncio.Event) -> list[float]:
    """Time /healthz answers until ``stop``; every probe must answer 200."""
    latencies = []
    while not stop.is_set():
        started = time.perf_counter()
        response = await client.get("/healthz", timeout=10)
        latencies.append(time.perf_counter() - started)
        assert response.status_code == 200
        await asyncio.sleep(0.02)
    return latencies


async def burst(base: str) -> tuple[dict[str, int], list[httpx.Response], list[float]]:
    """Send 120 single and 10 batch submissions at once; return acknowledged {id: index}, the
    shed responses, and /healthz latencies measured meanwhile."""
    singles = declarations(11, 120)
    batches = [declarations(12 + b, 8) for b in range(10)]
    limits = httpx.Limits(max_connections=200, max_keepalive_connections=200)
    async with httpx.AsyncClient(base_url=base, limits=limits, timeout=60) as client:
        stop = asyncio.Event()
        health = asyncio.create_task(probe_health(client, stop))
        await asyncio.sleep(0.05)
        answers = await asyncio.gather(
            *(submit(client, entry) for entry in singles),
            *(submit_batch(client, entries) for entries in batches),
        )
        stop.set()
        latencies = await health
    acked: dict[str, int] = {}
    shed: list[httpx.Response] = []
    for sent, response in answers:
        assert response.status_code in (200, 201, 503), response.text
        if response.status_code == 503:
            shed.append(response)
            continue
        body = response.json()
        if isinstance(sent, bytes):
            acked[body["id"]] = body["index"]
            continue
        assert isinstance(sent, list)
        for entry, result in zip(sent, body["results"], strict=True):
            assert result["status"] in (200, 201), result
            acked[record_id(entry)] = result["index"]
    return acked, shed, latencies


def test_burst_is_shed_with_503_and_acknowledged_entries_survive(tmp_path: Path) -> None:
    data = tmp_path / "data"
    options = [
        "--data-dir",
        str(data),
        "--origin",
        "overload.test/log",
        "--rate-limit",
        "0",
        "--address-hourly-limit",
        "0",
    ]
    options += ["--max-pending", "4", "--batch-interval", "0.2"]
    with serving(tmp_path, *options) as node:
        vkey = httpx.get(node.base + "/.well-known/consent-registry").json()["verifier_key"]
        acked, shed, latencies = asyncio.run(burst(node.base))
        assert shed, "a burst 30 times the pool must be shed in part"
        for response in shed:
            assert response.headers["content-type"].startswith("application/problem+json")
            assert response.json()["type"] == "/problems/overloaded"
            assert int(response.headers["retry-after"]) >= 1
        assert acked, "the node must keep accepting what fits"
        assert latencies, "/healthz answered during the burst"
        assert max(latencies) < 10
        verifier = NoteVerifier.from_vkey(vkey)
        entries = {record_id(e): e for e in declarations(11, 120)}
        entries |= {record_id(e): e for b in range(10) for e in declarations(12 + b, 8)}
        for declaration_id, index in acked.items():
            fetched = httpx.get(f"{node.base}/v1/declarations/{declaration_id}").json()
            assert fetched["index"] == index
            verify_receipt(fetched["receipt"], entries[declaration_id], verifier)
        size = int(httpx.get(node.base + "/checkpoint").text.splitlines()[1])
    assert size == len(acked), "nothing refused was logged"
    verified = run_registry("log", "verify", "--data-dir", str(data))
    assert verified.returncode == 0, verified.stderr
    assert f"size: {len(acked)}" in verified.stdout
