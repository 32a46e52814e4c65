"""Metrics and logs over the real app in process (issue 7, observe): ``/metrics`` names and
values, request ids on responses and on log lines, the JSON and console formats."""

from __future__ import annotations

import io
import json
import logging
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from registry.observability.logs import (
    ConsoleFormatter,
    JsonFormatter,
    announce,
    request_id_var,
    resolve_log_format,
)
from tests.node.api_support import creator_key, declaration, make_settings, running_node, work_hash

TOKEN = "observability-operator-token-0123456789"


def samples(text: str) -> dict[tuple[str, frozenset[tuple[str, str]]], float]:
    """Every sample of an exposition text: (name, labels) -> value."""
    found = {}
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            found[(sample.name, frozenset(sample.labels.items()))] = sample.value
    return found


def value(text: str, name: str, **labels: str) -> float:
    return samples(text).get((name, frozenset(labels.items())), 0.0)


async def test_metrics_count_submissions_checks_batches_and_requests(
    database_url: str, tmp_path: Path
) -> None:
    key = creator_key(80)
    settings = make_settings(database_url, tmp_path / "data")
    async with running_node(settings) as client:
        before = (await client.get("/metrics")).text
        assert value(before, "registry_log_size") == 0
        assert value(before, "registry_database_up") == 1
        first = declaration(key, [work_hash(800)], urls=["https://example.com/a.png"])
        assert (await client.post("/v1/declarations", content=first)).status_code == 201
        assert (await client.post("/v1/declarations", content=first)).status_code == 200
        forged = first.replace(b'"train-ai":"n"', b'"train-ai":"y"')
        assert (await client.post("/v1/declarations", content=forged)).status_code == 422
        checked = await client.post(
            "/v1/check", json={"sha256s": [work_hash(800), work_hash(801)], "urls": []}
        )
        assert checked.status_code == 200
        assert (await client.get(f"/v1/works/sha256/{work_hash(800)}")).status_code == 200
        scraped = await client.get("/metrics")
        assert scraped.headers["content-type"].startswith("text/plain; version=0.0.4")
        text = scraped.text
    assert value(text, "registry_submissions_total", result="accepted", problem="") == 1
    assert value(text, "registry_submissions_total", result="duplicate", problem="") == 1
    assert value(text, "registry_submissions_total", result="rejected", problem="bad-signature")
    assert value(text, "registry_integration_batch_size_count") >= 1
    assert value(text, "registry_integration_batch_size_sum") >= 1
    assert value(text, "registry_integration_seconds_count") >= 1
    assert value(text, "registry_checks_total", endpoint="check") == 1
    assert value(text, "registry_checked_items_total", endpoint="check") == 2
    assert value(text, "registry_checks_total", endpoint="work_sha256") == 1
    assert value(text, "registry_log_size") == 1
    assert value(text, "registry_index_entries") == 1
    assert value(text, "registry_index_declarations") == 1
    assert value(text, "registry_index_subjects", kind="sha256") == 1
    assert value(text, "registry_index_subjects", kind="url") == 1
    assert ("registry_index_near_items", frozenset({("kind", "pdq")})) in samples(text)
    assert value(text, "registry_peers") == 0
    route = {"method": "POST", "route": "/v1/declarations"}
    assert value(text, "registry_http_requests_total", status="201", **route) == 1
    assert value(text, "registry_http_requests_total", status="422", **route) == 1
    assert value(text, "registry_http_request_duration_seconds_count", **route) == 3


async def test_metrics_export_peer_state(tmp_path: Path) -> None:
    from registry.core.note import NoteSigner  # noqa: PLC0415

    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'registry.db'}",
        tmp_path / "data",
        admin_token=TOKEN,
        peer_poll_interval=0.05,
        peer_timeout=0.5,
    )
    peer = {
        "url": "http://127.0.0.1:9",  # nothing listens: the mirror fails
        "verifier_key": NoteSigner.from_seed("peer.test/log", bytes(32)).verifier.vkey,
    }
    async with running_node(settings) as client:
        added = await client.post(
            "/v1/admin/peers", json=peer, headers={"Authorization": f"Bearer {TOKEN}"}
        )
        assert added.status_code == 201, added.text
        text = (await client.get("/metrics")).text
        assert value(text, "registry_peers") == 1
        labels = {"origin": "peer.test/log"}
        assert value(text, "registry_peer_lag", **labels) == 0
        assert value(text, "registry_peer_flagged", **labels) == 0
        assert ("registry_peer_verified_size", frozenset(labels.items())) in samples(text)


