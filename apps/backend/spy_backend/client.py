"""`HttpSink`: the market-data service's sink that posts to the backend.

It implements `spy_marketdata.sinks.Sink`. Calls arrive on the service's event loop and must
not block, so a call only appends the record to the on-disk spool (a buffered write) and
wakes the sender task, which posts batches with the service token, retries with exponential
backoff and jitter while the backend is away, and acknowledges records in the spool only
when the backend answered 2xx. A restart replays the unacknowledged tail in order; the
backend's unique keys make a record sent twice count once.

Tracing: a record keeps the W3C trace context it was produced in (the market-data span
around detect) in the spool, beside the record, so a POST retried minutes later still joins
that trace; the POST's client span is a child of the batch's first anomaly event (else its
first record), linked to the others, and sends `traceparent`. The field is stripped before
the body goes out.

Imports only httpx, the OpenTelemetry API and the shared models, so the on-prem image does
not need the server's dependencies.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import random
import time
from collections.abc import Sequence
from pathlib import Path

import httpx
from opentelemetry import trace
from opentelemetry.trace import Link, SpanKind
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator
from pydantic import BaseModel

from spy_core.models import AnomalyEvent, ChainSnapshot
from spy_core.telemetry_names import Attr, SpanName
from spy_detector import ChainAnalysis
from spy_detector.flow import FlowUpdate

from .spool import Spool

_log = logging.getLogger(__name__)

_W3C = TraceContextTextMapPropagator()
_tracer = trace.get_tracer("spy_backend.client")
TRACEPARENT_FIELD = "_traceparent"
"""The spooled record's trace context (never sent as a record field)."""
_MAX_LINKS = 32

# Statuses worth retrying: the backend or something in front of it is not ready yet.
_RETRY = {401, 403, 408, 425, 429, 500, 502, 503, 504}


