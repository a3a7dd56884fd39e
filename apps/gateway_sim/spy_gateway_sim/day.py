"""A simulated session as chain snapshots, without sockets: what the market-data service
would have assembled from the simulator (today's expiry, strikes within a band around spot),
for backtests and benchmarks that need a whole recorded day in seconds, not hours."""

from __future__ import annotations

from collections.abc import Iterator
from datetime import datetime, timedelta

from spy_core.market_hours import NEW_YORK, session
from spy_core.models import ChainSnapshot

from .market import MarketConfig, MarketModel


def session_snapshots(
    config: MarketConfig,
    start: datetime,
    end: datetime | None = None,
    every: float = 1.0,
    band: float = 0.01,
) -> Iterator[ChainSnapshot]:
    """Snapshots every `every` simulated seconds from `start` to `end` (default: the close)."""
    today = session(start.astimezone(NEW_YORK).date())
    if today is None:
        raise ValueError(f"{start} is not on a trading day")
    end = min(end or today.close, today.close - timedelta(seconds=every))
    model = MarketModel(config, start)
    now = start
    while now <= end:
        model.advance_to(now)
        view = model.view()
        quotes = tuple(
            q
            for q in view.quotes.values()
            if q.expiry == today.day and abs(q.strike / view.spot - 1.0) <= band
        )
        if quotes:
            yield ChainSnapshot(underlying="SPY", timestamp=now, spot=view.spot, quotes=quotes)
        now += timedelta(seconds=every)
