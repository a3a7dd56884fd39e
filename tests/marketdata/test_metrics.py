"""`GET /metrics` of the market-data service, in the names of spy_core.metric_names: the
calendar's session gauge, the gateway connection and the snapshots from its status; and, from
the service running against the gateway simulator and posting through a spooled `HttpSink`,
ticks, snapshot and tick → anomaly times, open findings and the bytes an outage spools."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from spy_backend.client import HttpSink
from spy_core import metric_names
from spy_core.models import AnomalyEventType, Side
from spy_marketdata.health import serve_health
from spy_marketdata.metrics import MarketDataMetrics, StatusCollector
from spy_marketdata.sinks import FanOut, MemorySink
from spy_marketdata.status import ServiceStatus, State

from ..backend.servers import TOKEN, BackendProcess
from ..gateway_sim.conftest import TIMEOUT, run, simulator, wait_until
from .conftest import events_for, running_service
from .test_service import otm_call


def _samples(collector: StatusCollector) -> dict[str, float]:
    return {s.name: s.value for family in collector.collect() for s in family.samples}


def test_market_open_follows_the_exchange_calendar():
    status = ServiceStatus(state=State.STREAMING, connected=True, snapshots=3)
    at = {
        datetime(2026, 11, 30, 15, 0, tzinfo=UTC): 1.0,  # Monday 10:00 ET
        datetime(2026, 11, 26, 15, 0, tzinfo=UTC): 0.0,  # Thanksgiving
        datetime(2026, 11, 27, 19, 0, tzinfo=UTC): 0.0,  # 14:00 ET after the 13:00 early close
    }
    for now, expected in at.items():
        samples = _samples(StatusCollector(lambda: status, now=lambda now=now: now))
        assert samples[metric_names.MARKET_OPEN] == expected, now
        assert samples[metric_names.GATEWAY_CONNECTED] == 1.0
        assert samples[f"{metric_names.SNAPSHOTS}_total"] == 3


async def scrape(server: asyncio.Server) -> tuple[str, dict[str, float]]:
    """GET /metrics: the response head, and each sample by name (labels dropped)."""
    port = server.sockets[0].getsockname()[1]
    reader, writer = await asyncio.open_connection("127.0.0.1", port)
    writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
    await writer.drain()
    response = (await reader.read()).decode()
    writer.close()
    head, _, body = response.partition("\r\n\r\n")
    samples = {
        sample.name: sample.value
        for family in text_string_to_metric_families(body)
        for sample in family.samples
        if "le" not in sample.labels
    }
    return head, samples


def test_metrics_endpoint_serves_the_exposition_format():
    status = ServiceStatus(connected=False, snapshots=0)

    async def fetch() -> tuple[str, dict[str, float]]:
        server = await serve_health(lambda: status, MarketDataMetrics(lambda: status).registry)
        try:
            return await scrape(server)
        finally:
            server.close()

    head, samples = asyncio.run(fetch())
    assert head.startswith("HTTP/1.1 200") and "text/plain" in head
    assert samples[f"{metric_names.TICKS}_total"] == 0
    assert samples[f"{metric_names.TICK_TO_ANOMALY_SECONDS}_count"] == 0
    assert samples[metric_names.SPOOL_BYTES] == 0


def test_the_running_service_counts_times_and_spools_what_it_does(tmp_path):
    """Against the simulator, the backend down at first: ticks counted, snapshots timed, an
    injected mispricing's event timed from its tick and counted open, and the records the
    outage holds back in the spool gauge until the backend comes up and takes them."""
    backend = BackendProcess(tmp_path / "backend")  # not started yet: the backend is down

    async def body():
        live = MemorySink()
        sink = HttpSink(backend.url, TOKEN, tmp_path / "spool" / "backend.jsonl", backoff_max=0.5)
        async with (
            simulator(mispricing_rate=0.0) as sim,
            running_service(sim, FanOut(live, sink)) as service,
        ):
            service.metrics.spool_bytes.set_function(lambda: sink.spooled_bytes)
            server = await serve_health(lambda: service.status, service.metrics.registry)
            try:
                await wait_until(lambda: len(live.snapshots) >= 3)
                key = otm_call(sim)
                sim.inject_mispricing(key, Side.SELL, 0.3, lifetime=90)
                await wait_until(
                    lambda: events_for(live, key[1], Side.SELL, AnomalyEventType.OPENED)
                )
                _, down = await scrape(server)
                assert down[f"{metric_names.TICKS}_total"] > len(live.snapshots)
                assert down[f"{metric_names.SNAPSHOTS}_total"] >= 3
                assert down[f"{metric_names.SNAPSHOT_SECONDS}_count"] >= 3
                assert 0 < down[f"{metric_names.SNAPSHOT_SECONDS}_sum"] < 1
                latency = down[f"{metric_names.TICK_TO_ANOMALY_SECONDS}_count"]
                assert latency >= 1
                assert 0 < down[f"{metric_names.TICK_TO_ANOMALY_SECONDS}_sum"] / latency < 1
                assert down[metric_names.OPEN_ANOMALIES] >= 1
                assert down[metric_names.SPOOL_BYTES] > 0
                assert down[metric_names.SPOOL_BYTES] == sink.spooled_bytes
                await asyncio.to_thread(backend.start)
                deadline = asyncio.get_running_loop().time() + TIMEOUT
                while (await scrape(server))[1][metric_names.SPOOL_BYTES] > 0:
                    assert asyncio.get_running_loop().time() < deadline, "the spool never drained"
                    await asyncio.sleep(0.05)
                assert sink.sent > 0
            finally:
                server.close()
        await sink.aclose()

    try:
        run(body())
    finally:
        backend.stop()
