"""Prometheus metrics of a node, served at ``GET /metrics`` (text exposition format 0.0.4).

Two kinds of metric:

- **Events**, counted where they happen: submissions (by result and problem type), integrated
  batches (size and latency histograms, from the log's batch observer), checks served (by
  endpoint, requests and items), rate-limited submissions and HTTP requests (by method, route
  template and status; latency histogram by route). They live in :class:`Metrics`.
- **State**, read when scraped: log size, index sizes, the submission pool, and per peer the
  lag, verified and seen sizes, failing, flagged and evidence count (from the federation state
  in the database). :func:`render` computes them from the node at scrape time.

Several worker processes: ``registry serve`` sets ``PROMETHEUS_MULTIPROC_DIR`` (an empty
directory) before granian starts its workers, so every worker's event metrics are written to
memory-mapped files there, and the worker answering a scrape adds up all of them
(prometheus-client's multiprocess mode). State metrics are computed by the worker answering
the scrape: the log and the peers from the shared database, the index sizes from its own
index (all workers follow the same log, spec §6.11). Without the variable (tests, one process
embedding the app) each :class:`Metrics` keeps its own registry.
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Final

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector
from prometheus_client.registry import Collector

from registry.log.types import BatchReport

__all__ = [
    "CONTENT_TYPE",
    "MULTIPROC_ENV",
    "Metrics",
    "NodeState",
    "PeerState",
    "multiprocess_dir",
]

CONTENT_TYPE: Final = "text/plain; version=0.0.4"  # Litestar appends "; charset=utf-8"
MULTIPROC_ENV: Final = "PROMETHEUS_MULTIPROC_DIR"
PREFIX: Final = "registry"

BATCH_SIZE_BUCKETS: Final = (1, 2, 5, 10, 20, 50, 100, 200, 500, 1000, 2000, 5000)
LATENCY_BUCKETS: Final = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
)


def multiprocess_dir() -> str | None:
    """The multiprocess directory in use, if ``PROMETHEUS_MULTIPROC_DIR`` names one."""
    return os.environ.get(MULTIPROC_ENV) or None


class Metrics:
    """The event metrics of one app (one worker process)."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self.submissions = Counter(
            f"{PREFIX}_submissions",
            "Declarations submitted: result accepted, duplicate or rejected (problem: the "
            "problem type slug of a rejection, else empty).",
            ["result", "problem"],
            registry=r,
        )
        self.batch_size = Histogram(
            f"{PREFIX}_integration_batch_size",
            "Entries per integrated batch (one transaction).",
            buckets=BATCH_SIZE_BUCKETS,
            registry=r,
        )
        self.batch_seconds = Histogram(
            f"{PREFIX}_integration_seconds",
            "Time to integrate one batch: entries, tiles and signed checkpoint committed.",
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.batch_failures = Counter(
            f"{PREFIX}_integration_failures",
            "Batches whose integration failed (none of their entries was acknowledged).",
            registry=r,
        )
        self.checks = Counter(
            f"{PREFIX}_checks",
            "Query requests served, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.checked_items = Counter(
            f"{PREFIX}_checked_items",
            "Items (hashes, URLs, codes) looked up, by endpoint.",
            ["endpoint"],
            registry=r,
        )
        self.http_requests = Counter(
            f"{PREFIX}_http_requests",
            "HTTP requests answered, by method, route template and status.",
            ["method", "route", "status"],
            registry=r,
        )
        self.http_seconds = Histogram(
            f"{PREFIX}_http_request_duration_seconds",
            "Time from request to the end of the response, by method and route template.",
            ["method", "route"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )

    # -- recording -------------------------------------------------------------------------

    def observe_batch(self, report: BatchReport) -> None:
        """The log's batch observer (:data:`registry.log.types.BatchObserver`)."""
        if report.ok:
            self.batch_size.observe(report.entries)
            self.batch_seconds.observe(report.seconds)
        else:
            self.batch_failures.inc()

    def submitted(self, result: str, problem: str = "", count: int = 1) -> None:
        """Count ``count`` submissions with ``result`` (accepted, duplicate, rejected)."""
        if count:
            self.submissions.labels(result, problem).inc(count)

    def checked(self, endpoint: str, items: int) -> None:
        """Count one query request on ``endpoint`` looking up ``items`` items."""
        self.checks.labels(endpoint).inc()
        self.checked_items.labels(endpoint).inc(items)

    def request(self, method: str, route: str, status: int, seconds: float) -> None:
        """Count one HTTP request and its duration."""
        self.http_requests.labels(method, route, str(status)).inc()
        self.http_seconds.labels(method, route).observe(seconds)

    # -- exposition ------------------------------------------------------------------------

    def render(self, state: NodeState) -> bytes:
        """The exposition text: event metrics (every worker's, in multiprocess mode) and the
        node ``state`` read for this scrape."""
        if multiprocess_dir() is not None:
            events = CollectorRegistry()
            MultiProcessCollector(events)  # type: ignore[no-untyped-call]
        else:
            events = self.registry
        scrape = CollectorRegistry()
        scrape.register(_StateCollector(state))
        return generate_latest(events) + generate_latest(scrape)


@dataclass(frozen=True, kw_only=True)
class PeerState:
    """What is exported about one peer (spec §7.2.3)."""

    origin: str
    verified_size: int
    seen_size: int
    lag: int
    failing: bool
    flagged: bool
    evidence: int
    last_success: int | None


@dataclass(frozen=True, kw_only=True)
class NodeState:
    """The node's state at scrape time."""

    origin: str
    database_up: bool
    log_size: int
    pending: int
    indexed_entries: int
    declarations: int
    skipped: int
    sha256_subjects: int
    url_subjects: int
    pdq_hashes: int
    iscc_codes: int
    mirrored: dict[str, int]
    peers: Sequence[PeerState]


class _StateCollector(Collector):
    """Gauges of one :class:`NodeState` (a fresh registry per scrape holds it)."""

    def __init__(self, state: NodeState) -> None:
        self.state = state

    def collect(self) -> Iterator[Metric]:
        s = self.state
        yield _gauge("database_up", "1 if the database answered this scrape.", int(s.database_up))
        yield _gauge(
            "log_size",
            "Entries in the node's own log (latest checkpoint size; the "
            "index's size when the database is away).",
            s.log_size,
        )
        yield _gauge("submission_pool", "Submissions waiting in this worker's pool.", s.pending)
        yield _gauge("index_entries", "Own log entries absorbed by the index.", s.indexed_entries)
        yield _gauge(
            "index_declarations",
            "Declarations indexed (own and mirrored logs).",
            s.declarations,
        )
        yield _gauge("index_skipped", "Log entries that did not decode (not indexed).", s.skipped)
        subjects = GaugeMetricFamily(
            f"{PREFIX}_index_subjects", "Subjects with a current claim, by kind.", labels=["kind"]
        )
        subjects.add_metric(["sha256"], s.sha256_subjects)
        subjects.add_metric(["url"], s.url_subjects)
        yield subjects
        near = GaugeMetricFamily(
            f"{PREFIX}_index_near_items", "Near-duplicate index items, by kind.", labels=["kind"]
        )
        near.add_metric(["pdq"], s.pdq_hashes)
        near.add_metric(["iscc"], s.iscc_codes)
        yield near
        mirrored = GaugeMetricFamily(
            f"{PREFIX}_index_mirrored_entries",
            "Mirrored entries absorbed by the index, by peer origin.",
            labels=["origin"],
        )
        for origin, count in sorted(s.mirrored.items()):
            mirrored.add_metric([origin], count)
        yield mirrored
        yield from _peer_gauges(s.peers)


def _gauge(name: str, documentation: str, value: float) -> GaugeMetricFamily:
    return GaugeMetricFamily(f"{PREFIX}_{name}", documentation, value=value)


_PEER_GAUGES: Final = (
    ("peer_lag", "Entries a peer has shown that are not verified yet (spec §7.2.3).", "lag"),
    ("peer_verified_size", "Size of the peer's latest fully verified checkpoint.", "verified"),
    ("peer_seen_size", "Size of the latest checkpoint the peer showed.", "seen"),
    ("peer_failing", "1 if the last mirroring round of the peer failed.", "failing"),
    ("peer_flagged", "1 once evidence of equivocation by the peer is stored.", "flagged"),
    ("peer_evidence", "Pieces of equivocation evidence stored about the peer.", "evidence"),
    (
        "peer_last_success_timestamp_seconds",
        "POSIX time of the peer's last successful mirroring round (0: never).",
        "last_success",
    ),
)


def _peer_value(peer: PeerState, key: str) -> float:
    values = {
        "lag": peer.lag,
        "verified": peer.verified_size,
        "seen": peer.seen_size,
        "failing": int(peer.failing),
        "flagged": int(peer.flagged),
        "evidence": peer.evidence,
        "last_success": peer.last_success or 0,
    }
    return float(values[key])


def _peer_gauges(peers: Iterable[PeerState]) -> Iterator[Metric]:
    peers = list(peers)
    yield _gauge("peers", "Configured peers.", len(peers))
    for name, documentation, key in _PEER_GAUGES:
        family = GaugeMetricFamily(f"{PREFIX}_{name}", documentation, labels=["origin"])
        for peer in peers:
            family.add_metric([peer.origin], _peer_value(peer, key))
        yield family
