"""Hub under load: delivered fraction and POST->viewer latency against the event rate.

`python -m bench.hub_load [--rates 50,100,200,325,500] [--viewers 50] [--posters 50]
[--seconds 10] [--backend-src DIR] [--json]`

The backend runs as its own process (uvicorn, SQLite, the local hub). V viewers (negotiate +
WebSocket + JSON hub protocol, with keep-alive: what the JS client does) listen in this
process; P posters in a second process POST one anomaly event each at their share of the
rate (open loop: a poster that falls behind sends at once), plus one analysis a second (the
`market` target). For each rate: events posted, the fraction of (viewer, event) copies
delivered, latency from just before the POST to each viewer's receipt (p50, p99), viewers
the hub closed, and the backend's RSS. `--backend-src` runs another checkout's
`apps/backend` (e.g. the code before the per-viewer outbox) against the same load: the peer
in the same run.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import sys
import tempfile
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import websockets

from bench.signalr import RS, hub_connection
from tests.backend.conftest import analysis_record, anomaly_event, event_record
from tests.backend.servers import TOKEN, BackendProcess


def rss_mb(pid: int) -> float:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1]) / 1024
    return float("nan")


class Viewer:
    def __init__(self) -> None:
        self.arrivals: dict[str, float] = {}
        self.closed_by_hub = False
        self.ready = asyncio.Event()

    async def run(self, base: str) -> None:
        try:
            async with hub_connection(base) as ws:
                self.ready.set()
                async for frame in ws:
                    now = time.monotonic()
                    for part in frame.split(RS):
                        if not part:
                            continue
                        message = json.loads(part)
                        if message.get("type") == 7:
                            self.closed_by_hub = True
                            return
                        if message.get("target") == "anomalies":
                            for event in message["arguments"][0]["events"]:
                                self.arrivals.setdefault(event["id"], now)
        except websockets.ConnectionClosed:
            self.closed_by_hub = True


def _poster_process(base: str, rate: float, posters: int, seconds: float, first: int, out):
    out.send(asyncio.run(_post(base, rate, posters, seconds, first)))


async def _post(base: str, rate: float, posters: int, seconds: float, first: int) -> dict:
    """Returns {event id: monotonic time just before its POST} and the failures. Bodies are
    built before the clock starts and sent over raw keep-alive HTTP/1.1 connections, so the
    posters' own CPU (on a machine the backend shares) stays small."""
    host, port = base.removeprefix("http://").split(":")
    interval = posters / rate
    per_poster = int(seconds / interval) + 1
    bodies = {
        index: [_event_body(first + index + k * posters) for k in range(per_poster)]
        for index in range(posters)
    }
    sent: dict[str, float] = {}
    failures = [0]
    start = time.monotonic() + 0.5

    async def poster(index: int) -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        try:
            for k, (event_id, request) in enumerate(bodies[index]):
                due = start + index / rate + k * interval
                if due >= start + seconds:
                    break
                await asyncio.sleep(max(0.0, due - time.monotonic()))
                sent[event_id] = time.monotonic()
                writer.write(request)
                failures[0] += await _status(reader) != 200
        finally:
            writer.close()

    async def market() -> None:
        reader, writer = await asyncio.open_connection(host, int(port))
        while time.monotonic() < start + seconds:
            record = analysis_record(datetime.now(UTC))
            writer.write(_request(json.dumps({"records": [record]})))
            await _status(reader)
            await asyncio.sleep(1.0)
        writer.close()

    await asyncio.gather(*(poster(i) for i in range(posters)), market())
    return {"sent": sent, "failures": failures[0], "elapsed": time.monotonic() - start}


def _event_body(n: int) -> tuple[str, bytes]:
    event = anomaly_event(n, at=datetime.now(UTC) + timedelta(microseconds=n))
    return event.id, _request(json.dumps({"records": [event_record(event)]}))


def _request(body: str) -> bytes:
    return (
        "POST /api/events HTTP/1.1\r\nHost: bench\r\nContent-Type: application/json\r\n"
        f"Authorization: Bearer {TOKEN}\r\nContent-Length: {len(body)}\r\n\r\n{body}"
    ).encode()


