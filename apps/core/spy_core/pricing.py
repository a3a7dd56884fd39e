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

from collections.abc import Callable
from typing import NamedTuple

import numpy as np
from numpy.typing import ArrayLike, NDArray
from scipy.special import erf, erfcx, ndtr

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

FloatArray = NDArray[np.float64]


def _otm_normalised(x_otm: FloatArray, s: FloatArray) -> FloatArray:
    """b(x, s) for x ≤ 0, s > 0: the normalised out-of-the-money Black price, 1-d arrays.

    Two forms, each where it keeps full precision: near the money (|h| < τ, where the two
    erfcx values nearly cancel) b = e^{−x/2}·½[erf((τ+h)/√2) + erf((τ−h)/√2)] +
    2·sinh(x/2)·N(h+τ); elsewhere the erfcx form of the module docstring.
    """
    near = _near_money_mask(x_otm, s)
    small = _small_tau_mask(x_otm, s) & ~near
    if not (near.any() or small.any()):
        return _otm_erfcx(x_otm, s)
    out = np.empty_like(s)
    plain = ~(near | small)
    for mask, form in ((plain, _otm_erfcx), (small, _otm_small_tau), (near, _near_money)):
        if mask.any():
            out[mask] = form(x_otm[mask], s[mask])
    return out


def _otm_erfcx(x_otm: FloatArray, s: FloatArray) -> FloatArray:
    h = x_otm / s
    tau = 0.5 * s
    diff = erfcx(-(h + tau) * _SQRT_HALF) - erfcx((tau - h) * _SQRT_HALF)
    return 0.5 * np.exp(-0.5 * (h * h + tau * tau)) * diff


def _otm_small_tau(x_otm: FloatArray, s: FloatArray) -> FloatArray:
    """b for small τ (minutes to expiry), where the two erfcx values differ by O(τ) and their
    difference keeps only ~ε/τ relative precision.

    With Y(z) = Φ(z)/φ(z) = √(π/2)·erfcx(−z/√2), b = φ(h)e^{−τ²/2}·[Y(h+τ) − Y(h−τ)], and
    the bracket's Taylor series 2·Σ τⁿY⁽ⁿ⁾(h)/n! (odd n) has derivatives from the recurrence
    Y' = 1 + hY, Y⁽ⁿ⁺¹⁾ = n·Y⁽ⁿ⁻¹⁾ + h·Y⁽ⁿ⁾: one erfcx, nothing cancels, and the first omitted
    term is ~τ⁶ relative (below 1e-16 for τ < 0.01).
    """
    h = x_otm / s
    tau = 0.5 * s
    return np.exp(-0.5 * (h * h + tau * tau)) * _INV_SQRT_2PI * _taylor_bracket(h, tau)


def _taylor_bracket(h: FloatArray, tau: FloatArray) -> FloatArray:
    """Y(h+τ) − Y(h−τ) to order τ⁵ (see `_otm_small_tau`)."""
    y0 = _SQRT_HALF_PI * erfcx(-h * _SQRT_HALF)
    y1 = 1.0 + h * y0
    y2 = y0 + h * y1
    y3 = 2.0 * y1 + h * y2
    y4 = 3.0 * y2 + h * y3
    y5 = 4.0 * y3 + h * y4
    tau2 = tau * tau
    return 2.0 * tau * (y1 + tau2 * (y3 / 6.0 + tau2 * y5 / 120.0))


def _small_tau_mask(x_otm: FloatArray, s: FloatArray) -> np.ndarray:
    """Where `_otm_small_tau` is needed and valid: small τ, and |h| short of the far wing,
    whose steep ln b(s) forgives the erfcx form's error (and whose Taylor terms overflow)."""
    return (s < 2.0 * _SMALL_TAU) & (x_otm > -_SMALL_TAU_MAX_H * s)


def _near_money_mask(x_otm: FloatArray, s: FloatArray) -> np.ndarray:
    """|h| < τ, where the two erfcx values nearly cancel, and not so far out that the
    near-the-money form cancels instead."""
    return (-x_otm < 0.5 * s * s) & (x_otm > -_NEAR_MONEY_MAX_X)


