"""Black-76 prices, greeks and implied volatility, vectorised over numpy arrays.

Units: `forward` and `strike` in dollars, `t` in years (see `spy_core.market_hours` for the
clock), `vol` as a decimal annual volatility (0.2 = 20%), `discount` the discount factor to
settlement, prices in dollars per share. Every function broadcasts its array arguments.

Everything is computed in Jäckel's normalised form: with x = ln(F/K) and s = σ√t the
out-of-the-money price is √(FK)·DF·b(−|x|, s) where

    b(x, s) = ½·exp(−(h² + τ²)/2)·[erfcx(−(h+τ)/√2) − erfcx(−(h−τ)/√2)],  h = x/s, τ = s/2,

which keeps full relative precision deep in the wings, where the textbook difference of two
normal CDFs cancels. In-the-money prices add the discounted intrinsic value (parity).

Prices and implied vols are computed by a C extension compiled when the package is installed
(`spy_core/_native.c`, where each step of the method is documented): one pass of compiled code
over the inputs, and nothing to compile or load at run time. A scalar in gives a float out;
arrays give arrays of their broadcast shape.
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike

from . import _native
from .arrays import FloatArray

_INV_SQRT_2PI = 1.0 / np.sqrt(2.0 * np.pi)


def _flat_inputs(*values: ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    """The broadcast shape and each input flattened for the kernels, which read element i of
    an input of m elements as its element i mod m: as is (a view) when it repeats along the
    leading axes only (a scalar, or a row shared by every row), else broadcast and copied.
    np.broadcast_arrays costs ~14 µs, the whole of a small pricing call."""
    arrays = [np.asarray(v, dtype=np.float64) for v in values]
    shape = np.broadcast(*arrays).shape
    flat = []
    for a in arrays:
        dims = a.shape
        while dims and dims[0] == 1:
            dims = dims[1:]
        trailing = shape[len(shape) - len(dims) :]
        flat.append(a.ravel() if dims == trailing else np.broadcast_to(a, shape).ravel())
    return shape, flat


def _shaped(values: FloatArray, shape: tuple[int, ...]) -> FloatArray | float:
    """Flat results in the inputs' shape; a float for scalar inputs."""
    return values.reshape(shape) if shape else float(values[0])


def _as_arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _as_result(value: FloatArray) -> FloatArray | float:
    """numpy arithmetic on scalars gives numpy scalars (or 0-d arrays): a float instead."""
    return float(value) if np.ndim(value) == 0 else value


def _sign(is_call: ArrayLike) -> FloatArray:
    return np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0)


