"""Black-76 prices, greeks and implied volatility, vectorised over numpy arrays.

Units: `forward` and `strike` in dollars, `t` in years (see `spy_core.market_hours` for the
clock), `vol` as a decimal annual volatility (0.2 = 20%), `discount` the discount factor to
settlement, prices in dollars per share. Every function broadcasts its array arguments.

Everything is computed in Jäckel's normalised form: with x = ln(F/K) and s = σ√t the
out-of-the-money price is √(FK)·DF·b(−|x|, s) where

    b(x, s) = ½·exp(−(h² + τ²)/2)·[erfcx(−(h+τ)/√2) − erfcx(−(h−τ)/√2)],  h = x/s, τ = s/2,

which keeps full relative precision deep in the wings, where the textbook difference of two
normal CDFs cancels. In-the-money prices add the discounted intrinsic value (parity).
"""

from __future__ import annotations

import math
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike
from scipy.special import ndtr

from .arrays import FloatArray
from .compiled import kernel
from .special import erfcx

_SQRT_HALF = np.sqrt(0.5)
_SQRT_2PI = np.sqrt(2.0 * np.pi)
_INV_SQRT_2PI = 1.0 / _SQRT_2PI
_SQRT_2_OVER_PI = np.sqrt(2.0 / np.pi)
_LOG_SQRT_2PI = 0.5 * np.log(2.0 * np.pi)
_GUESS_STEPS = 3
# Halley converges cubically with a constant near 1: after a step smaller than this (relative
# to s) the error is below ~1e-14·s.
_STEP_TOLERANCE = 2e-5
_MAX_EXTRA_STEPS = 30
# Beyond this |ln(F/K)| the near-the-money form itself cancels; the erfcx form is exact there.
_NEAR_MONEY_MAX_X = 0.25
# Below this τ = σ√t/2 the erfcx difference cancels to worse than ~1e-14: integrate instead.
_SMALL_TAU = 0.01
_SMALL_TAU_MAX_H = 40.0
_SQRT_HALF_PI = np.sqrt(0.5 * np.pi)


@kernel(error_model="numpy")
def _otm_price(x: float, s: float) -> float:
    """b(x, s) from the form that keeps full precision there.

    Near the money (|h| < τ, where the two erfcx values nearly cancel)
    b = e^{−x/2}·½[erf((τ+h)/√2) + erf((τ−h)/√2)] + 2·sinh(x/2)·N(h+τ); for minutes to
    expiry the Taylor form (`_taylor_bracket`); elsewhere the erfcx form of the module
    docstring.
    """
    h = x / s
    tau = 0.5 * s
    if _near_money(x, s):
        sum_of_erfs = math.erf((tau + h) * _SQRT_HALF) + math.erf((tau - h) * _SQRT_HALF)
        normal_cdf = 0.5 * math.erfc(-(h + tau) * _SQRT_HALF)  # N(h + τ)
        return 0.5 * math.exp(-0.5 * x) * sum_of_erfs + 2.0 * math.sinh(0.5 * x) * normal_cdf
    if _small_tau(x, s):
        return math.exp(-0.5 * (h * h + tau * tau)) * _INV_SQRT_2PI * _taylor_bracket(h, tau)
    diff = erfcx(-(h + tau) * _SQRT_HALF) - erfcx((tau - h) * _SQRT_HALF)
    return 0.5 * math.exp(-0.5 * (h * h + tau * tau)) * diff


@kernel(error_model="numpy")
def _taylor_bracket(h: float, tau: float) -> float:
    """Y(h+τ) − Y(h−τ) to order τ⁵, for small τ (minutes to expiry), where the two erfcx
    values differ by O(τ) and their difference keeps only ~ε/τ relative precision.

    With Y(z) = Φ(z)/φ(z) = √(π/2)·erfcx(−z/√2), b = φ(h)e^{−τ²/2}·[Y(h+τ) − Y(h−τ)], and
    the bracket's Taylor series 2·Σ τⁿY⁽ⁿ⁾(h)/n! (odd n) has derivatives from the recurrence
    Y' = 1 + hY, Y⁽ⁿ⁺¹⁾ = n·Y⁽ⁿ⁻¹⁾ + h·Y⁽ⁿ⁾: one erfcx, nothing cancels, and the first omitted
    term is ~τ⁶ relative (below 1e-16 for τ < 0.01).
    """
    y0 = _SQRT_HALF_PI * erfcx(-h * _SQRT_HALF)
    y1 = 1.0 + h * y0
    y2 = y0 + h * y1
    y3 = 2.0 * y1 + h * y2
    y4 = 3.0 * y2 + h * y3
    y5 = 4.0 * y3 + h * y4
    tau2 = tau * tau
    return 2.0 * tau * (y1 + tau2 * (y3 / 6.0 + tau2 * y5 / 120.0))


