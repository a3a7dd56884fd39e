"""The execution adapter on ib_async 2.1.0: the only module of the trader that imports it.

- Orders are plain LMT DAY orders with `orderRef` = `<signal id>:L<leg>`, or one combo
  (BAG, ratio 1 per leg, net limit) with `<signal id>:C`; the trader's own
  records are keyed by that reference, never by ib_async's Trade objects (ib_async clears
  them on every disconnect) or by orderId alone (IB reissues ids after a gateway restart).
- Order ids: ib_async takes nextValidId from the handshake; after connecting the adapter
  raises it above every id this client has ever used (persisted by the caller, plus what
  IB reports in open orders and executions), so a nextValidId rolled back by a gateway
  restart cannot reuse an id and cross-attribute IB's callbacks.
- State after a (re)connect comes from IB: ib_async's start-up sync (positions, open orders,
  completed orders, executions) is read back by `broker_state`; IB's day P&L (reqPnL,
  subscribed on every connect) by `broker_pnl`.
- Error codes are logged with a meaning (`MEANINGS`); rejections end the order REJECTED.
"""

from __future__ import annotations

import logging
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, date, datetime

from ib_async import IB, ComboLeg, Contract, LimitOrder, Option, PnL, Trade
from ib_async import OrderStatus as IbStatus

from spy_core.models import Right
from spy_core.trading import Action, ContractRef, FillReport, OrderStatus

_log = logging.getLogger(__name__)

MEANINGS = {
    103: "duplicate order id (an id at or below one this client used)",
    110: "price does not conform to the minimum price variation",
    135: "cannot find the order to modify",
    161: "cancel refused: the order is not in a cancellable state",
    200: "IB does not know this contract",
    201: "order rejected by IB",
    202: "order cancelled",
    321: "order failed IB's validation",
    326: "client id already in use",
    387: "unsupported order type",
    399: "order message (a warning; the order may still work)",
    434: "order size cannot be zero",
    1100: "connectivity between IB and the gateway lost",
    1101: "connectivity restored, market data lost",
    1102: "connectivity restored, data maintained",
    10147: "cancel: the order to cancel was not found (already done?)",
    10148: "cancel: the order cannot be cancelled in its current state",
    10197: "no live market data during a competing session",
}
REJECTION_CODES = frozenset({103, 110, 200, 201, 321, 387, 434, 10289, 10293})
_STATUS = {
    IbStatus.PendingSubmit: OrderStatus.WORKING,
    IbStatus.ApiPending: OrderStatus.WORKING,
    IbStatus.PreSubmitted: OrderStatus.WORKING,
    IbStatus.Submitted: OrderStatus.WORKING,
    IbStatus.PendingCancel: OrderStatus.WORKING,
    IbStatus.ApiUpdate: OrderStatus.WORKING,
    IbStatus.Filled: OrderStatus.FILLED,
    IbStatus.Cancelled: OrderStatus.CANCELLED,
    IbStatus.ApiCancelled: OrderStatus.CANCELLED,
    IbStatus.Inactive: OrderStatus.REJECTED,
    IbStatus.ValidationError: OrderStatus.REJECTED,
}


def meaning(code: int) -> str:
    return MEANINGS.get(code, "see IB's message codes")


ComboLegs = Sequence[tuple[ContractRef, Action]]  # a combo's legs, ratio 1 each


@dataclass(frozen=True, slots=True)
class OrderUpdate:
    ref: str
    status: OrderStatus
    filled: int
    avg_price: float
    order_id: int | None
    message: str = ""


@dataclass(frozen=True, slots=True)
class BrokerPnl:
    """IB's day P&L for the account (reqPnL), in dollars, commissions in IB's cost basis."""

    realized: float
    unrealized: float


@dataclass
class BrokerState:
    """What IB holds for this client: orders by orderRef, fills, positions by contract."""

    orders: dict[str, OrderUpdate] = field(default_factory=dict)
    fills: list[FillReport] = field(default_factory=list)
    positions: dict[ContractRef, tuple[int, float]] = field(default_factory=dict)
    max_order_id: int = 0