def black76_price(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> FloatArray | float:
    """Discounted Black-76 option price; at t ≤ 0 or vol = 0 the discounted intrinsic value.

    >>> round(black76_price(100.0, 100.0, 0.25, 0.2), 10)
    3.9877611677
    >>> black76_price(100.0, [90.0, 110.0], 0.25, 0.2, is_call=False).round(6)
    array([ 0.712381, 10.953947])
    >>> round(black76_price(100.0, 90.0, 0.0, 0.2, discount=0.99), 12)  # expired: intrinsic
    9.9
    """
    shape, flat = _flat_inputs(forward, strike, t, vol, discount, _sign(is_call))
    prices = np.empty(math.prod(shape))
    _native.black76_prices(*flat, prices)
    return _shaped(prices, shape)


class Greeks(NamedTuple):
    """Black-76 sensitivities. delta and gamma are with respect to the forward; vega is per
    unit of vol (1.00 = 100 vol points); theta is dV/dt per year of calendar time with the
    forward held fixed (negative for a long option)."""

    price: FloatArray | float
    delta: FloatArray | float
    gamma: FloatArray | float
    vega: FloatArray | float
    theta: FloatArray | float


def _d1_and_density(
    forward: FloatArray, strike: FloatArray, s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(forward / strike) / s + 0.5 * s
    return d1, np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI


def black76_gamma(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, vol: ArrayLike, discount: ArrayLike = 1.0
) -> FloatArray | float:
    """d²V/dF², the same for calls and puts; cheaper than `black76_greeks` for grids.

    >>> round(black76_gamma(100.0, 100.0, 0.25, 0.2), 10)
    0.0398443914
    >>> black76_gamma(100.0, [95.0, 105.0], 0.25, 0.2).round(6)
    array([0.034048, 0.036247])
    """
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    s = vol * np.sqrt(np.maximum(t, 0.0))
    _, density = _d1_and_density(forward, strike, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return _as_result(discount * density / (forward * s))


def black76_vega(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, vol: ArrayLike, discount: ArrayLike = 1.0
) -> FloatArray | float:
    """dV/dσ per unit of vol, the same for calls and puts.

    >>> round(black76_vega(100.0, 100.0, 0.25, 0.2), 10)
    19.9221957047
    >>> black76_vega(100.0, 100.0, [0.25, 1.0], 0.2, discount=0.95).round(6)
    array([18.926086, 37.710492])
    """
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    sqrt_t = np.sqrt(np.maximum(t, 0.0))
    _, density = _d1_and_density(forward, strike, vol * sqrt_t)
    return _as_result(discount * forward * density * sqrt_t)


def black76_greeks(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> Greeks:
    """Price, delta, gamma, vega and theta at once (see `Greeks` for their units).

    >>> g = black76_greeks(100.0, 100.0, 0.25, 0.2, discount=0.99)
    >>> [round(value, 6) for value in g]
    [3.947884, 0.514739, 0.039446, 19.722974, -7.730479]
    >>> black76_greeks(100.0, 100.0, 0.25, 0.2, is_call=[True, False]).delta.round(6)
    array([ 0.519939, -0.480061])
    """
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    sign = _sign(is_call)
    sqrt_t = np.sqrt(np.maximum(t, 0.0))
    s = vol * sqrt_t
    d1, density = _d1_and_density(forward, strike, s)
    price = black76_price(forward, strike, t, vol, discount, is_call)
    from scipy.special import ndtr  # 0.3-0.45 s to import: only where greeks are wanted

    with np.errstate(divide="ignore", invalid="ignore"):
        delta = discount * sign * ndtr(sign * d1)
        gamma = discount * density / (forward * s)
        vega = discount * forward * density * sqrt_t
        rate = -np.log(discount) / np.where(t > 0, t, np.inf)
        theta = -discount * forward * density * vol / (2.0 * sqrt_t) + rate * price
    return Greeks(*(_as_result(v) for v in (price, delta, gamma, vega, theta)))


def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> FloatArray | float:
    """Black-76 implied volatility of a discounted option premium.

    NaN where no volatility reproduces the price: below discounted intrinsic value, at or
    above the no-arbitrage maximum (DF·F for a call, DF·K for a put), t ≤ 0, or non-finite
    or non-positive inputs. A price equal to the intrinsic value returns 0.

    Method: reduce to the normalised out-of-the-money price β, start from the larger of a
    wing asymptote (ln b ≈ −x²/2s² − s²/8) and the at-the-money inverse (b = s/√(2π)), then
    Halley steps on ln b(s) − ln β, whose derivatives are closed-form in b's own terms. Two
    steps converge almost everywhere; the few inputs that have not are iterated alone.

    >>> price = black76_price(100.0, 100.0, 0.25, 0.2)
    >>> round(implied_vol(price, 100.0, 100.0, 0.25), 14)
    0.2
    >>> prices = black76_price(100.0, [90.0, 110.0], 1 / 365, [0.3, 0.4], is_call=False)
    >>> implied_vol(prices, 100.0, [90.0, 110.0], 1 / 365, is_call=False).round(12)
    array([0.3, 0.4])
    >>> implied_vol([2.0, 120.0], 100.0, 100.0, 0.25)  # no call is worth more than F
    array([0.10027563,        nan])
    >>> type(implied_vol(2.0, 100.0, 100.0, 0.25))
    <class 'float'>
    """
    shape, flat = _flat_inputs(price, forward, strike, t, discount, _sign(is_call))
    vols = np.empty(math.prod(shape))
    _native.implied_vols(*flat, vols)
    return _shaped(vols, shape)


_DELTA_BISECTIONS = 40  # geometric bisection over [1e-4, 20]: vol to ~1e-6 relative


def delta_from_price(price: float, forward: float, strike: float, t: float, is_call: bool) -> float:
    """Undiscounted Black-76 delta of one option implied by its (undiscounted) price; NaN
    where no volatility reproduces the price.

    Scalar and pure Python on purpose, for one contract on a latency-critical path (the
    trader's decision): the vectorised kernels cost more in dispatch than one bisection
    (~30 µs). Agrees with `implied_vol` + `black76_greeks` to ~1e-6."""
    call = price if is_call else price + forward - strike  # put-call parity
    if t <= 0 or not max(forward - strike, 0.0) < call < forward:
        return math.nan
    root_t = math.sqrt(t)
    low, high = 1e-4, 20.0
    for _ in range(_DELTA_BISECTIONS):
        vol = math.sqrt(low * high)
        s = vol * root_t
        d1 = math.log(forward / strike) / s + 0.5 * s
        value = forward * _phi(d1) - strike * _phi(d1 - s)
        low, high = (vol, high) if value < call else (low, vol)
    s = math.sqrt(low * high) * root_t
    call_delta = _phi(math.log(forward / strike) / s + 0.5 * s)
    return call_delta if is_call else call_delta - 1.0


def _phi(x: float) -> float:
    return 0.5 * math.erfc(-x / math.sqrt(2.0))
