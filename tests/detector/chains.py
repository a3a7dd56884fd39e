"""Constructed chains shared by the detector tests."""

from __future__ import annotations

from datetime import date, datetime

import numpy as np

from spy_core.market_hours import NEW_YORK
from spy_core.models import ChainSnapshot, OptionQuote, Right
from spy_core.pricing import black76_price

NOW = datetime(2026, 3, 9, 11, 0, tzinfo=NEW_YORK)
EXPIRY = date(2026, 3, 9)


def flat_chain(spot: float = 590.0, vol: float = 0.18, overrides: dict | None = None):
    """A clean one-expiry chain from a gently skewed smile, quotes one cent either side."""
    t = (datetime(2026, 3, 9, 16, 0, tzinfo=NEW_YORK) - NOW).total_seconds() / (365 * 86400)
    quotes = []
    for strike in np.arange(spot - 15, spot + 16, 1.0):
        k = np.log(strike / spot)
        sigma = vol - 2.0 * k + 40.0 * k * k
        for right in (Right.CALL, Right.PUT):
            fair = float(black76_price(spot, strike, t, sigma, 1.0, right is Right.CALL))
            bid, ask = np.floor(fair * 100 - 1) / 100, np.ceil(fair * 100 + 1) / 100
            bid, ask = max(bid, 0.0), max(ask, 0.01)
            bid, ask = (overrides or {}).get((float(strike), right), (bid, ask))
            quotes.append(
                OptionQuote(
                    expiry=EXPIRY,
                    strike=float(strike),
                    right=right,
                    bid=bid,
                    ask=ask,
                    open_interest=1000,
                )
            )
    return ChainSnapshot(underlying="SPY", timestamp=NOW, spot=spot, rate=0.0, quotes=quotes)
