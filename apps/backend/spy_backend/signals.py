"""The OpenTelemetry spans and metrics the backend emits for operations (the workbook and the
alert rules in `stacks/operations.py` read them; names from `spy_core.telemetry_names`).

Instruments come from the global providers, so they are no-ops until the process entry point
configures telemetry (`spy_backend.telemetry`), and they are created once per process: the
observable gauges ask every live `IngestWatch` and `Broadcaster` publisher (weakly held, as
tests build many apps in one process).
"""

from __future__ import annotations

import weakref
from collections.abc import Callable, Iterable, Sequence
from datetime import UTC, datetime
from typing import Any, Protocol

from opentelemetry import context, metrics, trace
from opentelemetry.metrics import CallbackOptions, Observation
from opentelemetry.trace import Link, SpanKind

from spy_core.market_hours import NEW_YORK, is_market_open, session
from spy_core.telemetry_names import Attr, MetricName, SpanName

tracer = trace.get_tracer("spy_backend")
_meter = metrics.get_meter("spy_backend")
_anomaly_events = _meter.create_counter(
    MetricName.ANOMALY_EVENTS, unit="{event}", description="new anomaly events stored"
)
_ingest_lag = _meter.create_histogram(
    MetricName.INGEST_LAG, unit="s", description="receipt time minus the record's own time"
)
_hub_messages = _meter.create_counter(
    MetricName.HUB_MESSAGES, unit="{message}", description="hub messages delivered, as billed"
)
_trades = _meter.create_counter(
    MetricName.TRADES, unit="{fill}", description="the trader's fills stored"
)
_pnl = _meter.create_gauge(
    MetricName.PNL, unit="USD", description="the trader's day P&L, realised + unrealised at mid"
)


class IngestWatch:
    """When market data last arrived, for the calendar-aware silence metric."""

    def __init__(self, clock: Callable[[], datetime] = lambda: datetime.now(UTC)) -> None:
        self._clock = clock
        self._last = clock()  # a fresh process counts from its start
        _watches.add(self)

    def saw(self) -> None:
        self._last = self._clock()

    def idle_seconds(self) -> float | None:
        """Seconds without market data, counted from the session open at the earliest; None
        outside the NYSE session (nights, weekends, holidays: nothing is expected)."""
        now = self._clock()
        if not is_market_open(now):
            return None
        today = session(now.astimezone(NEW_YORK).date())
        since = max(self._last, today.open) if today is not None else self._last
        return max((now - since).total_seconds(), 0.0)


class _Viewers(Protocol):
    def viewers(self) -> int: ...


_watches: weakref.WeakSet[IngestWatch] = weakref.WeakSet()
_publishers: weakref.WeakSet[Any] = weakref.WeakSet()


def watch_viewers(publisher: _Viewers) -> None:
    _publishers.add(publisher)


def _idle(_: CallbackOptions) -> Iterable[Observation]:
    for watch in list(_watches):
        if (idle := watch.idle_seconds()) is not None:
            yield Observation(idle)


def _clients(_: CallbackOptions) -> Iterable[Observation]:
    for publisher in list(_publishers):
        yield Observation(publisher.viewers())


_meter.create_observable_gauge(
    MetricName.INGEST_IDLE,
    callbacks=[_idle],
    unit="s",
    description="seconds since market data last arrived; observed only during the session",
)
_meter.create_observable_gauge(
    MetricName.HUB_CLIENTS, callbacks=[_clients], description="realtime viewers"
)


def record_ingest(
    kinds_and_times: Sequence[tuple[str, datetime]], new_events: Sequence[tuple[str, str]]
) -> None:
    """`kinds_and_times`: each posted record's kind and own time; `new_events`: (severity,
    event type) of each anomaly event stored for the first time."""
    now = datetime.now(UTC)
    for kind, at in kinds_and_times:
        _ingest_lag.record(max((now - at).total_seconds(), 0.0), {Attr.RECORD_KIND: kind})
    for severity, event in new_events:
        _anomaly_events.add(1, {Attr.SEVERITY: severity, Attr.EVENT: event})


def record_trading(fills: Sequence[str], pnl: Sequence[float]) -> None:
    """`fills`: the action (BUY, SELL) of each fill stored for the first time; `pnl`: each
    new P&L point's realised + unrealised (mid) dollars, in order."""
    for action in fills:
        _trades.add(1, {Attr.SIDE: action})
    for dollars in pnl:
        _pnl.set(dollars)


def record_delivered(target: str, messages: int) -> None:
    _hub_messages.add(messages, {Attr.TARGET: target})


def current_context() -> context.Context:
    return context.get_current()


def broadcast_span(target: str, contexts: Sequence[context.Context], viewers: int):
    """The span of one hub message: a child of the first record's trace, linked to the
    others it carries (several events from several snapshots can share one message)."""
    links = [
        Link(span.get_span_context())
        for ctx in contexts[1:]
        if (span := trace.get_current_span(ctx)).get_span_context().is_valid
    ]
    return tracer.start_as_current_span(
        SpanName.BROADCAST,
        context=contexts[0] if contexts else None,
        kind=SpanKind.PRODUCER,
        links=links,
        attributes={Attr.TARGET: target, Attr.VIEWERS: viewers},
    )
