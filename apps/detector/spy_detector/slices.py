"""One expiry of a chain snapshot as flat numpy arrays, with its clock, discount and forward."""

from __future__ import annotations

import itertools
import math
from collections import defaultdict
from dataclasses import dataclass
from datetime import date, datetime

import numpy as np

from spy_core.forward import ForwardEstimate, parity_forward, settlement_of_root
from spy_core.market_hours import time_to_expiry
from spy_core.models import ChainSnapshot, ExerciseStyle, OptionQuote, Right
from spy_core.ticks import TickRule, tick_rule

# Underlyings whose options are European; everything else is treated as American, which
# only makes the checks more conservative (no parity check, early-exercise allowance).
EUROPEAN_UNDERLYINGS = frozenset({"SPX", "XSP", "NDX", "RUT", "VIX", "DJX", "OEX_EU"})
_ONE_DAY = 1.0 / 365.0  # years


@dataclass(frozen=True, slots=True)
class ExpirySlice:
    """Quotes of one (expiry, root), sorted by strike then right (calls first)."""

    expiry: date
    root: str | None
    t: float  # years to settlement (spy_core.market_hours convention)
    discount: float
    discount_error: float  # relative standard error of `discount` (rate uncertainty × t)
    forward: ForwardEstimate
    spot: float
    style: ExerciseStyle
    strike: np.ndarray
    is_call: np.ndarray
    bid: np.ndarray
    ask: np.ndarray
    open_interest: np.ndarray  # 0 where unknown
    tick: np.ndarray  # minimum price increment at each quote's price level
    quotes: tuple[OptionQuote, ...]
    age: np.ndarray  # seconds since each line last ticked (NaN: unknown, as fresh as the spot)
    # Dollars the spot may be off by and still agree with the options (`underlying.py`);
    # model-free bounds on the spot allow for it.
    spot_error: float = 0.0


def exercise_style(underlying: str) -> ExerciseStyle:
    european = underlying.upper() in EUROPEAN_UNDERLYINGS
    return ExerciseStyle.EUROPEAN if european else ExerciseStyle.AMERICAN


def split_expiries(
    snapshot: ChainSnapshot,
    default_rate: float,
    rate_error: tuple[float, float] = (0.0, 0.0),
    tick: float | None = None,
) -> tuple[list[ExpirySlice], dict[tuple[date, str | None], int]]:
    """Slices of live expiries, nearest first, and the (expiry, root) pairs already expired
    with their quote counts.

    Each quote's tick comes from its class's exchange rule (`spy_core.ticks`) unless `tick`
    overrides it for every quote.

    `rate_error` is the rate's standard error (given, defaulted): deep in-the-money fair
    values move with the discount factor, so a guessed rate must widen their uncertainty.
    """
    groups: dict[tuple[date, str | None], list[OptionQuote]] = defaultdict(list)
    for quote in snapshot.quotes:
        groups[(quote.expiry, quote.root)].append(quote)
    rate = snapshot.rate if snapshot.rate is not None else default_rate
    rate_sd = rate_error[0] if snapshot.rate is not None else rate_error[1]
    dividend = snapshot.dividend_yield or 0.0
    style = exercise_style(snapshot.underlying)
    live: list[ExpirySlice] = []
    expired: dict[tuple[date, str | None], int] = {}
    for (expiry, root), quotes in groups.items():
        t = time_to_expiry(snapshot.timestamp, expiry, settlement_of_root(root))
        if t <= 0:
            expired[(expiry, root)] = len(quotes)
            continue
        rule = tick_rule(root or snapshot.underlying) if tick is None else TickRule(tick, tick)
        live.append(
            _build_slice(
                snapshot.spot,
                snapshot.timestamp,
                expiry,
                root,
                t,
                (rate, rate_sd, dividend),
                style,
                rule,
                quotes,
            )
        )
    live.sort(key=lambda s: (s.t, s.root or ""))
    return live, dict(sorted(expired.items(), key=lambda item: (item[0][0], item[0][1] or "")))


