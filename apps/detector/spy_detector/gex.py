"""Dealer gamma exposure (GEX) by strike, the zero-gamma (flip) level and the call/put walls.

Units: dollars of delta the dealers must trade per 1% move of the underlying,

    GEX = ±Γ_S · OI · 100 · S² · 0.01   (per contract; 100 shares per contract)

with Γ_S the Black-76 gamma with respect to SPOT. The forward moves in proportion to spot
(F = S·F0/S0), so Γ_S = Γ_F·(F/S)² with Γ_F the Black-76 gamma (`black76_gamma`, written
out in `_Contracts` so a grid of spots costs one exponential per point). The sign is the assumed
dealer position (`DealerConvention`): vendors disagree, so it is always reported.

Open interest is published once a day (early morning): this is the exposure held at the
previous close, and intraday (0DTE) positioning never shows in it.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from enum import StrEnum
from typing import Any, NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray

from spy_core.arrays import FloatArray

from . import _native

_SHARES_PER_CONTRACT = 100.0
_ONE_PERCENT = 0.01
# A grid total this small relative to the gross |GEX| is summation noise, not a sign.
_RELATIVE_ZERO = 1e-9
_INV_SQRT_2PI = 1.0 / math.sqrt(2.0 * math.pi)
_REFINE_POINTS = 17  # points across the coarse bracket: 16 finer steps


class DealerConvention(StrEnum):
    """The position dealers are assumed to hold against customers."""

    LONG_CALLS_SHORT_PUTS = "long_calls_short_puts"  # call GEX +, put GEX −
    SHORT_BOTH = "short_both"  # dealers short calls and puts: both −


# (call sign, put sign) of the dealers' gamma under each convention.
_SIGNS: dict[DealerConvention, tuple[float, float]] = {
    DealerConvention.LONG_CALLS_SHORT_PUTS: (1.0, -1.0),
    DealerConvention.SHORT_BOTH: (-1.0, -1.0),
}


class StrikeGamma(NamedTuple):
    """Signed GEX of one strike, summed over expiries, in dollars of delta per 1% move.
    (A NamedTuple: a chain has hundreds of strikes, and frozen dataclasses are slow to make.)"""

    strike: float
    call_gex: float
    put_gex: float

    @property
    def net(self) -> float:
        return self.call_gex + self.put_gex


@dataclass(frozen=True)
class GammaExposure:
    """Dealer gamma of a chain at `spot`; every GEX figure in dollars of delta per 1% move.

    `zero_gamma` is the hypothetical spot, nearest to `spot`, where the total changes sign
    (None if it keeps one sign across the grid). The walls are the strikes with the largest
    call and put gamma in magnitude, so they do not depend on the convention.
    """

    convention: DealerConvention
    spot: float
    strikes: tuple[StrikeGamma, ...]
    total: float
    zero_gamma: float | None
    call_wall: float | None
    put_wall: float | None

    def to_dict(self) -> dict[str, Any]:
        """JSON-ready; prices and dollars rounded to cents."""
        return {
            "convention": self.convention.value,
            "spot": _cents(self.spot),
            "total": _cents(self.total),
            "zero_gamma": _cents(self.zero_gamma),
            "call_wall": self.call_wall,
            "put_wall": self.put_wall,
            "by_strike": [
                {
                    "strike": row.strike,
                    "call": _cents(row.call_gex),
                    "put": _cents(row.put_gex),
                    "net": _cents(row.net),
                }
                for row in self.strikes
            ],
        }


def _cents(value: float | None) -> float | None:
    return None if value is None else round(value, 2)


@dataclass(frozen=True)
class _Contracts:
    """The contracts that carry gamma, reduced to what GEX at a hypothetical spot needs.

    With F' = F·x for spot S' = S·x and vols held fixed, Γ_S·S'² = D·φ(d1)·F'/(σ√t), so
    GEX = sign·OI·100·0.01·D·F·x·φ(d1)/(σ√t), d1 = (ln(F/K) + ln x)/(σ√t) + σ√t/2: one
    exponential per contract and spot, which keeps the zero-gamma grid cheap.
    """

    spot: float
    log_moneyness: FloatArray  # ln(F/K)
    total_sd: FloatArray  # σ√t
    weight: FloatArray  # sign·OI·100·0.01·D·F/(σ√t)

    @classmethod
    def of(cls, spot: float, strike, sign, open_interest, vol, forward, t, discount):
        total_sd = vol * np.sqrt(t)
        weight = sign * open_interest * _SHARES_PER_CONTRACT * _ONE_PERCENT * discount
        return cls(spot, np.log(forward / strike), total_sd, weight * forward / total_sd)

    def gex(self) -> FloatArray:
        """Signed GEX per contract at the current spot."""
        d1 = self.log_moneyness / self.total_sd + 0.5 * self.total_sd
        return self.weight * np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI


def gamma_exposure(
    strike: ArrayLike,
    is_call: ArrayLike,
    open_interest: ArrayLike,
    vol: ArrayLike,
    forward: ArrayLike,
    spot: float,
    t: ArrayLike,
    discount: ArrayLike = 1.0,
    convention: DealerConvention = DealerConvention.LONG_CALLS_SHORT_PUTS,
    grid_width: float = 0.05,
    grid_points: int = 41,
) -> GammaExposure:
    """Dealer GEX of a set of contracts, by strike, with the zero-gamma level and walls.

    One entry per contract in `strike`, `is_call`, `open_interest`, `vol`; `forward`, `t`
    (years) and `discount` are scalars or per-contract arrays, so several expiries can be
    aggregated. Contracts with a missing (NaN) or non-positive vol, open interest, forward,
    discount or t contribute 0 (an expired option has no gamma). The zero-gamma search spans
    spots S·(1 ± grid_width) in `grid_points` steps (default ±5% in 0.25% steps), then
    refines the bracket nearest spot on a grid 16 times finer.
    """
    if not (np.isfinite(spot) and spot > 0):
        raise ValueError(f"spot must be a positive number, got {spot}")
    if not 0 < grid_width < 1 or grid_points < 2:
        raise ValueError("need 0 < grid_width < 1 and grid_points >= 2")
    inputs = (strike, is_call, open_interest, vol, forward, t, discount)
    arrays = [np.atleast_1d(np.asarray(a, dtype=np.float64)) for a in inputs]
    if len({a.shape for a in arrays}) > 1:  # scalars or arrays shared by every contract
        arrays = np.broadcast_arrays(*arrays)
    strike_, is_call_, *numbers = arrays
    if not np.all(np.isfinite(strike_) & (strike_ > 0)):
        raise ValueError("strikes must be positive numbers")
    calls = is_call_.astype(bool)
    values = np.array(numbers)  # one row per input: each test is one call over all of them
    usable = np.logical_and.reduce((values > 0) & (values < np.inf), axis=0)
    call_sign, put_sign = _SIGNS[convention]
    contracts = _Contracts.of(
        float(spot),
        strike_[usable],
        np.where(calls, call_sign, put_sign)[usable],
        *values[:, usable],
    )
    per_contract = np.zeros(strike_.shape)
    per_contract[usable] = contracts.gex()
    levels, index = _levels(strike_)
    call_gex = np.bincount(index, np.where(calls, per_contract, 0.0), levels.size)
    put_gex = np.bincount(index, np.where(calls, 0.0, per_contract), levels.size)
    return GammaExposure(
        convention=convention,
        spot=float(spot),
        # Python floats in one pass (a chain has hundreds of strikes).
        strikes=tuple(map(StrikeGamma, levels.tolist(), call_gex.tolist(), put_gex.tolist())),
        total=float(per_contract.sum()),
        zero_gamma=_zero_gamma(contracts, grid_width, grid_points),
        call_wall=_wall(levels, call_gex),
        put_wall=_wall(levels, put_gex),
    )


def _levels(strike: FloatArray) -> tuple[FloatArray, NDArray[np.intp]]:
    """The distinct strikes ascending and each contract's position among them: what
    np.unique(strike, return_inverse=True) returns, at half its cost on a chain's few hundred."""
    order = strike.argsort(kind="stable")
    ordered = strike[order]
    first = np.empty(ordered.size, dtype=bool)
    first[:1] = True
    np.not_equal(ordered[1:], ordered[:-1], out=first[1:])
    index = np.empty(ordered.size, dtype=np.intp)
    index[order] = first.cumsum() - 1
    return ordered[first], index


