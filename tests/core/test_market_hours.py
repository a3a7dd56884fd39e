"""The generated XNYS table against exchange_calendars itself."""

from __future__ import annotations

from datetime import date, timedelta

from spy_core import _xnys_sessions as table
from spy_core import calendar_table, market_hours


def test_the_table_is_what_its_generator_makes_from_the_installed_exchange_calendars():
    holidays, early = calendar_table.exceptions()
    assert tuple(holidays) == table.HOLIDAYS
    assert early == table.EARLY_CLOSES


def test_sessions_from_the_table_equal_exchange_calendars_sessions():
    assert market_hours._table() is not None
    library = market_hours._sessions()
    first, last = market_hours._calendar_bounds()
    assert (first, last) == (min(library), max(library))
    day = first
    while day <= last:
        assert market_hours.session(day) == library.get(day), day
        day += timedelta(days=1)


def test_known_days():
    assert market_hours.session(date(2023, 7, 4)) is None  # Independence Day
    assert market_hours.session(date(2023, 7, 3)).is_early_close
    assert not market_hours.session(date(2023, 9, 14)).is_early_close
