"""The forward implied by put-call parity near the money.

SPY pays dividends and its options are American, so S·e^{(r−q)T} is not the forward the
market trades. Near the money the early-exercise premium of short-dated options is tiny, so
C − P = DF·(F − K) holds well enough there to read F from the quotes themselves.
"""

from __future__ import annotations

import math
from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

import numpy as np
from numpy.typing import ArrayLike

from .arrays import median
from .market_hours import Settlement, time_to_expiry
from .models import OptionQuote, Right

# An unbid leg may stand in a parity pair when offered at most this share of its partner.
_CHEAP_LEG = 0.05
# Narrowest pair width (dollars, both legs) the consistency of parity candidates assumes:
# one tick a leg, since a quote's mid sits within half a tick of fair at best.
_MIN_PAIR_WIDTH = 0.02
# An American pair is near the money when its parity gap |C − P| is at most this many times
# its time value (C + P − |C − P|): there early exercise is worth little to either leg.
_NEAR_MONEY = 4.0
# Largest weight of one strike's pair in the parity forward, in median weights.
_MAX_WEIGHT_RATIO = 2.0
DEFAULT_RATE = 0.04  # when a snapshot carries none; the detector's `default_rate` too
# Roots that settle at the open of the expiry day (monthly index options).
AM_SETTLED_ROOTS = frozenset({"SPX", "NDX", "RUT", "VIX", "DJX"})


def settlement_of_root(root: str | None) -> Settlement:
    return Settlement.AM if root is not None and root.upper() in AM_SETTLED_ROOTS else Settlement.PM


@dataclass(frozen=True, slots=True)
class ForwardEstimate:
    forward: float
    strikes_used: int  # 0 when parity could not be used and the carry forward was returned
    dispersion: float  # robust spread (dollars) of the per-strike parity forwards
    # Standard error (dollars) of `forward`: the larger of the per-strike scatter and what
    # the quotes' widths leave undetermined, over √strikes; NaN for the carry forward.
    error: float = float("nan")


def parity_forward(
    strike: ArrayLike,
    call_bid: ArrayLike,
    call_ask: ArrayLike,
    put_bid: ArrayLike,
    put_ask: ArrayLike,
    discount: float,
    fallback: float,
    nearest: int = 6,
    american: bool = False,
) -> ForwardEstimate:
    """Weighted median of K + (C_mid − P_mid)/DF over the `nearest` strikes where both sides
    have a two-sided market and |C_mid − P_mid| is smallest (the strikes nearest the forward),
    among those consistent with most of the twice as many nearest (`_consistent`).

    Weights are 1/(call spread + put spread), so tight markets dominate; the median makes one
    mispriced quote unable to move the forward. `fallback` (the carry forward) is returned
    when no strike has both sides quoted.

    `american`: early exercise lifts in-the-money legs, so parity holds only near the money:
    only pairs near it count (`_NEAR_MONEY`; a thin chain's one pair at the money against
    seven deep calls exercised before a dividend read the forward $1.24 high), and when none
    is, the forward is what the pairs bracket (`_bracket`), not a median of biased ones.
    """
    strike, call_bid, call_ask, put_bid, put_ask = (
        np.asarray(a, dtype=np.float64) for a in (strike, call_bid, call_ask, put_bid, put_ask)
    )
    call_bid_up, put_bid_up = call_bid > 0, put_bid > 0
    two_sided = call_bid_up & put_bid_up & (call_ask >= call_bid) & (put_ask >= put_bid)
    # An unbid wing offered at a few cents still brackets its value (0 to the ask) against a
    # quoted partner: parity then pins the forward as well as the partner's width does. Near
    # expiry most strikes have one such side, and the few strikes bid on both sides are too
    # few for the median to outvote one mispriced leg among them.
    call_mid, put_mid = 0.5 * (call_bid + call_ask), 0.5 * (put_bid + put_ask)
    cheap_put = (put_bid == 0) & (put_ask > 0) & (put_ask <= _CHEAP_LEG * call_mid)
    cheap_call = (call_bid == 0) & (call_ask > 0) & (call_ask <= _CHEAP_LEG * put_mid)
    two_sided |= (call_bid_up & cheap_put) | (put_bid_up & cheap_call)
    if not two_sided.any():
        return ForwardEstimate(float(fallback), 0, float("nan"))
    k = strike[two_sided]
    parity_gap = 0.5 * (call_bid + call_ask - put_bid - put_ask)[two_sided]
    width = (call_ask - call_bid + put_ask - put_bid)[two_sided]
    implied = k + parity_gap / discount  # each pair's forward
    # The nearest twice over, then those consistent with the most others (`_consistent`).
    pool = np.argsort(np.abs(parity_gap), kind="stable")[: 2 * nearest]
    if not american:
        return _median_forward(implied, width, discount, pool, nearest)[0]
    gap = np.abs(parity_gap[pool])
    near = gap <= _NEAR_MONEY * ((call_mid + put_mid)[two_sided][pool] - gap)
    if not near.any():
        bracketed = _bracket(k, implied, width, discount, pool)
        return bracketed or _median_forward(implied, width, discount, pool, nearest)[0]
    estimate, used = _median_forward(implied, width, discount, pool[near], nearest)
    reads_high = k[used] < implied[used]
    if reads_high.all() or not reads_high.any():
        # Every pair it rests on reads the forward from one side (all their calls in the
        # money, say, the day before an ex-dividend date): bounded from that side only.
        return _bracket(k, implied, width, discount, pool) or estimate
    return estimate


