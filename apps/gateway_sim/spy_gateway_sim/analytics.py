"""The option computation ticks IB sends beside quotes: implied vol and greeks at the bid,
the ask, the last trade and the model price.

IB's conventions, not Black-76's raw ones: delta and gamma are with respect to the
underlying's spot, vega is per vol point (1%), theta per calendar day, pvDividend the present
value of dividends to expiry. Missing values use IB's sentinels (−1 for vol, price and
pvDividend, −2 for greeks), which ib_async turns into None. Computed for the whole chain at
once with `spy_core.pricing`, once per market step.
"""

from __future__ import annotations

import math
from dataclasses import dataclass

import numpy as np

from spy_core.market_hours import time_to_expiry
from spy_core.models import ContractKey, Right
from spy_core.pricing import black76_greeks, implied_vol

from .market import MarketView

UNSET_VOL = -1.0
UNSET_GREEK = -2.0


@dataclass(frozen=True, slots=True)
class Computation:
    """One TICK_OPTION_COMPUTATION payload, in wire order."""

    implied_vol: float
    delta: float
    option_price: float
    pv_dividend: float
    gamma: float
    vega: float
    theta: float
    underlying_price: float

    def fields(self) -> list[float]:
        return [
            self.implied_vol,
            self.delta,
            self.option_price,
            self.pv_dividend,
            self.gamma,
            self.vega,
            self.theta,
            self.underlying_price,
        ]


# The price a computation describes → its tick type offset from the bid (10, 11, 12, 13).
SOURCES = ("bid", "ask", "last", "model")


def computations(view: MarketView) -> dict[ContractKey, dict[str, Computation]]:
    """Per contract, the computation at each of `SOURCES` (absent when that price is)."""
    keys = list(view.fair)
    if not keys:
        return {}
    quotes = view.quotes
    spot = view.spot
    years = {e: time_to_expiry(view.timestamp, e) for e in {k[0] for k in keys}}
    t = np.array([years[k[0]] for k in keys])
    strike = np.array([k[1] for k in keys])
    is_call = np.array([k[2] is Right.CALL for k in keys])
    growth = np.exp((view.rate - view.dividend_yield) * t)
    forward = spot * growth
    discount = np.exp(-view.rate * t)
    pv_dividend = spot * (1.0 - np.exp(-view.dividend_yield * t))
    prices = {
        "bid": np.array([_positive(quotes[k].bid) for k in keys]),
        "ask": np.array([_positive(quotes[k].ask) for k in keys]),
        "last": np.array([_positive(quotes[k].last) for k in keys]),
        "model": np.array([view.fair[k] for k in keys]),
    }
    result: dict[ContractKey, dict[str, Computation]] = {k: {} for k in keys}
    for source, price in prices.items():
        if source == "model":
            vol = np.array([view.model_vols[k] for k in keys])
        else:
            vol = np.asarray(implied_vol(price, forward, strike, t, discount, is_call))
        greeks = black76_greeks(forward, strike, t, np.nan_to_num(vol, nan=0.0), discount, is_call)
        # d/dS = d/dF · F/S; per vol point; per calendar day.
        delta = greeks.delta * growth
        gamma = greeks.gamma * growth * growth
        vega = greeks.vega / 100.0
        theta = greeks.theta / 365.0
        for i, key in enumerate(keys):
            if not math.isfinite(price[i]):
                continue
            ok = math.isfinite(vol[i]) and vol[i] > 0
            result[key][source] = Computation(
                implied_vol=float(vol[i]) if ok else UNSET_VOL,
                delta=float(delta[i]) if ok else UNSET_GREEK,
                option_price=float(price[i]),
                pv_dividend=float(pv_dividend[i]),
                gamma=float(gamma[i]) if ok else UNSET_GREEK,
                vega=float(vega[i]) if ok else UNSET_GREEK,
                theta=float(theta[i]) if ok else UNSET_GREEK,
                underlying_price=round(spot, 2),
            )
    return result


def _positive(value: float | None) -> float:
    return value if value is not None and value > 0 else math.nan
