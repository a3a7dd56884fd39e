"""One trace end to end (issue 16), over the real HTTP hop: the market-data pipeline (tick →
detect) feeds the real `HttpSink`, which POSTs to the real backend app served by uvicorn on a
loopback port; the backend stores and broadcasts to a connected hub viewer. An in-memory
span exporter sees both sides (one process) and the test follows the parent links.

Then every name the workbook and the alert rules query is checked against what this run
(and the ingest-silence gauge at a session time) really emitted."""

from __future__ import annotations

import asyncio
import contextlib
import json
import re
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime

import httpx
import pytest
import websockets
from opentelemetry import metrics, trace
from opentelemetry.sdk.metrics import MeterProvider
from opentelemetry.sdk.metrics.export import InMemoryMetricReader
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from opentelemetry.trace import SpanKind

from spy_backend.app import create_app
from spy_backend.client import TRACEPARENT_FIELD, HttpSink
from spy_backend.serve import BackendServer
from spy_backend.signals import IngestWatch
from spy_core.synthetic import sample_chain
from spy_core.telemetry_names import MetricName, SpanName
from spy_detector import detect
from spy_marketdata.pipeline import Pipeline
from stacks.offline import read_stack_config
from stacks.operations import log_rules, workbook_queries

from .servers import free_port
from .trading_records import day_of_trading

pytestmark = pytest.mark.anyio


@pytest.fixture(scope="module")
def telemetry() -> tuple[InMemorySpanExporter, InMemoryMetricReader]:
    """Process-global providers can be set once: set them here unless a provider exists."""
    spans = InMemorySpanExporter()
    tracer_provider = trace.get_tracer_provider()
    if not isinstance(tracer_provider, TracerProvider):
        tracer_provider = TracerProvider()
        trace.set_tracer_provider(tracer_provider)
    tracer_provider.add_span_processor(SimpleSpanProcessor(spans))
    reader = InMemoryMetricReader()
    if isinstance(metrics.get_meter_provider(), MeterProvider):
        pytest.skip("a meter provider was configured before this module")
    metrics.set_meter_provider(MeterProvider(metric_readers=[reader]))
    return spans, reader


@contextlib.asynccontextmanager
async def backend(settings) -> AsyncIterator[tuple[str, str]]:
    """The real app under uvicorn on a free loopback port: (base URL, service token)."""
    app = create_app(settings)
    server = BackendServer(app, "127.0.0.1", free_port(), own_signals=False)
    serving = asyncio.create_task(server.serve())
    await server.wait_started()
    try:
        yield f"http://127.0.0.1:{server.bound_port}", app.state.services.token
    finally:
        server.should_exit = True
        await serving


@contextlib.asynccontextmanager
async def viewer(base: str) -> AsyncIterator[websockets.ClientConnection]:
    async with httpx.AsyncClient() as client:
        answer = (await client.post(f"{base}/hub/negotiate?negotiateVersion=1")).json()
    url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
    async with websockets.connect(url) as ws:
        await ws.send(json.dumps({"protocol": "json", "version": 1}) + "\x1e")
        assert await ws.recv() == "{}\x1e"
        yield ws


async def next_message(ws, target: str) -> dict:
    while True:
        for part in (await asyncio.wait_for(ws.recv(), 10)).split("\x1e"):
            if part and (message := json.loads(part)).get("target") == target:
                return message


async def broadcast_ids(ws, expected: set[str]) -> set[str]:
    """Event ids of every 'anomalies' message until all `expected` arrived: the hub may
    deliver one POST's events in several messages (its frame budget)."""
    seen: set[str] = set()
    while not expected <= seen:
        for part in (await asyncio.wait_for(ws.recv(), 10)).split("\x1e"):
            if part and (message := json.loads(part)).get("target") == "anomalies":
                seen |= {e["id"] for e in message["arguments"][0]["events"]}
    return seen


