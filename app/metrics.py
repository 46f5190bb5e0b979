"""Prometheus metrics of one process (the official client library).

Each replica serves its own `/metrics`; Prometheus scrapes every replica directly (not
through the load balancer), which is how per-process servers are monitored. The registry
is per process and owned here, so tests can read values without global state leaking
between them.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from prometheus_client import CollectorRegistry, Counter, Histogram
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from app.events import ChangeEvent

if TYPE_CHECKING:
    from app.core import Services

REGISTRY = CollectorRegistry(auto_describe=True)

REQUEST_SECONDS = Histogram(
    "hotcrm_http_request_duration_seconds", "HTTP request latency by route template",
    ["method", "route", "status"], registry=REGISTRY,
    buckets=(0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10))
CHANGE_EVENTS = Counter(
    "hotcrm_change_events_total", "Committed changes seen by this process",
    ["object", "origin"], registry=REGISTRY)
CACHE_LOOKUPS = Counter(
    "hotcrm_cache_lookups_total", "Cache lookups by cache and result",
    ["cache", "result"], registry=REGISTRY)
# Bound once: the identity cache is asked on every authenticated request.
IDENTITY_HITS = CACHE_LOOKUPS.labels("identity", "hit")
IDENTITY_MISSES = CACHE_LOOKUPS.labels("identity", "miss")


class _RuntimeCollector(Collector):
    """Values read at scrape time: database pool use and connected browser tabs."""

    def __init__(self, services: Services) -> None:
        self.services = services

    def collect(self) -> Iterator[GaugeMetricFamily]:
        pool = self.services.engine.pool
        checked_out = getattr(pool, "checkedout", None)
        size = getattr(pool, "size", None)
        gauge = GaugeMetricFamily("hotcrm_db_pool_connections",
                                  "Database connections by state", labels=["state"])
        if callable(checked_out):
            gauge.add_metric(["in_use"], float(checked_out()))
        if callable(size):
            gauge.add_metric(["size"], float(size()))
        yield gauge
        clients = GaugeMetricFamily("hotcrm_browser_clients",
                                    "Connected NiceGUI browser tabs in this process")
        clients.add_metric([], float(_browser_clients()))
        yield clients


def _browser_clients() -> int:
    try:
        from nicegui import Client
    except ImportError:  # the service layer runs without the UI (CLI, benchmarks)
        return 0
    return sum(1 for client in Client.instances.values() if client.has_socket_connection)


_detach: list[Callable[[], None]] = []


def install(services: Services) -> None:
    """Attach this process's services: pool/clients at scrape time, change events.
    Installing again (tests, a rebuilt service) replaces the earlier attachment."""
    while _detach:
        _detach.pop()()
    collector = _RuntimeCollector(services)
    REGISTRY.register(collector)
    _detach.append(lambda: REGISTRY.unregister(collector))

    def count(event: ChangeEvent) -> None:
        CHANGE_EVENTS.labels(event.object, "remote" if event.remote else "local").inc()

    _detach.append(services.ql.events.subscribe(count))
