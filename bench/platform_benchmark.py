"""Tick → anomaly on a SignalR client, across the local platform:
`python -m bench.platform_benchmark [--events N] [--json]`.

The gateway simulator (own process) → the market-data service on ib_async (this process) →
its HttpSink → the backend (own process: uvicorn, storage, the local hub) → a SignalR client
(negotiate + WebSocket + JSON hub protocol, the wire the JS client speaks; this process).
Time from the service receiving the tick batch that carries an injected $0.30 mispricing to
the client receiving the `anomalies` message that announces it; p50/p99 over N events.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import platform
import statistics
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from bench.marketdata_benchmark import LIFETIME, _Simulator, _time_arrivals, _wait
from spy_core.models import Side
from tests.backend.servers import TOKEN, BackendProcess

RS = "\x1e"
ANNOUNCING = {"opened", "escalated"}


async def _hub_client(base: str, seen: dict, ready: asyncio.Event) -> None:
    """Record when each (strike, right, side) is first announced to this client."""
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{base}/hub/negotiate?negotiateVersion=1")).json()
    url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"protocol": "json", "version": 1}) + RS)
        await ws.recv()
        ready.set()
        async for frame in ws:
            now = time.perf_counter()
            for part in frame.split(RS):
                message = json.loads(part) if part else {}
                if message.get("target") != "anomalies":
                    continue
                for event in message["arguments"][0]["events"]:
                    if event["event"] in ANNOUNCING:
                        a = event["anomaly"]
                        seen.setdefault((a["strike"], a["right"], a["side"]), now)


async def _latency(backend_url: str, spool: Path, events: int) -> dict:
    from spy_backend.client import HttpSink
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.settings import MarketDataSettings

    async with _Simulator() as sim:
        sink = HttpSink(backend_url, TOKEN, spool)
        service = MarketDataService(MarketDataSettings(port=sim.port, client_id=51), sink)
        seen: dict = {}
        ready = asyncio.Event()
        client = asyncio.create_task(_hub_client(backend_url, seen, ready))
        await asyncio.wait_for(ready.wait(), 30)
        target = _time_arrivals(service)

        task = asyncio.get_running_loop().create_task(service.run())
        await _wait(lambda: service.status.ready, 60)
        latencies, missed = [], 0
        for i in range(events):
            spot = service.book.spot
            ids = {key: sub_id for sub_id, key in service.book.tracked.items()}
            near = sorted(ids, key=lambda k: (abs(k[1] - spot), k[1], k[2].value))[:8]
            key = near[i % len(near)]
            bid = service.book.snapshot(service.clock.now())
            bids = {} if bid is None else {(q.expiry, q.strike, q.right): q.bid for q in bid.quotes}
            side = Side.BUY if i % 2 and bids.get(key, 0.0) >= 0.5 else Side.SELL
            announced = (key[1], key[2].value, side.value)
            seen.pop(announced, None)
            target.clear()
            target.update(sub_id=ids[key], side=side)
            target["fair"] = await sim.inject(key, side, 0.3, LIFETIME)
            if await _wait(lambda a=announced: a in seen, 10) and "arrived" in target:
                latencies.append((seen[announced] - target["arrived"]) * 1000)
            else:
                missed += 1
            await asyncio.sleep(0.5)  # let it clear before the next one
        service.stop()
        await task
        await sink.aclose()
        client.cancel()
    latencies.sort()
    return {
        "events": len(latencies),
        "missed": missed,
        "p50_ms": statistics.median(latencies),
        "p99_ms": latencies[min(len(latencies) - 1, int(0.99 * len(latencies)))],
        "max_ms": latencies[-1],
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
            f"simulator tick -> anomaly on a SignalR client ({result['events']} events, "
            f"{result['missed']} missed): p50 {result['p50_ms']:.1f} ms, "
            f"p99 {result['p99_ms']:.1f} ms, max {result['max_ms']:.1f} ms"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
