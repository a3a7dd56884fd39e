"""The trading engine: detector output in, orders out, everything reported. Orchestration
only; the decisions are the pure `strategy` and `risk`, the memory is `journal`, the broker
is behind `OrderGateway` (ib_async in `ibkr`).

It is a market-data `Sink` (snapshots and anomaly events arrive from the same pipeline the
market-data service runs), so the tick → anomaly → order path stays in one process.

Sequence for a signal: strategy → duplicate check (journal) → contract known to IB →
risk → decision and PENDING orders committed → orders sent. A signal whose legs are the
same size (a vertical, in or out) goes as one combo (BAG) order at the net price: IB fills
every leg at once or none, so there is no moment with a naked short. Otherwise legs that
buy go first, and a leg that sells is sent only for what its buy legs filled. The journal
keeps one row per leg either way; a combo's rows share its orderRef `<signal id>:C`.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Protocol

from pydantic import BaseModel

from spy_core.market_hours import NEW_YORK
from spy_core.models import AnomalyEvent, ChainSnapshot, Right
from spy_core.trading import (
    CONTRACT_MULTIPLIER,
    Action,
    ContractRef,
    Decision,
    FillReport,
    Intent,
    OrderReport,
    OrderStatus,
    PnlPoint,
    PositionPoint,
    Signal,
    TradingState,
)

from .ibkr import BrokerPnl, BrokerState, ComboLegs, OrderUpdate
from .journal import Journal, OrderRow
from .metrics import TraderMetrics
from .portfolio import (
    Holding,
    Portfolio,
    combo_ref,
    group_of,
    is_combo_ref,
    order_ref,
    signal_of,
)
from .risk import Exposure, RiskEngine
from .settings import TraderSettings
from .strategy import EdgeStrategy, MarketIndex, Skip, Strategy, deltas_of

_log = logging.getLogger(__name__)
_DELTA_REFRESH = timedelta(seconds=30)


class OrderGateway(Protocol):
    on_order: Callable[[OrderUpdate], None]
    on_fill: Callable[[FillReport], None]

    @property
    def connected(self) -> bool: ...

    async def qualify(self, contract: ContractRef) -> bool: ...

    def place(
        self, ref: str, contract: ContractRef, action: Action, quantity: int, limit: float
    ) -> int | None: ...

    def place_combo(self, ref: str, legs: ComboLegs, quantity: int, limit: float) -> int | None: ...

    def cancel(self, ref: str) -> bool: ...

    def broker_state(self) -> BrokerState: ...

    def broker_pnl(self) -> BrokerPnl | None: ...


class Reporter(Protocol):
    def publish(self, record: BaseModel) -> None: ...


@dataclass
class _Working:
    row: OrderRow
    intent: Intent
    sent_at: float | None = None  # monotonic; None while waiting for its buy legs


class Engine:
    def __init__(
        self,
        settings: TraderSettings,
        gateway: OrderGateway,
        journal: Journal,
        reporter: Reporter,
        clock: Callable[[], datetime],
        strategy: Strategy | None = None,
        risk: RiskEngine | None = None,
        metrics: TraderMetrics | None = None,
        is_leader: Callable[[], bool] = lambda: True,
    ) -> None:
        self.settings = settings
        self.gateway = gateway
        self.journal = journal
        self.reporter = reporter
        self.clock = clock
        self.strategy = strategy or EdgeStrategy(settings.strategy)
        self.risk = risk or RiskEngine(settings.risk)
        self.metrics = metrics or TraderMetrics()
        self.is_leader = is_leader
        self.metrics.leader.set_function(lambda: 1.0 if self.is_leader() else 0.0)
        self.portfolio = Portfolio()
        self.market: MarketIndex | None = None
        self.state = TradingState.ACTIVE
        self.state_reason = ""
        self.ready = False
        self._working: dict[str, _Working] = {}
        self._fairs: dict[ContractRef, float] = {}
        # Deltas for the book's net delta, re-solved (one vectorised IV solve) at most every
        # _DELTA_REFRESH of market time: a solve per snapshot cost more than the rest of a tick.
        self._deltas: dict[ContractRef, float] = {}
        self._deltas_at: datetime | None = None
        self._last_pnl: tuple | None = None
        self._pnl_apart_since: datetime | None = None  # first check beyond tolerance
        self._pnl_warned = False
        self._day = None
        self._tasks: set[asyncio.Task] = set()
        self._deciding: set[str] = set()  # ids between the duplicate check and the commit
        gateway.on_order = self.on_order
        gateway.on_fill = self.on_fill

    # -- start-up -----------------------------------------------------------------------
    def restore(self, now: datetime) -> None:
        """Rebuild today's groups, fills and trading state from the journal."""
        day = now.astimezone(NEW_YORK).date()
        self._day = day
        self.portfolio = Portfolio()
        for signal in self.journal.taken_signals(day):
            if signal.intent is Intent.OPEN:
                self._open_group(signal)
        for fill in self.journal.fills(day):
            self._book(fill)
        for signal in self.journal.signals(day):
            if signal.intent is Intent.CLOSE:
                group = self.portfolio.groups.get(group_of(signal.id))
                if group is not None:
                    group.exits += 1
        self.state, self.state_reason = self.journal.state(day)
        self.metrics.state(self.state)
        self._working = {}
        for row in self.journal.open_orders():
            signal = self.journal.signal(row.signal_id)
            intent = Intent.OPEN if signal is None else signal.intent
            sent = time.monotonic() if row.order_id is not None else None
            self._working[row.ref] = _Working(row, intent, sent)

    def reconcile(self) -> None:
        """Make the journal and the book agree with IB before trading: adopt IB's view of
        every order we know (by orderRef), repair orders a crash left PENDING, book missed
        executions, cancel orders IB has that we do not know, adopt IB's positions."""
        ib = self.gateway.broker_state()
        self.journal.note_order_id(ib.max_order_id)
        for fill in ib.fills:
            self.on_fill(fill)
        for row in self.journal.open_orders():
            ref = self._ib_ref(row)
            update = ib.orders.get(ref)
            if update is not None:
                self._apply_update(row, _for_leg(row, update))
                continue
            filled = sum(
                f.quantity
                for f in ib.fills
                if f.order_ref == ref and f.contract == row.leg.contract
            )
            if row.order_id is None and filled == 0 and self._waits_for_buys(row):
                continue  # a sell leg not due yet: its buy legs are still working
            if row.status is OrderStatus.PENDING and filled == 0:
                message = "never reached IB (stopped between deciding and sending); not resent"
            else:
                message = "no longer at IB; closed from its executions"
            status = OrderStatus.FILLED if filled >= row.leg.quantity else OrderStatus.CANCELLED
            self._apply_update(row, OrderUpdate(row.ref, status, filled, 0.0, None, message))
        for ref, update in ib.orders.items():
            if not self._rows_of(ref) and update.status is OrderStatus.WORKING:
                _log.error("orphan order %s at IB (unknown to the journal): cancelling", ref)
                self.metrics.orphans.inc()
                self.gateway.cancel(ref)
        self._adopt_positions(ib.positions)
        for signal_id in {w.row.signal_id for w in self._working.values()}:
            self._send_ready(signal_id)
        self.ready = True

    def _waits_for_buys(self, row: OrderRow) -> bool:
        rows = self.journal.orders_of(row.signal_id)
        return (
            row.leg.action is Action.SELL
            and not _is_combo(rows)
            and any(r.is_open and r.leg.action is Action.BUY and r.ref != row.ref for r in rows)
        )

    def _ib_ref(self, row: OrderRow) -> str:
        """The orderRef IB knows this leg's order by: the combo's, or the leg's own."""
        combo = _is_combo(self.journal.orders_of(row.signal_id))
        return combo_ref(row.signal_id) if combo else row.ref

    def _rows_of(self, ref: str) -> list[OrderRow]:
        """The journal rows an IB orderRef stands for (a combo's: every leg)."""
        if is_combo_ref(ref):
            return self.journal.orders_of(signal_of(ref))
        row = self.journal.order(ref)
        return [] if row is None else [row]

    def _adopt_positions(self, positions: dict[ContractRef, tuple[int, float]]) -> None:
        mine = {c: h.quantity for c, h in self.portfolio.holdings.items() if h.quantity}
        for contract in set(mine) | set(positions):
            ib_qty, avg = positions.get(contract, (0, 0.0))
            if mine.get(contract, 0) == ib_qty:
                continue
            _log.error(
                "position mismatch %s: journal %d, IB %d: adopting IB's",
                contract.label,
                mine.get(contract, 0),
                ib_qty,
            )
            self.metrics.position_mismatches.inc()
            self.portfolio.holdings[contract] = Holding(ib_qty, avg)
            group = self.portfolio.open_group(
                f"recon-{contract.expiry:%Y%m%d}-{contract.strike:g}{contract.right.value}",
                self.clock(),
                None,
                avg,
            )
            group.legs[contract] = Holding(ib_qty - mine.get(contract, 0), avg)
            group.entry_price = avg

    # -- market-data sink ---------------------------------------------------------------
    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        self.market = MarketIndex(snapshot)
        if self._deltas_at is None or snapshot.timestamp - self._deltas_at >= _DELTA_REFRESH:
            self._deltas, self._deltas_at = {}, snapshot.timestamp
        if self.ready:
            self.on_tick()

    def publish_analysis(self, snapshot, analysis, flow) -> None:
        """Not used: the strategy works from events and the snapshot."""

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        self._spawn(self.handle_events(events))

    def close(self) -> None:
        for task in self._tasks:
            task.cancel()

    # -- signals ------------------------------------------------------------------------
    async def handle_events(self, events: Sequence[AnomalyEvent]) -> list[Decision]:
        if self.market is None or not self.ready or not self.is_leader():
            return []
        decisions = []
        for item in self.strategy.on_events(events, self.market, self.portfolio):
            if isinstance(item, Skip):
                self.metrics.skips.inc()
                _log.debug("skip %s: %s", item.event_id, item.reason)
                continue
            decision = await self.submit(item)
            if decision is not None:
                decisions.append(decision)
        return decisions

    async def submit(self, signal: Signal) -> Decision | None:
        """Decide one signal and send what was taken; None for a signal already decided."""
        if signal.id in self._deciding or self.journal.known(signal.id):
            return None
        self._deciding.add(signal.id)
        try:
            return await self._qualify_and_decide(signal)
        finally:
            self._deciding.discard(signal.id)

    async def _qualify_and_decide(self, signal: Signal) -> Decision | None:
        for leg in signal.legs:
            try:
                known = await self.gateway.qualify(leg.contract)
            except ConnectionError:
                _log.warning("signal %s dropped: gateway disconnected", signal.id)
                return None
            if not known:
                return self._decide(
                    signal, ("unknown_contract", f"IB does not know {leg.contract.label}")
                )
        return self._decide(signal)

    def _decide(self, signal: Signal, failed: tuple[str, str] | None = None) -> Decision:
        now = self.clock()
        if failed is None:
            decision = self.risk.check(signal, now, self.state, self.exposure())
        else:
            rule, detail = failed
            decision = Decision(
                signal_id=signal.id, at=now, taken=False, rule=rule, detail=detail, state=self.state
            )
        refs = [order_ref(signal.id, i) for i in range(len(signal.legs))] if decision.taken else []
        self.journal.record_decision(signal, decision.taken, decision.rule, refs)
        self.reporter.publish(signal)
        self.reporter.publish(decision)
        if signal.intent is Intent.CLOSE:
            self.portfolio.groups[group_of(signal.id)].exits += 1  # taken or not: a new id next
        if not decision.taken:
            self.metrics.rejections.labels(decision.rule).inc()
            _log.info("rejected %s: %s (%s)", signal.id, decision.rule, decision.detail)
            return decision
        _log.info("taken %s: %s", signal.id, signal.reason)
        if signal.intent is Intent.OPEN:
            self._open_group(signal)
        for row in self.journal.orders_of(signal.id):
            self._working[row.ref] = _Working(row, signal.intent)
        self._send_ready(signal.id)
        return decision

    def _open_group(self, signal: Signal) -> None:
        fair = sum(leg.fair if leg.action is Action.BUY else -leg.fair for leg in signal.legs)
        for leg in signal.legs:
            self._fairs[leg.contract] = leg.fair
        self.portfolio.open_group(signal.id, signal.at, signal.source_event, fair)

    def _send_ready(self, signal_id: str) -> None:
        """Send the legs that may go now: buys at once; sells once no buy is working, for
        the quantity the buys filled (all of it when there is no buy leg)."""
        legs = [w for w in self._working.values() if w.row.signal_id == signal_id]
        rows = self.journal.orders_of(signal_id)
        if _is_combo(rows):
            self._send_combo(signal_id, rows, legs)
            return
        buys = [r for r in rows if r.leg.action is Action.BUY]
        if any(r.is_open for r in buys):
            allowed = None
        elif buys:
            allowed = min(r.filled for r in buys)
        else:
            allowed = None
        for working in legs:
            row = working.row
            if working.sent_at is not None or row.status is not OrderStatus.PENDING:
                continue
            quantity = row.leg.quantity
            if row.leg.action is Action.SELL and buys:
                if allowed is None:
                    continue
                quantity = min(quantity, allowed)
                if quantity == 0:
                    self._apply_update(
                        row,
                        OrderUpdate(
                            row.ref,
                            OrderStatus.CANCELLED,
                            0,
                            0.0,
                            None,
                            "buy leg not filled: not sent",
                        ),
                    )
                    continue
            self._send(working, quantity)

    def _send_combo(self, signal_id: str, rows: list[OrderRow], legs: list[_Working]) -> None:
        """Every leg in one combo order, once: all rows PENDING and none sent yet."""
        waiting = [w for w in legs if w.sent_at is None and w.row.status is OrderStatus.PENDING]
        if len(waiting) != len(rows):
            return
        ref = combo_ref(signal_id)
        net = sum(w.row.leg.limit * (1 if w.row.leg.action is Action.BUY else -1) for w in waiting)
        order_id = self.gateway.place_combo(
            ref,
            [(w.row.leg.contract, w.row.leg.action) for w in waiting],
            waiting[0].row.leg.quantity,
            round(net, 2),
        )
        if order_id is None:
            _log.warning("combo %s not sent: gateway disconnected; resolved at reconnect", ref)
            return
        for working in waiting:
            working.sent_at = time.monotonic()
            self._record_sent(working.row, order_id, f"sent in combo {ref} at net {net:.2f}")

    def _send(self, working: _Working, quantity: int) -> None:
        row = working.row
        leg = row.leg
        order_id = self.gateway.place(row.ref, leg.contract, leg.action, quantity, leg.limit)
        if order_id is None:
            _log.warning("order %s not sent: gateway disconnected; resolved at reconnect", row.ref)
            return
        working.sent_at = time.monotonic()
        self._record_sent(row, order_id, "sent")

    def _record_sent(self, row: OrderRow, order_id: int, message: str) -> None:
        self.journal.update_order(row.ref, OrderStatus.PENDING, order_id=order_id)
        self.metrics.orders.labels(row.leg.action.value).inc()
        self._report_order(row, OrderStatus.PENDING, 0, 0.0, order_id, message)

    # -- broker callbacks ---------------------------------------------------------------
    def on_order(self, update: OrderUpdate) -> None:
        for row in self._rows_of(update.ref):  # none: not ours (another strategy, by hand)
            self._apply_update(row, _for_leg(row, update))

    def _apply_update(self, row: OrderRow, update: OrderUpdate) -> None:
        status = update.status
        if status is OrderStatus.WORKING and row.status is OrderStatus.PENDING:
            pass
        elif status is row.status and update.filled == row.filled:
            return
        if not row.is_open and status is OrderStatus.WORKING:
            return  # a late echo of an order already closed
        self.journal.update_order(
            row.ref, status, update.order_id, update.filled, update.avg_price, update.message
        )
        if status is OrderStatus.REJECTED:
            self.metrics.order_rejections.inc()
            _log.warning("order %s rejected: %s", row.ref, update.message)
        self._report_order(
            row, status, update.filled, update.avg_price, update.order_id, update.message
        )
        if status in (OrderStatus.FILLED, OrderStatus.CANCELLED, OrderStatus.REJECTED):
            self._working.pop(row.ref, None)
            self._send_ready(row.signal_id)
        else:
            working = self._working.get(row.ref)
            if working is not None:
                working.row = self.journal.order(row.ref) or row

    def on_fill(self, fill: FillReport) -> None:
        if not self.journal.record_fill(fill):
            return
        self._book(fill)
        self.metrics.fills.inc()
        self.reporter.publish(fill)
        self._report_positions(fill.contract)

    def _book(self, fill: FillReport) -> None:
        self.portfolio.apply_fill(
            fill.exec_id,
            fill.order_ref,
            fill.contract,
            fill.action,
            fill.quantity,
            fill.price,
            fill.commission,
            fill.at,
        )

    # -- the clock: exits, flatten, TTL, loss stop --------------------------------------
    def on_tick(self) -> None:
        now = self.clock()
        exposure = self.exposure()
        if self.state is not TradingState.HALTED and self.risk.loss_limit_hit(exposure):
            self.kill(f"max_daily_loss: day P&L ${exposure.day_pnl:,.0f}")
        flatten = self.state is TradingState.HALTED or self.risk.flatten_due(now)
        if flatten and self.state is TradingState.ACTIVE:
            self.set_state(TradingState.REDUCING, "flatten time before the close")
        self._expire_orders(cancel_opens=flatten)
        if self.market is not None and self.is_leader():
            busy = {group_of(signal_of(ref)) for ref in self._working}
            busy |= {group_of(signal_id) for signal_id in self._deciding}
            for signal in self.strategy.exits(self.market, self.portfolio, now, flatten, busy):
                self._spawn(self.submit(signal))
        self._report_pnl(now, exposure)

    def _expire_orders(self, cancel_opens: bool) -> None:
        ttl = self.settings.order_ttl_seconds
        now_mono = time.monotonic()
        asked: dict[str, bool] = {}  # IB ref → cancel sent (a combo's legs share one)
        for working in list(self._working.values()):
            stale = working.sent_at is not None and now_mono - working.sent_at >= ttl
            flattening = cancel_opens and working.intent is Intent.OPEN and working.sent_at
            if not (stale or flattening):
                continue
            ref = self._ib_ref(working.row)
            if ref not in asked:
                asked[ref] = self.risk.allow_cancel(self.clock()) and self.gateway.cancel(ref)
            if asked[ref]:
                working.sent_at = float("inf")  # asked once; IB confirms with a status

    def kill(self, reason: str) -> None:
        """The kill switch: HALTED (persisted for the day), working orders cancelled, every
        position flattened on the next ticks, nothing new opened until reset."""
        _log.error("KILL SWITCH: %s", reason)
        self.set_state(TradingState.HALTED, reason)
        for ref in dict.fromkeys(self._ib_ref(w.row) for w in self._working.values()):
            if self.risk.allow_cancel(self.clock()):
                self.gateway.cancel(ref)
        if self.market is not None:
            self.on_tick()

    def reset(self) -> None:
        """Back to ACTIVE: only through the authenticated control call."""
        self.set_state(TradingState.ACTIVE, "reset by an operator")

    def set_state(self, state: TradingState, reason: str) -> None:
        self.state, self.state_reason = state, reason
        self.journal.set_state(self.clock().astimezone(NEW_YORK).date(), state, reason)
        self.metrics.state(state)
        _log.warning("trading state %s: %s", state.value, reason)

    # -- views --------------------------------------------------------------------------
    def marks(self) -> tuple[dict[ContractRef, float], dict[ContractRef, float]]:
        """Mid and fair per held contract: fair is the detector's fair value from the
        opening signal (the wing's mid for a vertical's wing), else the mid."""
        mids: dict[ContractRef, float] = {}
        if self.market is None:
            return mids, {}
        for contract, holding in self.portfolio.holdings.items():
            if not holding.quantity:
                continue
            quote = self.market.quote(contract)
            if quote is not None and quote.ask > 0:
                mids[contract] = 0.5 * (quote.bid + quote.ask)
        return mids, {c: self._fairs.get(c, mid) for c, mid in mids.items()}

    def exposure(self) -> Exposure:
        by_contract = {c: h.quantity for c, h in self.portfolio.holdings.items() if h.quantity}
        groups = {g.id: g for g in self.portfolio.open_groups()}
        at_risk = sum(self._group_risk(g) for g in groups.values())
        open_signals = set()
        for working in self._working.values():
            leg = working.row.leg
            if working.intent is not Intent.OPEN:
                continue
            open_signals.add(working.row.signal_id)
            signed = leg.quantity if leg.action is Action.BUY else -leg.quantity
            by_contract[leg.contract] = by_contract.get(leg.contract, 0) + signed
            if working.row.signal_id not in groups and leg.action is Action.BUY:
                at_risk += leg.limit * leg.quantity * CONTRACT_MULTIPLIER
        mids, _ = self.marks()
        contracts = list(by_contract)
        delta = sum(
            by_contract[c] * d
            for c, d in zip(contracts, self._solve_deltas(contracts), strict=True)
        )
        return Exposure(
            by_contract=by_contract,
            contracts_total=sum(abs(q) for q in by_contract.values()),
            open_positions=len(set(groups) | open_signals),
            premium_at_risk=at_risk,
            net_delta=delta * CONTRACT_MULTIPLIER,
            day_pnl=self.portfolio.realized_net + self.portfolio.unrealized(mids),
        )

    def _delta(self, contract: ContractRef) -> float:
        found = self._deltas.get(contract)
        return self._solve_deltas([contract])[0] if found is None else found

    def _solve_deltas(self, contracts: list[ContractRef]) -> list[float]:
        """Deltas per share (a contract not quoted counts as ±1), solving only those not
        solved since the last refresh."""
        missing = [c for c in contracts if c not in self._deltas]
        quoted = []
        for contract in missing:
            quote = None if self.market is None else self.market.quote(contract)
            if quote is None:
                self._deltas[contract] = 1.0 if contract.right is Right.CALL else -1.0
            else:
                quoted.append((contract, quote))
        if quoted and self.market is not None:
            snapshot = self.market.snapshot
            solved = deltas_of([q for _, q in quoted], snapshot.spot, snapshot.timestamp)
            self._deltas.update(zip([c for c, _ in quoted], solved, strict=True))
        return [self._deltas[c] for c in contracts]

    @staticmethod
    def _group_risk(group) -> float:
        lots = group.lots * CONTRACT_MULTIPLIER
        if group.entry_price >= 0:
            return group.entry_price * lots
        strikes = [c.strike for c, h in group.legs.items() if h.quantity]
        width = max(strikes) - min(strikes) if strikes else 0.0
        return max(width + group.entry_price, 0.0) * lots

    # -- reporting ----------------------------------------------------------------------
    def _report_order(
        self, row: OrderRow, status: OrderStatus, filled: int, avg: float, order_id, message: str
    ) -> None:
        leg = row.leg
        self.reporter.publish(
            OrderReport(
                order_ref=row.ref,
                signal_id=row.signal_id,
                at=self.clock(),
                contract=leg.contract,
                action=leg.action,
                quantity=leg.quantity,
                limit=leg.limit,
                status=status,
                filled=filled,
                avg_price=avg,
                order_id=order_id,
                message=message,
            )
        )

    def _report_positions(self, contract: ContractRef) -> None:
        holding = self.portfolio.holdings.get(contract)
        mids, fairs = self.marks()
        if holding is None:
            return
        self.reporter.publish(
            PositionPoint(
                at=self.clock(),
                contract=contract,
                quantity=holding.quantity,
                avg_cost=holding.avg_price,
                mark=mids.get(contract),
                fair=fairs.get(contract),
            )
        )

    def _report_pnl(self, now: datetime, exposure: Exposure) -> None:
        """A P&L point when anything in it changed (not every snapshot); metrics always."""
        mids, fairs = self.marks()
        ib = self._check_pnl(now, mids)
        values = (
            round(self.portfolio.realized_net, 2),
            round(self.portfolio.unrealized(mids), 2),
            round(self.portfolio.unrealized(fairs), 2),
            round(self.portfolio.commissions, 2),
            self.state,
            exposure.open_positions,
            round(exposure.premium_at_risk, 2),
            round(exposure.net_delta, 1),
            None if ib is None else round(ib.realized, 2),
            None if ib is None else round(ib.unrealized, 2),
        )
        if values == self._last_pnl:
            return
        self._last_pnl = values
        realized, mid, fair, commissions, state, positions, at_risk, delta, *_ = values
        point = PnlPoint(
            at=now,
            day=now.astimezone(NEW_YORK).date(),
            realized=realized,
            unrealized_mid=mid,
            unrealized_fair=fair,
            commissions=commissions,
            state=state,
            open_positions=positions,
            premium_at_risk=at_risk,
            net_delta=delta,
            ib_realized=values[-2],
            ib_unrealized=values[-1],
        )
        self.metrics.pnl(point, self.settings.risk)
        self.reporter.publish(point)

    def _check_pnl(self, now: datetime, mids: dict[ContractRef, float]) -> BrokerPnl | None:
        """Compare our P&L with IB's (in IB's convention, see `Portfolio.ib_view`): the
        differences go to /metrics; one that stays beyond tolerance for the grace period
        (IB's figures trail the fills) is logged once and counted. IB's figures or None."""
        ib = self.gateway.broker_pnl()
        if ib is None:
            return None
        realized, unrealized = self.portfolio.ib_view(mids)
        apart_realized, apart_unrealized = realized - ib.realized, unrealized - ib.unrealized
        self.metrics.pnl_difference.labels("realized").set(apart_realized)
        self.metrics.pnl_difference.labels("unrealized").set(apart_unrealized)
        s = self.settings
        held = max(self.portfolio.contracts_held(), 1)
        beyond = (
            abs(apart_realized) > s.pnl_tolerance
            or abs(apart_unrealized) > s.unrealized_pnl_tolerance * held
        )
        if not beyond:
            self._pnl_apart_since, self._pnl_warned = None, False
        elif self._pnl_apart_since is None:
            self._pnl_apart_since = now
        elif not self._pnl_warned and (now - self._pnl_apart_since).total_seconds() >= (
            s.pnl_grace_seconds
        ):
            _log.warning(
                "P&L apart from IB's for %.0f s: realised ours $%.2f, IB $%.2f; unrealised "
                "ours $%.2f, IB $%.2f (IB's convention: opening commissions in the cost)",
                (now - self._pnl_apart_since).total_seconds(),
                realized,
                ib.realized,
                unrealized,
                ib.unrealized,
            )
            self.metrics.pnl_mismatches.inc()
            self._pnl_warned = True  # once per episode
        return ib

    def _spawn(self, coroutine) -> None:
        task = asyncio.get_running_loop().create_task(coroutine)
        self._tasks.add(task)
        task.add_done_callback(self._done)

    def _done(self, task: asyncio.Task) -> None:
        self._tasks.discard(task)
        if not task.cancelled() and task.exception() is not None:
            _log.error("trader task failed", exc_info=task.exception())


def _is_combo(rows: Sequence[OrderRow]) -> bool:
    """A signal's legs go as one combo order when there are several of one size (a
    vertical): known from its journal rows alone, so a restart decides the same."""
    return len(rows) > 1 and len({r.leg.quantity for r in rows}) == 1


def _for_leg(row: OrderRow, update: OrderUpdate) -> OrderUpdate:
    """IB's report on a combo order, as it applies to one of its legs (ratio 1: the leg's
    filled quantity is the combo's; IB's average is the net price, not the leg's)."""
    if update.ref == row.ref:
        return update
    message = update.message or f"combo {update.ref}: net average {update.avg_price:.2f}"
    return OrderUpdate(row.ref, update.status, update.filled, 0.0, update.order_id, message)
