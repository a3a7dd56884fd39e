"""Synthetic SPY option chains with known fair values: tests, the CLI demo, the detector bench.

A `MarketScenario` is a market state (spot, carry, one arbitrage-free raw-SVI smile per
expiry). `fair_values` prices it with Black-76; `quote_chain` turns fair values into
realistic $0.01-tick quotes that always contain fair; `inject_mispricings` moves a few quotes
so their executable side crosses fair by a known amount. Pure and deterministic given the
numpy Generator. Prices are dollars per share, vols annual decimals, time on the calendar
clock of `spy_core.market_hours`.
"""

from __future__ import annotations

import functools
import math
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from enum import StrEnum

import numpy as np
from numpy.typing import ArrayLike, NDArray

from .market_hours import NEW_YORK, next_session, session, settlement_time, time_to_expiry
from .models import ChainSnapshot, ContractKey, OptionQuote, Right, Side
from .pricing import black76_price

TICK = 0.01
DEFAULT_SIZES = (0.02, 0.05, 0.08, 0.12, 0.20, 0.50)
# SPY has listed an expiry every weekday since late 2022; a fixed window keeps seeds stable.
_FIRST_DAY, _LAST_DAY = date(2023, 1, 3), date(2025, 12, 31)
_SESSION_MARGIN = timedelta(minutes=5)
_SKEWED_QUOTE_SHARE = 0.3  # quotes whose mid is pushed off fair (fair stays inside)
_SPOT_PRINT_NOISE = 0.01  # $ sd of the reported spot (a last trade, at bid or ask) around mid


@dataclass(frozen=True)
class SmileParams:
    """Raw SVI total implied variance w(k) = a + b(ρ(k−m) + √((k−m)² + σ²)), k = ln(K/F)."""

    a: float
    b: float
    rho: float
    m: float
    sigma: float

    @classmethod
    def from_ssvi(cls, theta: float, rho: float, psi: float) -> SmileParams:
        """The SSVI slice with ATM total variance θ, correlation ρ and ψ = φ√θ.

        Free of butterfly arbitrage when ψ²(1+|ρ|) ≤ 4 and ψ√θ(1+|ρ|) < 4 (Gatheral and
        Jacquier 2014, Thm 4.2); ψ is the curvature in units of the ATM standard deviation.
        """
        phi = psi / math.sqrt(theta)
        root = math.sqrt(1.0 - rho * rho)
        return cls(
            a=0.5 * theta * root * root,
            b=0.5 * theta * phi,
            rho=rho,
            m=-rho / phi,
            sigma=root / phi,
        )

    def total_variance(self, k: ArrayLike) -> NDArray[np.float64]:
        d = np.asarray(k, dtype=np.float64) - self.m
        return self.a + self.b * (self.rho * d + np.sqrt(d * d + self.sigma**2))

    def ssvi_at(self, theta: float) -> SmileParams:
        """This SSVI slice at ATM total variance `theta`, keeping ρ and ψ: the same smile shape
        at another time to expiry (θ = σ_ATM²·T). Exact only for slices built by `from_ssvi`,
        whose w(0) is θ and b = ψ√θ/2."""
        current = float(self.total_variance(0.0))
        return SmileParams.from_ssvi(theta, self.rho, 2.0 * self.b / math.sqrt(current))

    def density_factor(self, k: ArrayLike) -> NDArray[np.float64]:
        """Gatheral–Jacquier g(k); the implied density is non-negative iff g ≥ 0."""
        k = np.asarray(k, dtype=np.float64)
        d = k - self.m
        root = np.sqrt(d * d + self.sigma**2)
        w = self.total_variance(k)
        w1 = self.b * (self.rho + d / root)
        w2 = self.b * self.sigma**2 / root**3
        return (1.0 - k * w1 / (2.0 * w)) ** 2 - 0.25 * w1 * w1 * (1.0 / w + 0.25) + 0.5 * w2


