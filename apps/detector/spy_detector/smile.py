"""A robust, penalised-spline smile fit with leave-one-out fair values.

Why this shape: a quote must never be judged against a fit it helped make, a few mispriced
quotes must not bend the smile, and real smiles are not SVI-shaped to within their spreads
(see notes/options-math.md). So implied vol is fitted as a cubic P-spline (Eilers & Marx):
weighted least squares on mid vols with weights from each quote's bid/ask vol band, a
second-difference penalty for smoothness, robust (Huber, then Tukey) reweighting, and
one-sided constraints for quotes that only bound the price (zero bid, one-tick bid).
Because the smoother is linear given its weights, every fitted quote's leave-one-out
prediction and its standard error come exactly from the hat matrix.

The same quotes can be fitted in several coordinates (log-moneyness, a stretched one) at
once: the fits share their data and their shapes, so every step runs on stacked arrays, one
numpy call for all of them. On a few dozen quotes the calls, not the arithmetic, are the cost.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from .config import SmileSettings

FloatArray = np.ndarray
_HUBER_ITERATIONS = 2  # monotone (Huber) steps before the redescending (Tukey) ones
_FOUR = np.arange(4)
_RIDGE = 1e-12
_MAX_LEVERAGE = 0.99


@dataclass(frozen=True, slots=True)
class SmileFit:
    """Fitted vol at each strike, its uncertainty, and fit diagnostics.

    `vol` is the leave-one-out value for strikes whose quote was in the fit (its own mid
    excluded) or whose cap bound it, and the plain fitted value for all others; `vol_error`
    is its standard error (decimal vol).
    """

    vol: FloatArray
    vol_error: FloatArray
    outlier: FloatArray  # bool: robust weight dropped to zero
    residual_scale: float  # robust std of mid residuals in half-spread units
    atm_vol: float


@dataclass(frozen=True, slots=True)
class SmileQuotes:
    """The quotes that inform a smile, as positions in the strike list.

    `fit_index` strikes have a usable mid (`mid_vol`, `half_width` = half the bid/ask vol
    band); `bound_index` strikes only cap the vol at `upper_vol`, certain to
    `bound_half_width` (half a tick, in vol).
    """

    fit_index: FloatArray
    mid_vol: FloatArray
    half_width: FloatArray
    bound_index: FloatArray
    upper_vol: FloatArray
    bound_half_width: FloatArray


def fit_smiles(
    coordinates: Sequence[FloatArray], quotes: SmileQuotes, settings: SmileSettings
) -> list[SmileFit] | None:
    """Fit vol to the quotes once per coordinate (each: one value per strike, increasing in
    strike, 0 at the money) and return each fit's values at every strike.

    Returns None when fewer than `settings.min_points` quotes have a usable mid.
    """
    n = quotes.fit_index.size
    if n < settings.min_points:
        return None
    k_all = np.stack(coordinates)  # (fits, strikes)
    k_fit, k_bound = k_all[:, quotes.fit_index], k_all[:, quotes.bound_index]
    mid_vol, half_width, upper_vol = quotes.mid_vol, quotes.half_width, quotes.upper_vol
    # The spline spans every quote that informs it, bounds included, so a cheap wing's ask
    # caps the curve where it is quoted instead of an extrapolation doing so.
    lo = np.minimum(k_fit.min(axis=1), k_bound.min(axis=1, initial=np.inf))[:, None]
    hi = np.maximum(k_fit.max(axis=1), k_bound.max(axis=1, initial=-np.inf))[:, None]
    intervals = _intervals(n + quotes.bound_index.size // 2, settings)
    step = np.maximum(hi - lo, 1e-6) / intervals
    grid = (lo, step, intervals + 3)
    basis_fit = _design(k_fit, grid)  # (fits, n, basis)
    basis_bound = _design(k_bound, grid)
    penalty = _difference_penalty(intervals + 3, settings.smoothing)
    base_weight = _normalised_weights(half_width, settings.max_weight)
    bound_weight = _median(base_weight)
    # Caps between two-sided quotes (the same in every monotone coordinate).
    inside = (quotes.bound_index > quotes.fit_index.min()) & (
        quotes.bound_index < quotes.fit_index.max()
    )
    active = np.zeros(k_bound.shape, dtype=bool)
    robust = np.ones(k_fit.shape)
    weights = np.broadcast_to(base_weight, k_fit.shape)
    coef, inverse = _solve(
        basis_fit, weights, mid_vol, penalty, basis_bound, active, upper_vol, bound_weight
    )
    for iteration in range(settings.robust_iterations):
        # Studentized (leave-one-out) residuals: a lone quote at the edge of the data bends the
        # spline towards itself, so its plain residual understates how far off it is.
        hat_diag = _hat_diagonal(basis_fit, inverse, base_weight)
        fitted = np.einsum("fnb,fb->fn", basis_fit, coef)
        standardized = (mid_vol - fitted) / (1.0 - np.minimum(hat_diag, _MAX_LEVERAGE)) / half_width
        scale = _robust_scale(standardized, robust, settings.min_residual_scale)
        tukey = iteration >= _HUBER_ITERATIONS
        robust = _robust_weights(standardized / scale[:, None], tukey, settings)
        excess = np.einsum("fmb,fb->fm", basis_bound, coef) - upper_vol
        if iteration == 0:
            # Between two-sided quotes, a cap the uncapped curve overshoots by many half-ticks
            # is more likely a mispriced offer (to be reported) than a bound on the smile: it
            # never caps. Beyond them, caps are all there is.
            doubt = settings.cap_doubt * scale[:, None] * quotes.bound_half_width
            plausible = ~inside | (excess <= doubt)
        active = (active | (excess > 0)) & plausible
        weights = base_weight * robust
        coef, inverse = _solve(
            basis_fit, weights, mid_vol, penalty, basis_bound, active, upper_vol, bound_weight
        )
    return _evaluate(
        k_all,
        quotes,
        grid,
        basis_fit,
        basis_bound,
        coef,
        inverse,
        weights,
        active & inside,
        bound_weight,
        robust,
        scale,
    )


def _evaluate(
    k_all: FloatArray,
    quotes: SmileQuotes,
    grid: tuple[FloatArray, FloatArray, int],
    basis_fit: FloatArray,
    basis_bound: FloatArray,
    coef: FloatArray,
    inverse: FloatArray,
    weights: FloatArray,
    binding: FloatArray,
    bound_weight: float,
    robust: FloatArray,
    scale: FloatArray,
) -> list[SmileFit]:
    """Each fit's values at every strike (leave-one-out where its own quote shaped them)."""
    lo, step, n_basis = grid
    hi = lo + step * (n_basis - 3)
    fits, strikes = k_all.shape
    # Every strike and the money (k = 0, the last column) in one pass.
    k_eval = np.concatenate([k_all, np.zeros((fits, 1))], axis=1)
    basis_eval = _design(np.minimum(np.maximum(k_eval, lo), hi), grid)
    vol = _extrapolate(np.einsum("feb,fb->fe", basis_eval, coef), k_eval, grid, coef)
    atm = vol[:, -1]
    vol, basis_eval = vol[:, :-1], basis_eval[:, :-1]
    # Rows of the smoother: fitted value = smoother @ mid_vol (bound rows act as constants).
    smoother = basis_eval @ inverse @ (basis_fit.transpose(0, 2, 1) * weights[:, None, :])
    variance_obs = (scale[:, None] * quotes.half_width) ** 2
    vol_error = np.sqrt(np.einsum("fen,fn->fe", smoother**2, variance_obs))
    n = quotes.fit_index.size
    hat_diag = _hat_diagonal(basis_fit, inverse, weights)
    loo_ok = hat_diag < 0.999
    fitted = np.einsum("fnb,fb->fn", basis_fit, coef)
    vol[:, quotes.fit_index] = np.where(
        loo_ok, (fitted - hat_diag * quotes.mid_vol) / (1.0 - hat_diag), fitted
    )
    rows = smoother[:, quotes.fit_index]
    rows[:, np.arange(n), np.arange(n)] = 0.0
    rows /= np.where(loo_ok, 1.0 - hat_diag, 1.0)[:, :, None]
    vol_error[:, quotes.fit_index] = np.sqrt(np.einsum("fen,fn->fe", rows**2, variance_obs))
    # A cap between two-sided quotes must not set its own fair value either: where it binds,
    # take the curve without it (the same hat-matrix identity, the cap a pseudo-observation).
    if binding.any():
        leverage = bound_weight * _hat_diagonal(basis_bound, inverse, 1.0)
        leverage = np.minimum(leverage, _MAX_LEVERAGE)
        capped = np.einsum("fmb,fb->fm", basis_bound, coef)
        loo = (capped - leverage * quotes.upper_vol) / (1.0 - leverage)
        at_caps = vol[:, quotes.bound_index]
        vol[:, quotes.bound_index] = np.where(binding, loo, at_caps)
    outlier = np.zeros((fits, strikes), dtype=bool)
    outlier[:, quotes.fit_index] = robust == 0.0
    return [
        SmileFit(vol[f], vol_error[f], outlier[f], float(scale[f]), float(atm[f]))
        for f in range(fits)
    ]


