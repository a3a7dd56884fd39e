"""Which contracts the service watches: today's expiry, the band, the line limit, and a
gateway clock read at one-second resolution."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spy_core.models import Right
from spy_marketdata.clock import GatewayClock
from spy_marketdata.planning import changes, strikes_in_band, todays_expiry, wanted_contracts

LISTED = ["20251031", "20251030", "20251103", "20251128"]


def test_todays_expiry_is_the_nearest_on_or_after_the_session_date():
    thursday = datetime(2025, 10, 30, 14, 0, tzinfo=UTC)
    assert todays_expiry(LISTED, thursday) == date(2025, 10, 30)
    # Saturday 1 November: the next session is Monday 3 November.
    assert todays_expiry(LISTED, datetime(2025, 11, 1, 15, 0, tzinfo=UTC)) == date(2025, 11, 3)
    # Thanksgiving (27 November 2025) is not a session: Friday the 28th.
    assert todays_expiry(LISTED, datetime(2025, 11, 27, 15, 0, tzinfo=UTC)) == date(2025, 11, 28)
    assert todays_expiry(LISTED, datetime(2025, 12, 1, 15, 0, tzinfo=UTC)) is None


@given(
    st.floats(min_value=100, max_value=1000),
    st.floats(min_value=0.001, max_value=0.1),
    st.integers(min_value=2, max_value=99),
)
def test_band_keeps_nearest_strikes_within_the_line_limit(spot, band, lines):
    strikes = [float(k) for k in range(50, 1100)]
    chosen = strikes_in_band(strikes, spot, band, lines)
    assert chosen == sorted(chosen) and 2 * len(chosen) <= lines
    assert all(abs(k - spot) <= band * spot for k in chosen)
    if chosen:
        cut = max(abs(k - spot) for k in chosen)
        inside = [k for k in strikes if abs(k - spot) <= band * spot]
        assert all(abs(k - spot) >= cut for k in inside if k not in chosen)


def test_changes_add_and_remove_only_the_difference():
    expiry = date(2025, 10, 30)
    have = wanted_contracts(expiry, [600.0, 601.0])
    add, remove = changes(wanted_contracts(expiry, [601.0, 602.0]), have)
    assert add == [(expiry, 602.0, Right.CALL), (expiry, 602.0, Right.PUT)]
    assert remove == [(expiry, 600.0, Right.CALL), (expiry, 600.0, Right.PUT)]


@pytest.mark.parametrize("speed", [1.0, 60.0])
def test_gateway_clock_measures_the_rate_of_the_gateway_clock_from_whole_seconds(speed):
    start = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)
    wall = [0.0]

    async def ask() -> datetime:  # a gateway playing `speed` s a second, in whole seconds
        wall[0] += 0.013
        return start + timedelta(seconds=int(speed * wall[0]))

    async def body() -> None:
        clock = GatewayClock(ask, poll=0.0, monotonic=lambda: wall[0])
        await clock.sync()
        assert abs(clock.rate - speed) < speed * 0.1
        wall[0] += 10.0
        await clock.sync(edges=1)
        assert abs(clock.rate - speed) < speed * 0.01
        first = clock.now()
        assert abs((first - start).total_seconds() - speed * wall[0]) < 2
        wall[0] -= 0.5  # a monotonic hiccup never moves the clock back
        assert clock.now() >= first

    asyncio.run(body())