@kernel
def _intrinsic(x: float, sign: float) -> float:
    """Normalised intrinsic value 2·sinh(max(θx, 0)/2), θ = +1 for calls and −1 for puts."""
    return 2.0 * math.sinh(0.5 * max(sign * x, 0.0))


@kernel
def _small_tau(x_otm: float, s: float) -> bool:
    """Where the Taylor form is needed and valid: small τ, and |h| short of the far wing,
    whose steep ln b(s) forgives the erfcx form's error (and whose Taylor terms overflow)."""
    return s < 2.0 * _SMALL_TAU and x_otm > -_SMALL_TAU_MAX_H * s


@kernel
def _near_money(x_otm: float, s: float) -> bool:
    """|h| < τ, where the two erfcx values nearly cancel, and not so far out that the
    near-the-money form cancels instead."""
    return -x_otm < 0.5 * s * s and x_otm > -_NEAR_MONEY_MAX_X


def _flat_inputs(*values: ArrayLike) -> tuple[tuple[int, ...], list[FloatArray]]:
    """The broadcast shape and each input flattened for `_at`: as is (a view) when it repeats
    along the leading axes only (a scalar, or a row shared by every row), else broadcast and
    copied. np.broadcast_arrays costs ~14 µs, the whole of a small pricing call."""
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


@kernel(inline="always")
def _at(values: FloatArray, i: int) -> float:
    """Element i of a `_flat_inputs` array: a repeating input wraps around."""
    n = values.size
    if n == 1:
        return values[0]
    return values[i] if i < n else values[i % n]


def _as_arrays(*values: ArrayLike) -> list[FloatArray]:
    return [np.asarray(v, dtype=np.float64) for v in values]


def _sign(is_call: ArrayLike) -> FloatArray:
    return np.where(np.asarray(is_call, dtype=bool), 1.0, -1.0)


