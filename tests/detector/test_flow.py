"""Signed premium flow: baselines, the quote rule, session resets and stale snapshots."""

from __future__ import annotations

import json
from dataclasses import fields
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spy_core.market_hours import NEW_YORK
from spy_core.models import ChainSnapshot, OptionQuote, Right
from spy_detector.flow import FlowTotals, PremiumFlowTracker

EXPIRY = date(2026, 3, 20)


def _at(day: int, hour: int, minute: int = 0) -> datetime:
    return datetime(2026, 3, day, hour, minute, tzinfo=NEW_YORK)


def _quote(
    volume: int | None,
    strike: float = 450.0,
    right: Right = Right.CALL,
    bid: float = 1.00,
    ask: float = 1.10,
    last: float | None = 1.10,
) -> OptionQuote:
    return OptionQuote(
        expiry=EXPIRY, strike=strike, right=right, bid=bid, ask=ask, volume=volume, last=last
    )


def _snapshot(timestamp: datetime, *quotes: OptionQuote, underlying: str = "SPY") -> ChainSnapshot:
    return ChainSnapshot(underlying=underlying, timestamp=timestamp, spot=450.0, quotes=quotes)


def test_first_sight_is_a_baseline_not_a_trade_of_the_whole_day() -> None:
    tracker = PremiumFlowTracker()
    update = tracker.update(_snapshot(_at(9, 14), _quote(10_000)))
    assert update.increment == FlowTotals()
    assert update.session == FlowTotals()
    assert update.contracts_baselined == 1


@pytest.mark.parametrize(
    ("right", "bid", "ask", "last", "bucket", "price"),
    [
        (Right.CALL, 1.00, 1.10, 1.10, "call_buy", 1.10),  # at the ask
        (Right.CALL, 1.00, 1.10, 1.15, "call_buy", 1.15),  # through the ask
        (Right.CALL, 1.00, 1.10, 1.00, "call_sell", 1.00),  # at the bid
        (Right.PUT, 2.00, 2.20, 2.30, "put_buy", 2.30),
        (Right.PUT, 2.00, 2.20, 1.95, "put_sell", 1.95),
        (Right.PUT, 2.00, 2.20, 2.10, "unclassified", 2.10),  # inside the spread
        (Right.CALL, 1.00, 1.10, None, "unclassified", 1.05),  # no trade price: mid
        (Right.CALL, 1.00, 1.00, 1.00, "unclassified", 1.00),  # locked market
        (Right.PUT, 0.00, 0.00, 0.05, "unclassified", 0.05),  # no market at all
    ],
)
def test_quote_rule(
    right: Right, bid: float, ask: float, last: float | None, bucket: str, price: float
) -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(100, right=right, bid=bid, ask=ask, last=last)))
    update = tracker.update(
        _snapshot(_at(9, 11), _quote(130, right=right, bid=bid, ask=ask, last=last))
    )
    expected = 30 * price * 100
    assert getattr(update.increment, bucket) == pytest.approx(expected)
    assert sum(getattr(update.increment, f.name) for f in fields(FlowTotals)) == pytest.approx(
        expected
    )
    assert update.contracts_baselined == 0


def test_contracts_are_tracked_separately_by_key() -> None:
    tracker = PremiumFlowTracker()
    call, put = _quote(100, right=Right.CALL), _quote(100, right=Right.PUT, last=1.00)
    tracker.update(_snapshot(_at(9, 10), call, put))
    update = tracker.update(
        _snapshot(
            _at(9, 11),
            _quote(110, right=Right.CALL),
            _quote(120, right=Right.PUT, last=1.00),
            _quote(5_000, strike=455.0),  # new contract mid-session: baseline
        )
    )
    assert update.increment.call_buy == pytest.approx(10 * 1.10 * 100)
    assert update.increment.put_sell == pytest.approx(20 * 1.00 * 100)
    assert update.contracts_baselined == 1


def test_state_resets_at_the_next_sessions_open() -> None:
    # 2026-03-09 is the first session after the switch to daylight time (open 13:30 UTC).
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(100)))
    monday = tracker.update(_snapshot(_at(9, 15), _quote(150)))
    assert monday.session.call_buy == pytest.approx(50 * 110)

    # Before Tuesday's open the flow day is still Monday's: nothing new traded.
    pre_open = tracker.update(_snapshot(datetime(2026, 3, 10, 13, 29, tzinfo=UTC), _quote(150)))
    assert pre_open.session == monday.session
    assert pre_open.contracts_baselined == 0

    opened = tracker.update(_snapshot(datetime(2026, 3, 10, 13, 31, tzinfo=UTC), _quote(400)))
    assert opened.increment == FlowTotals()
    assert opened.session == FlowTotals()
    assert opened.contracts_baselined == 1

    later = tracker.update(_snapshot(_at(10, 10), _quote(410)))
    assert later.session.call_buy == pytest.approx(10 * 110)


def test_state_resets_across_a_weekend_without_a_snapshot_at_the_open() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(6, 10), _quote(100)))
    tracker.update(_snapshot(_at(6, 15), _quote(200)))
    monday = tracker.update(_snapshot(_at(9, 12), _quote(900)))
    assert monday.session == FlowTotals()
    assert monday.contracts_baselined == 1


