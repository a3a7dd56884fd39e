"""The default strategy (pure): which findings become signals, and when positions exit."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pytest

from spy_core.models import (
    Anomaly,
    AnomalyEvent,
    AnomalyEventType,
    AnomalyKind,
    ChainSnapshot,
    OptionQuote,
    Right,
    Severity,
    Side,
)
from spy_core.trading import Action, ContractRef, Intent
from spy_trader.portfolio import Portfolio
from spy_trader.settings import StrategySettings
from spy_trader.strategy import EdgeStrategy, MarketIndex, Skip

DAY = date(2025, 10, 30)
NOW = datetime(2025, 10, 30, 16, 0, tzinfo=UTC)


def quote(strike, bid, ask, right=Right.CALL):
    return OptionQuote(expiry=DAY, strike=strike, right=right, bid=bid, ask=ask)


def market(*quotes, at=NOW) -> MarketIndex:
    return MarketIndex(ChainSnapshot(underlying="SPY", timestamp=at, spot=580.0, quotes=quotes))


def event(strike, side, fair, bid, ask, kind=AnomalyEventType.OPENED, **anomaly):
    a = Anomaly(
        expiry=DAY,
        strike=strike,
        right=Right.CALL,
        side=side,
        kind=AnomalyKind.SMILE,
        bid=bid,
        ask=ask,
        fair=fair,
        edge=abs(fair - (ask if side is Side.BUY else bid)),
        score=5.0,
        severity=Severity.HIGH,
        **anomaly,
    )
    return AnomalyEvent(
        id=f"SPY-{strike:g}-{side.value}",
        event=kind,
        underlying="SPY",
        at=NOW,
        first_seen=NOW,
        anomaly=a,
        peak_edge=a.edge,
    )


CHAIN = (quote(579, 2.0, 2.05), quote(580, 1.40, 1.45), quote(581, 0.95, 1.0))


def test_a_cheap_option_is_bought_at_the_ask_with_its_edge_after_costs():
    [signal] = EdgeStrategy(StrategySettings()).on_events(
        [event(580, Side.BUY, 1.70, 1.40, 1.45)], market(*CHAIN), Portfolio()
    )
    assert signal.intent is Intent.OPEN and len(signal.legs) == 1
    leg = signal.legs[0]
    assert (leg.action, leg.limit) == (Action.BUY, 1.45)
    # fair − ask − half-spread − two commissions of $1 minimum per contract, per share
    assert signal.expected_edge == pytest.approx((1.70 - 1.45 - 0.025 - 0.02) * 100)
    assert 0 < leg.delta < 1


@pytest.mark.parametrize(
    ("extra", "fair", "why"),
    [
        ({"executable": False}, 1.70, "not executable"),
        ({"confidence": 0.2}, 1.70, "confidence"),
        ({}, 1.48, "edge after costs"),
    ],
)
def test_findings_are_skipped_with_a_reason(extra, fair, why):
    [skip] = EdgeStrategy(StrategySettings()).on_events(
        [event(580, Side.BUY, fair, 1.40, 1.45, **extra)], market(*CHAIN), Portfolio()
    )
    assert isinstance(skip, Skip) and why in skip.reason


def test_a_rich_option_is_sold_only_as_a_vertical_with_the_wing_bought_first():
    [signal] = EdgeStrategy(StrategySettings()).on_events(
        [event(580, Side.SELL, 1.10, 1.40, 1.45)], market(*CHAIN), Portfolio()
    )
    wing, short = signal.legs
    assert (wing.action, wing.contract.strike, wing.limit) == (Action.BUY, 581, 1.0)
    assert (short.action, short.contract.strike, short.limit) == (Action.SELL, 580, 1.40)
    never = EdgeStrategy(StrategySettings(allow_verticals=False)).on_events(
        [event(580, Side.SELL, 1.10, 1.40, 1.45)], market(*CHAIN), Portfolio()
    )
    assert isinstance(never[0], Skip) and "naked" in never[0].reason


def held(entry_price=1.45, fair=1.60, cleared=False) -> Portfolio:
    portfolio = Portfolio()
    contract = ContractRef(expiry=DAY, strike=580, right=Right.CALL)
    portfolio.open_group("g", NOW, "g", fair)
    portfolio.apply_fill("e1", "g:L0", contract, Action.BUY, 1, entry_price, 1.0, NOW)
    portfolio.groups["g"].cleared = cleared
    return portfolio


@pytest.mark.parametrize(
    ("bid", "cleared", "flatten", "reason"),
    [
        (1.75, False, False, "take profit"),
        (1.00, False, False, "stop loss"),
        (1.60, True, False, "finding cleared"),
        (1.46, False, True, "flatten"),
        (1.50, False, False, None),
        (1.50, True, False, None),
    ],
)
def test_exits(bid, cleared, flatten, reason):
    chain = market(quote(580, bid, bid + 0.05))
    out = EdgeStrategy(StrategySettings()).exits(chain, held(cleared=cleared), NOW, flatten)
    if reason is None:
        assert out == []
        return
    [signal] = out
    assert reason in signal.reason and signal.intent is Intent.CLOSE and signal.id == "g:X1"
    assert (signal.legs[0].action, signal.legs[0].limit) == (Action.SELL, bid)


def test_a_cleared_event_marks_the_group():
    portfolio = held()
    EdgeStrategy(StrategySettings()).on_events(
        [
            event(580, Side.BUY, 1.7, 1.4, 1.45, kind=AnomalyEventType.CLEARED).model_copy(
                update={"id": "g"}
            )
        ],
        market(*CHAIN),
        portfolio,
    )
    assert portfolio.groups["g"].cleared