@dataclass(frozen=True)
class MarketScenario:
    """The true market behind a synthetic chain; `smiles[i]` belongs to `expiries[i]`."""

    spot: float
    timestamp: datetime
    rate: float
    dividend_yield: float
    expiries: tuple[date, ...]
    smiles: tuple[SmileParams, ...]
    strike_step: float = 1.0
    strikes_each_side: int = 15
    underlying: str = "SPY"
    # A fixed strike grid (e.g. a day's listed strikes, which do not follow spot); when
    # empty, `strikes_each_side` strikes either side of spot.
    listed_strikes: tuple[float, ...] = ()

    def __post_init__(self) -> None:
        if self.timestamp.tzinfo is None:
            raise ValueError("timestamp must be timezone-aware")
        if len(self.expiries) != len(self.smiles) or not self.expiries:
            raise ValueError("need one smile per expiry and at least one expiry")
        if any(settlement_time(e) <= self.timestamp for e in self.expiries):
            raise ValueError("every expiry must settle after the timestamp")

    def strikes(self) -> tuple[float, ...]:
        """`listed_strikes` if set, else `strikes_each_side` strikes either side of the one
        nearest spot."""
        if self.listed_strikes:
            return self.listed_strikes
        centre = round(self.spot / self.strike_step)
        n = self.strikes_each_side
        return tuple(round((centre + i) * self.strike_step, 2) for i in range(-n, n + 1))

    def forward(self, expiry: date) -> float:
        return self.spot * math.exp((self.rate - self.dividend_yield) * self.years(expiry))

    def years(self, expiry: date) -> float:
        return time_to_expiry(self.timestamp, expiry)


@dataclass(frozen=True)
class InjectedMispricing:
    """A quote moved by `size` dollars so that its executable side crosses fair by `edge`.

    `edge` is fair − ask for a buy, bid − fair for a sell (dollars per share, after the move);
    it is below `size` by the distance fair was inside the spread, and can be ≤ 0 for small
    moves of wide quotes.
    """

    expiry: date
    strike: float
    right: Right
    side: Side
    size: float
    edge: float
    fair: float

    @property
    def key(self) -> tuple[date, float, Right, Side]:
        return (self.expiry, self.strike, self.right, self.side)


@functools.cache
def _trading_days() -> tuple[date, ...]:
    days = (_FIRST_DAY + timedelta(days=i) for i in range((_LAST_DAY - _FIRST_DAY).days + 1))
    return tuple(day for day in days if session(day) is not None)


