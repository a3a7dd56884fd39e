"""The simulated broker: working limit orders, fills against the simulated book, positions,
cash and account values. Pure (no I/O, no clock: callers pass the time), so order handling
can be tested without sockets.

Fill rule (a marketable limit order takes displayed liquidity): a buy fills at the ask when
its limit is at or above it, up to the ask size; a sell at the bid, up to the bid size. What
is left keeps working and fills when a later book crosses it. Orders belong to the client id
that placed them and survive that client's disconnect, as at IB.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum

from .instruments import Instrument

OPTION_COMMISSION = 0.65  # dollars per contract
STOCK_COMMISSION = 0.005  # dollars per share
MIN_COMMISSION = 1.0
_FIRST_PERM_ID = 1_000_001


class Status(StrEnum):
    SUBMITTED = "Submitted"
    FILLED = "Filled"
    CANCELLED = "Cancelled"


class OrderRejectedError(Exception):
    """An order or cancel request IB would refuse, with IB's error code."""

    def __init__(self, code: int, message: str) -> None:
        super().__init__(message)
        self.code = code
        self.message = message


@dataclass(frozen=True, slots=True)
class ComboLegRequest:
    """One leg of a BAG contract as the client sent it."""

    con_id: int
    ratio: int
    action: str  # BUY or SELL, for a BUY of the combo (a SELL of the combo reverses it)


@dataclass(frozen=True, slots=True)
class OrderRequest:
    """The parts of a placeOrder message the simulator acts on."""

    order_id: int
    action: str  # BUY or SELL
    quantity: float
    order_type: str
    limit: float | None  # for a combo, the net price per unit: negative is a credit
    tif: str
    account: str
    order_ref: str
    legs: tuple[ComboLegRequest, ...] = ()  # a BAG contract's legs


@dataclass(frozen=True, slots=True)
class ComboLeg:
    instrument: Instrument
    ratio: int
    action: str

    def side(self, combo_action: str) -> str:
        """What this leg does when the combo is bought or sold."""
        if combo_action == "BUY":
            return self.action
        return "SELL" if self.action == "BUY" else "BUY"


@dataclass
class Order:
    order_id: int
    client_id: int
    perm_id: int
    instrument: Instrument
    action: str
    quantity: float
    limit: float
    tif: str
    account: str
    order_ref: str
    status: Status = Status.SUBMITTED
    filled: float = 0.0
    avg_price: float = 0.0
    last_fill: float = 0.0
    legs: tuple[ComboLeg, ...] = ()  # a combo (BAG) order's legs, filled all at once

    @property
    def remaining(self) -> float:
        return self.quantity - self.filled

    @property
    def con_ids(self) -> list[int]:
        """The contracts whose books decide this order's fill."""
        return [leg.instrument.con_id for leg in self.legs] or [self.instrument.con_id]

    @property
    def is_done(self) -> bool:
        return self.status is not Status.SUBMITTED


@dataclass(frozen=True, slots=True)
class Execution:
    exec_id: str
    order_id: int
    client_id: int
    perm_id: int
    instrument: Instrument
    side: str  # BOT or SLD
    shares: float
    price: float
    time: datetime
    cum_qty: float
    avg_price: float
    order_ref: str
    account: str
    commission: float
    realized_pnl: float


@dataclass(frozen=True, slots=True)
class Book:
    """Top of book for one contract; sizes in contracts (options) or shares (stock)."""

    bid: float
    ask: float
    bid_size: float
    ask_size: float
    mark: float


@dataclass
class Position:
    instrument: Instrument
    quantity: float = 0.0
    avg_cost: float = 0.0  # per contract (price × multiplier) or per share, with commission
    realized: float = 0.0  # today's, net of commissions (IB's convention: the opening
    # commission is in avg_cost, so it is realised with the part that closes)

    def unrealized(self, mark: float) -> float:
        """Dollars at `mark` (per share) against the average cost, commissions included."""
        return self.quantity * (mark * float(self.instrument.multiplier or 1) - self.avg_cost)