class IbkrExecution:
    def __init__(self, host: str, port: int, client_id: int, connect_timeout: float = 10.0) -> None:
        self.host, self.port, self.client_id = host, port, client_id
        self.connect_timeout = connect_timeout
        self.on_order: Callable[[OrderUpdate], None] = lambda update: None
        self.on_fill: Callable[[FillReport], None] = lambda fill: None
        self.on_disconnect: Callable[[], None] = lambda: None
        self.on_connectivity: Callable[[int], None] = lambda code: None
        self.ib = IB()
        self._contracts: dict[ContractRef, Contract] = {}
        self._unknown: set[ContractRef] = set()
        self._trades: dict[str, Trade] = {}
        self._pnl: PnL | None = None

    # -- connection ---------------------------------------------------------------------
    @property
    def connected(self) -> bool:
        return self.ib.isConnected()

    async def connect(self, min_order_id: int = 0) -> str:
        """Connect (a fresh ib_async client each time) and return the managed account."""
        self._retire()
        self.ib = IB()
        self.ib.orderStatusEvent += self._on_status
        self.ib.commissionReportEvent += self._on_commission
        self.ib.errorEvent += self._on_error
        self.ib.disconnectedEvent += self._on_disconnected
        await self.ib.connectAsync(
            self.host, self.port, clientId=self.client_id, timeout=self.connect_timeout
        )
        self._trades = {t.order.orderRef: t for t in self.ib.trades() if t.order.orderRef}
        seen = max(
            [min_order_id]
            + [t.order.orderId for t in self.ib.trades()]
            + [f.execution.orderId for f in self.ib.fills()]
        )
        self.ib.client.updateReqId(seen + 1)
        accounts = self.ib.managedAccounts()
        if not accounts:
            raise ConnectionError("the gateway reported no managed account")
        self._pnl = self.ib.reqPnL(accounts[0])  # per connection: IB drops it on disconnect
        return accounts[0]

    def disconnect(self) -> None:
        self._retire()

    def _retire(self) -> None:
        ib = self.ib
        ib.orderStatusEvent -= self._on_status
        ib.commissionReportEvent -= self._on_commission
        ib.errorEvent -= self._on_error
        ib.disconnectedEvent -= self._on_disconnected
        if ib.isConnected():
            ib.disconnect()

    # -- contracts ----------------------------------------------------------------------
    async def qualify(self, contract: ContractRef) -> bool:
        """True when IB knows the contract (cached either way, so a signal on an unknown
        contract costs one round trip, not one per signal)."""
        if contract in self._contracts:
            return True
        if contract in self._unknown:
            return False
        [found] = await self.ib.qualifyContractsAsync(to_ib(contract))
        if found is None or not found.conId:
            self._unknown.add(contract)
            return False
        self._contracts[contract] = found
        return True

    # -- orders -------------------------------------------------------------------------
    def place(
        self, ref: str, contract: ContractRef, action: Action, quantity: int, limit: float
    ) -> int | None:
        """Send one LMT DAY order; the orderId, or None when not connected (nothing sent)."""
        if not self.connected:
            return None
        order = LimitOrder(
            action.value, quantity, round(limit, 2), orderRef=ref, tif="DAY", transmit=True
        )
        trade = self.ib.placeOrder(self._contracts.get(contract) or to_ib(contract), order)
        self._trades[ref] = trade
        return trade.order.orderId

    def place_combo(self, ref: str, legs: ComboLegs, quantity: int, limit: float) -> int | None:
        """Buy one combo (BAG) of `legs` (ratio 1 each) `quantity` times at a net `limit` per
        unit (negative: a credit); IB fills every leg or none. The orderId, or None when
        not connected or a leg was never qualified (nothing sent)."""
        found = [self._contracts.get(contract) for contract, _ in legs]
        if not self.connected or any(c is None or not c.conId for c in found):
            return None
        bag = Contract(
            secType="BAG",
            symbol=legs[0][0].underlying,
            exchange="SMART",
            currency="USD",
            comboLegs=[
                ComboLeg(conId=c.conId, ratio=1, action=action.value, exchange="SMART")
                for c, (_, action) in zip(found, legs, strict=True)
                if c is not None
            ],
        )
        order = LimitOrder("BUY", quantity, round(limit, 2), orderRef=ref, tif="DAY")
        trade = self.ib.placeOrder(bag, order)
        self._trades[ref] = trade
        return trade.order.orderId

    def cancel(self, ref: str) -> bool:
        trade = self._trades.get(ref)
        if trade is None or not self.connected or trade.isDone():
            return False
        self.ib.cancelOrder(trade.order)
        return True

    def broker_state(self) -> BrokerState:
        """IB's view after the start-up sync: open orders, executions, positions."""
        state = BrokerState()
        for trade in self.ib.trades():
            ref = trade.order.orderRef
            state.max_order_id = max(state.max_order_id, trade.order.orderId)
            if ref:
                state.orders[ref] = self._update(trade)
        for fill in self.ib.fills():
            state.max_order_id = max(state.max_order_id, fill.execution.orderId)
            report = fill_report(fill)
            if report is not None:
                state.fills.append(report)
        for position in self.ib.positions():
            contract = from_ib(position.contract)
            if contract is not None and position.position:
                multiplier = float(position.contract.multiplier or 100)
                state.positions[contract] = (
                    int(position.position),
                    position.avgCost / multiplier,
                )
        return state

    def broker_pnl(self) -> BrokerPnl | None:
        """IB's latest day P&L, None until its first report (or while disconnected)."""
        pnl = self._pnl
        if pnl is None or not self.connected:
            return None
        if not (math.isfinite(pnl.realizedPnL) and math.isfinite(pnl.unrealizedPnL)):
            return None
        return BrokerPnl(pnl.realizedPnL, pnl.unrealizedPnL)

    # -- callbacks ----------------------------------------------------------------------
    def _update(self, trade: Trade) -> OrderUpdate:
        status = _STATUS.get(trade.orderStatus.status, OrderStatus.WORKING)
        message = ""
        if trade.log and trade.log[-1].errorCode:
            code = trade.log[-1].errorCode
            message = f"{code}: {meaning(code)}: {trade.log[-1].message}"
            if status is OrderStatus.CANCELLED and code in REJECTION_CODES:
                status = OrderStatus.REJECTED
        filled = int(trade.filled())
        return OrderUpdate(
            trade.order.orderRef,
            status,
            filled,
            trade.orderStatus.avgFillPrice or 0.0,
            trade.order.orderId,
            message,
        )

    def _on_status(self, trade: Trade) -> None:
        if trade.order.orderRef:
            self.on_order(self._update(trade))

    def _on_commission(self, trade: Trade, fill, report) -> None:
        fill_ = fill_report(fill)
        if fill_ is not None:
            self.on_fill(fill_)

    def _on_error(self, req_id: int, code: int, message: str, contract: object = None) -> None:
        level = logging.INFO if code in (202, 2104, 2106, 2107, 2108, 2158) else logging.WARNING
        _log.log(level, "IB %d (%s) for request %d: %s", code, meaning(code), req_id, message)
        if code in (1100, 1101, 1102):
            self.on_connectivity(code)

    def _on_disconnected(self) -> None:
        self.on_disconnect()


