"""Prometheus `/metrics` of the market-data service, in a registry of its own (so the services
of one process, tests and the local platform, never collide). Two sources:

- what the service and its pipeline count and time as it happens: ticks received, the time to
  assemble a snapshot, tick → anomaly latency, the findings open, and the bytes spooled for the
  backend but not yet acknowledged (read from the sink at scrape time);
- what is read from its ServiceStatus at scrape time: whether the market is in session (the
  exchange calendar's answer, so alerts can be calendar-aware), whether the gateway session is
  up, and the snapshots published.

The names are the contract in spy_core.metric_names (the k3s alert rules and dashboards read
them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spy_core import metric_names as names
from spy_core.market_hours import is_market_open

from .status import ServiceStatus

SNAPSHOT_BUCKETS = (5e-5, 1e-4, 2.5e-4, 5e-4, 1e-3, 2.5e-3, 5e-3, 0.01, 0.025, 0.05, 0.1)
"""Seconds to assemble a snapshot of ~100 lines: tenths of a millisecond, until the loop is
starved."""
TICK_TO_ANOMALY_BUCKETS = (
    *(0.001, 0.0025, 0.005, 0.0075, 0.01, 0.015, 0.02, 0.03, 0.04, 0.05),
    *(0.075, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0),
)
"""Seconds from a tick to the event it caused: dense up to the 50 ms p99 target (a bound at
exactly 0.05, which the TickToAnomalyLatencyHigh alert compares with), coarse beyond."""


def spool_gauge(registry: CollectorRegistry) -> Gauge:
    """The spool gauge every app that reports through a spooled `HttpSink` exports (the
    SpoolGrowing alert reads it): 0 until `set_function` names the sink's `spooled_bytes`."""
    return Gauge(
        names.SPOOL_BYTES,
        "Bytes spooled on disk for the backend and not acknowledged by it yet",
        registry=registry,
    )


class StatusCollector:
    def __init__(
        self,
        status: Callable[[], ServiceStatus],
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self._status, self._now = status, now

    def collect(self) -> Iterator[Metric]:
        current = self._status()
        yield GaugeMetricFamily(
            names.MARKET_OPEN,
            "1 during a regular NYSE session (exchange calendar)",
            value=1.0 if is_market_open(self._now()) else 0.0,
        )
        yield GaugeMetricFamily(
            names.GATEWAY_CONNECTED,
            "1 while the IB Gateway API session is up",
            value=1.0 if current.connected else 0.0,
        )
        yield CounterMetricFamily(
            names.SNAPSHOTS, "chain snapshots published", value=current.snapshots
        )


class MarketDataMetrics:
    """The service's instruments; with `status`, also the status-derived metrics."""

    def __init__(
        self,
        status: Callable[[], ServiceStatus] | None = None,
        now: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        self.registry = r = CollectorRegistry()
        if status is not None:
            r.register(StatusCollector(status, now))
        self.ticks = Counter(names.TICKS, "Market-data updates received", registry=r)
        self.snapshot_seconds = Histogram(
            names.SNAPSHOT_SECONDS,
            "Time to assemble one chain snapshot from the book",
            buckets=SNAPSHOT_BUCKETS,
            registry=r,
        )
        self.tick_to_anomaly_seconds = Histogram(
            names.TICK_TO_ANOMALY_SECONDS,
            "From the oldest tick a snapshot holds to each anomaly event it produced handed to "
            "the sinks",
            buckets=TICK_TO_ANOMALY_BUCKETS,
            registry=r,
        )
        self.open_anomalies = Gauge(
            names.OPEN_ANOMALIES, "Findings open after the last snapshot", registry=r
        )
        self.spool_bytes = spool_gauge(r)