def _near_money(x: FloatArray, s: FloatArray) -> FloatArray:
    h = x / s
    tau = 0.5 * s
    sum_of_erfs = erf((tau + h) * _SQRT_HALF) + erf((tau - h) * _SQRT_HALF)
    return 0.5 * np.exp(-0.5 * x) * sum_of_erfs + 2.0 * np.sinh(0.5 * x) * ndtr(h + tau)


def _intrinsic_normalised(x: FloatArray, sign: FloatArray) -> FloatArray:
    """Normalised intrinsic value 2·sinh(max(θx, 0)/2), θ = +1 for calls and −1 for puts."""
    return 2.0 * np.sinh(0.5 * np.maximum(sign * x, 0.0))


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
    forward, strike, t, vol, discount = _as_arrays(forward, strike, t, vol, discount)
    x = np.log(forward / strike)
    s = vol * np.sqrt(np.maximum(t, 0.0))
    x, s = np.broadcast_arrays(x, s)
    with np.errstate(divide="ignore", invalid="ignore"):
        otm = _otm_normalised(-np.abs(x).ravel(), s.ravel()).reshape(s.shape)
    otm = np.where(s > 0.0, otm, 0.0)
    normalised = otm + _intrinsic_normalised(x, _sign(is_call))
    return discount * np.sqrt(forward * strike) * normalised


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
    price, forward, strike, t, discount = _as_arrays(price, forward, strike, t, discount)
    shape = np.broadcast_shapes(
        price.shape,
        forward.shape,
        strike.shape,
        t.shape,
        discount.shape,
        np.shape(is_call),
    )
    result = np.full(shape, np.nan)
    with np.errstate(all="ignore"):
        # Scalars stay scalars until the solve, which sees only the valid inputs.
        x = np.log(forward / strike)
        normalised = price / (discount * np.sqrt(forward * strike))
        intrinsic = _intrinsic_normalised(x, _sign(is_call))
        beta = np.broadcast_to(normalised - intrinsic, shape)
        x_otm = np.broadcast_to(-np.abs(x), shape)
        time_ok = (t > 0) & (discount > 0)
        valid = time_ok & (beta > 0) & (beta < np.exp(0.5 * x_otm))
        # Within rounding of the intrinsic value the time value is zero, not a tiny vol.
        at_intrinsic = np.abs(beta) <= 2e-15 * np.maximum(normalised, intrinsic)
        at_intrinsic &= np.isfinite(normalised)
        valid &= ~at_intrinsic
        result[time_ok & at_intrinsic & (price >= 0)] = 0.0
        if valid.any():
            s = _solve_normalised(beta[valid], x_otm[valid])
            result[valid] = s / np.sqrt(np.broadcast_to(t, shape)[valid])
    return result if shape else float(result)


def _solve_normalised(beta: FloatArray, x: FloatArray) -> FloatArray:
    """s = σ√t with b(x, s) = β, for x ≤ 0 and 0 < β < e^{x/2}."""
    log_beta = np.log(beta)
    s = _initial_guess(x, beta, log_beta)
    # Minutes to expiry (small τ) iterate on the Taylor form, which is exact there and needs
    # one erfcx; the rest on the erfcx form. The guess is within a few percent, so the
    # split (with a margin) holds for the whole iteration.
    small = _small_tau_mask(x, 1.1 * s)
    for group, step_function in (
        (np.flatnonzero(~small), _fast_halley_step),
        (np.flatnonzero(small), _taylor_halley_step),
    ):
        if group.size:
            s[group] = _iterate(s[group], x[group], log_beta[group], step_function)
    # Near the money (|h| < τ) both forms lose digits: one step with the form that keeps them.
    near = np.flatnonzero(_near_money_mask(x, s))
    if near.size:
        s[near], _ = _halley_step(s[near], x[near], log_beta[near], _otm_normalised)
    return s


def _iterate(
    s: FloatArray,
    x: FloatArray,
    log_beta: FloatArray,
    step_function: Callable[[FloatArray, FloatArray, FloatArray], tuple[FloatArray, FloatArray]],
) -> FloatArray:
    """Two Halley steps for all; more only for the few inputs whose last step was large."""
    s, _ = step_function(s, x, log_beta)
    s, step = step_function(s, x, log_beta)
    pending = np.flatnonzero(~(np.abs(step) <= _STEP_TOLERANCE * s))
    for _ in range(_MAX_EXTRA_STEPS):
        if pending.size == 0:
            break
        s_pending, step = step_function(s[pending], x[pending], log_beta[pending])
        s[pending] = s_pending
        pending = pending[~(np.abs(step) <= _STEP_TOLERANCE * s_pending)]
    return s