class Capture(logging.Handler):
    """Keeps every record it is given."""

    def __init__(self) -> None:
        super().__init__(logging.DEBUG)
        self.records: list[logging.LogRecord] = []

    def emit(self, record: logging.LogRecord) -> None:
        self.records.append(record)


@pytest.fixture
def captured() -> Iterator[Capture]:
    handler = Capture()
    logger = logging.getLogger("registry")
    old_level = logger.level
    logger.addHandler(handler)
    logger.setLevel(logging.DEBUG)
    try:
        yield handler
    finally:
        logger.removeHandler(handler)
        logger.setLevel(old_level)


async def test_request_ids_on_responses_and_on_log_lines(tmp_path: Path, captured: Capture) -> None:
    settings = make_settings(
        f"sqlite+aiosqlite:///{tmp_path / 'data' / 'registry.db'}",
        tmp_path / "data",
        admin_token=TOKEN,
    )
    async with running_node(settings) as client:
        logging.getLogger("registry").setLevel(logging.DEBUG)  # the app configured it on start
        kept = await client.get("/healthz", headers={"X-Request-ID": "trace-0001.a:b"})
        assert kept.headers["x-request-id"] == "trace-0001.a:b"
        for insane in (b"a b", b"x" * 129, b"evil\xff", b"<script>"):
            replaced = await client.get("/healthz", headers={b"X-Request-ID": insane})
            assert replaced.headers["x-request-id"].encode() != insane
            assert len(replaced.headers["x-request-id"]) == 16
        fresh = await client.get("/healthz")
        assert fresh.headers["x-request-id"] != kept.headers["x-request-id"]
        captured.records.clear()
        peer = {
            "url": "https://peer.example",
            "verifier_key": _vkey("peer.example"),
        }
        added = await client.post(
            "/v1/admin/peers",
            json=peer,
            headers={"Authorization": f"Bearer {TOKEN}", "X-Request-ID": "admin-42"},
        )
        assert added.status_code == 201
        during = [r for r in captured.records if r.name in ("registry.admin", "registry.access")]
        assert {r.name for r in during} == {"registry.admin", "registry.access"}
        assert {getattr(r, "request_id", None) for r in during} == {"admin-42"}
        assert TOKEN not in "\n".join(r.getMessage() for r in captured.records)
    assert request_id_var.get() is None  # nothing leaks out of a request


def _vkey(origin: str) -> str:
    from registry.core.note import NoteSigner  # noqa: PLC0415

    return NoteSigner.from_seed(origin, bytes(32)).verifier.vkey


def record(message: str, request_id: str | None, exc: bool = False) -> logging.LogRecord:
    made = logging.LogRecord("registry.test", logging.WARNING, __file__, 1, message, (), None)
    made.request_id = request_id
    if exc:
        try:
            raise RuntimeError("boom")
        except RuntimeError:
            import sys  # noqa: PLC0415

            made.exc_info = sys.exc_info()
    return made


def test_json_lines_parse_and_carry_the_request_id() -> None:
    line = JsonFormatter().format(record('a "quoted"\nmessage é', "rid-1", exc=True))
    assert "\n" not in line
    parsed = json.loads(line)
    assert parsed["message"] == 'a "quoted"\nmessage é'
    assert parsed["level"] == "warning"
    assert parsed["logger"] == "registry.test"
    assert parsed["request_id"] == "rid-1"
    assert "RuntimeError: boom" in parsed["exception"]
    assert parsed["time"].endswith("Z")
    assert "request_id" not in json.loads(JsonFormatter().format(record("m", None)))


def test_console_lines_are_readable() -> None:
    line = ConsoleFormatter().format(record("hello", "rid-2"))
    assert line.endswith("WARNING registry.test [rid-2] hello")
    assert "[" not in ConsoleFormatter().format(record("hello", None)).split("registry.test")[1]


class Tty(io.StringIO):
    def isatty(self) -> bool:
        return True


def test_auto_format_is_console_on_a_terminal_json_otherwise() -> None:
    assert resolve_log_format("auto", Tty()) == "console"
    assert resolve_log_format("auto", io.StringIO()) == "json"
    assert resolve_log_format("json", Tty()) == "json"
    assert resolve_log_format("console", io.StringIO()) == "console"
    with pytest.raises(ValueError, match="log format"):
        resolve_log_format("xml")
    out = io.StringIO()
    announce("auto", "registry: listening", out)
    assert json.loads(out.getvalue())["message"] == "registry: listening"
    tty = Tty()
    announce("auto", "registry: listening", tty)
    assert tty.getvalue() == "registry: listening\n"
