"""Market-data service benchmark: `python -m bench.marketdata_benchmark [--events N] [--json]`.

1. Tick-to-anomaly latency: the gateway simulator (in its own process, so its market model
   does not share our CPU or event loop) injects a mispriced quote; we time from the moment
   the service receives the tick batch carrying it (`on_updates`) to the moment the OPENED
   event reaches the sink: book → snapshot → StreamingDetector → flow → sink, inside the
   service. p50/p99 over N events (default 500), after the CLEARED of each.
   Peer: `detect()` alone on the same snapshots.
2. Throughput: snapshots per second the service sustains with 60 subscribed option lines
   (30 strikes × 2) while ticks stream in, the cadence set to as fast as possible.
   Peer: `detect()` alone, back to back, on the same snapshots.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import multiprocessing
import os
import platform
import statistics
import time
from datetime import UTC, datetime

from spy_core.models import AnomalyEventType, Side
from spy_detector import detect

START = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)  # a Thursday session, 0DTE listed
# 20 simulated seconds a wall second: one market step (1 simulated second, ~26 ms of the
# simulator's CPU) per 50 ms, so each step is published; an injected mispricing lives four.
SPEED = 20.0
TICK_INTERVAL = 0.02
LIFETIME = 4.0


def _simulator(conn, tick_interval: float) -> None:
    """Child process: the simulator, injecting on command from the pipe."""
    from spy_gateway_sim import GatewaySimulator, MarketConfig, SimulatorConfig

    async def main() -> None:
        config = SimulatorConfig(
            port=0,
            market=MarketConfig(seed=7, mispricing_rate=0.0),
            speed=SPEED,
            start=START,
            tick_interval=tick_interval,
        )
        async with GatewaySimulator(config) as sim:
            done = asyncio.Event()

            def command() -> None:
                while conn.poll():
                    message = conn.recv()
                    if message[0] == "stop":
                        done.set()
                        return
                    _, key, side, size, lifetime = message
                    sim.inject_mispricing(key, side, size, lifetime)
                    conn.send(sim.view().fair[key])

            asyncio.get_running_loop().add_reader(conn.fileno(), command)
            conn.send(sim.port)
            await done.wait()

    asyncio.run(main())


class _Simulator:
    def __init__(self, tick_interval: float = TICK_INTERVAL) -> None:
        context = multiprocessing.get_context("spawn")
        self.conn, child = context.Pipe()
        self.process = context.Process(target=_simulator, args=(child, tick_interval))

    async def __aenter__(self) -> _Simulator:
        self.process.start()
        self.port = await self._reply()
        return self

    async def __aexit__(self, *exc: object) -> None:
        self.conn.send(("stop",))
        self.process.join(30)

    async def inject(self, key, side: Side, size: float, lifetime: float) -> float:
        self.conn.send(("inject", key, side, size, lifetime))
        return await self._reply()

    async def _reply(self):
        return await asyncio.get_running_loop().run_in_executor(None, self.conn.recv)


async def _wait(condition, timeout: float = 30.0) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        await asyncio.sleep(0.002)
    return True


def _detect_ms(snapshots, config) -> float:
    times = []
    for snapshot in snapshots:
        started = time.perf_counter()
        detect(snapshot, config)
        times.append((time.perf_counter() - started) * 1000)
    return statistics.median(times)


async def _latency(events: int) -> dict:
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.settings import MarketDataSettings
    from spy_marketdata.sinks import MemorySink

    async with _Simulator() as sim:
        sink = MemorySink()
        service = MarketDataService(MarketDataSettings(port=sim.port, client_id=31), sink)
        opened_at: dict[tuple, float] = {}
        cleared: set[tuple] = set()
        target = _time_arrivals(service)

        publish = sink.publish_events

        def on_events(found) -> None:
            now = time.perf_counter()
            for event in found:
                a = event.anomaly
                # An injection on a quote already flagged (a small natural anomaly) is
                # announced as an escalation, not a second opening.
                if event.event in (AnomalyEventType.OPENED, AnomalyEventType.ESCALATED):
                    opened_at.setdefault((a.strike, a.right, a.side), now)
                elif event.event is AnomalyEventType.CLEARED:
                    cleared.add((a.strike, a.right, a.side))
            publish(found)

        sink.publish_events = on_events
        task = asyncio.get_running_loop().create_task(service.run())
        await _wait(lambda: service.status.ready, 60)
        latencies, missed, was_open, unseen = [], 0, 0, 0
        for i in range(events):
            key, side, sub_id = next_injection(service, i)
            target.clear()
            opened_at.clear()
            cleared.clear()
            target.update(sub_id=sub_id, side=side)
            was_already_open = already_open(service, key, side)
            target["fair"] = await sim.inject(key, side, 0.3, LIFETIME)
            found = await _wait(lambda k=key, s=side: (k[1], k[2], s) in opened_at, 10)
            if found and "arrived" in target:
                latencies.append((opened_at[(key[1], key[2], side)] - target["arrived"]) * 1000)
            elif was_already_open:
                was_open += 1  # the same finding, still open: rightly not announced again
            elif found:
                unseen += 1  # announced, but no single update carried the whole move
            else:
                missed += 1
            await _wait(lambda k=key, s=side: (k[1], k[2], s) in cleared, 5)
            # A production sink forwards and forgets; a MemorySink keeping every snapshot
            # and analysis would grow the heap until the collector's full passes (tens of
            # ms) showed up as latency.
            del sink.snapshots[:-300]
            sink.analyses.clear()
        snapshots = sink.snapshots[-200:]
        service.stop()
        await task
    latencies.sort()
    return {
        "events": len(latencies),
        "missed": missed,
        "already_open": was_open,
        "announced_without_arrival": unseen,
        **latency_figures(latencies),
        "contracts": len(snapshots[-1].quotes),
        "detect_ms": _detect_ms(snapshots, service.settings.detector),
    }


def latency_figures(latencies: list[float]) -> dict[str, float]:
    """p50, p90, p99 (nearest rank) and max of latencies in ms, sorted ascending."""

    def rank(q: float) -> float:
        return latencies[min(len(latencies) - 1, int(q * len(latencies)))]

    return {
        "p50_ms": statistics.median(latencies),
        "p90_ms": rank(0.90),
        "p99_ms": rank(0.99),
        "max_ms": latencies[-1],
    }


def next_injection(service, i: int) -> tuple[tuple, Side, int]:
    """The i-th injection: the 8 contracts nearest the money in turn; a sell, or on odd turns
    a buy where the bid can take the $0.30 move down. Returns (contract, side, sub_id)."""
    spot = service.book.spot
    ids = {key: sub_id for sub_id, key in service.book.tracked.items()}
    near = sorted(ids, key=lambda k: (abs(k[1] - spot), k[1], k[2].value))[:8]
    key = near[i % len(near)]
    book = service.book.snapshot(service.clock.now())
    bids = {} if book is None else {(q.expiry, q.strike, q.right): q.bid for q in book.quotes}
    side = Side.BUY if i % 2 and bids.get(key, 0.0) >= 0.5 else Side.SELL
    return key, side, ids[key]


def already_open(service, key: tuple, side: Side) -> bool:
    """The same finding is still open: an injection on it is rightly not announced again."""
    return any(
        (a.expiry, a.strike, a.right, a.side) == (*key, side)
        for a in service.pipeline.detector.open_anomalies
    )


def _time_arrivals(service) -> dict:
    """Put a timing subscriber in front of the source's: the returned dict, once given
    `sub_id`, `side` and `fair` of an injection, gets `arrived` = when the tick carrying the
    move came in, before the service has seen it."""
    from spy_marketdata.source import Subscribers

    previous: dict[int, object] = {}
    target: dict = {}
    received = service.source.on_updates

    def on_updates(updates) -> None:
        now = time.perf_counter()
        for update in updates:
            last = previous.get(update.sub_id)
            if target and "arrived" not in target and _mispriced(update, last, target):
                target["arrived"] = now
            previous[update.sub_id] = update
        received.emit(updates)

    timed = Subscribers("timed on_updates")
    timed.subscribe(on_updates)
    service.source.on_updates = timed
    return target


def _mispriced(update, last, target) -> bool:
    """The tick that carries the injected move: its side jumped $0.20+ from the previous
    update and sits past fair (a $0.30 move; the market alone moves cents a step)."""
    if update.sub_id != target["sub_id"] or last is None or "fair" not in target:
        return False
    if update.bid is None or update.ask is None:
        return False
    if target["side"] is Side.BUY:
        return last.ask - update.ask >= 0.2 and update.ask < target["fair"]
    return update.bid - last.bid >= 0.2 and update.bid > target["fair"]


async def _throughput(seconds: float) -> dict:
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.settings import MarketDataSettings
    from spy_marketdata.sinks import MemorySink

    async with _Simulator(tick_interval=0.05) as sim:
        sink = MemorySink()
        settings = MarketDataSettings(
            port=sim.port, client_id=32, band=0.05, max_lines=61, interval=1e-4, coalesce=0.0
        )
        service = MarketDataService(settings, sink)
        task = asyncio.get_running_loop().create_task(service.run())
        await _wait(lambda: service.status.ready, 60)
        await _wait(lambda: len(sink.snapshots[-1].quotes) >= 60, 30)
        before, started = len(sink.snapshots), time.perf_counter()
        await asyncio.sleep(seconds)
        count, elapsed = len(sink.snapshots) - before, time.perf_counter() - started
        snapshots = sink.snapshots[-200:]
        service.stop()
        await task
    detect_ms = _detect_ms(snapshots, settings.detector)
    return {
        "lines": service.status.lines,
        "contracts": len(snapshots[-1].quotes),
        "snapshots_per_s": count / elapsed,
        "detect_ms": detect_ms,
        "detect_only_per_s": 1000.0 / detect_ms,
    }


def run(events: int = 500, seconds: float = 10.0) -> dict:
    latency = asyncio.run(_latency(events))
    return {"latency": latency, "throughput": asyncio.run(_throughput(seconds))}


def summary(result: dict) -> str:
    lat, thr = result["latency"], result["throughput"]
    return "\n".join(
        [
            f"machine: {os.cpu_count()} CPU, Python {platform.python_version()}",
            f"tick-to-anomaly inside the service ({lat['contracts']} contracts, "
            f"{lat['events']} events, {lat['missed']} missed, {lat['already_open']} already "
            f"open, {lat['announced_without_arrival']} announced with no arrival seen): "
            f"p50 {lat['p50_ms']:.1f} ms, p90 {lat['p90_ms']:.1f} ms, "
            f"p99 {lat['p99_ms']:.1f} ms (target < 20 ms), max {lat['max_ms']:.1f} ms; "
            f"detect() alone {lat['detect_ms']:.1f} ms",
            f"throughput with {thr['contracts']} option contracts ({thr['lines']} lines): "
            f"{thr['snapshots_per_s']:.0f} snapshots/s; detect() alone "
            f"{thr['detect_only_per_s']:.0f}/s ({thr['detect_ms']:.1f} ms), service/detect "
            f"{thr['snapshots_per_s'] / thr['detect_only_per_s']:.2f}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.marketdata_benchmark")
    parser.add_argument("--events", type=int, default=500, help="mispricings to time (500)")
    parser.add_argument("--seconds", type=float, default=10.0, help="throughput run (10 s)")
    parser.add_argument("--json", action="store_true", help="machine-readable JSON")
    args = parser.parse_args()
    result = run(args.events, args.seconds)
    print(json.dumps(result, indent=2) if args.json else summary(result))


if __name__ == "__main__":
    main()
