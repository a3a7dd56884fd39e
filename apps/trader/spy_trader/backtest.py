"""Backtest: recorded days through the detector and the live engine (strategy, risk,
journal, portfolio — the same code) with a simulated gateway in place of IB.

Fill model (stated, deliberately conservative):
- Latency: an order reaches the market `latency_ms` after the decision; it is judged
  against the first recorded snapshot at or after that moment, never the one that caused it.
- At the touch: a buy fills at that snapshot's ask when its limit is at or above it, a sell
  at the bid when its limit is at or below it, for at most the displayed size (all of it
  when the feed shows no size). A combo (a vertical) fills every leg at its touch when the
  net price is within its limit, for the smallest displayed size, or none.
- Queue: no queue position is assumed. What is not filled at once is cancelled, as the live
  trader's short order time-to-live does; a resting (non-marketable) limit never fills.
- Costs: IB's $0.65 per contract, $1 minimum per order; the spread paid is reported apart
  (fill price against the mid of the fill snapshot).
Each file is one day with a fresh engine, so the daily loss limit and the flatten apply per
day, as live.
"""

from __future__ import annotations

import asyncio
import itertools
import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from spy_core.trading import (
    CONTRACT_MULTIPLIER,
    Action,
    ContractRef,
    FillReport,
    OrderStatus,
)
from spy_detector import DetectorConfig, StreamingDetector, StreamSettings
from spy_marketdata.recording import read_recording

from .engine import Engine
from .ibkr import BrokerState, OrderUpdate
from .journal import Journal
from .portfolio import group_of, signal_of
from .settings import TraderSettings
from .strategy import MarketIndex


@dataclass(frozen=True, slots=True)
class FillModel:
    latency_ms: float = 50.0
    commission_per_contract: float = 0.65
    min_commission: float = 1.0


@dataclass(slots=True)
class _Pending:
    ref: str
    order_id: int
    legs: tuple[tuple[ContractRef, Action], ...]  # one leg, or a combo's
    quantity: int
    net_limit: float  # per unit paid (+) or received (−): a sell's limit is negated
    arrives: datetime


class SimulatedGateway:
    """The engine's `OrderGateway` for a backtest: orders judged by `FillModel`."""

    def __init__(self, model: FillModel, clock) -> None:
        self.model = model
        self.clock = clock
        self.on_order = lambda update: None
        self.on_fill = lambda fill: None
        self.connected = True
        self.pending: dict[str, _Pending] = {}
        self.spread_paid = 0.0
        self._ids = itertools.count(1)
        self._execs = itertools.count(1)

    async def qualify(self, contract: ContractRef) -> bool:
        return True

    def place(self, ref, contract, action, quantity, limit) -> int:
        net = limit if action is Action.BUY else -limit
        return self._accept(_Pending(ref, 0, ((contract, action),), quantity, net, self.clock()))

    def place_combo(self, ref, legs, quantity, limit) -> int:
        """A combo is judged as one order: every leg at the touch, or none."""
        return self._accept(_Pending(ref, 0, tuple(legs), quantity, limit, self.clock()))

    def _accept(self, order: _Pending) -> int:
        order.order_id = next(self._ids)
        order.arrives += _millis(self.model.latency_ms)
        self.pending[order.ref] = order
        self.on_order(OrderUpdate(order.ref, OrderStatus.WORKING, 0, 0.0, order.order_id))
        return order.order_id

    def cancel(self, ref: str) -> bool:
        order = self.pending.pop(ref, None)
        if order is not None:
            self.on_order(OrderUpdate(ref, OrderStatus.CANCELLED, 0, 0.0, order.order_id))
        return order is not None

    def broker_state(self) -> BrokerState:
        return BrokerState()

    def broker_pnl(self) -> None:
        """No broker to reconcile P&L with in a backtest."""

    def match(self, market: MarketIndex) -> None:
        """Judge every order that has reached the market by this snapshot."""
        now = market.snapshot.timestamp
        for ref, order in list(self.pending.items()):
            if order.arrives > now:
                continue
            del self.pending[ref]
            touches = []  # (contract, action, price, shown, quote) per leg
            for contract, action in order.legs:
                quote = market.quote(contract)
                if quote is None:
                    break
                buying = action is Action.BUY
                price = quote.ask if buying else quote.bid
                shown = (quote.ask_size if buying else quote.bid_size) or order.quantity
                touches.append((contract, action, price, shown, quote))
            net = sum(p if a is Action.BUY else -p for _, a, p, _, _ in touches)
            filled = 0
            if (
                len(touches) == len(order.legs)
                and all(price > 0 for _, _, price, _, _ in touches)
                and order.net_limit >= net - 1e-9
            ):
                filled = min(order.quantity, *(shown for _, _, _, shown, _ in touches))
            for contract, action, price, _, quote in touches if filled else ():
                mid = 0.5 * (quote.bid + quote.ask)
                self.spread_paid += abs(price - mid) * filled * CONTRACT_MULTIPLIER
                self.on_fill(
                    FillReport(
                        exec_id=f"bt.{next(self._execs)}",
                        order_ref=ref,
                        at=now,
                        contract=contract,
                        action=action,
                        quantity=filled,
                        price=price,
                        commission=max(
                            self.model.commission_per_contract * filled, self.model.min_commission
                        ),
                    )
                )
            status = OrderStatus.FILLED if filled == order.quantity else OrderStatus.CANCELLED
            average = abs(net) if len(order.legs) == 1 else net
            self.on_order(
                OrderUpdate(ref, status, filled, average if filled else 0.0, order.order_id)
            )


