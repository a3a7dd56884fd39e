"""NYSE sessions, early closes, holidays and the one time-to-expiry convention.

Sessions come from `exchange_calendars` (XNYS), never from hand-written dates: through the
table it generates (`spy_core.calendar_table`: its holidays and early closes, 2000–2045), so a
process need not import it and pandas (~1.4 s), and from the library itself past the table.

Time-to-expiry convention (used everywhere prices or vols are computed):
    T = calendar seconds from `now` to settlement / (365 × 86,400 s), in years.
Settlement for PM-settled options (SPY, SPXW) is the session close on the expiry day:
16:00 ET, or the early close (13:00 ET) on half days. AM-settled options (SPX monthly)
settle at that day's open, 09:30 ET. An expiry listed on a day the exchange does not open
(a holiday, or a closure at short notice such as 2025-01-09) settles in the session before
it, as the options market prices it (OCC moves such expirations to the preceding business
day). Calendar time (as in the VIX methodology) rather than
trading time: 0DTE implied vols are therefore ~2.3× those quoted on a trading-time clock.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from enum import StrEnum
from zoneinfo import ZoneInfo

NEW_YORK = ZoneInfo("America/New_York")
_UTC = ZoneInfo("UTC")  # as exchange_calendars' sessions carry it
SECONDS_PER_YEAR = 365.0 * 86_400.0
REGULAR_OPEN = time(9, 30)
REGULAR_CLOSE = time(16, 0)
_CALENDAR_FIRST_YEAR = 2000
_CALENDAR_YEARS_AHEAD = 3


class Settlement(StrEnum):
    PM = "pm"  # at the close of the expiry day
    AM = "am"  # at the open of the expiry day


@dataclass(frozen=True, slots=True)
class Session:
    """One NYSE trading day, open and close as aware UTC datetimes."""

    day: date
    open: datetime
    close: datetime

    @property
    def is_early_close(self) -> bool:
        return self.close.astimezone(NEW_YORK).time() < REGULAR_CLOSE


@functools.cache
def _sessions() -> dict[date, Session]:
    """All XNYS sessions from 2000 to three years ahead, from exchange_calendars: only past
    the generated table (`_table_sessions`), whose answers are the same."""
    import exchange_calendars

    calendar = exchange_calendars.get_calendar(
        "XNYS", start=f"{_CALENDAR_FIRST_YEAR}-01-01", end=f"{_calendar_end_year()}-12-31"
    )
    schedule = calendar.schedule
    return {
        label.date(): Session(label.date(), open_.to_pydatetime(), close.to_pydatetime())
        for label, open_, close in zip(
            schedule.index, schedule["open"], schedule["close"], strict=True
        )
    }


def _calendar_end_year() -> int:
    return datetime.now(UTC).year + _CALENDAR_YEARS_AHEAD


@functools.cache
def _table() -> tuple[frozenset[date], dict[date, time]] | None:
    """The generated table's (holidays, early closes), or None when the calendar reaches past
    it."""
    from . import _xnys_sessions as table

    if not (table.FIRST_YEAR == _CALENDAR_FIRST_YEAR and _calendar_end_year() < table.LAST_YEAR):
        return None
    holidays = frozenset(date.fromisoformat(day) for day in table.HOLIDAYS)
    early = {
        date.fromisoformat(day): time.fromisoformat(t) for day, t in table.EARLY_CLOSES.items()
    }
    return holidays, early


@functools.cache
def _table_session(day: date) -> Session | None:
    holidays, early = _table()  # type: ignore[misc]
    if day.weekday() >= 5 or day in holidays:
        return None
    close = early.get(day, REGULAR_CLOSE)
    return Session(
        day,
        datetime.combine(day, REGULAR_OPEN, NEW_YORK).astimezone(_UTC),
        datetime.combine(day, close, NEW_YORK).astimezone(_UTC),
    )


@functools.cache
def _calendar_bounds() -> tuple[date, date]:
    if _table() is None:
        days = _sessions().keys()
        return min(days), max(days)
    first = date(_CALENDAR_FIRST_YEAR, 1, 1)
    while _table_session(first) is None:
        first += timedelta(days=1)
    last = date(_calendar_end_year(), 12, 31)
    while _table_session(last) is None:
        last -= timedelta(days=1)
    return first, last


def session(day: date) -> Session | None:
    """The NYSE session on `day`, or None on weekends and holidays.

    Days beyond the calendar's range fall back to a regular weekday session, so far-dated
    expiries (LEAPS) still get a settlement time.
    """
    first, last = _calendar_bounds()
    if first <= day <= last:
        return _table_session(day) if _table() is not None else _sessions().get(day)
    if day.weekday() >= 5:
        return None
    return Session(
        day,
        datetime.combine(day, REGULAR_OPEN, NEW_YORK).astimezone(UTC),
        datetime.combine(day, REGULAR_CLOSE, NEW_YORK).astimezone(UTC),
    )


def is_session(day: date) -> bool:
    return session(day) is not None


def is_market_open(now: datetime) -> bool:
    """Regular trading hours only; `now` must be timezone-aware."""
    current = session(now.astimezone(NEW_YORK).date())
    return current is not None and current.open <= now < current.close


class Phase(StrEnum):
    """Where `now` stands in the NYSE day (regular hours; SPY options trade only then)."""

    PRE = "pre"  # a session day, before the open
    OPEN = "open"
    AFTER = "after"  # a session day, after the close (early or regular)
    CLOSED = "closed"  # no session that day: a weekend or a holiday


def phase(now: datetime) -> Phase:
    """`now` (aware) in its ET day's session."""
    current = session(now.astimezone(NEW_YORK).date())
    if current is None:
        return Phase.CLOSED
    if now < current.open:
        return Phase.PRE
    return Phase.OPEN if now < current.close else Phase.AFTER


def next_session(after: date) -> Session:
    """The first session strictly after `after`."""
    day = after + timedelta(days=1)
    while (found := session(day)) is None:
        day += timedelta(days=1)
    return found


def previous_session(before: date) -> Session | None:
    """The last session strictly before `before`; None before the calendar's first day."""
    first, _ = _calendar_bounds()
    day = before - timedelta(days=1)
    while day >= first:
        if (found := session(day)) is not None:
            return found
        day -= timedelta(days=1)
    return None


def settlement_time(expiry: date, settlement: Settlement = Settlement.PM) -> datetime:
    """When an option expiring on `expiry` settles (aware, UTC). See the module docstring."""
    found = session(expiry) or previous_session(expiry)
    if found is None:
        local = REGULAR_CLOSE if settlement is Settlement.PM else REGULAR_OPEN
        return datetime.combine(expiry, local, NEW_YORK).astimezone(UTC)
    return found.close if settlement is Settlement.PM else found.open


def time_to_expiry(now: datetime, expiry: date, settlement: Settlement = Settlement.PM) -> float:
    """Years from `now` to settlement on the calendar clock; negative once expired."""
    if now.tzinfo is None:
        raise ValueError("now must be timezone-aware")
    return (settlement_time(expiry, settlement) - now).total_seconds() / SECONDS_PER_YEAR
