"""Where results go: the `Sink` port and its local adapters.

A sink is called on the service's event loop, right after each snapshot is analysed, so it
must not block: an I/O-bound sink (`spy_backend.client.HttpSink`) queues and sends from
its own task. Calls come in this order per snapshot: `publish_snapshot`, `publish_analysis`,
then `publish_events` when there are events. Each snapshot is published once, in time order,
whatever reconnects happened (the pipeline guarantees it), so a sink needs no de-duplication.
"""

from __future__ import annotations

import json
import logging
import sys
from collections.abc import Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from pathlib import Path
from typing import IO, Protocol

from spy_core.market_hours import NEW_YORK
from spy_core.models import AnomalyEvent, ChainSnapshot
from spy_detector import ChainAnalysis
from spy_detector.flow import FlowUpdate

_log = logging.getLogger(__name__)


class Sink(Protocol):
    def publish_snapshot(self, snapshot: ChainSnapshot) -> None: ...

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None: ...

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None: ...

    def close(self) -> None: ...


class Output(StrEnum):
    """What a JSON-lines sink writes; anomaly events always."""

    SNAPSHOTS = "snapshots"
    ANALYSIS = "analysis"


def event_record(event: AnomalyEvent) -> dict:
    return {"type": "event", **event.model_dump(mode="json")}


def snapshot_record(snapshot: ChainSnapshot) -> dict:
    return {"type": "snapshot", **snapshot.model_dump(mode="json", exclude_none=True)}


def analysis_record(snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate) -> dict:
    return {
        "type": "analysis",
        "underlying": snapshot.underlying,
        **analysis.to_dict(),
        "flow": {"increment": flow.increment.to_dict(), "session": flow.session.to_dict()},
    }


class JsonLinesSink:
    """One JSON object a line (`"type"`: event, snapshot or analysis) to a stream or file."""

    def __init__(self, stream: IO[str], outputs: frozenset[Output] = frozenset()) -> None:
        self._stream = stream
        self._outputs = outputs

    @classmethod
    def open(cls, target: str, outputs: frozenset[Output] = frozenset()) -> JsonLinesSink:
        """`-` is stdout; anything else a file, appended to."""
        if target == "-":
            return cls(sys.stdout, outputs)
        return cls(Path(target).open("a", encoding="utf-8"), outputs)

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        if Output.SNAPSHOTS in self._outputs:
            self._write(snapshot_record(snapshot))

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        if Output.ANALYSIS in self._outputs:
            self._write(analysis_record(snapshot, analysis, flow))

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        for event in events:
            self._write(event_record(event))

    def _write(self, record: dict) -> None:
        self._stream.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")
        self._stream.flush()

    def close(self) -> None:
        if self._stream is not sys.stdout:
            self._stream.close()


@dataclass
class MemorySink:
    """Keeps everything it is given, for tests and in-process consumers."""

    snapshots: list[ChainSnapshot] = field(default_factory=list)
    analyses: list[tuple[ChainSnapshot, ChainAnalysis, FlowUpdate]] = field(default_factory=list)
    events: list[AnomalyEvent] = field(default_factory=list)
    closed: bool = False

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        self.snapshots.append(snapshot)

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        self.analyses.append((snapshot, analysis, flow))

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        self.events.extend(events)

    def close(self) -> None:
        self.closed = True


class TextSink:
    """Anomaly events as one readable line each, for a person watching a terminal:
    time (New York), event, contract, side, kind, bid/ask, fair, edge, score, severity, id."""

    def __init__(self, stream: IO[str]) -> None:
        self._stream = stream

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        """Snapshots are not shown."""

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        """Analyses are not shown."""

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        for event in events:
            self._stream.write(event_text(event) + "\n")
        self._stream.flush()

    def close(self) -> None:
        """The stream belongs to the caller."""


def event_text(event: AnomalyEvent) -> str:
    a = event.anomaly
    when = event.at.astimezone(NEW_YORK).strftime("%H:%M:%S")
    line = (
        f"{when} ET  {event.event.value:<9} {a.expiry:%Y-%m-%d} {a.strike:>7g}{a.right.value}  "
        f"{a.side.value:<4} {a.kind.value:<12} bid {a.bid:6.2f} ask {a.ask:6.2f} "
        f"fair {a.fair:7.3f} edge {a.edge:+.3f} score {a.score:5.1f} {a.severity.value:<6}"
    )
    if event.reason:
        line += f" ({event.reason})"
    return f"{line}  {event.id}"


class FanOut:
    """Several sinks as one; a sink that raises is logged and the others still get the call."""

    def __init__(self, *sinks: Sink) -> None:
        self.sinks = sinks

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        self._each("publish_snapshot", snapshot)

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        self._each("publish_analysis", snapshot, analysis, flow)

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        self._each("publish_events", events)

    def close(self) -> None:
        self._each("close")

    def _each(self, method: str, *args: object) -> None:
        for sink in self.sinks:
            try:
                getattr(sink, method)(*args)
            except Exception:
                _log.exception("sink %s failed in %s", type(sink).__name__, method)