def _hat_diagonal(basis: FloatArray, inverse: FloatArray, weights: FloatArray) -> FloatArray:
    """Leverage of each fitted quote: how much its own mid moves its fitted value."""
    return ((basis @ inverse) * basis).sum(axis=-1) * weights


def _intervals(n: int, settings: SmileSettings) -> int:
    """About one knot interval per `points_per_knot` informative quotes."""
    return min(max(round(n / settings.points_per_knot), 2), settings.max_intervals)


def _design(k: FloatArray, grid: tuple[FloatArray, FloatArray, int]) -> FloatArray:
    """Cubic B-spline basis on uniform knots starting 3 steps below `lo`: (fits, points, basis)
    for `k` of shape (fits, points), each fit with its own `lo` and `step` of shape (fits, 1)."""
    lo, step, n_basis = grid
    fits, points = k.shape
    u = (k - lo) / step + 3.0
    cell = np.minimum(np.maximum(np.floor(u), 3.0), n_basis - 1.0)
    f = u - cell
    g = 1.0 - f
    f2, g2 = f * f, g * g
    values = np.empty((fits, points, 4))
    values[..., 0] = g2 * g
    values[..., 1] = (3.0 * f - 6.0) * f2 + 4.0
    values[..., 2] = (3.0 * g - 6.0) * g2 + 4.0  # the mirror image of the second piece
    values[..., 3] = f2 * f
    values /= 6.0
    design = np.zeros((fits, points, n_basis))
    first = cell.astype(np.intp) - 3 + n_basis * np.arange(fits * points).reshape(fits, points)
    design.reshape(-1)[first[..., None] + _FOUR] = values
    return design


