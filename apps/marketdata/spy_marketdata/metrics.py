"""Prometheus `/metrics` of the market-data service, read from its ServiceStatus at scrape
time: whether the market is in session (the exchange calendar's answer, so alerts can be
calendar-aware), whether the gateway session is up, and the snapshots published. The names are
the contract in spy_core.metric_names (the k3s alert rules and dashboards read them)."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime

from prometheus_client import CollectorRegistry, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, Metric

from spy_core.market_hours import is_market_open

from .status import ServiceStatus


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
            "spy_market_open",
            "1 during a regular NYSE session (exchange calendar)",
            value=1.0 if is_market_open(self._now()) else 0.0,
        )
        yield GaugeMetricFamily(
            "spy_marketdata_gateway_connected",
            "1 while the IB Gateway API session is up",
            value=1.0 if current.connected else 0.0,
        )
        yield CounterMetricFamily(
            "spy_marketdata_snapshots", "chain snapshots published", value=current.snapshots
        )


def render(status: Callable[[], ServiceStatus]) -> bytes:
    """The text exposition format of the status's metrics."""
    registry = CollectorRegistry(auto_describe=False)
    registry.register(StatusCollector(status))
    return generate_latest(registry)
