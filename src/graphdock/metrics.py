"""What /metrics reports, in the Prometheus text format, from one registry per app.

One registry per app (not prometheus-client's global one) so that several servers in one process
(the test harness) never share or clash over counters. Requests are counted by route template,
never by raw path, so ids do not explode the number of series. Values that exist only at scrape
time (run slots, database connections) are read then, through callbacks set at start-up.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass

from prometheus_client import CollectorRegistry, Counter, Histogram, generate_latest
from prometheus_client.core import GaugeMetricFamily, Metric
from prometheus_client.registry import Collector

CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8"
# Latency buckets from 1 ms (a cached read) to 10 min (a long run).
_HTTP_BUCKETS = (0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0)
_RUN_BUCKETS = (0.005, 0.01, 0.05, 0.1, 0.5, 1.0, 5.0, 10.0, 30.0, 60.0, 300.0, 600.0)


@dataclass(frozen=True, slots=True)
class PoolUsage:
    """A database's connections at one moment: open, in use, the most it may open, and requests
    waiting for one."""

    size: int
    in_use: int
    max_size: int
    waiting: int


@dataclass(frozen=True, slots=True)
class SlotUsage:
    busy: int
    total: int


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        self.requests = Counter(
            "graphdock_http_requests",
            "HTTP requests answered, by route template, method and status",
            ["route", "method", "status"],
            registry=self.registry,
        )
        self.latency = Histogram(
            "graphdock_http_request_duration_seconds",
            "Time to the end of each response (a stream: its whole length), by route template and method",
            ["route", "method"],
            buckets=_HTTP_BUCKETS,
            registry=self.registry,
        )
        self.runs = Counter(
            "graphdock_runs_finished",
            "Runs that ended on this replica, by final status",
            ["status"],
            registry=self.registry,
        )
        self.queue_wait = Histogram(
            "graphdock_run_queue_wait_seconds",
            "From a run's creation to the moment a worker started it",
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self.duration = Histogram(
            "graphdock_run_duration_seconds",
            "From a run's start to its end, on the replica that executed it",
            buckets=_RUN_BUCKETS,
            registry=self.registry,
        )
        self.swept = Counter(
            "graphdock_threads_swept",
            "Threads this replica's TTL sweeps expired (checkpointer.ttl), by strategy",
            ["strategy"],
            registry=self.registry,
        )
        self._live = _Live()
        self.registry.register(self._live)
        self._request_children: dict[tuple[str, str, int], tuple[Counter, Histogram]] = {}

    def watch(self, slots: Callable[[], SlotUsage], pool: Callable[[], PoolUsage]) -> None:
        """Set at start-up, once the run executor and the database exist."""
        self._live.slots, self._live.pool = slots, pool

    def observe_request(self, route: str, method: str, status: int, seconds: float) -> None:
        # labels() takes a lock and builds a key each time; the series are few (route templates,
        # not paths), so each one's children are looked up once.
        key = (route, method, status)
        children = self._request_children.get(key)
        if children is None:
            children = (self.requests.labels(route, method, str(status)), self.latency.labels(route, method))
            self._request_children[key] = children
        children[0].inc()
        children[1].observe(seconds)

    def observe_run(self, status: str, queued_seconds: float, ran_seconds: float) -> None:
        self.runs.labels(status).inc()
        # Clocks of replicas (which stamp created_at) may disagree by a little: never below zero.
        self.queue_wait.observe(max(queued_seconds, 0.0))
        self.duration.observe(max(ran_seconds, 0.0))

    def observe_sweep(self, strategy: str, threads: int) -> None:
        self.swept.labels(strategy).inc(threads)

    def render(self) -> bytes:
        return generate_latest(self.registry)


class _Live(Collector):
    """Gauges read at scrape time; absent until the server has started."""

    def __init__(self) -> None:
        self.slots: Callable[[], SlotUsage] | None = None
        self.pool: Callable[[], PoolUsage] | None = None

    def describe(self) -> list[Metric]:
        return []  # unknown until start-up; an empty description keeps the registry from calling collect

    def collect(self) -> Iterator[Metric]:
        if self.slots is not None:
            slots = self.slots()
            family = GaugeMetricFamily(
                "graphdock_run_slots", "Run slots of this replica, busy or free", labels=["state"]
            )
            family.add_metric(["busy"], slots.busy)
            family.add_metric(["free"], max(slots.total - slots.busy, 0))
            yield family
        if self.pool is not None:
            pool = self.pool()
            family = GaugeMetricFamily(
                "graphdock_database_connections",
                "The database connection pool: open, in use, the most it may open, requests waiting",
                labels=["state"],
            )
            for state, value in (
                ("open", pool.size),
                ("in_use", pool.in_use),
                ("max", pool.max_size),
                ("waiting", pool.waiting),
            ):
                family.add_metric([state], value)
            yield family
