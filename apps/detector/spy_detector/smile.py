"""A robust, penalised-spline smile fit with leave-one-out fair values.

Why this shape: a quote must never be judged against a fit it helped make, a few mispriced
quotes must not bend the smile, and real smiles are not SVI-shaped to within their spreads
(see notes/options-math.md). So implied vol is fitted as a cubic P-spline (Eilers & Marx) in
log-moneyness: weighted least squares on mid vols with weights from each quote's bid/ask vol
band, a second-difference penalty for smoothness, robust (Huber, then Tukey) reweighting,
and one-sided constraints for quotes that only bound the price (zero bid, one-tick bid).
Because the smoother is linear given its weights, every fitted quote's leave-one-out
prediction and its standard error come exactly from the hat matrix.
"""

from __future__ import annotations

import functools
from dataclasses import dataclass

import numpy as np

from .config import SmileSettings

FloatArray = np.ndarray
_HUBER_ITERATIONS = 2  # monotone (Huber) steps before the redescending (Tukey) ones
_FOUR = np.arange(4)
_RIDGE = 1e-12


@dataclass(frozen=True, slots=True)
class SmileFit:
    """Fitted vol at each quote's log-moneyness, its uncertainty, and fit diagnostics.

    `vol` is the leave-one-out value for quotes that were in the fit (their own mid excluded)
    and the plain fitted value for all others; `vol_error` is its standard error (decimal vol).
    """

    vol: FloatArray
    vol_error: FloatArray
    outlier: FloatArray  # bool: robust weight dropped to zero
    residual_scale: float  # robust std of mid residuals in half-spread units
    atm_vol: float


