"""Prometheus metrics of one app instance, in its own registry (not the process-global one),
so several apps in one process (tests, the local platform) never collide."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from spy_core import metric_names as names

_LATENCY_BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5)


class Metrics:
    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        r = self.registry
        self.requests = Counter(
            names.BACKEND_REQUESTS, "HTTP requests", ("method", "route", "status"), registry=r
        )
        self.request_seconds = Histogram(
            "spy_http_request_seconds",
            "HTTP request latency",
            ("method", "route"),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.ingested = Counter(
            names.BACKEND_INGESTED,
            "records posted, by kind and whether new",
            ("kind", "new"),
            registry=r,
        )
        self.storage_seconds = Histogram(
            "spy_storage_seconds",
            "storage call latency",
            ("op",),
            buckets=_LATENCY_BUCKETS,
            registry=r,
        )
        self.broadcasts = Counter(
            "spy_broadcast_messages", "hub messages sent, by target", ("target",), registry=r
        )
        self.delivered = Counter(
            "spy_broadcast_delivered",
            "messages delivered counting each copy to each viewer and each 2 KB unit",
            registry=r,
        )
        self.dropped = Counter(
            "spy_broadcast_dropped_events", "anomaly events not broadcast (budget)", registry=r
        )
        self.skipped_rows = Counter(
            "spy_stored_rows_skipped",
            "stored rows a read skipped because they no longer validate, by kind",
            ("kind",),
            registry=r,
        )
        self.viewers = Gauge("spy_hub_viewers", "realtime viewers connected", registry=r)

    @contextmanager
    def storage(self, op: str) -> Iterator[None]:
        start = time.perf_counter()
        try:
            yield
        finally:
            self.storage_seconds.labels(op).observe(time.perf_counter() - start)
