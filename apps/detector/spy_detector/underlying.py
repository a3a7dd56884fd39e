"""Is the snapshot's spot the price the options were quoted against?

After the close the stock trades on while the options stand still; in a live feed the
underlying's line can lag the options' (a fast move, a delayed or stale line). The options
themselves say where the underlying is: put-call parity gives each expiry's forward, and the
nearest expiry's forward, carried back, is the spot they price. Where the quoted spot and
that implied spot disagree by more than the parity estimate, carry and ticks explain, the
quoted spot is stale and the model-free bounds that need a spot (intrinsic value, the
American floor) use the implied one.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import datetime

from spy_core.market_hours import NEW_YORK
from spy_core.models import ExerciseStyle

from .slices import ExpirySlice

# Parity strikes an expiry needs before its forward can judge the spot (minutes before
# expiry one at-the-money pair may be all that has bids on both sides).
MIN_PARITY_STRIKES = 1
# Standard errors of disagreement tolerated before the quoted spot counts as stale.
STALE_SIGMAS = 4.0
SPOT_PRINT_ERROR = 1e-4  # of spot (1 bp): a spot is a last trade or a mid, not a hedge price
# An index level (European, cash-settled classes) is computed from its constituents' last
# trades and disseminated about once a second: in a fast market it trails the options'
# forward by a few points of SPX (a stale spot is ≥ 0.3% off).
INDEX_PRINT_ERROR = 3e-4


@dataclass(frozen=True, slots=True)
class UnderlyingCheck:
    """`implied` is None when no expiry has a parity forward; `used` is the spot the
    model-free bounds take: the quoted one when it agrees with the options, else `implied`."""

    quoted: float
    implied: float | None
    tolerance: float  # dollars of disagreement explained by parity, carry and ticks
    dividend_allowance: float  # dollars the quoted spot may sit above `implied` (dividends)
    used: float

    @property
    def stale(self) -> bool:
        return self.implied is not None and self.used != self.quoted

    @property
    def difference(self) -> float:
        return math.nan if self.implied is None else self.quoted - self.implied

    def warning(self) -> dict:
        return {
            "kind": "stale_underlying",
            "quoted": round(self.quoted, 4),
            "implied": None if self.implied is None else round(self.implied, 4),
            "difference": round(self.difference, 4),
            "tolerance": round(self.tolerance, 4),
            "detail": "the quoted spot disagrees with the spot the options imply by put-call "
            "parity; model-free bounds use the implied spot",
        }


def check_underlying(
    slices: list[ExpirySlice],
    quoted: float,
    now: datetime,
    dividend_yield: float,
    dividend_allowance: float,
) -> UnderlyingCheck:
    """Judge `quoted` against the spot implied by the nearest expiry with a parity forward.

    Spot implied: F·DF·e^{q·t} (F the parity forward, DF the discount factor, q the given
    dividend yield). Tolerance: `STALE_SIGMAS` standard errors of that (the forward's error,
    the rate's over t) plus one tick and the spot's print error (`SPOT_PRINT_ERROR`,
    `INDEX_PRINT_ERROR`). A discrete dividend paid
    before expiry lowers the forward, so a quoted spot above the implied one is also
    explained by up to `dividend_allowance` (a fraction of spot) when the expiry is not
    today and the underlying pays dividends (American-style: stocks and ETFs).
    """
    candidates = [
        s
        for s in slices
        if s.forward.strikes_used >= MIN_PARITY_STRIKES and math.isfinite(s.forward.error)
    ]
    if not candidates:
        return UnderlyingCheck(quoted, None, math.nan, 0.0, quoted)
    nearest = min(candidates, key=lambda s: s.t)
    carry_back = nearest.discount * math.exp(dividend_yield * nearest.t)
    implied = nearest.forward.forward * carry_back
    rate_error = implied * nearest.discount_error
    sigma = math.hypot(nearest.forward.error * carry_back, rate_error)
    tick = float(nearest.tick.min()) if nearest.tick.size else 0.0
    american = nearest.style is ExerciseStyle.AMERICAN
    print_error = SPOT_PRINT_ERROR if american else INDEX_PRINT_ERROR
    tolerance = STALE_SIGMAS * sigma + tick + print_error * implied
    today = now.astimezone(NEW_YORK).date()
    pays_dividends = american and nearest.expiry > today
    allowance = dividend_allowance * implied if pays_dividends else 0.0
    difference = quoted - implied
    agrees = -tolerance <= difference <= tolerance + allowance
    return UnderlyingCheck(quoted, implied, tolerance, allowance, quoted if agrees else implied)
