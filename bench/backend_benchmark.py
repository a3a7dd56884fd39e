"""Backend benchmarks: `python -m bench.backend_benchmark [--json] [--events N] [--clients C]`.

1. Broadcast latency: the backend runs as its own process (uvicorn, the local hub); C
   SignalR clients (negotiate + WebSocket + JSON hub protocol, the wire the JS client uses)
   are connected; each of N anomaly events is POSTed alone and timed until the *last*
   client has it. Peer in the same run: a bare WebSocket round trip to the same server
   (negotiate-free ping), the floor of any hub message.
2. Ingest: sustained events/s into SQLite through the storage adapter (batches of 500, the
   HttpSink's batch size) and through HTTP POST; peer: raw sqlite3 executemany of the same
   rows into the same schema, the adapter's ceiling.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import sqlite3
import statistics
import sys
import tempfile
import time
from pathlib import Path

import httpx
import websockets

from bench.signalr import RS, hub_connection
from spy_backend.ingest import stored
from spy_backend.schemas import AnomalyEventRecord
from spy_backend.storage.sqlite import SqliteStorage
from tests.backend.conftest import anomaly_event, event_record
from tests.backend.servers import TOKEN, BackendProcess


async def _client(base: str, inbox: asyncio.Queue, ready: asyncio.Event, count: list) -> None:
    # Keeps itself alive (a ping every 15 s): the hub closes a client silent for 30 s.
    async with hub_connection(base) as ws:
        count[0] += 1
        if count[0] == count[1]:
            ready.set()
        async for frame in ws:
            now = time.perf_counter()
            for part in frame.split(RS):
                if part and json.loads(part).get("target") == "anomalies":
                    inbox.put_nowait(now)


async def _latency(base: str, events: int, clients: int) -> dict:
    inbox: asyncio.Queue = asyncio.Queue()
    ready = asyncio.Event()
    count = [0, clients]
    tasks = [asyncio.create_task(_client(base, inbox, ready, count)) for _ in range(clients)]
    await asyncio.wait_for(ready.wait(), 60)
    last, first = [], []
    headers = {"Authorization": f"Bearer {TOKEN}"}
    async with httpx.AsyncClient(base_url=base, headers=headers) as http:
        for n in range(events):
            body = {"records": [event_record(anomaly_event(n))]}
            start = time.perf_counter()
            response = await http.post("/api/events", json=body)
            response.raise_for_status()
            arrivals = [await asyncio.wait_for(inbox.get(), 10) for _ in range(clients)]
            first.append((min(arrivals) - start) * 1000)
            last.append((max(arrivals) - start) * 1000)
        floor = await _ws_floor(base)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    return {
        "events": events,
        "clients": clients,
        "p50_ms": statistics.median(last),
        "p99_ms": _percentile(last, 99),
        "first_client_p50_ms": statistics.median(first),
        "ws_roundtrip_p50_ms": floor,
    }


async def _ws_floor(base: str, rounds: int = 200) -> float:
    """Median round trip of a hub ping: client ping, server keeps the line; we time the
    WebSocket-level ping/pong to the same uvicorn process."""
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{base}/hub/negotiate?negotiateVersion=1")).json()
    ws_url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
    times = []
    async with websockets.connect(ws_url) as ws:
        await ws.send(json.dumps({"protocol": "json", "version": 1}) + RS)
        await ws.recv()
        for _ in range(rounds):
            start = time.perf_counter()
            await (await ws.ping())
            times.append((time.perf_counter() - start) * 1000)
    return statistics.median(times)


def _percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def _rows(n: int, offset: int):
    return [
        stored(AnomalyEventRecord.model_validate(event_record(anomaly_event(offset + i))))
        for i in range(n)
    ]


def _ingest_adapter(seconds: float, batch: int = 500) -> tuple[float, float]:
    """(adapter events/s, raw executemany events/s) over the same prepared rows."""
    prepared = [_rows(batch, k * batch) for k in range(40)]
    with tempfile.TemporaryDirectory() as folder:
        store = SqliteStorage(Path(folder) / "a.sqlite3")
        written, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds and written // batch < len(prepared):
            store.write(prepared[written // batch])
            written += batch
        adapter = written / (time.perf_counter() - start)
        store.close()
        raw_db = SqliteStorage(Path(folder) / "b.sqlite3")
        raw_db.close()
        db = sqlite3.connect(Path(folder) / "b.sqlite3", isolation_level=None)
        db.execute("PRAGMA synchronous=NORMAL")
        written, start = 0, time.perf_counter()
        while time.perf_counter() - start < seconds and written // batch < len(prepared):
            rows = prepared[written // batch]
            db.execute("BEGIN")
            db.executemany(
                "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                [
                    (r.kind.value, r.key, r.at_us, str(r.expiry), r.side, r.severity, r.body)
                    for r in rows
                ],
            )
            db.execute("COMMIT")
            written += batch
        raw = written / (time.perf_counter() - start)
        db.close()
    return adapter, raw


async def _ingest_http(base: str, seconds: float, batch: int = 500) -> float:
    headers = {"Authorization": f"Bearer {TOKEN}"}
    written, n = 0, 100_000
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        start = time.perf_counter()
        while time.perf_counter() - start < seconds:
            records = [event_record(anomaly_event(n + i)) for i in range(batch)]
            (await http.post("/api/events", json={"records": records})).raise_for_status()
            written += batch
            n += batch
        return written / (time.perf_counter() - start)


def run(events: int = 1000, clients: int = 100, seconds: float = 3.0) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        backend = BackendProcess(Path(folder), SPY_LOG_LEVEL="ERROR")
        with backend:
            latency = asyncio.run(_latency(backend.url, events, clients))
            http_rate = asyncio.run(_ingest_http(backend.url, seconds))
    adapter, raw = _ingest_adapter(seconds)
    return {
        "latency": latency,
        "ingest": {
            "sqlite_adapter_per_s": adapter,
            "raw_executemany_per_s": raw,
            "adapter_vs_raw": adapter / raw,
            "http_post_per_s": http_rate,
        },
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--events", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--seconds", type=float, default=3.0)
    args = parser.parse_args(argv)
    result = run(args.events, args.clients, args.seconds)
    if args.json:
        print(json.dumps(result, indent=2))
        return 0
    lat, ing = result["latency"], result["ingest"]
    print(f"machine: {os.cpu_count()} CPU, Python {sys.version.split()[0]}")
    print(
        f"POST anomaly -> last of {lat['clients']} hub clients, {lat['events']} events: "
        f"p50 {lat['p50_ms']:.2f} ms, p99 {lat['p99_ms']:.2f} ms (target p99 < 25 ms); "
        f"first client p50 {lat['first_client_p50_ms']:.2f} ms; "
        f"peer WebSocket ping p50 {lat['ws_roundtrip_p50_ms']:.2f} ms"
    )
    print(
        f"ingest into SQLite: adapter {ing['sqlite_adapter_per_s']:,.0f} events/s, raw "
        f"executemany {ing['raw_executemany_per_s']:,.0f}/s (ratio {ing['adapter_vs_raw']:.2f}); "
        f"over HTTP POST {ing['http_post_per_s']:,.0f} events/s (target >= 2,000)"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
