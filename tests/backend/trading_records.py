"""Sample trader records (spy_core.trading), as the trader posts them."""

from __future__ import annotations

from datetime import date, datetime, timedelta

from spy_core.models import Right
from spy_core.trading import (
    Action,
    ContractRef,
    Decision,
    FillReport,
    Intent,
    Leg,
    OrderReport,
    OrderStatus,
    PnlPoint,
    PositionPoint,
    Signal,
    TradingState,
)

CONTRACT = ContractRef(expiry=date(2026, 3, 9), strike=580.0, right=Right.CALL)


def day_of_trading(t0: datetime) -> list:
    """One signal taken and filled in two pieces, one rejected, positions and P&L."""
    leg = Leg(
        contract=CONTRACT, action=Action.BUY, quantity=2, limit=1.45, bid=1.4, ask=1.45, fair=1.7
    )
    taken = Signal(
        id="s-1", at=t0, intent=Intent.OPEN, legs=(leg,), reason="buy cheap", expected_edge=40.0
    )
    refused = taken.model_copy(update={"id": "s-2", "at": t0 + timedelta(seconds=1)})
    order = OrderReport(
        order_ref="s-1:L0",
        signal_id="s-1",
        at=t0,
        contract=CONTRACT,
        action=Action.BUY,
        quantity=2,
        limit=1.45,
        status=OrderStatus.WORKING,
        order_id=7,
    )
    return [
        taken,
        Decision(signal_id="s-1", at=t0, taken=True),
        order,
        FillReport(
            exec_id="e.1",
            order_ref="s-1:L0",
            at=t0,
            contract=CONTRACT,
            action=Action.BUY,
            quantity=1,
            price=1.45,
            commission=1.0,
        ),
        FillReport(
            exec_id="e.2",
            order_ref="s-1:L0",
            at=t0 + timedelta(milliseconds=5),
            contract=CONTRACT,
            action=Action.BUY,
            quantity=1,
            price=1.45,
            commission=0.65,
        ),
        order.model_copy(
            update={
                "status": OrderStatus.FILLED,
                "filled": 2,
                "avg_price": 1.45,
                "at": t0 + timedelta(milliseconds=6),
            }
        ),
        PositionPoint(
            at=t0 + timedelta(milliseconds=6),
            contract=CONTRACT,
            quantity=2,
            avg_cost=1.45,
            mark=1.425,
            fair=1.7,
        ),
        refused,
        Decision(
            signal_id="s-2", at=refused.at, taken=False, rule="max_open_positions", detail="6 open"
        ),
        PnlPoint(
            at=t0 + timedelta(seconds=2),
            day=t0.date(),
            realized=-1.65,
            unrealized_mid=-5.0,
            unrealized_fair=50.0,
            commissions=1.65,
            state=TradingState.ACTIVE,
            open_positions=1,
            premium_at_risk=290.0,
            net_delta=100.0,
        ),
    ]