@dataclass
class Broker:
    """Every order, fill and position of the simulated account."""

    account: str = "DU1234567"
    cash: float = 1_000_000.0
    orders: dict[tuple[int, int], Order] = field(default_factory=dict)
    executions: list[Execution] = field(default_factory=list)
    positions: dict[int, Position] = field(default_factory=dict)
    realized_pnl: float = 0.0
    # A fault: while set, every new order is rejected with error 201 and this reason (as IB
    # does for margin, permissions or a closed market).
    reject_reason: str | None = None
    _next_perm_id: int = _FIRST_PERM_ID
    # Orders that may still work, in placement (perm id) order; `working_orders` prunes the
    # done ones, so matching is not a scan of the whole day's orders on every step.
    _working: dict[tuple[int, int], Order] = field(default_factory=dict, repr=False)

    def working_orders(self) -> list[Order]:
        """Orders still working, oldest first."""
        for key in [k for k, o in self._working.items() if o.is_done]:
            del self._working[key]
        return list(self._working.values())

    def next_valid_id(self, client_id: int) -> int:
        """One above the highest order id this client has used (1 for a new client)."""
        used = [order_id for (client, order_id) in self.orders if client == client_id]
        return max(used, default=0) + 1

    def place(
        self,
        client_id: int,
        request: OrderRequest,
        instrument: Instrument,
        legs: tuple[ComboLeg, ...] = (),
    ) -> Order:
        """A new order, or a modification when the id is one of the client's working orders.
        A combo order comes with its legs (and `instrument` the BAG)."""
        if request.order_type != "LMT":
            raise OrderRejectedError(
                387, f"Unsupported order type {request.order_type!r}: LMT only"
            )
        if request.action not in ("BUY", "SELL"):
            raise OrderRejectedError(321, f"Invalid action {request.action!r}")
        if not request.quantity > 0 or not math.isfinite(request.quantity):
            raise OrderRejectedError(434, "The order size cannot be zero.")
        if request.limit is None or not math.isfinite(request.limit):
            raise OrderRejectedError(321, "A limit order needs a limit price.")
        if not legs and not request.limit > 0:  # a combo's net price may be a credit
            raise OrderRejectedError(321, "A limit order needs a positive limit price.")
        if any(leg.action not in ("BUY", "SELL") or leg.ratio < 1 for leg in legs):
            raise OrderRejectedError(321, "Invalid combo leg: action BUY/SELL, ratio ≥ 1")
        if len({leg.instrument.con_id for leg in legs}) != len(legs):
            raise OrderRejectedError(321, "A combo lists the same contract twice")
        if abs(request.limit * 100 - round(request.limit * 100)) > 1e-6:
            raise OrderRejectedError(
                110, "The price does not conform to the minimum price variation."
            )
        existing = self.orders.get((client_id, request.order_id))
        if existing is not None:
            if existing.legs != legs:
                raise OrderRejectedError(105, "Order being modified does not match original order")
            return self._modify(existing, request, instrument)
        if self.reject_reason is not None:
            raise OrderRejectedError(201, f"Order rejected - reason:{self.reject_reason}")
        if request.order_id < self.next_valid_id(client_id):
            raise OrderRejectedError(103, f"Duplicate order id {request.order_id}")
        order = Order(
            order_id=request.order_id,
            client_id=client_id,
            perm_id=self._next_perm_id,
            instrument=instrument,
            action=request.action,
            quantity=request.quantity,
            limit=request.limit,
            tif=request.tif or "DAY",
            account=request.account or self.account,
            order_ref=request.order_ref,
            legs=legs,
        )
        self._next_perm_id += 1
        self.orders[(client_id, order.order_id)] = order
        self._working[(client_id, order.order_id)] = order
        return order

    def _modify(self, order: Order, request: OrderRequest, instrument: Instrument) -> Order:
        if order.is_done:
            raise OrderRejectedError(103, f"Duplicate order id {request.order_id}")
        if instrument.con_id != order.instrument.con_id or request.action != order.action:
            raise OrderRejectedError(105, "Order being modified does not match original order")
        if request.quantity < order.filled:
            raise OrderRejectedError(321, "Quantity below the filled quantity")
        order.quantity = request.quantity
        order.limit = request.limit  # type: ignore[assignment]  (checked in place)
        order.order_ref = request.order_ref
        if order.remaining == 0:
            order.status = Status.FILLED
        return order

    def cancel(self, client_id: int, order_id: int) -> Order:
        order = self.orders.get((client_id, order_id))
        if order is None or order.is_done:
            raise OrderRejectedError(
                10147, f"OrderId {order_id} that needs to be cancelled is not found."
            )
        order.status = Status.CANCELLED
        return order

    def cancel_day_orders(self) -> list[Order]:
        """At the close: DAY orders expire (IB reports them cancelled)."""
        expired = self.working_orders()
        for order in expired:
            order.status = Status.CANCELLED
        return expired

    def match(
        self, books: Mapping[int, Book], now: datetime, partial: bool = False
    ) -> list[Execution]:
        """Fill working orders that the books cross. `partial` (a fault) fills at most half
        of an order's remaining quantity per call."""
        taken: dict[tuple[int, str], float] = {}
        fills = []
        for order in self.working_orders():
            if order.legs:
                fills += self._match_combo(order, books, taken, now, partial)
                continue
            book = books.get(order.instrument.con_id)
            if book is None:
                continue
            buying = order.action == "BUY"
            price, shown = (book.ask, book.ask_size) if buying else (book.bid, book.bid_size)
            crosses = order.limit >= price if buying else order.limit <= price
            side_key = (order.instrument.con_id, order.action)
            available = shown - taken.get(side_key, 0.0)
            if not crosses or price <= 0 or available <= 0:
                continue
            quantity = min(order.remaining, available)
            if partial and order.remaining > 1:
                quantity = min(quantity, max(1.0, math.floor(order.remaining / 2)))
            taken[side_key] = taken.get(side_key, 0.0) + quantity
            fills.append(self._fill(order, quantity, price, now))
        return fills

    def _match_combo(
        self,
        order: Order,
        books: Mapping[int, Book],
        taken: dict[tuple[int, str], float],
        now: datetime,
        partial: bool,
    ) -> list[Execution]:
        """All legs at once or nothing: each leg at its touch (a buy at the ask, a sell at
        the bid), when the net price per unit is no worse than the limit, for as many units
        as every leg's displayed size allows."""
        touches = []
        for leg in order.legs:
            book = books.get(leg.instrument.con_id)
            side = leg.side(order.action)
            if book is None:
                return []
            price, shown = (book.ask, book.ask_size) if side == "BUY" else (book.bid, book.bid_size)
            available = shown - taken.get((leg.instrument.con_id, side), 0.0)
            if price <= 0 or available < leg.ratio:
                return []
            touches.append((leg, side, price, available // leg.ratio))
        net = sum((p if side == "BUY" else -p) * leg.ratio for leg, side, p, _ in touches)
        net = round(-net if order.action == "SELL" else net, 2)  # selling one unit receives
        if (order.limit < net - 1e-9) if order.action == "BUY" else (order.limit > net + 1e-9):
            return []
        quantity = min(order.remaining, *(units for *_, units in touches))
        if partial and order.remaining > 1:
            quantity = min(quantity, max(1.0, math.floor(order.remaining / 2)))
        self._advance(order, quantity, net)
        executions = []
        for leg, side, price, _ in touches:
            key = (leg.instrument.con_id, side)
            taken[key] = taken.get(key, 0.0) + quantity * leg.ratio
            executions.append(
                self._execute(order, leg.instrument, side, quantity * leg.ratio, price, now)
            )
        # IB reports the combo's own execution too (on the BAG, at the net price): ib_async
        # counts a combo's filled quantity from those alone.
        executions.append(self._execute(order, order.instrument, order.action, quantity, net, now))
        return executions

    def _fill(self, order: Order, quantity: float, price: float, now: datetime) -> Execution:
        self._advance(order, quantity, price)
        return self._execute(order, order.instrument, order.action, quantity, price, now)

    @staticmethod
    def _advance(order: Order, quantity: float, price: float) -> None:
        order.avg_price = (order.avg_price * order.filled + price * quantity) / (
            order.filled + quantity
        )
        order.filled += quantity
        order.last_fill = price
        if order.remaining <= 0:
            order.status = Status.FILLED

    def _execute(
        self,
        order: Order,
        instrument: Instrument,
        action: str,
        quantity: float,
        price: float,
        now: datetime,
    ) -> Execution:
        """One execution: cash, commission and position booked (a BAG's own execution
        books nothing: its legs did)."""
        commission = realized = 0.0
        if not instrument.is_combo:
            multiplier = float(instrument.multiplier or 1)
            per_unit = OPTION_COMMISSION if instrument.is_option else STOCK_COMMISSION
            commission = max(per_unit * quantity, MIN_COMMISSION)
            signed = quantity if action == "BUY" else -quantity
            self.cash -= signed * price * multiplier + commission
            realized = self._book_position(instrument, signed, price * multiplier, commission)
        execution = Execution(
            exec_id=f"{order.perm_id:08x}.{len(self.executions) + 1:08x}.01.01",
            order_id=order.order_id,
            client_id=order.client_id,
            perm_id=order.perm_id,
            instrument=instrument,
            side="BOT" if action == "BUY" else "SLD",
            shares=quantity,
            price=price,
            time=now,
            cum_qty=order.filled,
            avg_price=order.avg_price,
            order_ref=order.order_ref,
            account=order.account,
            commission=commission,
            realized_pnl=realized,
        )
        self.executions.append(execution)
        return execution

    def _book_position(
        self, instrument: Instrument, signed: float, unit_cost: float, commission: float
    ) -> float:
        """Update the position; return the realised P&L of any part that closed it."""
        position = self.positions.setdefault(instrument.con_id, Position(instrument))
        realized = 0.0
        if position.quantity * signed < 0:  # reducing or flipping
            closing = min(abs(signed), abs(position.quantity))
            direction = 1.0 if position.quantity > 0 else -1.0
            realized = closing * direction * (unit_cost - position.avg_cost) - commission
            remaining = position.quantity + signed
            if remaining * position.quantity < 0:  # flipped: the rest opens at this price
                position.avg_cost = unit_cost
            position.quantity = remaining
        else:
            total = position.quantity + signed
            # The commission raises a long's cost and lowers a short's proceeds, as IB's
            # average cost does (a short's used to be raised too: its P&L was off by twice
            # the commission).
            paid = commission if signed > 0 else -commission
            position.avg_cost = (
                position.avg_cost * abs(position.quantity) + unit_cost * abs(signed) + paid
            ) / abs(total)
            position.quantity = total
        position.realized += realized
        self.realized_pnl += realized
        return realized

    def new_day(self) -> None:
        """At a session's start: realised P&L is a day's figure, as IB's is."""
        self.realized_pnl = 0.0
        for position in self.positions.values():
            position.realized = 0.0

    def pnl(self, marks: Mapping[int, float]) -> tuple[float, float, float]:
        """The day's (daily, unrealised, realised) P&L at `marks`, as reqPnL reports it.
        Daily is realised + unrealised: 0DTE positions are all opened today."""
        unrealized = sum(
            p.unrealized(marks.get(con_id, p.avg_cost / float(p.instrument.multiplier or 1)))
            for con_id, p in self.positions.items()
        )
        return self.realized_pnl + unrealized, unrealized, self.realized_pnl

    def account_values(self, marks: Mapping[int, float]) -> dict[str, float]:
        """IB account tags (USD) valued at `marks` (price per share or per contract share)."""
        gross = value_sum = 0.0
        for con_id, position in self.positions.items():
            multiplier = float(position.instrument.multiplier or 1)
            mark = marks.get(con_id, position.avg_cost / multiplier)
            value = position.quantity * mark * multiplier
            value_sum += value
            gross += abs(value)
        _, unrealized, _ = self.pnl(marks)
        net = self.cash + value_sum
        return {
            "NetLiquidation": net,
            "TotalCashValue": self.cash,
            "CashBalance": self.cash,
            "AvailableFunds": net,
            "BuyingPower": max(net, 0.0) * 4,
            "GrossPositionValue": gross,
            "UnrealizedPnL": unrealized,
            "RealizedPnL": self.realized_pnl,
        }