class HttpSink:
    def __init__(
        self,
        base_url: str,
        token: str,
        spool_path: Path,
        *,
        batch_max: int = 500,
        backoff_initial: float = 0.25,
        backoff_max: float = 30.0,
        send_snapshots: bool = True,
        send_analyses: bool = True,
        analysis_interval: float = 1.0,
        ladder_interval: float | None = 0.5,
        client: httpx.AsyncClient | None = None,
        path: str = "/api/events",
    ) -> None:
        self._url = base_url.rstrip("/") + path
        self._headers = {"Authorization": f"Bearer {token}"}
        self._spool = Spool(spool_path)
        self._batch_max = self._configured_batch = batch_max
        self._backoff = (backoff_initial, backoff_max)
        self._send_snapshots = send_snapshots
        self._send_analyses = send_analyses
        # Market state (snapshot and analysis summaries) is shown and broadcast at most once
        # a second: a summary per snapshot would queue behind itself on a busy tape and
        # delay the events. Events are never thinned.
        self._analysis_interval = analysis_interval
        self._last_analysis = -float("inf")
        self._client = client or httpx.AsyncClient(timeout=10.0)
        # The desk's ladder/smile quotes: latest wins, never spooled (stale quotes are worth
        # nothing after a restart); None turns them off.
        self._ladder_url = base_url.rstrip("/") + "/api/ladder/updates"
        self._ladder_interval = ladder_interval
        self._last_ladder = -float("inf")
        self._ladder_next: dict | None = None
        self._ladder_task: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._closing = False
        self.sent = 0
        self._task = asyncio.get_running_loop().create_task(self._run(), name="http-sink")
        if len(self._spool):
            _log.info("backend spool: replaying %d unsent records", len(self._spool))
            self._wake.set()

    @property
    def backlog(self) -> int:
        """Records not yet acknowledged by the backend."""
        return len(self._spool)

    @property
    def spooled_bytes(self) -> int:
        """Bytes of those records in the spool (the `spy_sink_spool_bytes` gauge)."""
        return self._spool.bytes

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        if (
            self._send_snapshots
            and time.monotonic() - self._last_analysis >= self._analysis_interval
        ):
            self._add(snapshot_summary(snapshot))

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        now = time.monotonic()
        if self._send_analyses and now - self._last_analysis >= self._analysis_interval:
            self._last_analysis = now
            self._add(analysis_summary(snapshot, analysis, flow))
        if self._ladder_interval is not None and now - self._last_ladder >= self._ladder_interval:
            self._last_ladder = now
            self._post_ladder(snapshot)

    def _post_ladder(self, snapshot: ChainSnapshot) -> None:
        from .ladder import build_ladder

        try:
            ladder = build_ladder(snapshot)
        except Exception:
            _log.exception("ladder: could not build")
            return
        if ladder is None:
            return
        self._ladder_next = ladder
        if self._ladder_task is None or self._ladder_task.done():
            self._ladder_task = asyncio.get_running_loop().create_task(self._send_ladders())

    async def _send_ladders(self) -> None:
        while (ladder := self._ladder_next) is not None:
            self._ladder_next = None
            try:
                response = await self._client.post(
                    self._ladder_url, json=ladder, headers=self._headers
                )
                if not response.is_success:
                    _log.debug("ladder post answered %d", response.status_code)
            except httpx.HTTPError as problem:
                _log.debug("ladder post failed: %s", problem)

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        for event in events:
            self._add({"type": "event", **event.model_dump(mode="json")})

    def publish(self, record: BaseModel) -> None:
        """Any typed record (the trader's signals, decisions, orders, fills, P&L)."""
        self._add(record.model_dump(mode="json"))

    def _add(self, record: dict) -> None:
        carrier: dict[str, str] = {}
        _W3C.inject(carrier)
        if "traceparent" in carrier:
            record = {**record, TRACEPARENT_FIELD: carrier["traceparent"]}
        self._spool.append(record)
        self._wake.set()

    def close(self) -> None:
        """Sink protocol (synchronous): stop after what can be sent now; use `aclose` to wait."""
        self._closing = True
        self._wake.set()

    async def aclose(self, timeout: float = 5.0) -> None:
        """Send what is spooled for up to `timeout` seconds; the rest waits in the spool."""
        self.close()
        if self._ladder_task is not None:
            self._ladder_task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._ladder_task
        try:
            await asyncio.wait_for(asyncio.shield(self._task), timeout)
        except TimeoutError:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._client.aclose()
        self._spool.close()

    async def _run(self) -> None:
        delay = self._backoff[0]
        while True:
            if not len(self._spool):
                if self._closing:
                    return
                await self._wake.wait()
                self._wake.clear()
                continue
            if await self._send_batch():
                delay = self._backoff[0]
                continue
            if self._closing:
                return
            await asyncio.sleep(delay * random.uniform(0.8, 1.2))
            delay = min(delay * 2, self._backoff[1])

    async def _send_batch(self) -> bool:
        """Post the oldest records; True when the backend took them (or kept them apart)."""
        lines = self._spool.peek(self._batch_max)
        try:
            response = await self._post(lines)
        except httpx.HTTPError as problem:
            _log.warning("backend unreachable (%s); %d records spooled", problem, self.backlog)
            return False
        if response.is_success:
            self._spool.ack(len(lines))
            self.sent += len(lines)
            return True
        if response.status_code == 413 and len(lines) > 1:
            self._batch_max = max(1, len(lines) // 2)
            return True
        if response.status_code in _RETRY:
            _log.warning(
                "backend answered %d; %d records spooled", response.status_code, self.backlog
            )
            return False
        if len(lines) > 1:
            # Some record is invalid: send one at a time so only that one is set aside.
            self._batch_max = 1
            return True
        _log.error("backend refused a record (%d): kept in the rejected file", response.status_code)
        self._spool.reject(lines[0])
        self._batch_max = self._configured_batch
        return True

    async def _post(self, lines: list[str]) -> httpx.Response:
        records, parents, events = _unwrap(lines)
        body = '{"records":[' + ",".join(records) + "]}"
        links = [Link(trace.get_current_span(p).get_span_context()) for p in parents[1:_MAX_LINKS]]
        with _tracer.start_as_current_span(
            SpanName.POST,
            context=parents[0] if parents else None,
            kind=SpanKind.CLIENT,
            links=links,
            attributes={Attr.RECORDS: len(records), Attr.ANOMALIES: events},
        ) as span:
            propagation: dict[str, str] = {}
            _W3C.inject(propagation)
            response = await self._client.post(
                self._url,
                content=body.encode(),
                headers=self._headers | {"content-type": "application/json"} | propagation,
            )
            span.set_attribute("http.response.status_code", response.status_code)
            return response


def _unwrap(lines: list[str]):
    """The records as sent, the trace contexts they were spooled with (anomaly events'
    first), and how many are anomaly events."""
    records, event_parents, other_parents, events = [], [], [], 0
    for line in lines:
        is_event = line.startswith('{"type":"event"')
        events += is_event
        if f'"{TRACEPARENT_FIELD}"' not in line:
            records.append(line)
            continue
        record = json.loads(line)
        parent = _W3C.extract({"traceparent": record.pop(TRACEPARENT_FIELD)})
        (event_parents if is_event else other_parents).append(parent)
        records.append(json.dumps(record, separators=(",", ":"), allow_nan=False))
    return records, event_parents + other_parents, events


def snapshot_summary(snapshot: ChainSnapshot) -> dict:
    return {
        "type": "snapshot",
        "underlying": snapshot.underlying,
        "timestamp": snapshot.timestamp.isoformat(),
        "spot": snapshot.spot,
        "quotes": len(snapshot.quotes),
        "expiries": sorted({q.expiry.isoformat() for q in snapshot.quotes}),
    }


def analysis_summary(snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate) -> dict:
    return {
        "type": "analysis",
        "underlying": snapshot.underlying,
        "timestamp": snapshot.timestamp.isoformat(),
        "spot": analysis.spot,
        "open_anomalies": len(analysis.anomalies),
        "expiries": [e.to_dict() for e in analysis.expiries],
        "gex": None if analysis.gex is None else analysis.gex.to_dict(),
        "flow": {"increment": flow.increment.to_dict(), "session": flow.session.to_dict()},
        "excluded": analysis.excluded,
        "warnings": [warning["kind"] for warning in analysis.warnings],
    }