def black76_price(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> FloatArray:
    """Discounted Black-76 option price; at t ≤ 0 or vol = 0 the discounted intrinsic value."""
    shape, flat = _flat_inputs(forward, strike, t, vol, discount, _sign(is_call))
    prices = _black76_prices(*flat, math.prod(shape))
    return prices.reshape(shape) if shape else prices[0]


@kernel(error_model="numpy")
def _black76_prices(
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    vol: FloatArray,
    discount: FloatArray,
    sign: FloatArray,
    n: int,
) -> FloatArray:
    out = np.empty(n)
    for i in range(n):
        f, k = _at(forward, i), _at(strike, i)
        x = math.log(f / k)
        s = _at(vol, i) * math.sqrt(max(_at(t, i), 0.0))
        otm = _otm_price(-abs(x), s) if s > 0.0 else 0.0
        intrinsic = _intrinsic(x, _at(sign, i))
        out[i] = _at(discount, i) * math.sqrt(f * k) * (otm + intrinsic)
    return out


class Greeks(NamedTuple):
    """Black-76 sensitivities. delta and gamma are with respect to the forward; vega is per
    unit of vol (1.00 = 100 vol points); theta is dV/dt per year of calendar time with the
    forward held fixed (negative for a long option)."""

    price: FloatArray
    delta: FloatArray
    gamma: FloatArray
    vega: FloatArray
    theta: FloatArray


def _d1_and_density(
    forward: FloatArray, strike: FloatArray, s: FloatArray
) -> tuple[FloatArray, FloatArray]:
    with np.errstate(divide="ignore", invalid="ignore"):
        d1 = np.log(forward / strike) / s + 0.5 * s
    return d1, np.exp(-0.5 * d1 * d1) * _INV_SQRT_2PI


def black76_gamma(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, vol: ArrayLike, discount: ArrayLike = 1.0
) -> FloatArray:
    """d²V/dF², the same for calls and puts; cheaper than `black76_greeks` for grids."""
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    s = vol * np.sqrt(np.maximum(t, 0.0))
    _, density = _d1_and_density(forward, strike, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        return discount * density / (forward * s)


def black76_vega(
    forward: ArrayLike, strike: ArrayLike, t: ArrayLike, vol: ArrayLike, discount: ArrayLike = 1.0
) -> FloatArray:
    """dV/dσ per unit of vol, the same for calls and puts."""
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    sqrt_t = np.sqrt(np.maximum(t, 0.0))
    _, density = _d1_and_density(forward, strike, vol * sqrt_t)
    return discount * forward * density * sqrt_t


def black76_greeks(
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    vol: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> Greeks:
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    sign = _sign(is_call)
    sqrt_t = np.sqrt(np.maximum(t, 0.0))
    s = vol * sqrt_t
    d1, density = _d1_and_density(forward, strike, s)
    price = black76_price(forward, strike, t, vol, discount, is_call)
    with np.errstate(divide="ignore", invalid="ignore"):
        delta = discount * sign * ndtr(sign * d1)
        gamma = discount * density / (forward * s)
        vega = discount * forward * density * sqrt_t
        rate = -np.log(discount) / np.where(t > 0, t, np.inf)
        theta = -discount * forward * density * vol / (2.0 * sqrt_t) + rate * price
    return Greeks(price, delta, gamma, vega, theta)


def implied_vol(
    price: ArrayLike,
    forward: ArrayLike,
    strike: ArrayLike,
    t: ArrayLike,
    discount: ArrayLike = 1.0,
    is_call: ArrayLike = True,
) -> FloatArray:
    """Black-76 implied volatility of a discounted option premium.

    NaN where no volatility reproduces the price: below discounted intrinsic value, at or
    above the no-arbitrage maximum (DF·F for a call, DF·K for a put), t ≤ 0, or non-finite
    or non-positive inputs. A price equal to the intrinsic value returns 0.

    Method: reduce to the normalised out-of-the-money price β, start from the larger of a
    wing asymptote (ln b ≈ −x²/2s² − s²/8) and the at-the-money inverse (b = s/√(2π)), then
    Halley steps on ln b(s) − ln β, whose derivatives are closed-form in b's own terms. Two
    steps converge almost everywhere; the few inputs that have not are iterated alone.
    """
    shape, flat = _flat_inputs(price, forward, strike, t, discount, _sign(is_call))
    vols = _implied_vols(*flat, math.prod(shape))
    return vols.reshape(shape) if shape else float(vols[0])


@kernel(error_model="numpy")
def _implied_vols(
    price: FloatArray,
    forward: FloatArray,
    strike: FloatArray,
    t: FloatArray,
    discount: FloatArray,
    sign: FloatArray,
    n: int,
) -> FloatArray:
    """`implied_vol` on flat inputs: reduce each to (β, x ≤ 0), solve the valid ones."""
    out = np.full(n, np.nan)
    valid, beta, x_otm = np.empty(n, dtype=np.int64), np.empty(n), np.empty(n)
    m = 0
    for i in range(n):
        p, f, k, df = _at(price, i), _at(forward, i), _at(strike, i), _at(discount, i)
        if not (_at(t, i) > 0.0 and df > 0.0):
            continue
        x = math.log(f / k)
        normalised = p / (df * math.sqrt(f * k))
        intrinsic = _intrinsic(x, _at(sign, i))
        time_value = normalised - intrinsic
        # Within rounding of the intrinsic value the time value is zero, not a tiny vol.
        if math.isfinite(normalised) and abs(time_value) <= 2e-15 * max(normalised, intrinsic):
            if p >= 0.0:
                out[i] = 0.0
            continue
        if 0.0 < time_value < math.exp(-0.5 * abs(x)):
            valid[m], beta[m], x_otm[m] = i, time_value, -abs(x)
            m += 1
    s = _solve_normalised(beta[:m], x_otm[:m])
    for j in range(m):
        out[valid[j]] = s[j] / math.sqrt(_at(t, valid[j]))
    return out


@kernel(error_model="numpy")
def _solve_normalised(beta: FloatArray, x: FloatArray) -> FloatArray:
    """s = σ√t with b(x, s) = β, elementwise, for x ≤ 0 and 0 < β < e^{x/2}.

    A start within a few percent (`_initial_guess`), two Halley steps for all, more only
    where the last step was large. Minutes to expiry (small τ) iterate on the Taylor form,
    which is exact there and needs one erfcx; the rest on the erfcx form; the guess is close
    enough that the choice (made with a margin) holds for the whole iteration. Near the money
    (|h| < τ) both forms lose digits: a last step with the form that keeps them.

    Each step is one pass over all inputs: every element's step is a long chain of dependent
    operations, and a pass lets the processor overlap the chains of neighbouring elements
    (2.5× faster than iterating one element to convergence before the next).
    """
    n = beta.size
    s, log_beta, step = np.empty(n), np.empty(n), np.empty(n)
    taylor = np.empty(n, dtype=np.bool_)
    for i in range(n):
        log_beta[i] = math.log(beta[i])
        s[i] = _initial_guess(x[i], beta[i], log_beta[i])
    for _ in range(_GUESS_STEPS):
        for i in range(n):
            s[i] = _guess_step(s[i], x[i], log_beta[i])
    for i in range(n):
        taylor[i] = _small_tau(x[i], 1.1 * s[i])
    for _ in range(2):
        for i in range(n):
            s[i], step[i] = _halley(s[i], x[i], log_beta[i], taylor[i])
    for i in range(n):
        for _ in range(_MAX_EXTRA_STEPS):
            if abs(step[i]) <= _STEP_TOLERANCE * s[i]:
                break
            s[i], step[i] = _halley(s[i], x[i], log_beta[i], taylor[i])
        if _near_money(x[i], s[i]):
            s[i], _ = _halley_step(s[i], x[i], log_beta[i])
    return s


@kernel(error_model="numpy")
def _halley(s: float, x: float, log_beta: float, taylor: bool) -> tuple[float, float]:
    if taylor:
        return _taylor_halley_step(s, x, log_beta)
    return _fast_halley_step(s, x, log_beta)


@kernel(error_model="numpy")
def _initial_guess(x: float, beta: float, log_beta: float) -> float:
    """The larger of the wing asymptote (ln b ≈ −x²/2s² − s²/8) and the at-the-money inverse
    (b ≈ s/√(2π)), which `_guess_step` takes to within a few percent."""
    discriminant = max(4.0 * log_beta * log_beta - x * x, 0.0)
    wing = math.sqrt(max(-4.0 * log_beta - 2.0 * math.sqrt(discriminant), 0.0))
    return max(wing, _SQRT_2PI * beta)


@kernel(error_model="numpy")
def _guess_step(s: float, x: float, log_beta: float) -> float:
    """A Newton step in ln s on a model with no special functions:
    ln b ≈ −h²/2 − s²/8 + ln s − ln(1 + √(π/2)|h| + h²) − ln√(2π), the small-τ form of
    `_taylor_bracket` with Y'(h) replaced by a rational that is exact at h = 0 and as h → −∞.
    """
    h = x / s
    h2 = h * h
    a_h = _SQRT_HALF_PI * abs(h)
    quarter_s2 = 0.25 * s * s
    denominator = 1.0 + a_h + h2
    model = math.log(s / denominator) - 0.5 * (h2 + 0.5 * quarter_s2) - _LOG_SQRT_2PI
    slope = h2 - quarter_s2 + 1.0 + (a_h + 2.0 * h2) / denominator
    return s * math.exp(min(max((log_beta - model) / slope, -1.0), 1.0))


@kernel(error_model="numpy")
def _fast_halley_step(s: float, x: float, log_beta: float) -> tuple[float, float]:
    """`_halley_step` on the erfcx form with its exponential cancelled out: with
    D = erfcx(−(h+τ)/√2) − erfcx((τ−h)/√2), ln b = ln(D/2) − (h² + τ²)/2 and f' = √(2/π)/D."""
    h = x / s
    tau = 0.5 * s
    diff = erfcx(-(h + tau) * _SQRT_HALF) - erfcx((tau - h) * _SQRT_HALF)
    f = math.log(0.5 * diff) - 0.5 * (h * h + tau * tau) - log_beta
    f1 = _SQRT_2_OVER_PI / diff
    newton = f / f1
    step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - f1))
    return s - step, step


@kernel(error_model="numpy")
def _taylor_halley_step(s: float, x: float, log_beta: float) -> tuple[float, float]:
    """`_halley_step` on the small-τ form: with B the Taylor bracket,
    ln b = ln B − (h² + τ²)/2 − ln√(2π) and f' = 1/B."""
    h = x / s
    tau = 0.5 * s
    bracket = _taylor_bracket(h, tau)
    f = math.log(bracket) - 0.5 * (h * h + tau * tau) - _LOG_SQRT_2PI - log_beta
    newton = f * bracket
    step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - 1.0 / bracket))
    return s - step, step


@kernel(error_model="numpy")
def _halley_step(s: float, x: float, log_beta: float) -> tuple[float, float]:
    """One Halley step on f(s) = ln b(x, s) − ln β, b from the form exact at (x, s).

    With b' = exp(−(h² + τ²)/2)/√(2π): f' = b'/b and f'' = f'·(x²/s³ − s/4 − f').
    """
    h = x / s
    tau = 0.5 * s
    b = _otm_price(x, s)
    f = math.log(b) - log_beta
    f1 = math.exp(-0.5 * (h * h + tau * tau)) * _INV_SQRT_2PI / b
    newton = f / f1
    f2_over_f1 = h * h / s - 0.5 * tau - f1
    step = newton / (1.0 - 0.5 * newton * f2_over_f1)
    return s - step, step
