"""The pure chain book: bad updates are excluded with a reason and never crash it."""

from __future__ import annotations

import math
from datetime import UTC, date, datetime, timedelta

from hypothesis import given, settings
from hypothesis import strategies as st

from spy_core.models import Right
from spy_marketdata.book import ChainBook, TopOfBook

EXPIRY = date(2025, 10, 30)
T0 = datetime(2025, 10, 30, 14, 0, tzinfo=UTC)
STOCK = 1
CALL, PUT = 101, 102


def book() -> ChainBook:
    chain = ChainBook("SPY")
    chain.track_underlying(STOCK)
    chain.track(CALL, (EXPIRY, 600.0, Right.CALL))
    chain.track(PUT, (EXPIRY, 600.0, Right.PUT))
    return chain


def quote(sub_id: int, bid: float | None, ask: float | None, seconds: float = 0.0, **more):
    return TopOfBook(sub_id, T0 + timedelta(seconds=seconds), bid, ask, **more)


def test_good_updates_make_a_snapshot_with_sizes_volume_and_open_interest():
    chain = book()
    assert chain.snapshot(T0) is None  # no spot yet
    assert chain.apply(quote(STOCK, 600.0, 600.02)) is None
    assert chain.snapshot(T0) is None  # no quotes yet
    extra = {"bid_size": 10.0, "ask_size": 12.0, "volume": 5.0, "open_interest": 900.0}
    assert chain.apply(quote(CALL, 2.5, 2.6, last=2.55, **extra)) is None
    assert chain.apply(quote(PUT, 0.0, 2.4, last=math.nan)) is None  # no bid is a quote
    snapshot = chain.snapshot(T0)
    assert snapshot is not None and snapshot.spot == 600.01
    call, put = snapshot.quotes
    assert (call.right, call.bid, call.ask, call.bid_size, call.volume) == (
        Right.CALL,
        2.5,
        2.6,
        10,
        5,
    )
    assert call.open_interest == 900 and call.last == 2.55 and put.last is None
    assert not chain.rejected


def test_each_kind_of_bad_update_is_excluded_with_its_reason_and_drops_the_stale_quote():
    chain = book()
    chain.apply(quote(STOCK, 600.0, 600.02))
    chain.apply(quote(CALL, 2.5, 2.6, seconds=10))
    chain.apply(quote(PUT, 2.3, 2.4, seconds=10))
    assert chain.apply(quote(999, 1.0, 1.1, seconds=11)) == "unknown subscription"
    assert chain.apply(quote(CALL, 2.0, 2.1, seconds=5)) == "out of order"
    assert chain.snapshot(T0).quotes[0].bid == 2.5  # an old update changes nothing
    assert chain.apply(quote(CALL, 2.7, 2.6, seconds=12)).startswith("crossed quote")
    assert [q.right for q in chain.snapshot(T0).quotes] == [Right.PUT]
    assert chain.apply(quote(PUT, -0.5, 2.4, seconds=12)).startswith("out of range")
    assert chain.snapshot(T0) is None  # no quote left
    assert chain.apply(quote(PUT, 2.3, math.inf, seconds=13)).startswith("non-finite")
    assert chain.apply(quote(PUT, math.nan, 2.4, seconds=14)) == "incomplete quote"
    assert chain.apply(quote(STOCK, math.nan, math.nan, seconds=14)).startswith("no usable")
    assert chain.apply(quote(PUT, 2.3, 2.4, seconds=15)) is None  # a good one restores it
    assert [q.right for q in chain.snapshot(T0).quotes] == [Right.PUT]
    assert set(chain.rejected) == {
        "unknown subscription",
        "out of order",
        "crossed quote",
        "out of range",
        "non-finite number",
        "incomplete quote",
        "no usable underlying price",
    }


def test_untracked_contract_leaves_the_snapshot_and_its_late_ticks_are_unknown():
    chain = book()
    chain.apply(quote(STOCK, 600.0, 600.02))
    chain.apply(quote(CALL, 2.5, 2.6))
    chain.apply(quote(PUT, 2.3, 2.4))
    chain.untrack(CALL)
    assert [q.right for q in chain.snapshot(T0).quotes] == [Right.PUT]
    assert chain.apply(quote(CALL, 2.5, 2.6, seconds=1)) == "unknown subscription"


prices = st.one_of(
    st.none(),
    st.floats(allow_nan=True, allow_infinity=True),
    st.floats(min_value=-1, max_value=20, allow_nan=False),
)


@settings(max_examples=300, deadline=None)
@given(
    st.lists(
        st.tuples(
            st.sampled_from([STOCK, CALL, PUT, 7]),
            st.floats(min_value=-100, max_value=100, allow_nan=False),
            prices,
            prices,
            prices,
            st.one_of(st.none(), st.floats(allow_nan=True)),
        ),
        max_size=40,
    )
)
def test_any_update_stream_never_crashes_and_snapshots_hold_only_valid_quotes(updates):
    chain = book()
    for sub_id, seconds, bid, ask, last, size in updates:
        result = chain.apply(quote(sub_id, bid, ask, seconds, last=last, bid_size=size))
        assert result is None or isinstance(result, str)
    snapshot = chain.snapshot(T0)
    if snapshot is not None:
        assert math.isfinite(snapshot.spot) and snapshot.spot > 0
        for q in snapshot.quotes:
            assert math.isfinite(q.bid) and math.isfinite(q.ask) and 0 <= q.bid <= q.ask
            assert q.bid_size is None or q.bid_size >= 0
    assert sum(chain.rejected.values()) <= len(updates)