def _median_forward(
    implied: np.ndarray, width: np.ndarray, discount: float, pool: np.ndarray, nearest: int
) -> tuple[ForwardEstimate, np.ndarray]:
    """The weighted median of the pool's consistent pair forwards, its dispersion and error;
    and the pairs it used."""
    order = pool[_consistent(implied[pool], width[pool] / discount)][:nearest]
    candidates = implied[order]
    floored_width = np.maximum(width[order], 0.01)
    weights = 1.0 / floored_width
    # No pair may outvote the rest: a tight pair one of whose legs is mispriced (an offer a
    # penny wide, $0.35 through fair) otherwise held the median by its weight alone.
    weights = np.minimum(weights, _MAX_WEIGHT_RATIO * median(weights))
    forward = _weighted_median(candidates, weights)
    distance = np.abs(candidates - forward)
    dispersion = _weighted_median(distance, weights)
    # Each strike's mid is off fair by at most half its pair's width (uniform: sd = width/√12,
    # in forward dollars); combined by inverse variance, as the weights favour tight pairs.
    # Candidates scattered further than their widths explain (median |z| of a uniform is
    # √3/2) say the quotes do not all contain fair (early exercise, a mispriced leg): the
    # error grows by that ratio.
    leg_sd = floored_width / (math.sqrt(12.0) * discount)
    quoted = float(1.0 / np.sqrt(np.sum(leg_sd**-2.0)))
    excess = median(distance / leg_sd) / (math.sqrt(3.0) / 2.0)
    estimate = ForwardEstimate(forward, int(order.size), dispersion, quoted * max(1.0, excess))
    return estimate, order


def _bracket(
    k: np.ndarray, implied: np.ndarray, width: np.ndarray, discount: float, pool: np.ndarray
) -> ForwardEstimate | None:
    """The forward American pairs far from the money bracket: early exercise only adds value,
    so a strike below the forward (its call in the money: exercised before a dividend) reads
    the forward too high, and one above it (its put in the money) too low. The forward lies
    between the lowest of the first and the highest of the second (each less its quotes'
    half-width); its error is that interval's, as a uniform. A thin real SPY chain, half its
    quotes dropped, had only pairs $4–30 from the money the day before an ex-dividend date:
    the median of its deep calls read the forward $1.40 high and flagged 39 deep puts high.
    None when the pairs do not bracket one interval (one side only, or a mispriced leg)."""
    strike, candidates = k[pool], implied[pool]
    half = 0.5 * np.maximum(width[pool] / discount, _MIN_PAIR_WIDTH)
    reads_high = strike < candidates
    if reads_high.all() or not reads_high.any():
        return None
    upper = float(np.min(candidates[reads_high] + half[reads_high]))
    lower = float(np.max(candidates[~reads_high] - half[~reads_high]))
    if lower > upper:
        return None
    return ForwardEstimate(
        0.5 * (lower + upper),
        int(strike.size),
        0.5 * (upper - lower),
        (upper - lower) / math.sqrt(12.0),
    )


def _consistent(candidates: np.ndarray, spread: np.ndarray) -> np.ndarray:
    """Indices (ascending) of the candidates whose intervals, candidate ± half its pair's
    width (where fair lies when both legs' quotes contain it), share the point most of them
    cover, when that is a majority; else all of them. Three penny-wide pairs at the money,
    two with a leg $0.46 through fair, held the weighted median against six wider pairs
    agreeing to a cent. Without a majority no pair is singled out: months out, early
    exercise tilts an American chain's candidates steadily with the strike."""
    half = 0.5 * np.maximum(spread, _MIN_PAIR_WIDTH)
    low, high = candidates - half, candidates + half
    points = np.concatenate([low, high])
    covers = (low[None, :] <= points[:, None]) & (points[:, None] <= high[None, :])
    counts = covers.sum(axis=1)
    best = int(np.argmax(counts))
    if 2 * counts[best] <= candidates.size:
        return np.arange(candidates.size)
    return np.flatnonzero(covers[best])


def _weighted_median(values: np.ndarray, weights: np.ndarray) -> float:
    order = np.argsort(values)
    cumulative = np.cumsum(weights[order])
    return float(values[order][np.searchsorted(cumulative, 0.5 * cumulative[-1])])


def implied_spot(
    quotes: Sequence[OptionQuote], now: datetime, rate: float = DEFAULT_RATE
) -> float | None:
    """The spot the options price: the parity forward of the nearest expiry with quotes on
    both sides at two or more strikes, discounted to now (F·DF; dividends before that expiry
    are not known here). None when no expiry has such quotes. For snapshots whose spot is
    missing or zero; `spy_detector.underlying` judges a quoted spot with the same forward."""
    by_expiry: dict[tuple, dict[tuple[float, bool], OptionQuote]] = defaultdict(dict)
    for quote in quotes:
        by_expiry[(quote.expiry, quote.root)][(quote.strike, quote.right is Right.CALL)] = quote
    ranked = sorted(
        (time_to_expiry(now, expiry, settlement_of_root(root)), pairs)
        for (expiry, root), pairs in by_expiry.items()
    )
    for t, pairs in ranked:
        if t <= 0:
            continue
        strikes = sorted(k for k, is_call in pairs if is_call and (k, False) in pairs)
        legs = [(pairs[(k, True)], pairs[(k, False)]) for k in strikes]
        discount = math.exp(-rate * t)
        estimate = parity_forward(
            strikes,
            [c.bid for c, _ in legs],
            [c.ask for c, _ in legs],
            [p.bid for _, p in legs],
            [p.ask for _, p in legs],
            discount,
            math.nan,
        )
        if estimate.strikes_used >= 2:
            return estimate.forward * discount
    return None
