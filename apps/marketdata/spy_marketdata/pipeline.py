"""Snapshot in, detector, flow and sink out: the one path live data and replays share, so a
replay of recorded snapshots gives the live run's events exactly.

The pipeline is the de-duplication point: a snapshot not strictly after the last one
processed (a clock that stood still, a replayed file with repeats) is dropped before anything
sees it, so a sink never gets a snapshot or an event twice. Its detector and flow state live
as long as the pipeline: across reconnects, never reset by them.

Each processed snapshot is one trace: a tick span around a detect span, inside which the sink
receives what the snapshot produced (so `HttpSink` spools each record with that trace).

Metrics (metrics.py): the findings open after each snapshot, and for each event the time from
the oldest tick the snapshot holds (the caller says when it arrived) to the event handed to
the sink: what the 50 ms p99 target is about.
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from datetime import datetime

from opentelemetry import trace

from spy_core.models import ChainSnapshot
from spy_core.telemetry_names import Attr, SpanName
from spy_detector import DetectorConfig, StreamingDetector, StreamSettings, StreamUpdate
from spy_detector.flow import PremiumFlowTracker

from .metrics import MarketDataMetrics
from .sinks import Sink

_log = logging.getLogger(__name__)
_tracer = trace.get_tracer("spy_marketdata")


@dataclass
class PipelineCounts:
    snapshots: int = 0
    events: int = 0
    dropped: int = 0  # snapshots not after the previous one


class Pipeline:
    def __init__(
        self,
        sink: Sink,
        config: DetectorConfig | None = None,
        settings: StreamSettings | None = None,
        metrics: MarketDataMetrics | None = None,
    ) -> None:
        self.sink = sink
        self.metrics = metrics or MarketDataMetrics()
        self.detector = StreamingDetector(config, settings)
        self.flow = PremiumFlowTracker()
        self.counts = PipelineCounts()
        self.last_time: datetime | None = None

    def process(self, snapshot: ChainSnapshot, ticked: float | None = None) -> StreamUpdate | None:
        """Analyse and publish one snapshot; None when it was dropped as not new. `ticked`:
        when (`time.perf_counter`) the oldest tick in it arrived, if one did."""
        if self.last_time is not None and snapshot.timestamp <= self.last_time:
            self.counts.dropped += 1
            _log.debug("dropped snapshot at %s: not after %s", snapshot.timestamp, self.last_time)
            return None
        self.last_time = snapshot.timestamp
        attributes = {Attr.UNDERLYING: snapshot.underlying}
        with (
            _tracer.start_as_current_span(SpanName.TICK, attributes=attributes),
            _tracer.start_as_current_span(SpanName.DETECT, attributes=attributes) as detect,
        ):
            update = self.detector.update(snapshot)
            flow = self.flow.update(snapshot)
            detect.set_attribute(Attr.ANOMALIES, len(update.events))
            self.counts.snapshots += 1
            self.sink.publish_snapshot(snapshot)
            if update.analysis is not None:
                self.sink.publish_analysis(snapshot, update.analysis, flow)
                self.metrics.open_anomalies.set(len(update.analysis.anomalies))
            if update.events:
                self.counts.events += len(update.events)
                self.sink.publish_events(update.events)
                if ticked is not None:
                    latency = time.perf_counter() - ticked
                    for _ in update.events:
                        self.metrics.tick_to_anomaly_seconds.observe(latency)
        return update
