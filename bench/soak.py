"""Soak: the backend and the on-prem sink for minutes, with viewers and abuse, sampled.

`python -m bench.soak [--minutes 5] [--rate 100] [--viewers 20] [--every 15]`

The backend runs as its own process (uvicorn, SQLite, local hub). This process runs the
on-prem `HttpSink` (its disk spool included) publishing anomaly events at `--rate` per
second plus one analysis a second, `--viewers` hub viewers, and once a minute a burst of
bad input (non-finite numbers, deep nesting and truncated JSON over HTTP; oversized, deeply
nested and non-UTF-8 frames over the hub). Every `--every` seconds it prints the backend's
RSS, the spool file's size, the sink's backlog, viewers still connected, and the fraction of
(viewer, event) copies delivered so far. Bounded means: RSS flat after warm-up, the spool
file under its compaction bound, every viewer still connected, every event delivered.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import sys
import tempfile
import time
from datetime import UTC, datetime
from pathlib import Path

import httpx

from bench.hub_load import Viewer, rss_mb
from bench.memory_probe import _hub_send
from spy_backend.client import HttpSink
from tests.backend.conftest import analysis_record, anomaly_event
from tests.backend.servers import TOKEN, BackendProcess

RS = "\x1e"
BAD_BODIES = [
    b'{"records": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
    b'{"records": [{"type": "snapshot", "spot": NaN}]}',
    b'{"records": [{"type": "snapshot", "spot": 1e999',
    b'{"records": [{"type": "snapshot", "underlying": "\\ud800"}]}',
]
HANDSHAKE = json.dumps({"protocol": "json", "version": 1}) + RS
BAD_FRAMES = [
    ["[" * 10_000 + RS],
    [HANDSHAKE, "x" * (1 << 20)],
    [HANDSHAKE, "[" * 10_000 + RS],
]


async def _abuse(base: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=30) as http:
        for body in BAD_BODIES:
            response = await http.post("/api/events", content=body)
            if response.status_code >= 500:
                raise AssertionError(f"bad input got {response.status_code}")
        await http.get("/api/anomalies", params={"until": "9999-12-31T23:59:59-01:00"})
    for frames in BAD_FRAMES:
        await _hub_send(base, frames)


async def soak(
    base: str, pid: int, spool_path: Path, minutes: float, rate: float, viewers: int, every: float
) -> list[dict]:
    crowd = [Viewer() for _ in range(viewers)]
    listeners = [asyncio.create_task(v.run(base)) for v in crowd]
    await asyncio.wait_for(asyncio.gather(*(v.ready.wait() for v in crowd)), 60)
    sink = HttpSink(base, TOKEN, spool_path)
    published: list[str] = []
    start = time.monotonic()
    end = start + minutes * 60
    samples: list[dict] = []

    async def produce() -> None:
        n = 0
        async with httpx.AsyncClient(
            base_url=base, headers={"Authorization": f"Bearer {TOKEN}"}
        ) as http:
            while time.monotonic() < end:
                tick = time.monotonic()
                batch = [anomaly_event(n + i, at=datetime.now(UTC)) for i in range(int(rate))]
                n += len(batch)
                sink.publish_events(batch)
                published.extend(e.id for e in batch)
                with contextlib.suppress(httpx.HTTPError):
                    await http.post(
                        "/api/events", json={"records": [analysis_record(datetime.now(UTC))]}
                    )
                await asyncio.sleep(max(0.0, 1.0 - (time.monotonic() - tick)))

    async def abuse() -> None:
        while time.monotonic() < end:
            await asyncio.sleep(60)
            await _abuse(base)

    async def sample() -> None:
        while time.monotonic() < end + every:
            await asyncio.sleep(every)
            delivered = sum(len(v.arrivals) for v in crowd)
            row = {
                "t_s": round(time.monotonic() - start),
                "rss_mb": round(rss_mb(pid), 1),
                "spool_kb": round(spool_path.stat().st_size / 1024),
                "backlog": sink.backlog,
                "viewers": sum(not v.closed_by_hub for v in crowd),
                "published": len(published),
                "delivered": delivered / max(1, len(published) * viewers),
            }
            samples.append(row)
            print(
                f"{row['t_s']:5d} s  RSS {row['rss_mb']:6.1f} MB  spool {row['spool_kb']:6d} KiB"
                f"  backlog {row['backlog']:5d}  viewers {row['viewers']:3d}"
                f"  published {row['published']:7d}  delivered {row['delivered']:.1%}",
                flush=True,
            )

    await asyncio.gather(produce(), abuse(), sample())
    await sink.aclose(timeout=10)
    await asyncio.sleep(2)
    for task in listeners:
        task.cancel()
    await asyncio.gather(*listeners, return_exceptions=True)
    return samples


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--minutes", type=float, default=5.0)
    parser.add_argument("--rate", type=float, default=100.0)
    parser.add_argument("--viewers", type=int, default=20)
    parser.add_argument("--every", type=float, default=15.0)
    args = parser.parse_args(argv)
    with tempfile.TemporaryDirectory() as folder:
        backend = BackendProcess(Path(folder) / "data", SPY_LOG_LEVEL="ERROR")
        with backend:
            assert backend.process is not None
            samples = asyncio.run(
                soak(
                    backend.url,
                    backend.process.pid,
                    Path(folder) / "spool" / "backend.jsonl",
                    args.minutes,
                    args.rate,
                    args.viewers,
                    args.every,
                )
            )
    warm = samples[min(3, len(samples) - 1)]
    last = samples[-1]
    print(
        f"soak {args.minutes:g} min at {args.rate:g} events/s, {args.viewers} viewers: RSS "
        f"{warm['rss_mb']:.0f} MB after warm-up -> {last['rss_mb']:.0f} MB at the end; spool "
        f"max {max(s['spool_kb'] for s in samples)} KiB; viewers at the end {last['viewers']}; "
        f"delivered {last['delivered']:.1%}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
