"""Metrics and logs of a real ``registry serve --workers 2`` (issue 7, observe).

- Every scrape of ``/metrics`` adds up both workers' counters (prometheus-client multiprocess
  mode, set up by ``registry serve``): whichever worker answers, the totals are the same.
- With ``--log-format json`` every line the node prints is a JSON object; the lines logged
  while handling a request carry its ``X-Request-ID``; the node's signing key and the operator
  token never appear.
"""

from __future__ import annotations

import json
from pathlib import Path

import httpx
from prometheus_client.parser import text_string_to_metric_families

from registry.core.note import NoteSigner
from tests.ops.support import declarations, serving

TOKEN = "ops-observability-token-0123456789"
SIGNING_KEY = NoteSigner.from_seed("obs.test/log", bytes(range(32))).skey


def totals(text: str) -> dict[str, float]:
    """Sample name (with sorted labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            labels = ",".join(f"{k}={v}" for k, v in sorted(sample.labels.items()))
            found[f"{sample.name}{{{labels}}}"] = sample.value
    return found


def test_two_workers_share_metrics_and_log_json_with_request_ids(tmp_path: Path) -> None:
    entries = declarations(51, 12)
    with serving(
        tmp_path,
        "--data-dir",
        str(tmp_path / "data"),
        "--workers",
        "2",
        "--log-format",
        "json",
        "--log-level",
        "debug",
        "--rate-limit",
        "0",
        "--address-hourly-limit",
        "0",
        "--batch-interval",
        "0.005",
        env={
            "REGISTRY_SIGNING_KEY": SIGNING_KEY,
            "REGISTRY_ADMIN_TOKEN": TOKEN,
            "PROMETHEUS_MULTIPROC_DIR": str(tmp_path / "metrics"),
        },
    ) as node:
        for entry in entries:  # a new connection each: the kernel spreads them over workers
            with httpx.Client(base_url=node.base, timeout=30) as client:
                posted = client.post(
                    "/v1/declarations",
                    content=entry,
                    headers={"Content-Type": "application/json", "X-Request-ID": "submit-x"},
                )
                assert posted.status_code == 201, posted.text
                assert posted.headers["x-request-id"] == "submit-x"
        metrics_dir = tmp_path / "metrics"
        writers = {f.stem.rsplit("_", 1)[-1] for f in metrics_dir.glob("counter_*.db")}
        assert len(writers) >= 2, writers  # both workers count into the shared directory
        scrapes = []
        for _ in range(8):
            with httpx.Client(base_url=node.base, timeout=30) as client:
                scrapes.append(totals(client.get("/metrics").text))
        vkey = NoteSigner.from_skey(SIGNING_KEY).verifier.vkey
        with httpx.Client(base_url=node.base, timeout=30) as client:
            added = client.post(
                "/v1/admin/peers",
                json={"url": "https://peer.example", "verifier_key": _peer_vkey()},
                headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "admin-op-7"},
            )
            assert added.status_code == 201, added.text
            assert client.get("/.well-known/consent-registry").json()["verifier_key"] == vkey
    assert metrics_dir.is_dir()  # the operator's directory is kept (and emptied at start)
    accepted = "registry_submissions_total{problem=,result=accepted}"
    for scraped in scrapes:
        assert scraped[accepted] == len(entries), scraped.get(accepted)
        assert scraped["registry_log_size{}"] == len(entries)
        assert scraped["registry_integration_batch_size_sum{}"] == len(entries)
    lines = node.output().splitlines()
    parsed = [json.loads(line) for line in lines if line.strip()]  # every line is JSON
    assert all({"time", "level", "logger", "message"} <= set(p) for p in parsed)
    workers = {p["message"] for p in parsed if p["logger"] == "_granian"}
    assert any("worker-2" in m for m in workers), workers
    admin = [p for p in parsed if p["logger"] == "registry.admin"]
    assert admin, "the operator action was not logged"
    assert {p.get("request_id") for p in admin} == {"admin-op-7"}
    access = [p for p in parsed if p["logger"] == "registry.access"]
    assert any(p.get("request_id") == "submit-x" for p in access)
    assert all(p.get("request_id") for p in access)
    everything = "\n".join(lines)
    assert SIGNING_KEY not in everything
    assert SIGNING_KEY.rsplit("+", 1)[-1] not in everything
    assert TOKEN not in everything


def _peer_vkey() -> str:
    return NoteSigner.from_seed("peer.example", bytes(32)).verifier.vkey


def test_default_metrics_directory_is_temporary_and_removed(tmp_path: Path) -> None:
    scratch = tmp_path / "tmp"
    scratch.mkdir()
    with serving(tmp_path, "--data-dir", str(tmp_path / "data"), env={"TMPDIR": str(scratch)}):
        made = list(scratch.glob("registry-metrics-*"))
        assert len(made) == 1, made
        assert not (tmp_path / "data" / "metrics").exists()  # never on the data disk
    assert not list(scratch.glob("registry-metrics-*"))