class _Collector:
    def __init__(self) -> None:
        self.fills: list[FillReport] = []
        self.rejections: dict[str, int] = {}
        self.signals = 0

    def publish(self, record) -> None:
        kind = getattr(record, "type", "")
        if kind == "fill":
            self.fills.append(record)
        elif kind == "decision":
            self.signals += 1
            if not record.taken:
                self.rejections[record.rule] = self.rejections.get(record.rule, 0) + 1


@dataclass
class Trade:
    """One position group from first fill to flat: P&L net of commissions."""

    id: str
    opened: datetime
    closed: datetime | None
    pnl: float
    commissions: float


@dataclass
class DayResult:
    path: str
    day: str
    snapshots: int
    signals: int
    trades: list[Trade]
    rejections: dict[str, int]
    equity: list[tuple[datetime, float]]
    fills: list[FillReport]
    commissions: float
    spread_paid: float

    @property
    def pnl(self) -> float:
        return self.equity[-1][1] if self.equity else 0.0


@dataclass
class Report:
    days: list[DayResult] = field(default_factory=list)

    @property
    def trades(self) -> list[Trade]:
        return [t for d in self.days for t in d.trades]

    def max_drawdown(self) -> float:
        peak, worst, offset = 0.0, 0.0, 0.0
        for day in self.days:
            for _, value in day.equity:
                equity = offset + value
                peak = max(peak, equity)
                worst = max(worst, peak - equity)
            offset += day.pnl
        return worst

    def text(self) -> str:
        trades = self.trades
        closed = [t for t in trades if t.closed is not None]
        wins = sum(1 for t in closed if t.pnl > 0)
        total = sum(d.pnl for d in self.days)
        lines = [
            f"{'day':<12}{'snapshots':>10}{'signals':>9}{'trades':>8}{'P&L $':>11}"
            f"{'commissions':>13}{'spread':>9}",
        ]
        for d in self.days:
            lines.append(
                f"{d.day:<12}{d.snapshots:>10}{d.signals:>9}{len(d.trades):>8}{d.pnl:>11.2f}"
                f"{d.commissions:>13.2f}{d.spread_paid:>9.2f}"
            )
        per_trade = total / len(trades) if trades else 0.0
        rejected: dict[str, int] = {}
        for d in self.days:
            for rule, count in d.rejections.items():
                rejected[rule] = rejected.get(rule, 0) + count
        lines += [
            "",
            f"trades {len(trades)} ({len(closed)} closed), hit rate "
            f"{(wins / len(closed) if closed else math.nan):.0%}, P&L ${total:,.2f}, "
            f"per trade ${per_trade:,.2f}, per day ${total / max(len(self.days), 1):,.2f}",
            f"max drawdown ${self.max_drawdown():,.2f}; costs: commissions "
            f"${sum(d.commissions for d in self.days):,.2f}, spread paid "
            f"${sum(d.spread_paid for d in self.days):,.2f}",
            "rejections: " + (", ".join(f"{r} {n}" for r, n in sorted(rejected.items())) or "none"),
        ]
        for t in trades:
            closed_at = "open" if t.closed is None else f"{t.closed:%H:%M:%S}"
            lines.append(f"  {t.opened:%Y-%m-%d %H:%M:%S}–{closed_at}  {t.pnl:+9.2f}  {t.id}")
        return "\n".join(lines)