def _wall(levels: FloatArray, gex: FloatArray) -> float | None:
    """The strike with the largest |GEX|; None when no strike carries any."""
    magnitude = np.abs(gex)
    if magnitude.size == 0 or magnitude.max() == 0.0:
        return None
    return float(levels[np.argmax(magnitude)])


def _zero_gamma(contracts: _Contracts, grid_width: float, grid_points: int) -> float | None:
    """Spot nearest to the current one where total GEX changes sign: the sign change nearest
    spot on a coarse grid, then a finer grid inside that bracket, interpolated linearly.

    Computed by `_native.zero_gamma`: on each grid the total and gross |GEX| at every spot
    ratio (`_Contracts.gex` at spot·ratio, summed, skipping contracts beyond |d1| = 10, whose
    gamma is below 2e-22 of its at-the-money value); points whose total is within
    `_RELATIVE_ZERO` of the gross (calls and puts cancelling, or gamma underflow far from
    every strike) carry no sign and are bracketed across; of the brackets of a sign change,
    the one whose linearly interpolated root is nearest the current spot."""
    if contracts.weight.size == 0:
        return None
    ratio = _native.zero_gamma(
        *(
            np.ascontiguousarray(a, dtype=np.float64)
            for a in (contracts.log_moneyness, contracts.total_sd, contracts.weight)
        ),
        float(grid_width),
        int(grid_points),
        _REFINE_POINTS,
        _RELATIVE_ZERO,
    )
    return None if ratio is None else contracts.spot * ratio
