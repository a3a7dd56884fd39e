"""`GET /metrics` of the market-data service: the calendar's session gauge, the gateway
connection and the snapshots, in the names of spy_core.metric_names."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime

from prometheus_client.parser import text_string_to_metric_families

from spy_core import metric_names
from spy_marketdata.health import serve_health
from spy_marketdata.metrics import StatusCollector
from spy_marketdata.status import ServiceStatus, State


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


def test_metrics_endpoint_serves_the_exposition_format():
    status = ServiceStatus(connected=False, snapshots=0)

    async def fetch() -> str:
        server = await serve_health(lambda: status)
        port = server.sockets[0].getsockname()[1]
        try:
            reader, writer = await asyncio.open_connection("127.0.0.1", port)
            writer.write(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n")
            await writer.drain()
            response = (await reader.read()).decode()
            writer.close()
            return response
        finally:
            server.close()

    head, _, body = asyncio.run(fetch()).partition("\r\n\r\n")
    assert head.startswith("HTTP/1.1 200") and "text/plain" in head
    names = {f.name for f in text_string_to_metric_families(body)}
    assert names == {
        metric_names.MARKET_OPEN,
        metric_names.GATEWAY_CONNECTED,
        metric_names.SNAPSHOTS,
    }
