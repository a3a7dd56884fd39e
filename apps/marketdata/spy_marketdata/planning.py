"""Which contracts to watch: today's expiry and the strikes around spot, within IBKR's line
limit. Pure functions, so follow-the-money is testable without a gateway."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import date, datetime

from spy_core.market_hours import NEW_YORK, is_session, next_session
from spy_core.models import ContractKey, Right


def session_date(now: datetime) -> date:
    """The trading day `now` belongs to: today in New York if it is a session, else the next."""
    today = now.astimezone(NEW_YORK).date()
    return today if is_session(today) else next_session(today).day


def todays_expiry(expirations: Iterable[str | date], now: datetime) -> date | None:
    """The nearest listed expiry on or after the session date (0DTE on a trading day).

    `expirations` as IBKR lists them ('YYYYMMDD') or as dates."""
    day = session_date(now)
    listed = sorted(as_date(e) for e in expirations)
    return next((e for e in listed if e >= day), None)


def strikes_in_band(
    strikes: Iterable[float], spot: float, band: float, max_contracts: int
) -> list[float]:
    """Strikes within spot × (1 ± band), nearest first trimmed so calls and puts of every
    strike fit in `max_contracts` lines; returned in ascending order."""
    low, high = spot * (1.0 - band), spot * (1.0 + band)
    inside = sorted((k for k in strikes if low <= k <= high), key=lambda k: (abs(k - spot), k))
    return sorted(inside[: max_contracts // len(Right)])


def wanted_contracts(expiry: date, strikes: Iterable[float]) -> set[ContractKey]:
    return {(expiry, strike, right) for strike in strikes for right in Right}


def changes(
    wanted: set[ContractKey], have: Iterable[ContractKey]
) -> tuple[list[ContractKey], list[ContractKey]]:
    """(to add, to remove), each sorted, that turn `have` into `wanted`."""
    current = set(have)
    return sorted(wanted - current), sorted(current - wanted)


def as_date(value: str | date) -> date:
    """An expiry as IBKR writes it ('YYYYMMDD') or already a date."""
    if isinstance(value, date):
        return value
    return datetime.strptime(value, "%Y%m%d").date()