def fit_smile(
    k_fit: FloatArray,
    mid_vol: FloatArray,
    half_width: FloatArray,
    k_bound: FloatArray,
    upper_vol: FloatArray,
    bound_half_width: FloatArray,
    k_eval: FloatArray,
    fit_index: FloatArray,
    bound_index: FloatArray,
    settings: SmileSettings,
) -> SmileFit | None:
    """Fit vol(k) to two-sided quotes and return values at `k_eval`.

    `k_fit`, `mid_vol`, `half_width` describe quotes with a usable mid (half_width is half
    the bid/ask vol band); `k_bound`, `upper_vol` quotes that only cap the vol; `fit_index`
    maps each fitted quote to its position in `k_eval` (for leave-one-out values).
    Returns None when fewer than `settings.min_points` quotes have a usable mid.
    """
    n = k_fit.size
    if n < settings.min_points:
        return None
    # The spline spans every quote that informs it, bounds included, so a cheap wing's ask
    # caps the curve where it is quoted instead of an extrapolation doing so.
    k_known = np.concatenate([k_fit, k_bound])
    data_lo, data_hi = float(k_known.min()), float(k_known.max())
    knots = _knot_grid(data_lo, data_hi, n + k_bound.size // 2, settings)
    basis_fit = _design(k_fit, knots)
    penalty = _difference_penalty(basis_fit.shape[1], settings.smoothing)
    base_weight = _normalised_weights(half_width)
    basis_bound = _design(k_bound, knots)
    bound_weight = _median(base_weight)
    active_bound = np.zeros(k_bound.size, dtype=bool)
    inside = (k_bound > k_fit.min()) & (k_bound < k_fit.max())
    bound_terms = _bound_terms(basis_bound, active_bound, upper_vol, bound_weight)
    robust = np.ones(n)
    weights = base_weight
    coef, inverse = _solve(basis_fit, weights, mid_vol, penalty, bound_terms)
    for iteration in range(settings.robust_iterations):
        # Studentized (leave-one-out) residuals: a lone quote at the edge of the data bends the
        # spline towards itself, so its plain residual understates how far off it is.
        hat_diag = _hat_diagonal(basis_fit, inverse, base_weight)
        loo_residual = (mid_vol - basis_fit @ coef) / (1.0 - np.minimum(hat_diag, 0.99))
        standardized = loo_residual / half_width
        scale = _robust_scale(standardized, robust, settings.min_residual_scale)
        robust = _robust_weights(standardized / scale, iteration >= _HUBER_ITERATIONS, settings)
        excess = basis_bound @ coef - upper_vol
        if iteration == 0:
            # Between two-sided quotes, a cap the uncapped curve overshoots by many of the
            # quote's own half-widths is more likely a mispriced offer (to be reported) than
            # a bound on the smile: it never caps. Beyond them, caps are all there is.
            plausible = ~inside | (excess <= settings.cap_doubt * scale * bound_half_width)
        violated = (active_bound | (excess > 0)) & plausible
        if not np.array_equal(violated, active_bound):
            active_bound = violated
            bound_terms = _bound_terms(basis_bound, active_bound, upper_vol, bound_weight)
        weights = base_weight * robust
        coef, inverse = _solve(basis_fit, weights, mid_vol, penalty, bound_terms)
    fitted = basis_fit @ coef

    # Evaluate at every strike and at the money (k = 0, the last row) in one pass.
    k_all = np.append(k_eval, 0.0)
    basis_eval = _design(np.clip(k_all, data_lo, data_hi), knots)
    vol = _extrapolate(basis_eval @ coef, k_all, data_lo, data_hi, knots, coef)
    atm = float(vol[-1])
    vol, basis_eval = vol[:-1], basis_eval[:-1]
    # Rows of the smoother: fitted value = smoother @ mid_vol (bound rows act as constants).
    smoother_eval = basis_eval @ inverse @ (basis_fit.T * weights)
    variance_obs = (scale * half_width) ** 2
    vol_error = np.sqrt(smoother_eval**2 @ variance_obs)

    hat_diag = _hat_diagonal(basis_fit, inverse, weights)
    loo_ok = hat_diag < 0.999
    vol[fit_index] = np.where(loo_ok, (fitted - hat_diag * mid_vol) / (1.0 - hat_diag), fitted)
    rows = smoother_eval[fit_index]
    rows[np.arange(n), np.arange(n)] = 0.0
    rows /= np.where(loo_ok, 1.0 - hat_diag, 1.0)[:, None]
    vol_error[fit_index] = np.sqrt(rows**2 @ variance_obs)
    # A cap between two-sided quotes must not set its own fair value either: where it binds,
    # take the curve without it (the same hat-matrix identity, the cap a pseudo-observation).
    binding = np.flatnonzero(active_bound & inside)
    if binding.size:
        cap_rows = basis_bound[binding]
        leverage = bound_weight * ((cap_rows @ inverse) * cap_rows).sum(axis=1)
        leverage = np.minimum(leverage, 0.99)
        capped = cap_rows @ coef
        vol[bound_index[binding]] = (capped - leverage * upper_vol[binding]) / (1.0 - leverage)
    outlier = np.zeros(k_eval.size, dtype=bool)
    outlier[fit_index] = robust == 0.0
    return SmileFit(vol, vol_error, outlier, float(scale), atm)


def _hat_diagonal(basis: FloatArray, inverse: FloatArray, weights: FloatArray) -> FloatArray:
    """Leverage of each fitted quote: how much its own mid moves its fitted value."""
    return ((basis @ inverse) * basis).sum(axis=1) * weights


def _knot_grid(lo: float, hi: float, n: int, settings: SmileSettings) -> FloatArray:
    """Uniform knots over the fitted range, about one interval per `points_per_knot` quotes."""
    intervals = min(max(round(n / settings.points_per_knot), 2), settings.max_intervals)
    step = max(hi - lo, 1e-6) / intervals
    return lo + step * np.arange(-3.0, intervals + 4.0)


def _design(k: FloatArray, knots: FloatArray) -> FloatArray:
    """Cubic B-spline basis on uniform knots, one row per point."""
    step = knots[1] - knots[0]
    n_basis = knots.size - 4
    u = (k - knots[0]) / step
    cell = np.minimum(np.maximum(np.floor(u), 3.0), n_basis - 1.0)
    f = u - cell
    g = 1.0 - f
    f2, g2 = f * f, g * g
    values = np.empty((k.size, 4))
    values[:, 0] = g2 * g
    values[:, 1] = (3.0 * f - 6.0) * f2 + 4.0
    values[:, 2] = (3.0 * g - 6.0) * g2 + 4.0  # the mirror image of the second piece
    values[:, 3] = f2 * f
    values /= 6.0
    design = np.zeros((k.size, n_basis))
    first = cell.astype(np.intp) - 3 + n_basis * np.arange(k.size)
    design.ravel()[first[:, None] + _FOUR] = values
    return design


@functools.lru_cache(maxsize=64)
def _difference_penalty(n_basis: int, smoothing: float) -> FloatArray:
    second_difference = np.diff(np.eye(n_basis), n=2, axis=0)
    penalty = smoothing * second_difference.T @ second_difference
    penalty.flags.writeable = False
    return penalty


def _normalised_weights(half_width: FloatArray) -> FloatArray:
    """1/half_width², scaled to a median of one so `smoothing` means the same on every chain."""
    weights = 1.0 / half_width**2
    return weights / _median(weights)


def _bound_terms(
    basis_bound: FloatArray, active: FloatArray, upper_vol: FloatArray, weight: float
) -> tuple[FloatArray, FloatArray] | None:
    """Normal-equation terms pulling the curve down to the caps it crossed (None: no cap)."""
    if not active.any():
        return None
    rows = basis_bound[active]
    return weight * rows.T @ rows, weight * rows.T @ upper_vol[active]


def _solve(
    basis: FloatArray,
    weights: FloatArray,
    target: FloatArray,
    penalty: FloatArray,
    bound_terms: tuple[FloatArray, FloatArray] | None,
) -> tuple[FloatArray, FloatArray]:
    weighted = basis.T * weights
    normal = weighted @ basis + penalty
    rhs = weighted @ target
    if bound_terms is not None:
        normal += bound_terms[0]
        rhs += bound_terms[1]
    # A ridge far below any real weight keeps the system solvable when the robust weights
    # have zeroed every quote under some basis function.
    normal[np.diag_indices_from(normal)] += _RIDGE * np.trace(normal)
    inverse = np.linalg.inv(normal)
    return inverse @ rhs, inverse


def _robust_scale(standardized: FloatArray, robust: FloatArray, floor: float) -> float:
    inliers = standardized[robust > 0]
    if inliers.size == 0:
        return floor
    mad = 1.4826 * _median(np.abs(inliers - _median(inliers)))
    return max(mad, floor)


def _median(values: FloatArray) -> float:
    """np.median without its dispatch overhead, which dominates on a few dozen quotes."""
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
    vol: FloatArray, k: FloatArray, lo: float, hi: float, knots: FloatArray, coef: FloatArray
) -> FloatArray:
    """Linear continuation of the fitted vol beyond the data, never below half its edge value."""
    eps = 1e-4 * max(hi - lo, 1e-6)
    edges = _design(np.array([lo, lo + eps, hi - eps, hi]), knots) @ coef
    slope_lo = (edges[1] - edges[0]) / eps
    slope_hi = (edges[3] - edges[2]) / eps
    out = vol.copy()
    below, above = k < lo, k > hi
    out[below] = np.maximum(edges[0] + slope_lo * (k[below] - lo), 0.5 * edges[0])
    out[above] = np.maximum(edges[3] + slope_hi * (k[above] - hi), 0.5 * edges[3])
    return out