def _build_slice(
    spot: float,
    now: datetime,
    expiry: date,
    root: str | None,
    t: float,
    carry: tuple[float, float, float],
    style: ExerciseStyle,
    rule: TickRule,
    quotes: list[OptionQuote],
) -> ExpirySlice:
    # One pass over the pydantic objects, then numpy: strike ascending, calls first. The rows
    # are read flat (np.fromiter): np.array would first discover the nesting of the tuples.
    call = Right.CALL
    fields = [(q.strike, q.right is call, q.bid, q.ask, q.open_interest or 0) for q in quotes]
    flat = itertools.chain.from_iterable(fields)
    rows = np.fromiter(flat, np.float64, 5 * len(fields)).reshape(-1, 5)
    order = np.lexsort((-rows[:, 1], rows[:, 0]))
    # Contiguous columns: the compiled kernels take them as they are.
    strike, call_flag, bid, ask, open_interest = np.ascontiguousarray(rows[order].T)
    is_call = call_flag.astype(bool)
    quotes = [quotes[i] for i in order.tolist()]
    stamps = [q.updated_at for q in quotes]
    if stamps.count(None) == len(stamps):  # a feed without times (Cboe snapshots)
        age = np.full(len(stamps), np.nan)
    else:
        age = np.array([np.nan if s is None else (now - s).total_seconds() for s in stamps])
    rate, rate_sd, dividend = carry
    if style is ExerciseStyle.EUROPEAN:
        rate, rate_sd = _chain_rate(strike, is_call, bid, ask, t, rate, rate_sd)
    discount = math.exp(-rate * t)
    carry_forward = spot * math.exp((rate - dividend) * t)
    # Early exercise tilts parity only where a dividend or a day's carry falls before expiry:
    # not within the expiry's own day (whose near-expiry pairs are few and must stay robust).
    early_exercise = style is ExerciseStyle.AMERICAN and t > _ONE_DAY
    forward = _forward_from_pairs(
        strike, is_call, bid, ask, discount, carry_forward, early_exercise
    )
    return ExpirySlice(
        expiry,
        root,
        t,
        discount,
        rate_sd * t,
        forward,
        spot,
        style,
        strike,
        is_call,
        bid,
        ask,
        open_interest,
        rule.size(ask),
        tuple(quotes),
        age,
    )


def _chain_rate(
    strike: np.ndarray,
    is_call: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    t: float,
    rate: float,
    rate_sd: float,
) -> tuple[float, float]:
    """The rate a European chain implies, where it determines one better than `rate_sd`.

    Put-call parity C − P = DF·F − DF·K holds at every strike, so the slope of the call-put
    mid difference across strikes is −DF (a box spread is two strikes of it). Weighted least
    squares (weights 1/width², each mid uniform in its pair's quotes) gives DF and its
    standard error; a 0DTE expiry's slope says nothing (DF ≈ 1 within the noise) and keeps
    the given or default rate."""
    c = np.flatnonzero(is_call[:-1] & ~is_call[1:] & (strike[:-1] == strike[1:]))
    p = c + 1
    usable = (bid[c] > 0) & (bid[p] > 0)
    c, p = c[usable], p[usable]
    if c.size < 5 or t <= 0:
        return rate, rate_sd
    k = strike[c]
    gap = 0.5 * (bid[c] + ask[c] - bid[p] - ask[p])
    variance = np.maximum(ask[c] - bid[c] + ask[p] - bid[p], 0.01) ** 2 / 12.0
    w = 1.0 / variance
    k_mean = np.sum(w * k) / np.sum(w)
    spread = np.sum(w * (k - k_mean) ** 2)
    if spread <= 0:
        return rate, rate_sd
    slope = np.sum(w * (k - k_mean) * gap) / spread
    residual = gap - (np.sum(w * gap) / np.sum(w) + slope * (k - k_mean))
    scale = max(1.0, float(np.sum(w * residual**2)) / (c.size - 2))  # misfit widens the error
    slope_sd = math.sqrt(scale / spread)
    discount = -float(slope)
    if not 0.5 < discount <= 1.05:
        return rate, rate_sd
    implied_sd = slope_sd / (discount * t)
    if implied_sd >= rate_sd:
        return rate, rate_sd
    return -math.log(discount) / t, implied_sd


def _forward_from_pairs(
    strike: np.ndarray,
    is_call: np.ndarray,
    bid: np.ndarray,
    ask: np.ndarray,
    discount: float,
    fallback: float,
    american: bool,
) -> ForwardEstimate:
    # Sorted by strike, calls first: a call and a put of one strike are neighbours.
    c = np.flatnonzero(is_call[:-1] & ~is_call[1:] & (strike[:-1] == strike[1:]))
    if c.size == 0:
        return ForwardEstimate(fallback, 0, float("nan"))
    p = c + 1
    return parity_forward(
        strike[c], bid[c], ask[c], bid[p], ask[p], discount, fallback, american=american
    )