async def drained(sink: HttpSink, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while sink.backlog:
        assert time.monotonic() < deadline, "the sink did not deliver"
        await asyncio.sleep(0.02)


def anomalous_snapshot():
    snapshot, _ = sample_chain(seed=0, mispricings=5)  # the detector opens anomalies on it
    return snapshot


@pytest.fixture(scope="module", autouse=True)
def _compiled_detector() -> None:
    """Compile the detector's kernels first: a hub viewer that waits through compilation on a
    loaded machine outlives the hub's client timeout (it sends no pings)."""
    detect(anomalous_snapshot())


async def test_one_trace_from_tick_to_broadcast_across_the_http_hop(settings, tmp_path, telemetry):
    spans, _ = telemetry
    spans.clear()
    async with backend(settings) as (base, token), viewer(base) as ws:
        sink = HttpSink(base, token, tmp_path / "spool" / "backend.jsonl")
        update = Pipeline(sink).process(anomalous_snapshot())
        assert update is not None and update.events
        await drained(sink)
        expected = {e.id for e in update.events}
        seen = await broadcast_ids(ws, expected)
        await sink.aclose()
    assert seen == expected

    finished = spans.get_finished_spans()
    (tick,) = [s for s in finished if s.name == SpanName.TICK]
    in_trace = [s for s in finished if s.context.trace_id == tick.context.trace_id]
    by_name = {s.name: s for s in in_trace}
    server = next(s for s in in_trace if s.kind is SpanKind.SERVER)
    assert server.name == "POST /api/events"

    def parent_of(name: str) -> int:
        return by_name[name].parent.span_id

    assert parent_of(SpanName.DETECT) == tick.context.span_id
    assert parent_of(SpanName.POST) == by_name[SpanName.DETECT].context.span_id
    assert server.parent.span_id == by_name[SpanName.POST].context.span_id
    assert server.parent.is_remote  # joined through the traceparent header, not in-process
    assert parent_of(SpanName.STORE) == server.context.span_id
    broadcasts = {
        s.attributes["spy.hub.target"]: s for s in in_trace if s.name == SpanName.BROADCAST
    }
    assert set(broadcasts) == {"anomalies", "market"}  # the events and the snapshot's state
    assert all(s.parent.span_id == server.context.span_id for s in broadcasts.values())


async def test_a_post_retried_after_an_outage_keeps_the_trace(settings, tmp_path, telemetry):
    """The spool keeps each record's traceparent: the POST that finally succeeds (from a
    restarted sink, minutes later) is still a child of the detect span that made it."""
    spans, _ = telemetry
    spans.clear()
    spool = tmp_path / "spool" / "backend.jsonl"
    sink = HttpSink(f"http://127.0.0.1:{free_port()}", "unused", spool, backoff_initial=0.05)
    Pipeline(sink).process(anomalous_snapshot())
    await asyncio.sleep(0.2)  # attempts against nothing listening
    assert sink.backlog
    await sink.aclose(timeout=0.1)
    assert TRACEPARENT_FIELD in spool.read_text()
    (detect,) = [s for s in spans.get_finished_spans() if s.name == SpanName.DETECT]

    async with backend(settings) as (base, token):
        sink = HttpSink(base, token, spool)
        await drained(sink)
        await sink.aclose()
    (server,) = [s for s in spans.get_finished_spans() if s.kind is SpanKind.SERVER]
    assert server.context.trace_id == detect.context.trace_id
    delivered = [s for s in spans.get_finished_spans() if s.name == SpanName.POST][-1]
    assert delivered.parent.span_id == detect.context.span_id


def emitted_names(spans: InMemorySpanExporter, reader: InMemoryMetricReader) -> set[str]:
    names: set[str] = set()
    for span in spans.get_finished_spans():
        names.add(span.name)
        names.update(span.attributes or {})
    data = reader.get_metrics_data()
    for resource in data.resource_metrics if data else []:
        for scope in resource.scope_metrics:
            for metric in scope.metrics:
                names.add(metric.name)
                for point in metric.data.data_points:
                    names.update(point.attributes or {})
    return names


QUERIED = re.compile(r"\bspy\.[a-z_]+(?:\.[a-z_]+)*")


async def test_every_name_the_workbook_and_alerts_query_is_emitted(settings, tmp_path, telemetry):
    spans, reader = telemetry
    spans.clear()
    session_time = datetime(2026, 11, 27, 16, 0, tzinfo=UTC)  # Friday 11:00 ET, a session
    watch = IngestWatch(clock=lambda: session_time)
    async with backend(settings) as (base, token), viewer(base) as ws:
        sink = HttpSink(base, token, tmp_path / "spool" / "backend.jsonl")
        Pipeline(sink).process(anomalous_snapshot())
        trader = HttpSink(base, token, tmp_path / "spool" / "trading.jsonl", path="/api/trading")
        for record in day_of_trading(session_time):
            trader.publish(record)
        await drained(sink)
        await drained(trader)
        await next_message(ws, "anomalies")
        await sink.aclose()
        await trader.aclose()
        emitted = emitted_names(spans, reader)
    del watch

    queries = [query for _, query, _ in workbook_queries(read_stack_config("dev")).values()]
    queries += [rule.query for rule in log_rules(read_stack_config("dev"))]
    queried = {name for query in queries for name in QUERIED.findall(query)}
    assert set(MetricName) <= queried  # the pattern finds them all
    missing = queried - emitted
    assert not missing, f"queries name telemetry the apps do not emit: {sorted(missing)}"


def test_ingest_silence_is_observed_only_during_the_session():
    at = {"now": datetime(2026, 11, 27, 15, 0, tzinfo=UTC)}  # Friday 10:00 ET
    watch = IngestWatch(clock=lambda: at["now"])
    at["now"] = datetime(2026, 11, 27, 15, 10, tzinfo=UTC)
    assert watch.idle_seconds() == 600
    watch.saw()
    assert watch.idle_seconds() == 0
    for quiet in (
        datetime(2026, 11, 28, 16, 0, tzinfo=UTC),  # Saturday
        datetime(2026, 11, 26, 16, 0, tzinfo=UTC),  # Thanksgiving
        datetime(2026, 11, 27, 19, 0, tzinfo=UTC),  # after the 13:00 ET early close
        datetime(2026, 11, 30, 3, 0, tzinfo=UTC),  # Sunday night
    ):
        at["now"] = quiet
        assert watch.idle_seconds() is None, quiet
    # at the open the silence counts from the open, not from yesterday's last record
    at["now"] = datetime(2026, 11, 30, 14, 35, tzinfo=UTC)  # Monday 09:35 ET
    assert watch.idle_seconds() == 300