def test_volume_decrease_rebaselines_instead_of_negative_flow() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(500)))
    dropped = tracker.update(_snapshot(_at(9, 11), _quote(200)))
    assert dropped.increment == FlowTotals()
    assert dropped.contracts_baselined == 1
    resumed = tracker.update(_snapshot(_at(9, 12), _quote(260)))
    assert resumed.increment.call_buy == pytest.approx(60 * 110)


def test_missing_volume_leaves_the_contract_untouched() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(100)))
    gap = tracker.update(_snapshot(_at(9, 11), _quote(None)))
    assert gap.increment == FlowTotals()
    assert gap.contracts_baselined == 0
    back = tracker.update(_snapshot(_at(9, 12), _quote(120)))
    assert back.increment.call_buy == pytest.approx(20 * 110)


def test_out_of_order_snapshots_are_ignored_and_counted() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(100)))
    current = tracker.update(_snapshot(_at(9, 10, 5), _quote(120)))
    stale = tracker.update(_snapshot(_at(9, 10, 2), _quote(110)))
    assert tracker.stale_snapshots == 1
    assert stale.increment == FlowTotals()
    assert stale.session == current.session
    after = tracker.update(_snapshot(_at(9, 10, 10), _quote(130)))
    assert after.increment.call_buy == pytest.approx(10 * 110)
    assert after.session.call_buy == pytest.approx(30 * 110)


def test_an_older_snapshot_from_the_previous_session_does_not_reset_state() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(10, 10), _quote(100)))
    tracker.update(_snapshot(_at(9, 15), _quote(9_000)))
    update = tracker.update(_snapshot(_at(10, 11), _quote(110)))
    assert tracker.stale_snapshots == 1
    assert update.increment.call_buy == pytest.approx(10 * 110)


def test_tracker_follows_one_underlying() -> None:
    tracker = PremiumFlowTracker()
    tracker.update(_snapshot(_at(9, 10), _quote(100)))
    with pytest.raises(ValueError, match="SPX"):
        tracker.update(_snapshot(_at(9, 11), _quote(100), underlying="SPX"))


def test_net_is_bullish_premium_and_to_dict_is_json_ready() -> None:
    totals = FlowTotals(call_buy=100.0, call_sell=30.0, put_buy=20.0, put_sell=50.004)
    assert totals.net_call == pytest.approx(70.0)
    assert totals.net_put == pytest.approx(-30.004)
    assert totals.net == pytest.approx(100.004)  # call buys + put sells − call sells − put buys
    assert json.loads(json.dumps(totals.to_dict())) == {
        "call_buy": 100.0,
        "call_sell": 30.0,
        "put_buy": 20.0,
        "put_sell": 50.0,
        "unclassified": 0.0,
        "net_call": 70.0,
        "net_put": -30.0,
        "net": 100.0,
    }


# --- properties -------------------------------------------------------------------------

_KEYS = [(450.0, Right.CALL), (450.0, Right.PUT), (455.0, Right.CALL)]

quotes = st.builds(
    lambda volume, bid, width, last: (volume, bid, bid + width, last),
    st.one_of(st.none(), st.integers(0, 5_000)),
    st.floats(0.0, 20.0),
    st.floats(0.0, 2.0),
    st.one_of(st.none(), st.floats(0.0, 25.0)),
)
feeds = st.lists(
    st.tuples(st.integers(0, 360), st.lists(quotes, min_size=3, max_size=3)),
    min_size=1,
    max_size=25,
)


def _feed_snapshots(feed: list) -> list[ChainSnapshot]:
    """Snapshots within the 2026-03-09 session, at minute offsets from 10:00 ET."""
    return [
        _snapshot(
            _at(9, 10) + timedelta(minutes=minute),
            *(
                _quote(volume, strike=k, right=r, bid=bid, ask=ask, last=last)
                for (k, r), (volume, bid, ask, last) in zip(_KEYS, rows, strict=True)
            ),
        )
        for minute, rows in feed
    ]


@given(feeds)
def test_session_totals_are_the_sum_of_non_negative_increments(feed: list) -> None:
    tracker = PremiumFlowTracker()
    total = FlowTotals()
    for snapshot in sorted(_feed_snapshots(feed), key=lambda s: s.timestamp):
        update = tracker.update(snapshot)
        assert all(getattr(update.increment, f.name) >= 0 for f in fields(FlowTotals))
        total += update.increment
        for f in fields(FlowTotals):
            assert getattr(update.session, f.name) == pytest.approx(getattr(total, f.name))
    assert tracker.stale_snapshots == 0


@given(feeds)
def test_out_of_order_feed_counts_only_the_in_order_snapshots(feed: list) -> None:
    snapshots = _feed_snapshots(feed)
    in_order = [
        s for i, s in enumerate(snapshots) if all(s.timestamp >= p.timestamp for p in snapshots[:i])
    ]
    shuffled, reference = PremiumFlowTracker(), PremiumFlowTracker()
    for snapshot in snapshots:
        last = shuffled.update(snapshot)
    for snapshot in in_order:
        expected = reference.update(snapshot)
    assert last.session == expected.session
    assert shuffled.stale_snapshots == len(snapshots) - len(in_order)
