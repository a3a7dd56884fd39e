"""The trader's data contracts: signals, risk decisions, orders, fills, positions, P&L.

One definition, shared by the trader (which produces them), the backend (which stores and
broadcasts them) and the dashboard. Prices are dollars per share; one contract is 100
shares; quantities are contracts, signed where the name says so (+ long, − short).
"""

from __future__ import annotations

from datetime import date
from enum import StrEnum
from typing import Literal

from pydantic import AwareDatetime, BaseModel, ConfigDict, Field

from .models import Right

CONTRACT_MULTIPLIER = 100


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


class Action(StrEnum):
    BUY = "BUY"
    SELL = "SELL"


class Intent(StrEnum):
    """Why an order exists: it opens risk or it takes risk off (risk treats them apart)."""

    OPEN = "open"
    CLOSE = "close"


class TradingState(StrEnum):
    """As in NautilusTrader's RiskEngine: ACTIVE trades; REDUCING only takes risk off;
    HALTED sends nothing new (the kill switch)."""

    ACTIVE = "active"
    REDUCING = "reducing"
    HALTED = "halted"


class ContractRef(_Frozen):
    """One listed option, as the trader names it (and IB qualifies it)."""

    underlying: str = "SPY"
    expiry: date
    strike: float = Field(gt=0)
    right: Right

    @property
    def label(self) -> str:
        return f"{self.underlying} {self.expiry:%Y%m%d} {self.strike:g}{self.right.value}"


class Leg(_Frozen):
    contract: ContractRef
    action: Action
    quantity: int = Field(gt=0)
    limit: float = Field(gt=0)
    # The quote the limit was priced from: risk checks the limit against it.
    bid: float = Field(ge=0)
    ask: float = Field(ge=0)
    fair: float = Field(ge=0)
    # Delta per share of one long contract (calls +, puts −): risk sums the book's delta.
    delta: float = Field(default=0.0, ge=-1, le=1)


class Signal(_Frozen):
    """What the strategy wants done. `id` is the idempotency key: every order it produces
    carries it in IB's orderRef, so a signal is never sent twice."""

    type: Literal["signal"] = "signal"
    id: str = Field(min_length=1, max_length=160, pattern=r"^[A-Za-z0-9._:+-]+$")
    at: AwareDatetime
    intent: Intent
    legs: tuple[Leg, ...] = Field(min_length=1, max_length=2)
    reason: str
    # Dollars per signal (all legs, all contracts) expected after commissions and the
    # half-spread paid to get out; negative for exits that cut a loss.
    expected_edge: float
    source_event: str | None = None  # the detector event id behind it
    quote_time: AwareDatetime | None = None  # when the quote used was current
    # The detector's judgement of the quote (see `spy_core.models.Anomaly`), for risk.
    executable: bool = True
    confidence: float = Field(default=1.0, ge=0, le=1)


class Decision(_Frozen):
    """Risk's verdict on one signal. A rejection names the rule that refused it."""

    type: Literal["decision"] = "decision"
    signal_id: str
    at: AwareDatetime
    taken: bool
    rule: str = ""  # the failing check, e.g. "max_open_positions"
    detail: str = ""
    state: TradingState = TradingState.ACTIVE


class OrderStatus(StrEnum):
    PENDING = "pending"  # decided and persisted, not yet acknowledged by IB
    WORKING = "working"
    FILLED = "filled"
    CANCELLED = "cancelled"
    REJECTED = "rejected"


class OrderReport(_Frozen):
    """One IB order's state, keyed by `order_ref` (signal id and leg), never by orderId
    alone: IB reissues order ids after a gateway restart."""

    type: Literal["order"] = "order"
    order_ref: str
    signal_id: str
    at: AwareDatetime
    contract: ContractRef
    action: Action
    quantity: int
    limit: float
    status: OrderStatus
    filled: int = 0
    avg_price: float = 0.0
    order_id: int | None = None
    perm_id: int | None = None
    message: str = ""


class FillReport(_Frozen):
    type: Literal["fill"] = "fill"
    exec_id: str
    order_ref: str
    at: AwareDatetime
    contract: ContractRef
    action: Action
    quantity: int
    price: float
    commission: float = 0.0


class PositionPoint(_Frozen):
    """One contract's position: `quantity` signed; `avg_cost` per share, commissions in."""

    type: Literal["position"] = "position"
    at: AwareDatetime
    contract: ContractRef
    quantity: int
    avg_cost: float
    mark: float | None = None  # mid
    fair: float | None = None


class PnlPoint(_Frozen):
    """The day's P&L in dollars: realised (net of commissions), unrealised at mid and at
    fair value, and what the risk engine uses."""

    type: Literal["pnl"] = "pnl"
    at: AwareDatetime
    day: date
    realized: float
    unrealized_mid: float
    unrealized_fair: float
    commissions: float
    state: TradingState
    open_positions: int
    premium_at_risk: float
    net_delta: float
    # IB's own figures (reqPnL) beside ours, when connected to IB: opening commissions of
    # open positions sit in IB's cost, so its realised is ours plus those, its unrealised
    # ours less those (at its marks); the trader reports and checks the difference.
    ib_realized: float | None = None
    ib_unrealized: float | None = None