async def backtest_day(
    path: str | Path,
    settings: TraderSettings,
    model: FillModel = FillModel(),
    detector: DetectorConfig | None = None,
    stream: StreamSettings | None = None,
) -> DayResult:
    now: list[datetime] = []
    journal = Journal(":memory:")
    gateway = SimulatedGateway(model, lambda: now[0])
    collector = _Collector()
    engine = Engine(settings, gateway, journal, collector, clock=lambda: now[0])
    detect = StreamingDetector(detector or DetectorConfig(max_expiries=1), stream)
    equity: list[tuple[datetime, float]] = []
    snapshots = 0
    for recorded in read_recording(path):
        snapshot = recorded.snapshot
        now[:] = [snapshot.timestamp]
        if not engine.ready:
            engine.restore(snapshot.timestamp)
            engine.ready = True
        snapshots += 1
        market = MarketIndex(snapshot)
        gateway.match(market)
        update = detect.update(snapshot)
        engine.publish_snapshot(snapshot)
        if update.events:
            await engine.handle_events(update.events)
        while engine._tasks:
            await asyncio.gather(*list(engine._tasks), return_exceptions=True)
        mids, _ = engine.marks()
        equity.append(
            (snapshot.timestamp, engine.portfolio.realized_net + engine.portfolio.unrealized(mids))
        )
    journal.close()
    fills = collector.fills
    return DayResult(
        path=str(path),
        day=f"{equity[0][0]:%Y-%m-%d}" if equity else "-",
        snapshots=snapshots,
        signals=collector.signals,
        trades=_trades(fills),
        rejections=collector.rejections,
        equity=equity,
        fills=fills,
        commissions=sum(f.commission for f in fills),
        spread_paid=gateway.spread_paid,
    )


def _trades(fills: Sequence[FillReport]) -> list[Trade]:
    by_group: dict[str, list[FillReport]] = {}
    for fill in fills:
        by_group.setdefault(group_of(signal_of(fill.order_ref)), []).append(fill)
    trades = []
    for group_id, group in by_group.items():
        cash = sum(
            (f.price if f.action is Action.SELL else -f.price) * f.quantity * CONTRACT_MULTIPLIER
            for f in group
        )
        held: dict[ContractRef, int] = {}
        for f in group:
            held[f.contract] = held.get(f.contract, 0) + (
                f.quantity if f.action is Action.BUY else -f.quantity
            )
        commissions = sum(f.commission for f in group)
        flat = all(q == 0 for q in held.values())
        trades.append(
            Trade(
                id=group_id,
                opened=group[0].at,
                closed=group[-1].at if flat else None,
                pnl=cash - commissions,
                commissions=commissions,
            )
        )
    return trades


def backtest(
    paths: Iterable[str | Path],
    settings: TraderSettings,
    model: FillModel = FillModel(),
    detector: DetectorConfig | None = None,
) -> Report:
    report = Report()
    for path in paths:
        report.days.append(asyncio.run(backtest_day(path, settings, model, detector)))
    return report


def plot(report: Report, out: str | Path) -> Path:
    """The equity curve over all days (P&L net of commissions, marked at mid), entries ▲ and
    exits ▼ marked; a PNG."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    figure, axes = plt.subplots(figsize=(11, 4.5), dpi=110)
    offset, step = 0.0, 0
    xs, ys = [], []
    marks: dict[str, list[tuple[int, float]]] = {"entry": [], "exit": []}
    for day in report.days:
        at_step = {}
        for moment, value in day.equity:
            xs.append(step)
            ys.append(offset + value)
            at_step[moment] = (step, offset + value)
            step += 1
        for fill in day.fills:
            point = at_step.get(fill.at)
            if point is not None:
                kind = "exit" if ":X" in fill.order_ref else "entry"
                marks[kind].append(point)
        offset += day.pnl
    axes.plot(xs, ys, color="#1f4e79", linewidth=1.2, label="equity (net, at mid)")
    for kind, colour, marker in (("entry", "#2e7d32", "^"), ("exit", "#c62828", "v")):
        if marks[kind]:
            px, py = zip(*marks[kind], strict=True)
            axes.scatter(px, py, color=colour, marker=marker, s=28, label=kind, zorder=3)
    axes.axhline(0, color="#999999", linewidth=0.8)
    axes.set_xlabel("snapshot (days in order)")
    axes.set_ylabel("P&L, dollars")
    axes.set_title(f"Backtest: {len(report.days)} day(s), {len(report.trades)} trades")
    axes.legend(loc="upper left")
    figure.tight_layout()
    out = Path(out)
    figure.savefig(out)
    plt.close(figure)
    return out


def _millis(ms: float):
    from datetime import timedelta

    return timedelta(milliseconds=ms)