@functools.lru_cache(maxsize=64)
def _difference_penalty(n_basis: int, smoothing: float) -> FloatArray:
    second_difference = np.diff(np.eye(n_basis), n=2, axis=0)
    penalty = smoothing * second_difference.T @ second_difference
    penalty.flags.writeable = False
    return penalty


def _normalised_weights(half_width: FloatArray, cap: float) -> FloatArray:
    """1/half_width², scaled to a median of one so `smoothing` means the same on every chain,
    and at most `cap`: a locked or one-tick-wide quote is not so much more informative than
    its neighbours that the curve should pass through it (leverage near one leaves nothing
    to judge it by)."""
    weights = 1.0 / half_width**2
    return np.minimum(weights / _median(weights), cap)


def _solve(
    basis: FloatArray,
    weights: FloatArray,
    target: FloatArray,
    penalty: FloatArray,
    basis_bound: FloatArray,
    active: FloatArray,
    upper_vol: FloatArray,
    bound_weight: float,
) -> tuple[FloatArray, FloatArray]:
    """Penalised weighted least squares per fit, binding caps as pseudo-observations."""
    weighted = basis.transpose(0, 2, 1) * weights[:, None, :]
    capped = basis_bound.transpose(0, 2, 1) * (bound_weight * active)[:, None, :]
    normal = weighted @ basis + capped @ basis_bound + penalty
    rhs = weighted @ target + capped @ upper_vol
    # A ridge far below any real weight keeps the system solvable when the robust weights
    # have zeroed every quote under some basis function.
    ridge = _RIDGE * np.trace(normal, axis1=1, axis2=2)
    normal += ridge[:, None, None] * np.eye(normal.shape[-1])
    inverse = np.linalg.inv(normal)
    return np.einsum("fij,fj->fi", inverse, rhs), inverse


def _robust_scale(standardized: FloatArray, robust: FloatArray, floor: float) -> FloatArray:
    """Per fit: 1.4826 · median absolute deviation of the inliers' residuals, at least `floor`."""
    inlier = robust > 0
    centre = _masked_median(standardized, inlier)
    mad = 1.4826 * _masked_median(np.abs(standardized - centre[:, None]), inlier)
    return np.where(inlier.any(axis=1), np.maximum(mad, floor), floor)


def _masked_median(values: FloatArray, mask: FloatArray) -> FloatArray:
    """Row medians over the masked entries (np.median without its dispatch overhead)."""
    ordered = np.sort(np.where(mask, values, np.inf), axis=1)
    count = np.maximum(mask.sum(axis=1), 1)
    rows = np.arange(values.shape[0])
    return 0.5 * (ordered[rows, count // 2] + ordered[rows, (count - 1) // 2])


def _median(values: FloatArray) -> float:
    ordered = np.sort(values)
    middle = ordered.size // 2
    return float(0.5 * (ordered[middle] + ordered[(ordered.size - 1) // 2]))


def _robust_weights(r: FloatArray, tukey: bool, settings: SmileSettings) -> FloatArray:
    a = np.abs(r)
    if tukey:
        c = settings.tukey_c
        return np.where(a < c, (1 - (a / c) ** 2) ** 2, 0.0)
    c = settings.huber_c
    return np.where(a <= c, 1.0, c / np.maximum(a, 1e-300))


def _extrapolate(
    vol: FloatArray, k: FloatArray, grid: tuple[FloatArray, FloatArray, int], coef: FloatArray
) -> FloatArray:
    """Linear continuation of each fitted vol beyond its data, never below half its edge value."""
    lo, step, n_basis = grid
    hi = lo + step * (n_basis - 3)
    eps = 1e-4 * np.maximum(hi - lo, 1e-6)
    points = np.concatenate([lo, lo + eps, hi - eps, hi], axis=1)
    edges = np.einsum("fpb,fb->fp", _design(points, grid), coef)
    slope_lo = (edges[:, 1:2] - edges[:, 0:1]) / eps
    slope_hi = (edges[:, 3:4] - edges[:, 2:3]) / eps
    below = np.maximum(edges[:, 0:1] + slope_lo * (k - lo), 0.5 * edges[:, 0:1])
    above = np.maximum(edges[:, 3:4] + slope_hi * (k - hi), 0.5 * edges[:, 3:4])
    return np.where(k < lo, below, np.where(k > hi, above, vol))
