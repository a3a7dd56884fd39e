"""The risk engine on its own (pure): each rule by name, and properties over sequences."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import ValidationError

from spy_core.models import Right
from spy_core.trading import Action, ContractRef, Intent, Leg, Signal, TradingState
from spy_trader.risk import RULES, Exposure, RiskEngine, signal_delta, signal_max_loss
from spy_trader.settings import (
    ConfigurationError,
    RiskSettings,
    TraderSettings,
    check_account,
    check_live_twice,
)

DAY = date(2025, 10, 30)
NOON = datetime(2025, 10, 30, 16, 0, tzinfo=UTC)  # 12:00 ET


def leg(strike=580.0, action=Action.BUY, quantity=1, limit=1.0, bid=0.95, ask=1.0, fair=1.1):
    return Leg(
        contract=ContractRef(expiry=DAY, strike=strike, right=Right.CALL),
        action=action,
        quantity=quantity,
        limit=limit,
        bid=bid,
        ask=ask,
        fair=fair,
        delta=0.5,
    )


def signal(*legs, at=NOON, intent=Intent.OPEN, sid="s-1", **extra) -> Signal:
    return Signal(
        id=sid,
        at=at,
        intent=intent,
        legs=legs or (leg(),),
        reason="test",
        expected_edge=5.0,
        quote_time=at,
        **extra,
    )


def rule(decision) -> str:
    assert not decision.taken
    assert decision.rule in RULES
    return decision.rule


def test_a_clean_signal_is_taken():
    decision = RiskEngine(RiskSettings()).check(signal(), NOON, TradingState.ACTIVE, Exposure())
    assert decision.taken and decision.rule == ""


@pytest.mark.parametrize(
    ("make", "state", "exposure", "expected"),
    [
        (signal, TradingState.HALTED, Exposure(), "trading_state"),
        (signal, TradingState.REDUCING, Exposure(), "trading_state"),
        (
            lambda: signal(at=datetime(2025, 10, 30, 21, tzinfo=UTC)),
            TradingState.ACTIVE,
            Exposure(),
            "market_closed",
        ),
        (lambda: signal(executable=False), TradingState.ACTIVE, Exposure(), "not_executable"),
        (lambda: signal(confidence=0.1), TradingState.ACTIVE, Exposure(), "min_confidence"),
        (
            lambda: signal(at=datetime(2025, 10, 30, 13, 31, tzinfo=UTC)),
            TradingState.ACTIVE,
            Exposure(),
            "opening_minutes",
        ),
        (
            lambda: signal(at=datetime(2025, 10, 30, 19, 45, tzinfo=UTC)),
            TradingState.ACTIVE,
            Exposure(),
            "closing_minutes",
        ),
        (lambda: signal(leg(limit=1.05)), TradingState.ACTIVE, Exposure(), "limit_outside_quote"),
        (
            lambda: signal(leg(limit=1.0, fair=0.7)),
            TradingState.ACTIVE,
            Exposure(),
            "limit_outside_fair_band",
        ),
        (
            lambda: signal(leg(quantity=9)),
            TradingState.ACTIVE,
            Exposure(),
            "max_contracts_per_order",
        ),
        (
            signal,
            TradingState.ACTIVE,
            Exposure(by_contract={leg().contract: 10}),
            "max_contracts_per_contract",
        ),
        (
            signal,
            TradingState.ACTIVE,
            Exposure(contracts_total=40),
            "max_contracts_total",
        ),
        (signal, TradingState.ACTIVE, Exposure(open_positions=6), "max_open_positions"),
        (
            signal,
            TradingState.ACTIVE,
            Exposure(premium_at_risk=4_950.0),
            "max_premium_at_risk",
        ),
        (signal, TradingState.ACTIVE, Exposure(net_delta=480.0), "max_net_delta"),
        (signal, TradingState.ACTIVE, Exposure(day_pnl=-1_600.0), "max_daily_loss"),
    ],
)
def test_each_rule_rejects_by_name(make, state, exposure, expected):
    assert (
        rule(RiskEngine(RiskSettings()).check(make(), NOON_OF(make), state, exposure)) == expected
    )


def NOON_OF(make) -> datetime:  # noqa: N802  (reads as a constant at the call site)
    return make().at


def test_a_stale_quote_is_refused():
    stale = signal().model_copy(update={"quote_time": NOON - timedelta(seconds=3)})
    assert rule(RiskEngine(RiskSettings()).check(stale, NOON, TradingState.ACTIVE, Exposure())) == (
        "stale_quote"
    )


def test_closing_orders_pass_the_kill_switch_and_the_exposure_limits():
    close = signal(leg(action=Action.SELL, limit=0.95), intent=Intent.CLOSE)
    busy = Exposure(open_positions=99, contracts_total=999, day_pnl=-1e6)
    assert RiskEngine(RiskSettings()).check(close, NOON, TradingState.HALTED, busy).taken


def test_the_order_rate_is_denied_not_queued():
    risk = RiskEngine(RiskSettings(max_orders_per_minute=3))
    taken = [
        risk.check(signal(sid=f"s-{i}"), NOON, TradingState.ACTIVE, Exposure()).taken
        for i in range(4)
    ]
    assert taken == [True, True, True, False]
    later = NOON + timedelta(minutes=1)
    assert risk.check(signal(sid="s-5", at=later), later, TradingState.ACTIVE, Exposure()).taken


def test_the_cancel_rate_is_limited():
    risk = RiskEngine(RiskSettings(max_cancels_per_minute=2))
    assert [risk.allow_cancel(NOON) for _ in range(3)] == [True, True, False]


def test_flatten_is_due_before_an_early_close():
    risk = RiskEngine(RiskSettings(flatten_before_close_minutes=15))
    friday = datetime(2025, 11, 28, 17, 44, tzinfo=UTC)  # 12:44 ET, closes 13:00 ET
    assert not risk.flatten_due(friday)
    assert risk.flatten_due(friday + timedelta(minutes=1))
    assert not risk.flatten_due(NOON)


def test_a_vertical_risks_its_width_less_the_credit():
    vertical = signal(
        leg(strike=581.0, action=Action.BUY, limit=0.5, bid=0.45, ask=0.5, fair=0.48),
        leg(strike=580.0, action=Action.SELL, limit=0.9, bid=0.9, ask=0.95, fair=0.8),
    )
    assert signal_max_loss(vertical) == pytest.approx((1.0 - 0.4) * 100)
    assert signal_delta(vertical) == pytest.approx(0.0)


def test_invalid_settings_name_the_field():
    with pytest.raises(ValidationError, match="max_daily_loss"):
        RiskSettings(max_daily_loss=-5)
    with pytest.raises(ValidationError, match="port"):
        TraderSettings(port=0)


def test_live_needs_the_setting_and_the_environment_and_a_live_account():
    live = TraderSettings(account_kind="live")
    with pytest.raises(ConfigurationError, match="SPY_TRADER_LIVE"):
        check_live_twice(live, {})
    check_live_twice(live, {"SPY_TRADER_LIVE": "I-UNDERSTAND"})
    with pytest.raises(ConfigurationError, match="paper"):
        check_account(live, "DU1234567")
    with pytest.raises(ConfigurationError, match="live account"):
        check_account(TraderSettings(), "U7654321")
    check_account(TraderSettings(), "DU1234567")


# -- properties: no sequence of signals and fills breaches a limit ------------------------
LIMITS = RiskSettings(
    max_contracts_per_order=3,
    max_contracts_per_contract=4,
    max_contracts_total=9,
    max_open_positions=3,
    max_premium_at_risk=900.0,
    max_net_delta=250.0,
    max_orders_per_minute=8,
)
STRIKES = (579.0, 580.0, 581.0)


@st.composite
def signals(draw):
    strike = draw(st.sampled_from(STRIKES))
    bid = draw(st.sampled_from((0.5, 1.0, 2.0)))
    ask = bid + 0.05
    action = draw(st.sampled_from(list(Action)))
    limit = ask if action is Action.BUY else bid
    legs = (leg(strike, action, draw(st.integers(1, 5)), limit, bid, ask, limit),)
    if action is Action.SELL:  # sells only as verticals, the wing bought
        wing = min(strike + 1, 582.0)
        legs = (leg(wing, Action.BUY, legs[0].quantity, 0.3, 0.25, 0.3, 0.3), *legs)
    seconds = draw(st.integers(0, 20))
    return legs, seconds


@settings(max_examples=150, deadline=None)
@given(st.lists(signals(), min_size=1, max_size=40))
def test_no_sequence_of_signals_and_fills_breaches_a_limit(steps):
    risk = RiskEngine(LIMITS)
    book: dict[ContractRef, int] = {}
    groups: list[tuple[float, float]] = []  # (max loss, delta) per taken signal
    sent: list[datetime] = []
    now = NOON
    for number, (legs, seconds) in enumerate(steps):
        now += timedelta(seconds=seconds)
        s = signal(*legs, at=now, sid=f"p-{number}")
        exposure = Exposure(
            by_contract=dict(book),
            contracts_total=sum(abs(q) for q in book.values()),
            open_positions=len(groups),
            premium_at_risk=sum(g[0] for g in groups),
            net_delta=sum(g[1] for g in groups),
        )
        decision = risk.check(s, now, TradingState.ACTIVE, exposure)
        if not decision.taken:
            continue
        sent += [now] * len(legs)
        # Every order fills in full: the worst case, since the engine counts working orders
        # as filled and a partial fill or a cancel only leaves less exposure.
        for each in legs:
            signed = each.quantity if each.action is Action.BUY else -each.quantity
            book[each.contract] = book.get(each.contract, 0) + signed
        groups.append((signal_max_loss(s), signal_delta(s)))
        assert all(abs(q) <= LIMITS.max_contracts_per_contract for q in book.values())
        assert sum(abs(q) for q in book.values()) <= LIMITS.max_contracts_total
        assert len(groups) <= LIMITS.max_open_positions
        assert sum(g[0] for g in groups) <= LIMITS.max_premium_at_risk + 1e-9
        assert abs(sum(g[1] for g in groups)) <= LIMITS.max_net_delta + 1e-9
        assert all(each.quantity <= LIMITS.max_contracts_per_order for each in legs)
        in_window = [t for t in sent if now - t < timedelta(minutes=1)]
        assert len(in_window) <= LIMITS.max_orders_per_minute
