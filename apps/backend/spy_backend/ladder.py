"""The desk's quote picture, built on the market-data side from a snapshot: the front
expiry's quotes inside the spot ±1% band (the strike ladder) and the out-of-the-money smile
(bid/ask implied vols, the detector's fitted vol and fair value per strike, between the
outermost strikes with a bid).

Rows are compact arrays (documented in docs/dashboard.md) so a band of ~15 strikes fits in
one hub message under 2 KB. Built at most once per `ladder_interval` by `HttpSink`.
"""

from __future__ import annotations

import math
import time

import numpy as np

from spy_core.models import ChainSnapshot
from spy_core.pricing import implied_vol
from spy_detector import DetectorConfig
from spy_detector.fair_value import fair_values
from spy_detector.slices import split_expiries

BAND = 0.01  # ±1% of spot
# One ladder row: strike, then per side (call, put): bid, ask, bid size, ask size, IV bid,
# IV ask, volume, open interest, fair; then the fitted smile vol at the strike.
ROW_FIELDS = (
    "strike",
    *(f"{side}_{name}" for side in ("c", "p") for name in (
        "bid", "ask", "bid_size", "ask_size", "iv_bid", "iv_ask", "volume", "oi", "fair"
    )),
    "fit_iv",
)  # fmt: skip


def _num(value: float | None, digits: int) -> float | None:
    if value is None or not math.isfinite(value):
        return None
    rounded = round(float(value), digits)
    return int(rounded) if rounded == int(rounded) and digits == 0 else rounded


def _two_sided(smile: list[list]) -> list[list]:
    """The smile from the first to the last strike with a bid (all of it when none has one).
    Past them the wings are ask-only: no market, and their IVs (hundreds of percent on a
    0DTE) would flatten the chart's scale and take most of the `smile` message."""
    bid = [i for i, row in enumerate(smile) if row[1] is not None]
    return smile[bid[0] : bid[-1] + 1] if bid else smile


def build_ladder(snapshot: ChainSnapshot, config: DetectorConfig | None = None) -> dict | None:
    """The `ladder` record of the front live expiry, or None when there is none to fit."""
    config = config or DetectorConfig()
    slices, _ = split_expiries(snapshot, config.default_rate, tick=config.tick)
    if not slices:
        return None
    chain = slices[0]
    values = fair_values(chain, config)
    forward, t, df = chain.forward.forward, chain.t, chain.discount
    with np.errstate(all="ignore"):
        ivs = implied_vol(
            np.stack([chain.bid, chain.ask]), forward, chain.strike, t, df, chain.is_call
        )
    lo, hi = snapshot.spot * (1 - BAND), snapshot.spot * (1 + BAND)
    strikes = np.unique(chain.strike)
    inside = strikes[(strikes >= lo) & (strikes <= hi)]
    # One strike beyond each edge, so the band lines fall inside the ladder.
    below, above = strikes[strikes < lo], strikes[strikes > hi]
    band = set(inside.tolist())
    if below.size:
        band.add(float(below[-1]))
    if above.size:
        band.add(float(above[0]))
    by_strike: dict[float, list] = {}
    smile: list[list] = []
    for i, quote in enumerate(chain.quotes):
        strike = float(chain.strike[i])
        call = bool(chain.is_call[i])
        fit_iv = _num(values.vol[i], 4)
        otm = strike >= forward if call else strike < forward
        if otm:
            iv_bid = _num(ivs[0, i], 4) if quote.bid > 0 else None  # no bid, no bid IV
            smile.append([strike, iv_bid, _num(ivs[1, i], 4), fit_iv, _num(values.fair[i], 3)])
        if strike not in band:
            continue
        row = by_strike.setdefault(strike, [strike, *([None] * 18), None])
        at = 1 if call else 10
        row[at : at + 9] = [
            _num(quote.bid, 2),
            _num(quote.ask, 2),
            quote.bid_size,
            quote.ask_size,
            _num(ivs[0, i], 4),
            _num(ivs[1, i], 4),
            quote.volume,
            quote.open_interest,
            _num(values.fair[i], 3),
        ]
        if otm or row[19] is None:
            row[19] = fit_iv
    return {
        "underlying": snapshot.underlying,
        "timestamp": snapshot.timestamp.isoformat(),
        "spot": snapshot.spot,
        "expiry": chain.expiry.isoformat(),
        "forward": round(forward, 4),
        "rows": [by_strike[k] for k in sorted(by_strike)],
        "smile": _two_sided(sorted(smile, key=lambda row: row[0])),
        # Wall clock when built: the dashboard shows build-to-screen latency from it.
        "wall_ms": round(time.time() * 1000, 1),
    }
