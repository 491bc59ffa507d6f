"""Prometheus metrics: this process's counters, plus the queue read from the database per scrape.

Several processes (`serve --workers N`, whose embedded worker runs in the supervising process)
share their counters through prometheus-client's multiprocess mode: PROMETHEUS_MULTIPROC_DIR is
set before prometheus_client is first imported (cli/serve.py does it), every process then keeps
its values in files there, and a scrape of any process sums them. Gauges of the queue and the
workers are not kept per process: they are read from the database when scraped (services/health.py).
"""

from __future__ import annotations

import os
from collections.abc import Iterable, Iterator, Sequence

from prometheus_client import REGISTRY as _PROCESS
from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram, generate_latest
from prometheus_client.metrics_core import GaugeMetricFamily, Metric
from prometheus_client.multiprocess import MultiProcessCollector, mark_process_dead
from prometheus_client.registry import Collector

REQUESTS = Counter("mediashelf_http_requests_total", "HTTP requests", ["method", "route", "status"])
REQUEST_SECONDS = Histogram("mediashelf_http_request_seconds", "Time to answer an HTTP request",
                            ["method", "route"])
IN_FLIGHT = Gauge("mediashelf_http_requests_in_flight", "HTTP requests being answered",
                  multiprocess_mode="livesum")
EVENT_STREAMS = Gauge("mediashelf_event_streams", "Open GET /v1/events streams",
                      multiprocess_mode="livesum")
ASSETS_CREATED = Counter("mediashelf_assets_created_total", "Assets created", ["type", "source"])
ASSETS_FINISHED = Counter("mediashelf_assets_finished_total", "Assets processed", ["status"])
IMPORTS_REFUSED = Counter("mediashelf_imports_refused_total", "URL imports refused", ["reason"])
# outcome: hit (the reply cache answered), miss, and of the misses, read (the others waited for
# an identical read in flight)
REPLIES = Counter("mediashelf_replies_total", "Cacheable replies of the listing and of one asset",
                  ["kind", "outcome"])
# outcome: done (the asset reached READY or FAILED), skipped, retry, postponed (no room)
JOB_SECONDS = Histogram("mediashelf_job_seconds", "Time spent on one job, by its outcome",
                        ["kind", "outcome"])
# Webhooks: each attempt by outcome (success, http_status, timeout, private_address, connect ...),
# each delivery's end (delivered, failed), and how long receivers take to answer.
WEBHOOK_ATTEMPTS = Counter("mediashelf_webhook_attempts_total",
                           "Webhook delivery attempts, by outcome", ["outcome"])
WEBHOOK_DELIVERIES = Counter("mediashelf_webhook_deliveries_total",
                             "Webhook deliveries finished, by outcome", ["outcome"])
WEBHOOK_SECONDS = Histogram("mediashelf_webhook_attempt_seconds",
                            "Time for a receiver to answer one webhook attempt")


def multiprocess_dir() -> str | None:
    """The directory the processes share their values in, if several processes do."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


def process_gone(pid: int) -> None:
    """A process of ours ended: its live gauges (requests in flight) stop counting."""
    path = multiprocess_dir()
    if path and os.path.isdir(path):
        mark_process_dead(pid, path)  # type: ignore[no-untyped-call]


class _ThisProcess(Collector):
    """The default registry's metrics (ours, and the process and platform collectors)."""

    def collect(self) -> Iterable[Metric]:
        return _PROCESS.collect()


class _Fixed(Collector):
    def __init__(self, families: Sequence[Metric]) -> None:
        self._families = families

    def collect(self) -> Iterator[Metric]:
        return iter(self._families)


def exposition(families: Sequence[Metric]) -> bytes:
    """The text a scrape gets: every process's counters (or this one's) and the given gauges."""
    registry = CollectorRegistry(auto_describe=False)
    path = multiprocess_dir()
    if path:
        MultiProcessCollector(registry, path)  # type: ignore[no-untyped-call]
    else:
        registry.register(_ThisProcess())
    registry.register(_Fixed(families))
    return generate_latest(registry)


def gauge(name: str, documentation: str, labels: list[str],
          values: Iterable[tuple[list[str], float]]) -> GaugeMetricFamily:
    """A gauge family from (label values, value) pairs."""
    family = GaugeMetricFamily(name, documentation, labels=labels)
    for label_values, value in values:
        family.add_metric(label_values, value)
    return family
