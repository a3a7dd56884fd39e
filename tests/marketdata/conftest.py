"""Helpers for the market-data service tests: the service (with ib_async) against the
gateway simulator on a loopback port, waits on what the sink received, generous timeouts."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from typing import Any

from spy_core.models import AnomalyEvent, AnomalyEventType, Side
from spy_gateway_sim import GatewaySimulator
from spy_marketdata.service import MarketDataService
from spy_marketdata.settings import MarketDataSettings
from spy_marketdata.sinks import MemorySink, Sink

from ..gateway_sim.conftest import TIMEOUT, wait_until

CLIENT_ID = 21


@contextlib.asynccontextmanager
async def running_service(
    sim: GatewaySimulator, sink: Sink | None = None, **settings: Any
) -> AsyncIterator[MarketDataService]:
    """The service connected to `sim`, streaming; stopped (lines cancelled) on exit."""
    options = {"port": sim.port, "client_id": CLIENT_ID, "reconnect_initial": 0.2} | settings
    service = MarketDataService(MarketDataSettings(**options), sink or MemorySink())
    task = asyncio.get_running_loop().create_task(service.run())
    try:
        await wait_until(lambda: service.status.ready or task.done(), TIMEOUT)
        if task.done():
            task.result()
        yield service
    finally:
        service.stop()
        await asyncio.wait_for(task, TIMEOUT)


def events_for(
    sink: MemorySink, strike: float, side: Side, kind: AnomalyEventType
) -> list[AnomalyEvent]:
    return [
        e
        for e in sink.events
        if e.event is kind and e.anomaly.strike == strike and e.anomaly.side is side
    ]


def snapshot_count(sink: MemorySink) -> int:
    return len(sink.snapshots)