async def _status(reader: asyncio.StreamReader) -> int:
    head = await reader.readuntil(b"\r\n\r\n")
    status = int(head.split(b" ", 2)[1])
    length = 0
    for line in head.split(b"\r\n"):
        if line.lower().startswith(b"content-length:"):
            length = int(line.split(b":")[1])
    await reader.readexactly(length)
    return status


def _percentile(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


async def _one_rate(
    base: str, pid: int | None, rate: float, viewers: int, posters: int, seconds: float, first: int
) -> dict:
    crowd = [Viewer() for _ in range(viewers)]
    tasks = [asyncio.create_task(v.run(base)) for v in crowd]
    await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in crowd)), 60)
    rss_before = rss_mb(pid) if pid else float("nan")
    receive, send = multiprocessing.Pipe(duplex=False)
    child = multiprocessing.Process(
        target=_poster_process, args=(base, rate, posters, seconds, first, send)
    )
    child.start()
    result = await asyncio.to_thread(receive.recv)
    child.join()
    await asyncio.sleep(3.0)  # let the last broadcasts arrive
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    sent: dict[str, float] = result["sent"]
    latencies = [
        (v.arrivals[i] - t) * 1000 for v in crowd for i, t in sent.items() if i in v.arrivals
    ]
    return {
        "rate_target": rate,
        "rate_achieved": len(sent) / result["elapsed"],
        "events": len(sent),
        "post_failures": result["failures"],
        "delivered_fraction": len(latencies) / (len(sent) * viewers) if sent else float("nan"),
        "p50_ms": _percentile(latencies, 50),
        "p99_ms": _percentile(latencies, 99),
        "viewers_closed": sum(v.closed_by_hub for v in crowd),
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_mb(pid) if pid else float("nan"),
    }


def run(
    rates: list[float],
    viewers: int = 50,
    posters: int = 50,
    seconds: float = 10.0,
    backend_src: Path | None = None,
    attach: str | None = None,
) -> list[dict]:
    if attach is not None:  # a backend someone else runs (bench.memory_probe's)
        return [
            asyncio.run(_one_rate(attach, None, rate, viewers, posters, seconds, k * 10**6))
            for k, rate in enumerate(rates)
        ]
    env = {"SPY_LOG_LEVEL": "ERROR"}
    if backend_src is not None:
        env["PYTHONPATH"] = os.pathsep.join(
            [str(backend_src / "apps" / "backend"), os.environ.get("PYTHONPATH", "")]
        )
    rows = []
    with tempfile.TemporaryDirectory() as folder, BackendProcess(Path(folder), **env) as backend:
        for k, rate in enumerate(rates):
            pid = backend.process.pid if backend.process else None
            load = _one_rate(backend.url, pid, rate, viewers, posters, seconds, k * 10**6)
            rows.append(asyncio.run(load))
    return rows


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rates", default="50,100,200,325,500")
    parser.add_argument("--viewers", type=int, default=50)
    parser.add_argument("--posters", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=10.0)
    parser.add_argument("--backend-src", type=Path, default=None)
    parser.add_argument("--attach", default=None, help="load a running backend at this URL")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    rates = [float(r) for r in args.rates.split(",")]
    rows = run(rates, args.viewers, args.posters, args.seconds, args.backend_src, args.attach)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    print(
        f"machine: {os.cpu_count()} CPU; {args.viewers} viewers, {args.posters} posters, "
        f"{args.seconds:g} s per rate; backend {args.backend_src or 'this checkout'}"
    )
    print("target/s  achieved/s  delivered  p50 ms   p99 ms  closed  RSS MB")
    for r in rows:
        print(
            f"{r['rate_target']:8.0f}  {r['rate_achieved']:10.1f}  {r['delivered_fraction']:9.1%}"
            f"  {r['p50_ms']:6.0f}  {r['p99_ms']:7.0f}  {r['viewers_closed']:6d}"
            f"  {r['rss_before_mb']:.0f}->{r['rss_after_mb']:.0f}"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