def _random_timestamp(rng: np.random.Generator) -> datetime:
    """A whole minute in a regular session, 5 minutes after the open to 5 before the close."""
    days = _trading_days()
    found = session(days[rng.integers(len(days))])
    assert found is not None
    minutes = int((found.close - found.open - 2 * _SESSION_MARGIN).total_seconds() // 60)
    start = found.open + _SESSION_MARGIN + timedelta(minutes=int(rng.integers(minutes + 1)))
    return start.astimezone(NEW_YORK)


def _session_elapsed(timestamp: datetime) -> float:
    """Share (0–1) of today's regular session that has passed; 0 outside sessions."""
    found = session(timestamp.astimezone(NEW_YORK).date())
    if found is None or not found.open <= timestamp < found.close:
        return 0.0
    return (timestamp - found.open) / (found.close - found.open)


def _expiry_days(timestamp: datetime, count: int) -> tuple[date, ...]:
    """The next `count` daily expiries, starting with today's when it has not settled."""
    today = timestamp.astimezone(NEW_YORK).date()
    current = session(today)
    day = today if current is not None and timestamp < current.close else next_session(today).day
    days = [day]
    while len(days) < count:
        days.append(next_session(days[-1]).day)
    return tuple(days)


def _random_smile(rng: np.random.Generator, atm_vol: float, years: float) -> SmileParams:
    """Negative skew (puts richer) and curvature up to 95% of the Gatheral–Jacquier bound."""
    rho = rng.uniform(-0.85, -0.3)
    psi = rng.uniform(0.3, 0.95) * 2.0 / math.sqrt(1.0 + abs(rho))
    return SmileParams.from_ssvi(atm_vol * atm_vol * years, rho, psi)


def random_scenario(
    rng: np.random.Generator,
    *,
    timestamp: datetime | None = None,
    expiries: int = 1,
    strikes_each_side: int = 15,
) -> MarketScenario:
    """A realistic SPY market: spot $400–700, r 0–5.5%, q 1.1–1.6%, ATM vol 8–35%.

    The same-day (0DTE) slice's calendar-time ATM vol is that base vol × 1 to 1.3–2.0 (the
    upper end rising through the session: intraday variance over a 24-hour clock), capped
    at 60%. The timestamp defaults to a random minute of a random 2023–2025 NYSE session.
    """
    timestamp = _random_timestamp(rng) if timestamp is None else timestamp
    if timestamp.tzinfo is None:
        raise ValueError("timestamp must be timezone-aware")
    days = _expiry_days(timestamp, expiries)
    base_vol = math.exp(rng.uniform(math.log(0.08), math.log(0.35)))
    today = timestamp.astimezone(NEW_YORK).date()
    zero_dte_top = 1.3 + 0.7 * _session_elapsed(timestamp)
    smiles = []
    for day in days:
        factor = rng.uniform(1.0, zero_dte_top) if day == today else rng.uniform(0.9, 1.15)
        atm_vol = min(base_vol * factor, 0.60)
        smiles.append(_random_smile(rng, atm_vol, time_to_expiry(timestamp, day)))
    return MarketScenario(
        spot=round(rng.uniform(400.0, 700.0), 2),
        timestamp=timestamp,
        rate=round(rng.uniform(0.0, 0.055), 4),
        dividend_yield=round(rng.uniform(0.011, 0.016), 4),
        expiries=days,
        smiles=tuple(smiles),
        strikes_each_side=strikes_each_side,
    )


def fair_values(scenario: MarketScenario) -> dict[ContractKey, float]:
    """Fair mid prices keyed by (expiry, strike, right): Black-76 off each smile with
    F = S·e^{(r−q)T} and DF = e^{−rT}, floored at intrinsic value (SPY options are American)."""
    strikes = np.array(scenario.strikes())
    fair: dict[ContractKey, float] = {}
    for expiry, smile in zip(scenario.expiries, scenario.smiles, strict=True):
        t = scenario.years(expiry)
        forward = scenario.forward(expiry)
        vol = np.sqrt(smile.total_variance(np.log(strikes / forward)) / t)
        for right in Right:
            is_call = right is Right.CALL
            price = black76_price(forward, strikes, t, vol, math.exp(-scenario.rate * t), is_call)
            intrinsic = np.maximum((1 if is_call else -1) * (scenario.spot - strikes), 0.0)
            for strike, value in zip(strikes, np.maximum(price, intrinsic), strict=True):
                fair[(expiry, float(strike), right)] = float(value)
    return fair


class SpreadRegime(StrEnum):
    """How wide the generated quotes are.

    TYPICAL: 1¢ + 2¢·√(time value) + 1.2% of intrinsic, × lognormal noise, capped at 25¢
    (1–2¢ for cheap wings, 2–5¢ near the money, 5–20¢ in the money).
    THIN: what thinner hours show: one tick within one ATM standard deviation of the money,
    in-the-money quotes 2–4% of their price wide, out-of-the-money wings 5–10% (at least a
    tick); no cap.
    """

    TYPICAL = "typical"
    THIN = "thin"


def _quote_width(
    rng: np.random.Generator, fair: float, intrinsic: float, sd_away: float, regime: SpreadRegime
) -> float:
    if regime is SpreadRegime.THIN:
        if intrinsic > 0:
            return rng.uniform(0.02, 0.04) * fair
        if abs(sd_away) <= 1.0:
            return TICK
        return rng.uniform(0.05, 0.10) * fair
    time_value = max(fair - intrinsic, 0.0)
    width = (0.01 + 0.02 * math.sqrt(time_value) + 0.012 * intrinsic) * rng.lognormal(0, 0.25)
    return min(width, 0.25)


def _quote(
    rng: np.random.Generator,
    fair: float,
    intrinsic: float,
    sd_away: float = 0.0,
    regime: SpreadRegime = SpreadRegime.TYPICAL,
) -> tuple[float, float]:
    """(bid, ask) on the tick around `fair`, bid rounded down and ask rounded up, about as
    wide as `regime` says."""
    width = _quote_width(rng, fair, intrinsic, sd_away, regime)
    extra = max(width - TICK, 0.0) / TICK  # ticks beyond the one straddling fair
    skewed = rng.random() < _SKEWED_QUOTE_SHARE
    below = rng.uniform(0.1, 0.9) if skewed else 0.5  # share of the extra width under fair
    cents = fair / TICK
    bid = max(math.floor(cents - below * extra), 0)
    ask = max(math.ceil(cents + (1.0 - below) * extra), bid + 1)
    return round(bid * TICK, 2), round(ask * TICK, 2)


def _activity(rng: np.random.Generator, bid: float, ask: float, sd_away: float) -> dict:
    """Sizes, volume, open interest and a last trade inside the quote, busiest at the money;
    `sd_away` is ln(K/F) in ATM standard deviations."""
    volume = int(rng.poisson(40_000 * math.exp(-abs(sd_away) / 2.0) * rng.uniform(0.2, 1.5)))
    last = round(TICK * rng.integers(round(bid / TICK), round(ask / TICK) + 1), 2)
    return {
        "bid_size": int(rng.integers(1, 1000)) if bid > 0 else 0,
        "ask_size": int(rng.integers(1, 1000)),
        "volume": volume,
        "open_interest": int(rng.poisson(20_000 * math.exp(-abs(sd_away) / 4.0))),
        "last": last if volume > 0 else None,
    }


def quote_chain(
    scenario: MarketScenario,
    rng: np.random.Generator,
    regime: SpreadRegime = SpreadRegime.TYPICAL,
) -> ChainSnapshot:
    """Clean quotes (fair within [bid, ask]) for every strike, call and put of the scenario.

    The snapshot's spot is the last trade: the pricing spot plus a few cents of noise.
    """
    atm_sd = {
        e: math.sqrt(float(s.total_variance(0.0)))
        for e, s in zip(scenario.expiries, scenario.smiles, strict=True)
    }
    quotes = []
    for (expiry, strike, right), value in fair_values(scenario).items():
        sign = 1.0 if right is Right.CALL else -1.0
        sd_away = math.log(strike / scenario.forward(expiry)) / atm_sd[expiry]
        intrinsic = max(sign * (scenario.spot - strike), 0.0)
        bid, ask = _quote(rng, value, intrinsic, sd_away, regime)
        activity = _activity(rng, bid, ask, sd_away)
        quotes.append(
            OptionQuote(expiry=expiry, strike=strike, right=right, bid=bid, ask=ask, **activity)
        )
    return ChainSnapshot(
        underlying=scenario.underlying,
        timestamp=scenario.timestamp,
        spot=round(scenario.spot + rng.normal(0.0, _SPOT_PRINT_NOISE), 2),
        rate=scenario.rate,
        dividend_yield=scenario.dividend_yield,
        quotes=tuple(quotes),
    )


def misprice_quote(
    quote: OptionQuote, fair: float, side: Side, size: float, *, to_edge: bool = False
) -> tuple[OptionQuote, InjectedMispricing] | None:
    """Move bid and ask down (buy) or up (sell) by `size` dollars, or with `to_edge` just so
    far that the executable side crosses fair by at least `size` (ask ≤ fair − size for a
    buy, bid ≥ fair + size for a sell; the width is kept). None when the move would push the
    bid below zero. Returns the moved quote and what was done to it."""
    if to_edge:
        if side is Side.BUY:
            shift = math.floor(round((fair - size) / TICK, 6)) * TICK - quote.ask
        else:
            shift = math.ceil(round((fair + size) / TICK, 6)) * TICK - quote.bid
    else:
        shift = -size if side is Side.BUY else size
    if quote.bid + shift < 0:
        return None
    bid, ask = round(quote.bid + shift, 2), round(quote.ask + shift, 2)
    moved = OptionQuote(**(quote.model_dump() | {"bid": bid, "ask": ask}))
    edge = fair - ask if side is Side.BUY else bid - fair
    record = InjectedMispricing(quote.expiry, quote.strike, quote.right, side, size, edge, fair)
    return moved, record


def inject_mispricings(
    snapshot: ChainSnapshot,
    fair: dict[ContractKey, float],
    rng: np.random.Generator,
    count: int,
    sizes: Sequence[float] = DEFAULT_SIZES,
    *,
    to_edge: bool = False,
    eligible: Callable[[OptionQuote], bool] | None = None,
) -> tuple[ChainSnapshot, list[InjectedMispricing]]:
    """Move bid and ask of `count` distinct random contracts down (buy) or up (sell) by a
    size drawn from `sizes` (dollars, multiples of the tick), or to that edge (`to_edge`, see
    `misprice_quote`). Contracts whose bid a buy-move would push below zero, or that
    `eligible` refuses, are skipped; raises ValueError if too few contracts qualify."""
    quotes = list(snapshot.quotes)
    injected: list[InjectedMispricing] = []
    for index in rng.permutation(len(quotes)):
        if len(injected) == count:
            break
        quote = quotes[index]
        size = float(rng.choice(sizes))
        side = Side.BUY if rng.random() < 0.5 else Side.SELL
        if eligible is not None and not eligible(quote):
            continue
        value = fair[(quote.expiry, quote.strike, quote.right)]
        moved = misprice_quote(quote, value, side, size, to_edge=to_edge)
        if moved is None:
            continue
        quotes[index], record = moved
        injected.append(record)
    if len(injected) < count:
        raise ValueError(f"only {len(injected)} of {count} mispricings could be injected")
    return snapshot.model_copy(update={"quotes": tuple(quotes)}), injected


def sample_chain(
    seed: int = 7, mispricings: int = 3
) -> tuple[ChainSnapshot, list[InjectedMispricing]]:
    """A 0DTE SPY chain (±15 strikes) with `mispricings` injected quotes, for demos."""
    rng = np.random.default_rng(seed)
    scenario = random_scenario(rng)
    snapshot = quote_chain(scenario, rng)
    return inject_mispricings(snapshot, fair_values(scenario), rng, mispricings)
