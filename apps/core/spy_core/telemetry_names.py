"""The names of the telemetry the apps emit: spans, metrics and their attributes, in one place.

The market-data service and the backend emit these (OpenTelemetry); the Azure workbook and
alert queries (`infra/operations_queries.py`) read them. In Application Insights an internal
or client span lands in the `dependencies` table (`name` = span name), a server span in
`requests`, a metric in `customMetrics` (`name` = instrument name), and attributes in
`customDimensions`. A test runs the apps and fails when a query names anything they did not
emit, so a rename here is a rename everywhere.
"""

from __future__ import annotations

from enum import StrEnum


class SpanName(StrEnum):
    """One operation end to end: tick → detect → POST → store → broadcast."""

    TICK = "spy.marketdata.tick"
    """On-prem: one chain snapshot taken from the ticks and processed."""
    DETECT = "spy.marketdata.detect"
    """On-prem: the detector and flow over that snapshot; records it produces carry its
    trace context to the backend."""
    POST = "spy.sink.post"
    """On-prem: HttpSink's authenticated POST of one spooled batch (client span)."""
    STORE = "spy.backend.store"
    """Cloud: the batch written to the history store."""
    BROADCAST = "spy.backend.broadcast"
    """Cloud: one hub message sent to the viewers (Azure SignalR or the local hub)."""


class MetricName(StrEnum):
    ANOMALY_EVENTS = "spy.anomaly.events"
    """Counter (backend): new anomaly events stored; attributes SEVERITY, EVENT."""
    INGEST_LAG = "spy.ingest.lag"
    """Histogram, seconds (backend): receipt time minus the record's own time (on-prem →
    cloud); attribute RECORD_KIND."""
    INGEST_IDLE = "spy.ingest.idle"
    """Gauge, seconds (backend): since the last anomaly or market-state record arrived.
    Observed ONLY while `spy_core.market_hours.is_market_open` says the NYSE session is
    open, so a query over it is silent at night, at weekends and on holidays."""
    HUB_CLIENTS = "spy.hub.clients"
    """Gauge (backend): realtime viewers connected (or the configured estimate on Azure)."""
    HUB_MESSAGES = "spy.hub.messages"
    """Counter (backend): delivered messages as SignalR bills them (each copy to each viewer,
    each 2 KB unit); attribute TARGET."""
    TRADES = "spy.trader.trades"
    """Counter (backend): the trader's fills as they are stored (the trader posts
    them to /api/trading); attribute SIDE (BUY or SELL)."""
    PNL = "spy.trader.pnl"
    """Gauge, USD (backend): the trader's day P&L from its latest stored P&L point, realised
    + unrealised at mid."""


class Attr(StrEnum):
    RECORD_KIND = "spy.record.kind"
    SEVERITY = "spy.anomaly.severity"
    EVENT = "spy.anomaly.event"
    TARGET = "spy.hub.target"
    VIEWERS = "spy.hub.viewers"
    RECORDS = "spy.records"
    ANOMALIES = "spy.anomalies"
    UNDERLYING = "spy.underlying"
    SIDE = "spy.trade.side"