def _initial_guess(x: FloatArray, beta: FloatArray, log_beta: FloatArray) -> FloatArray:
    """A start within a few percent, so two Halley steps converge almost everywhere.

    From the larger of the wing asymptote (ln b ≈ −x²/2s² − s²/8) and the at-the-money
    inverse (b ≈ s/√(2π)), Newton steps in ln s on a model with no special functions:
    ln b ≈ −h²/2 − s²/8 + ln s − ln(1 + √(π/2)|h| + h²) − ln√(2π), the small-τ form of
    `_otm_small_tau` with Y'(h) replaced by a rational that is exact at h = 0 and as h → −∞.
    """
    discriminant = np.maximum(4.0 * log_beta * log_beta - x * x, 0.0)
    wing = np.sqrt(np.maximum(-4.0 * log_beta - 2.0 * np.sqrt(discriminant), 0.0))
    s = np.maximum(wing, _SQRT_2PI * beta)
    for _ in range(_GUESS_STEPS):
        h = x / s
        h2 = h * h
        a_h = _SQRT_HALF_PI * np.abs(h)
        quarter_s2 = 0.25 * s * s
        denominator = 1.0 + a_h + h2
        model = np.log(s / denominator) - 0.5 * (h2 + 0.5 * quarter_s2) - _LOG_SQRT_2PI
        slope = h2 - quarter_s2 + 1.0 + (a_h + 2.0 * h2) / denominator
        s = s * np.exp(np.clip((log_beta - model) / slope, -1.0, 1.0))
    return s


def _fast_halley_step(
    s: FloatArray, x: FloatArray, log_beta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`_halley_step` on the erfcx form with its exponential cancelled out: with
    D = erfcx(−(h+τ)/√2) − erfcx((τ−h)/√2), ln b = ln(D/2) − (h² + τ²)/2 and f' = √(2/π)/D."""
    h = x / s
    tau = 0.5 * s
    diff = erfcx(-(h + tau) * _SQRT_HALF) - erfcx((tau - h) * _SQRT_HALF)
    f = np.log(0.5 * diff) - 0.5 * (h * h + tau * tau) - log_beta
    f1 = _SQRT_2_OVER_PI / diff
    newton = f / f1
    step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - f1))
    return s - step, step


def _taylor_halley_step(
    s: FloatArray, x: FloatArray, log_beta: FloatArray
) -> tuple[FloatArray, FloatArray]:
    """`_halley_step` on the small-τ form: with B the Taylor bracket of `_otm_small_tau`,
    ln b = ln B − (h² + τ²)/2 − ln√(2π) and f' = 1/B."""
    h = x / s
    tau = 0.5 * s
    bracket = _taylor_bracket(h, tau)
    f = np.log(bracket) - 0.5 * (h * h + tau * tau) - _LOG_SQRT_2PI - log_beta
    newton = f * bracket
    step = newton / (1.0 - 0.5 * newton * (h * h / s - 0.5 * tau - 1.0 / bracket))
    return s - step, step


def _halley_step(
    s: FloatArray,
    x: FloatArray,
    log_beta: FloatArray,
    normalised_price: Callable[[FloatArray, FloatArray], FloatArray],
) -> tuple[FloatArray, FloatArray]:
    """One Halley step on f(s) = ln b(x, s) − ln β.

    With b' = exp(−(h² + τ²)/2)/√(2π): f' = b'/b and f'' = f'·(x²/s³ − s/4 − f').
    """
    h = x / s
    tau = 0.5 * s
    b = normalised_price(x, s)
    f = np.log(b) - log_beta
    f1 = np.exp(-0.5 * (h * h + tau * tau)) * _INV_SQRT_2PI / b
    newton = f / f1
    f2_over_f1 = h * h / s - 0.5 * tau - f1
    step = newton / (1.0 - 0.5 * newton * f2_over_f1)
    return s - step, step
