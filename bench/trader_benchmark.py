"""Trader benchmarks: `python -m bench.trader_benchmark [--events N] [--json]`.

1. Anomaly event → order decision: `Engine.handle_events` on one OPENED event (strategy,
   duplicate check, risk, decision and orders committed to the SQLite journal, the order
   handed to the gateway — here the backtest's in-memory gateway, so no socket is timed).
   Peer: the journal's commit alone (what persisting a decision costs at the least).
2. Snapshot → order acknowledged: a fresh snapshot of the simulator into the engine, then a
   signal (a buy resting at the bid, cancelled after, so the book stays as small as a real
   day's) through risk, the journal and ib_async over loopback to the gateway simulator,
   until IB's acknowledgement (the order's first status) is back in the engine. The
   simulator shares the event loop (its market step costs tens of ms of CPU), so both this
   and the peer carry that. Peer: bare ib_async `placeOrder` → status, the round-trip floor.
3. A whole recorded day backtested: a simulated session recorded at one snapshot per 5 s
   (4,680 snapshots, cached under bench/results/), through the detector and the engine.
   Peer: the detector alone over the same snapshots.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import json
import multiprocessing
import tempfile
import time
from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

from ib_async import IB, LimitOrder

from bench.marketdata_benchmark import latency_figures
from spy_core.models import (
    Anomaly,
    AnomalyEvent,
    AnomalyEventType,
    AnomalyKind,
    ChainSnapshot,
    OptionQuote,
    Severity,
    Side,
)
from spy_core.trading import (
    Action,
    ContractRef,
    FillReport,
    Intent,
    Leg,
    OrderReport,
    OrderStatus,
    Signal,
)
from spy_detector import DetectorConfig, StreamingDetector
from spy_gateway_sim import GatewaySimulator, MarketConfig, MarketModel, SimulatorConfig
from spy_gateway_sim.clock import SessionClock
from spy_gateway_sim.day import session_snapshots
from spy_marketdata.recording import SnapshotRecorder, read_recording
from spy_trader.backtest import FillModel, SimulatedGateway, backtest
from spy_trader.engine import Engine
from spy_trader.ibkr import IbkrExecution, to_ib
from spy_trader.journal import Journal
from spy_trader.settings import RiskSettings, TraderSettings

OPEN = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)
START = datetime(2025, 10, 30, 15, 0, tzinfo=UTC)
DAY_FILE = Path(__file__).parent / "results" / "day-2025-10-30-5s.jsonl.gz"
ORDER_PACE = 0.05  # seconds between orders: place + cancel = 40 messages/s, under IB's 50
UNLIMITED = RiskSettings(
    max_contracts_per_contract=10**6,
    max_contracts_total=10**6,
    max_open_positions=10**6,
    max_premium_at_risk=1e12,
    max_net_delta=1e12,
    max_daily_loss=1e12,  # each round trip here pays two commissions and earns nothing
    max_orders_per_minute=10**6,
    max_quote_age_ms=60_000,
)


def finding(number: int, quote: OptionQuote, at: datetime) -> AnomalyEvent:
    """A cheap-option finding on `quote` worth 30 cents after the ask."""
    anomaly = Anomaly(
        expiry=quote.expiry,
        strike=quote.strike,
        right=quote.right,
        side=Side.BUY,
        kind=AnomalyKind.SMILE,
        bid=quote.bid,
        ask=quote.ask,
        fair=quote.ask + 0.30,
        edge=0.30,
        score=6.0,
        severity=Severity.HIGH,
    )
    return AnomalyEvent(
        id=f"bench-{number}",
        event=AnomalyEventType.OPENED,
        underlying="SPY",
        at=at,
        first_seen=at,
        anomaly=anomaly,
        peak_edge=0.30,
    )


class _Stamps:
    """A reporter that notes when each order's acknowledgement (its first status from IB)
    arrives, and wakes whoever waits for one."""

    def __init__(self) -> None:
        self.acked: dict[str, float] = {}
        self.arrived = asyncio.Event()

    def publish(self, record) -> None:
        if (
            isinstance(record, OrderReport)
            and record.status in (OrderStatus.WORKING, OrderStatus.FILLED)
            and record.order_ref not in self.acked
        ):
            self.acked[record.order_ref] = time.perf_counter()
            self.arrived.set()

    async def wait(self, ref: str) -> float:
        while ref not in self.acked:
            self.arrived.clear()
            await self.arrived.wait()
        return self.acked[ref]


def _quotes(snapshot: ChainSnapshot) -> list[OptionQuote]:
    return sorted(
        (q for q in snapshot.quotes if q.ask > 0.05),
        key=lambda q: abs(q.strike - snapshot.spot),
    )[:8]


async def decision_latency(events: int) -> dict:
    snapshot = next(session_snapshots(MarketConfig(seed=7), START, every=1.0))
    quotes = _quotes(snapshot)
    with tempfile.TemporaryDirectory() as folder:
        journal = Journal(Path(folder) / "trader.sqlite")
        clock = lambda: snapshot.timestamp  # noqa: E731
        gateway = SimulatedGateway(FillModel(latency_ms=0), clock)
        engine = Engine(TraderSettings(risk=UNLIMITED), gateway, journal, _Stamps(), clock)
        engine.restore(snapshot.timestamp)
        engine.ready = True
        engine.publish_snapshot(snapshot)
        latencies, taken = [], 0
        for i in range(events + 50):
            event = finding(i, quotes[i % len(quotes)], snapshot.timestamp)
            start = time.perf_counter()
            decisions = await engine.handle_events([event])
            elapsed = (time.perf_counter() - start) * 1000
            gateway.match(engine.market)  # fills at the touch
            _close_all(engine, snapshot.timestamp, i)  # a day's book: many closed, few open
            if i >= 50:  # warm-up: numba dispatch, SQLite pages
                latencies.append(elapsed)
                taken += sum(d.taken for d in decisions)
        floor = []
        for i in range(events):
            start = time.perf_counter()
            journal.set_state(snapshot.timestamp.date(), engine.state, f"floor {i}")
            floor.append((time.perf_counter() - start) * 1000)
        journal.close()
    latencies.sort()
    floor.sort()
    figures = latency_figures(latencies)
    return {
        "events": events,
        "taken": taken,
        **figures,
        "journal_commit_p50_ms": latency_figures(floor)["p50_ms"],
        "journal_commit_p99_ms": latency_figures(floor)["p99_ms"],
    }


def _close_all(engine: Engine, at: datetime, number: int) -> None:
    """Take every position off with an exit fill, so each decision meets a book like a real
    day's (the groups of the day, few of them open) instead of an ever longer list of open
    positions the risk limits would never allow."""
    for group in engine.portfolio.open_groups():
        for contract, holding in list(group.legs.items()):
            if holding.quantity:
                engine.on_fill(
                    FillReport(
                        exec_id=f"close-{number}-{contract.strike:g}{contract.right.value}",
                        order_ref=f"{group.id}:X1:L0",
                        at=at,
                        contract=contract,
                        action=Action.SELL if holding.quantity > 0 else Action.BUY,
                        quantity=abs(holding.quantity),
                        price=holding.avg_price,
                    )
                )


def _resting(number: int, quote: OptionQuote, at: datetime) -> Signal:
    """A buy at the bid: inside the quote (risk passes it), acknowledged, rarely filled."""
    leg = Leg(
        contract=ContractRef(expiry=quote.expiry, strike=quote.strike, right=quote.right),
        action=Action.BUY,
        quantity=1,
        limit=quote.bid,
        bid=quote.bid,
        ask=quote.ask,
        fair=quote.ask,
    )
    return Signal(
        id=f"bench-{number}",
        at=at,
        intent=Intent.OPEN,
        legs=(leg,),
        reason="bench",
        expected_edge=1.0,
        quote_time=at,
    )


def _sim_config() -> SimulatorConfig:
    return SimulatorConfig(
        port=0, market=MarketConfig(seed=7, mispricing_rate=0.0), start=START, tick_interval=0.25
    )


class _Market:
    """The market the engine sees: the in-process simulator's own view, or (simulator in
    its own process) the same deterministic model stepped on a clock started with it."""

    def __init__(self, sim: GatewaySimulator | None) -> None:
        self._sim = sim
        self._clock = SessionClock(START)
        self._model = MarketModel(_sim_config().market, START) if sim is None else None

    def now(self) -> datetime:
        return self._sim.now() if self._sim is not None else self._clock.now()

    def snapshot(self) -> ChainSnapshot:
        if self._model is not None:
            self._model.advance_to(self.now())
        view = self._sim.view() if self._sim is not None else self._model.view()
        return ChainSnapshot(
            underlying="SPY",
            timestamp=view.timestamp,
            spot=view.spot,
            quotes=tuple(view.quotes.values()),
        )


def _serve(ports: multiprocessing.Queue) -> None:
    """The simulator in a child process, as the real IB Gateway is its own process."""

    async def serve() -> None:
        async with GatewaySimulator(_sim_config()) as sim:
            ports.put(sim.port)
            await asyncio.Event().wait()

    asyncio.run(serve())


@contextlib.asynccontextmanager
async def _simulator(separate: bool) -> AsyncIterator[tuple[int, GatewaySimulator | None]]:
    if not separate:
        async with GatewaySimulator(_sim_config()) as sim:
            yield sim.port, sim
        return
    context = multiprocessing.get_context("spawn")
    ports = context.Queue()
    child = context.Process(target=_serve, args=(ports,), daemon=True)
    child.start()
    try:
        yield await asyncio.to_thread(ports.get, True, 60), None
    finally:
        child.terminate()
        child.join()


async def tick_to_ack(orders: int, separate: bool) -> dict:
    """Paced at `ORDER_PACE` so the order flow stays under IB's 50 messages/s: faster,
    ib_async itself holds requests back (45 per second) and the figure is that queue."""
    async with _simulator(separate) as (port, sim):
        market = _Market(sim)
        with tempfile.TemporaryDirectory() as folder:
            journal = Journal(Path(folder) / "trader.sqlite")
            gateway = IbkrExecution("127.0.0.1", port, 21)
            await gateway.connect()
            stamps = _Stamps()
            engine = Engine(TraderSettings(risk=UNLIMITED), gateway, journal, stamps, market.now)
            engine.restore(market.now())
            engine.reconcile()
            latencies = []
            for i in range(orders + 10):
                await asyncio.sleep(ORDER_PACE)
                snapshot = market.snapshot()
                signal = _resting(i, _quotes(snapshot)[i % 8], snapshot.timestamp)
                start = time.perf_counter()
                engine.publish_snapshot(snapshot)
                await engine.submit(signal)
                acked = await stamps.wait(f"bench-{i}:L0")
                if i >= 10:  # warm-up: the connect's own requests, contract qualification
                    latencies.append((acked - start) * 1000)
                gateway.cancel(f"bench-{i}:L0")  # resting at the bid: the book stays empty
            gateway.disconnect()
            journal.close()
        floor = await _bare_round_trips(port, market, orders)
    latencies.sort()
    return {"orders": orders, **latency_figures(latencies), "bare_ib_async": floor}


async def _bare_round_trips(port: int, market: _Market, orders: int) -> dict:
    ib = IB()
    await ib.connectAsync("127.0.0.1", port, clientId=31)
    quote = _quotes(market.snapshot())[0]
    [contract] = await ib.qualifyContractsAsync(
        to_ib(ContractRef(expiry=quote.expiry, strike=quote.strike, right=quote.right))
    )
    latencies = []
    for i in range(orders + 10):
        await asyncio.sleep(ORDER_PACE)
        start = time.perf_counter()
        trade = ib.placeOrder(contract, LimitOrder("BUY", 1, 0.01))
        while trade.orderStatus.status in ("PendingSubmit", ""):
            await trade.statusEvent
        if i >= 10:
            latencies.append((time.perf_counter() - start) * 1000)
        ib.cancelOrder(trade.order)
    ib.disconnect()
    latencies.sort()
    return latency_figures(latencies)


def day_backtest() -> dict:
    if not DAY_FILE.exists():
        DAY_FILE.parent.mkdir(parents=True, exist_ok=True)
        recorder = SnapshotRecorder(DAY_FILE, "SPY")
        for snapshot in session_snapshots(MarketConfig(seed=7, mispricing_rate=2.0), OPEN, every=5):
            recorder.publish_snapshot(snapshot)
        recorder.close()
    start = time.perf_counter()
    report = backtest([DAY_FILE], TraderSettings())
    seconds = time.perf_counter() - start
    snapshots = [r.snapshot for r in read_recording(DAY_FILE)]
    detector = StreamingDetector(DetectorConfig(max_expiries=1))
    start = time.perf_counter()
    for snapshot in snapshots:
        detector.update(snapshot)
    detector_seconds = time.perf_counter() - start
    [day] = report.days
    return {
        "snapshots": day.snapshots,
        "seconds": seconds,
        "detector_alone_seconds": detector_seconds,
        "trades": len(day.trades),
        "pnl": round(day.pnl, 2),
    }


def _ack_line(name: str, t: dict) -> str:
    bare = t["bare_ib_async"]
    return (
        f"snapshot → order acknowledged, {name} ({t['orders']} orders): p50 {t['p50_ms']:.2f} "
        f"ms, p99 {t['p99_ms']:.2f} ms, max {t['max_ms']:.2f} ms (target p99 < 30 ms); bare "
        f"ib_async placeOrder → status p50 {bare['p50_ms']:.2f} ms, p99 {bare['p99_ms']:.2f} "
        f"ms → ratio p50 {t['p50_ms'] / bare['p50_ms']:.2f}x"
    )


def summary(results: dict) -> str:
    d, b = results["decision"], results["day"]
    return "\n".join(
        [
            f"event → decision ({d['events']} events, {d['taken']} taken): p50 "
            f"{d['p50_ms']:.3f} ms, p99 {d['p99_ms']:.3f} ms, max {d['max_ms']:.2f} ms "
            f"(target p99 < 2 ms); journal commit alone p50 {d['journal_commit_p50_ms']:.3f} "
            f"ms → decision/commit {d['p50_ms'] / d['journal_commit_p50_ms']:.1f}x",
            _ack_line("simulator in its own process", results["tick_to_ack"]),
            _ack_line("simulator in the trader's event loop", results["tick_to_ack_same_loop"]),
            f"recorded day backtested ({b['snapshots']} snapshots, {b['trades']} trades, "
            f"P&L ${b['pnl']:,.2f}): {b['seconds']:.1f} s (target < 60 s); detector alone "
            f"{b['detector_alone_seconds']:.1f} s → engine share "
            f"{1 - b['detector_alone_seconds'] / b['seconds']:.0%}",
        ]
    )


def main() -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.trader_benchmark")
    parser.add_argument("--events", type=int, default=2000, help="decisions timed (2000)")
    parser.add_argument("--orders", type=int, default=300, help="orders timed (300)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    results = {
        "decision": asyncio.run(decision_latency(args.events)),
        "tick_to_ack": asyncio.run(tick_to_ack(args.orders, separate=True)),
        "tick_to_ack_same_loop": asyncio.run(tick_to_ack(args.orders, separate=False)),
        "day": day_backtest(),
    }
    print(json.dumps(results, indent=2) if args.json else summary(results))


if __name__ == "__main__":
    main()
