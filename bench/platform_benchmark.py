"""Tick → anomaly on a SignalR client, across the local platform:
`python -m bench.platform_benchmark [--events N] [--json]`.

The gateway simulator (own process) → the market-data service on ib_async (this process) →
its HttpSink → the backend (own process: uvicorn, storage, the local hub) → a SignalR client
(negotiate + WebSocket + JSON hub protocol, the wire the JS client speaks; this process).
Time from the service receiving the tick batch that carries an injected $0.30 mispricing to
the client receiving the `anomalies` message that announces it; p50/p99 over N events, one
at a time, each after the previous one's CLEARED reached the client. The client keeps its
connection alive as the JS client does (a ping every 15 s; the hub closes a silent client
after 30 s) and the run stops if the hub closes it anyway. A miss is an injection not on the
client within 10 s; `missed_after_sink` counts those the service did announce.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import tempfile
import time
from pathlib import Path

from bench.marketdata_benchmark import (
    LIFETIME,
    _Simulator,
    _time_arrivals,
    _wait,
    already_open,
    latency_figures,
    next_injection,
)
from bench.signalr import RS, hub_connection
from spy_core.models import AnomalyEventType
from tests.backend.servers import TOKEN, BackendProcess

ANNOUNCING = {"opened", "escalated"}
ANNOUNCE_TIMEOUT = 10.0  # an injection not on the client by then is counted as missed
CLEAR_TIMEOUT = 5.0


async def _hub_client(base: str, seen: dict, cleared: set, ready: asyncio.Event) -> None:
    """Record when each (strike, right, side) is first announced to this client, and which
    were cleared. Raises if the hub closes the connection: every later event would be
    'missed' for a reason that has nothing to do with the platform."""
    async with hub_connection(base) as ws:
        ready.set()
        async for frame in ws:
            now = time.perf_counter()
            for part in frame.split(RS):
                message = json.loads(part) if part else {}
                if message.get("type") == 7:
                    raise RuntimeError(f"the hub closed the benchmark's connection: {message}")
                if message.get("target") != "anomalies":
                    continue
                for event in message["arguments"][0]["events"]:
                    a = event["anomaly"]
                    key = (a["strike"], a["right"], a["side"])
                    if event["event"] in ANNOUNCING:
                        seen.setdefault(key, now)
                    elif event["event"] == "cleared":
                        cleared.add(key)
    raise RuntimeError("the hub closed the benchmark's connection")


async def _latency(backend_url: str, spool: Path, events: int) -> dict:
    from spy_backend.client import HttpSink
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.settings import MarketDataSettings

    async with _Simulator() as sim:
        sink = HttpSink(backend_url, TOKEN, spool)
        # What the service handed to the HttpSink, to tell a finding the detector never
        # announced from one lost or late between the sink and the client.
        published: set = set()
        publish = sink.publish_events

        def on_events(found) -> None:
            for event in found:
                if event.event in (AnomalyEventType.OPENED, AnomalyEventType.ESCALATED):
                    a = event.anomaly
                    published.add((a.strike, a.right.value, a.side.value))
            publish(found)

        sink.publish_events = on_events
        service = MarketDataService(MarketDataSettings(port=sim.port, client_id=51), sink)
        seen: dict = {}
        cleared: set = set()
        ready = asyncio.Event()
        client = asyncio.create_task(_hub_client(backend_url, seen, cleared, ready))
        await asyncio.wait_for(ready.wait(), 30)
        target = _time_arrivals(service)

        async def until(condition, timeout: float) -> bool:
            found = await _wait(lambda: condition() or client.done(), timeout)
            if client.done():
                client.result()  # the client's failure, raised here
            return found and condition()

        task = asyncio.get_running_loop().create_task(service.run())
        await _wait(lambda: service.status.ready, 60)
        latencies, missed, lost, was_open, unseen = [], 0, 0, 0, 0
        for i in range(events):
            key, side, sub_id = next_injection(service, i)
            announced = (key[1], key[2].value, side.value)
            seen.pop(announced, None)
            cleared.discard(announced)
            published.discard(announced)
            target.clear()
            target.update(sub_id=sub_id, side=side)
            was_already_open = already_open(service, key, side)
            target["fair"] = await sim.inject(key, side, 0.3, LIFETIME)
            found = await until(lambda a=announced: a in seen, ANNOUNCE_TIMEOUT)
            if found and "arrived" in target:
                latencies.append((seen[announced] - target["arrived"]) * 1000)
            elif was_already_open:
                was_open += 1  # the same finding, still open: rightly not announced again
            elif found:
                unseen += 1  # announced, but no single update carried the whole move
            else:
                missed += 1
                lost += announced in published  # announced by the service, not on the client
            # One at a time: the next injection after this one's CLEARED reached the client.
            await until(lambda a=announced: a in cleared, CLEAR_TIMEOUT)
        service.stop()
        await task
        await sink.aclose()
        client.cancel()
    latencies.sort()
    return {
        "events": len(latencies),
        "injected": events,
        "missed": missed,
        "missed_after_sink": lost,
        "already_open": was_open,
        "announced_without_arrival": unseen,
        **latency_figures(latencies),
    }


def run(events: int = 500) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        backend = BackendProcess(Path(folder), SPY_LOG_LEVEL="ERROR")
        with backend:
            return asyncio.run(_latency(backend.url, Path(folder) / "spool.jsonl", events))


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--events", type=int, default=500)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    result = run(args.events)
    if args.json:
        print(json.dumps(result, indent=2))
    else:
        print(f"machine: {os.cpu_count()} CPU, Python {platform.python_version()}")
        print(
            f"simulator tick -> anomaly on a SignalR client ({result['events']} of "
            f"{result['injected']} injections timed; {result['missed']} missed, of which "
            f"{result['missed_after_sink']} announced by the service; "
            f"{result['already_open']} already open, {result['announced_without_arrival']} "
            f"announced with no arrival seen): p50 {result['p50_ms']:.1f} ms, "
            f"p90 {result['p90_ms']:.1f} ms, p99 {result['p99_ms']:.1f} ms, "
            f"max {result['max_ms']:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