def to_ib(contract: ContractRef) -> Option:
    return Option(
        contract.underlying,
        f"{contract.expiry:%Y%m%d}",
        contract.strike,
        contract.right.value,
        "SMART",
        multiplier="100",
        currency="USD",
        tradingClass=contract.underlying,
    )


def from_ib(contract: Contract) -> ContractRef | None:
    if contract.secType != "OPT" or not contract.lastTradeDateOrContractMonth:
        return None
    text = contract.lastTradeDateOrContractMonth[:8]
    return ContractRef(
        underlying=contract.symbol,
        expiry=date(int(text[:4]), int(text[4:6]), int(text[6:8])),
        strike=float(contract.strike),
        right=Right(contract.right[:1]),
    )


def fill_report(fill) -> FillReport | None:
    contract = from_ib(fill.contract)
    execution = fill.execution
    if contract is None or not execution.orderRef:
        return None
    commission = fill.commissionReport.commission if fill.commissionReport else 0.0
    # The execution's own time (IB's clock): ib_async stamps live fills with the local
    # clock instead, which would file a fill under the wrong trading day.
    when = execution.time if isinstance(execution.time, datetime) else fill.time
    if not isinstance(when, datetime):
        when = datetime.now(UTC)
    return FillReport(
        exec_id=execution.execId,
        order_ref=execution.orderRef,
        at=when if when.tzinfo else when.replace(tzinfo=UTC),
        contract=contract,
        action=Action.BUY if execution.side == "BOT" else Action.SELL,
        quantity=int(execution.shares),
        price=execution.price,
        commission=commission if math.isfinite(commission) else 0.0,
    )
