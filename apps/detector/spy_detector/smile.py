"""A robust, penalised-spline smile fit with leave-one-out fair values.

Why this shape: a quote must never be judged against a fit it helped make, a few mispriced
quotes must not bend the smile, and real smiles are not SVI-shaped to within their spreads
(see docs/options-math.md). So implied vol is fitted as a cubic P-spline (Eilers & Marx):
weighted least squares on mid vols with weights from each quote's bid/ask vol band, a
second-difference penalty for smoothness, robust (Huber, then Tukey) reweighting, and
one-sided constraints for quotes that only bound the price (zero bid, one-tick bid).
Because the smoother is linear given its weights, every fitted quote's leave-one-out
prediction and its standard error come exactly from the hat matrix.

The same quotes can be fitted in several coordinates (log-moneyness, a stretched one) at
once. The fit itself is compiled (numba): on a few dozen quotes numpy's per-call overhead, not
the arithmetic, was the cost (about 0.4 ms of numpy calls per fit), and the cubic B-spline
basis has four non-zeros per quote, which loops exploit and array code cannot.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

from spy_core.arrays import FloatArray
from spy_core.compiled import kernel

from .config import SmileSettings

_HUBER_ITERATIONS = 2  # monotone (Huber) steps before the redescending (Tukey) ones
_RIDGE = 1e-12
_MAX_LEVERAGE = 0.99
_LOO_MAX_LEVERAGE = 0.999
# Cubic B-splines overlap their three neighbours; the second-difference penalty spans two.
_BANDWIDTH = 3
_GCV_STEPS = 8  # smoothing × 4⁰ … 4⁷


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
    strike, 0 at the money) and return each fit's values at every strike. The first
    coordinate is log-moneyness: on sparse chains only its smoothing is chosen from the data.

    Returns None when fewer than `settings.min_points` quotes have a usable mid.
    """
    n = quotes.fit_index.size
    if n < settings.min_points:
        return None
    fit_index = np.ascontiguousarray(quotes.fit_index, dtype=np.int64)
    bound_index = np.ascontiguousarray(quotes.bound_index, dtype=np.int64)
    # Caps between two-sided quotes (the same in every monotone coordinate).
    inside = (bound_index > fit_index.min()) & (bound_index < fit_index.max())
    intervals = _intervals(n + bound_index.size // 2, settings)
    fits = []
    for index, k in enumerate(coordinates):
        vol, vol_error, outlier, scale, atm = _fit(
            np.ascontiguousarray(k, dtype=np.float64),
            fit_index,
            np.ascontiguousarray(quotes.mid_vol, dtype=np.float64),
            np.ascontiguousarray(quotes.half_width, dtype=np.float64),
            bound_index,
            np.ascontiguousarray(quotes.upper_vol, dtype=np.float64),
            np.ascontiguousarray(quotes.bound_half_width, dtype=np.float64),
            inside,
            intervals,
            settings.smoothing,
            settings.robust_iterations,
            settings.huber_c,
            settings.tukey_c,
            settings.min_residual_scale,
            settings.cap_doubt,
            settings.max_weight,
            # The stretched coordinate exists to follow a short expiry's sharp at-the-money
            # curvature: stiffening it too put a false flag on a clean 90-minute chain.
            settings.gcv_below if index == 0 else 0,
        )
        fits.append(SmileFit(vol, vol_error, outlier, scale, atm))
    return fits


def _intervals(n: int, settings: SmileSettings) -> int:
    """About one knot interval per `points_per_knot` informative quotes."""
    return min(max(round(n / settings.points_per_knot), 2), settings.max_intervals)


@kernel
def _fit(
    k_all, fit_index, mid_vol, half_width, bound_index, upper_vol, bound_half_width, inside,
    intervals, smoothing, robust_iterations, huber_c, tukey_c, min_scale, cap_doubt, max_weight,
    gcv_below,
):  # fmt: skip
    """One coordinate's robust fit and its values at every strike (see `fit_smiles`)."""
    n, m = fit_index.size, bound_index.size
    k_fit, k_bound = k_all[fit_index], k_all[bound_index]
    # The spline spans every quote that informs it, bounds included, so a cheap wing's ask
    # caps the curve where it is quoted instead of an extrapolation doing so.
    lo, hi = k_fit.min(), k_fit.max()
    if m > 0:
        lo, hi = min(lo, k_bound.min()), max(hi, k_bound.max())
    step = max(hi - lo, 1e-6) / intervals
    n_basis = intervals + 3
    first_fit, basis_fit = _design(k_fit, lo, step, n_basis)
    first_bound, basis_bound = _design(k_bound, lo, step, n_basis)
    base_weight = _normalised_weights(half_width, max_weight)
    bound_weight = _median(base_weight)
    gram = _second_difference_gram(n_basis)
    active = np.zeros(m, dtype=np.bool_)
    plausible = np.ones(m, dtype=np.bool_)
    robust = np.ones(n)
    weights = base_weight.copy()
    standardized = np.empty(n)
    scale = min_scale
    # A sparse chain (the market-data service's ±1% band: about eight two-sided quotes) has
    # about as many basis functions as quotes: the spline all but interpolates them, and a
    # leave-one-out value is an extrapolation from two neighbours. There the smoothing is the
    # configured value or stiffer, whichever generalised cross-validation prefers on the
    # first (unweighted) fit. Dense chains keep the configured value: GCV over-stiffens real
    # smiles that bend sharply (applied to every fit it cost 3 points of precision).
    coef, inverse = _solve(
        first_fit, basis_fit, weights, mid_vol, first_bound, basis_bound, active, upper_vol,
        bound_weight, smoothing, gram,
    )  # fmt: skip
    if n < gcv_below:
        best = _gcv(coef, inverse, first_fit, basis_fit, mid_vol, base_weight)
        trial = smoothing
        for _ in range(_GCV_STEPS - 1):
            trial *= 4.0
            trial_coef, trial_inverse = _solve(
                first_fit, basis_fit, weights, mid_vol, first_bound, basis_bound, active,
                upper_vol, bound_weight, trial, gram,
            )  # fmt: skip
            score = _gcv(trial_coef, trial_inverse, first_fit, basis_fit, mid_vol, base_weight)
            if score < best:
                best, coef, inverse, smoothing = score, trial_coef, trial_inverse, trial
    for iteration in range(robust_iterations):
        # Studentized (leave-one-out) residuals: a lone quote at the edge of the data bends the
        # spline towards itself, so its plain residual understates how far off it is.
        for i in range(n):
            hat = _quadratic(inverse, first_fit[i], basis_fit[i]) * base_weight[i]
            fitted = _value(coef, first_fit[i], basis_fit[i])
            leverage = min(hat, _MAX_LEVERAGE)
            standardized[i] = (mid_vol[i] - fitted) / (1.0 - leverage) / half_width[i]
        scale = _robust_scale(standardized, robust, min_scale)
        tukey = iteration >= _HUBER_ITERATIONS
        for i in range(n):
            robust[i] = _robust_weight(abs(standardized[i] / scale), tukey, huber_c, tukey_c)
            weights[i] = base_weight[i] * robust[i]
        for j in range(m):
            excess = _value(coef, first_bound[j], basis_bound[j]) - upper_vol[j]
            if iteration == 0:
                # Between two-sided quotes, a cap the uncapped curve overshoots by many
                # half-ticks is more likely a mispriced offer (to be reported) than a bound
                # on the smile: it never caps. Beyond them, caps are all there is.
                doubt = cap_doubt * scale * bound_half_width[j]
                plausible[j] = (not inside[j]) or excess <= doubt
            active[j] = (active[j] or excess > 0.0) and plausible[j]
        coef, inverse = _solve(
            first_fit, basis_fit, weights, mid_vol, first_bound, basis_bound, active, upper_vol,
            bound_weight, smoothing, gram,
        )  # fmt: skip
    return _evaluate(
        k_all, fit_index, mid_vol, half_width, bound_index, upper_vol, lo, step, n_basis,
        first_fit, basis_fit, first_bound, basis_bound, coef, inverse, weights,
        active & inside, bound_weight, robust, scale,
    )  # fmt: skip


@kernel
def _gcv(coef, inverse, first, basis, target, weights):
    """Generalised cross-validation score n·RSS/(n − effective parameters)² of a fit."""
    n = first.size
    rss = 0.0
    edf = 0.0
    for i in range(n):
        residual = target[i] - _value(coef, first[i], basis[i])
        rss += weights[i] * residual * residual
        edf += _quadratic(inverse, first[i], basis[i]) * weights[i]
    return n * rss / max(n - edf, 0.5) ** 2


@kernel
def _evaluate(
    k_all, fit_index, mid_vol, half_width, bound_index, upper_vol, lo, step, n_basis,
    first_fit, basis_fit, first_bound, basis_bound, coef, inverse, weights, binding,
    bound_weight, robust, scale,
):  # fmt: skip
    """Values at every strike (leave-one-out where its own quote shaped them), their standard
    errors, outliers, the residual scale and the at-the-money vol."""
    n, strikes = fit_index.size, k_all.size
    hi = lo + step * (n_basis - 3)
    vol = _extrapolated(k_all, lo, hi, step, n_basis, coef)
    atm = _extrapolated(np.zeros(1), lo, hi, step, n_basis, coef)[0]
    first_eval, basis_eval = _design(np.minimum(np.maximum(k_all, lo), hi), lo, step, n_basis)
    # Rows of the smoother: fitted value = smoother @ mid_vol (bound rows act as constants).
    # smoother[e, i] = (inverse · b_e) · b_i · w_i, with b the 4-wide basis rows.
    smoother = np.zeros((strikes, n))
    projected = np.empty(n_basis)
    for e in range(strikes):
        for a in range(n_basis):
            total = 0.0
            for c in range(4):
                total += inverse[a, first_eval[e] + c] * basis_eval[e, c]
            projected[a] = total
        for i in range(n):
            smoother[e, i] = _value(projected, first_fit[i], basis_fit[i]) * weights[i]
    variance_obs = (scale * half_width) ** 2
    vol_error = np.sqrt((smoother**2) @ variance_obs)
    for i in range(n):
        hat = _quadratic(inverse, first_fit[i], basis_fit[i]) * weights[i]
        fitted = _value(coef, first_fit[i], basis_fit[i])
        loo_ok = hat < _LOO_MAX_LEVERAGE
        row = smoother[fit_index[i]]
        row[i] = 0.0
        variance = 0.0
        for other in range(n):
            variance += row[other] ** 2 * variance_obs[other]
        if loo_ok:
            vol[fit_index[i]] = (fitted - hat * mid_vol[i]) / (1.0 - hat)
            vol_error[fit_index[i]] = np.sqrt(variance) / (1.0 - hat)
        else:
            vol[fit_index[i]] = fitted
            vol_error[fit_index[i]] = np.sqrt(variance)
    # A cap between two-sided quotes must not set its own fair value either: where it binds,
    # take the curve without it (the same hat-matrix identity, the cap a pseudo-observation).
    for j in range(bound_index.size):
        if binding[j]:
            leverage = bound_weight * _quadratic(inverse, first_bound[j], basis_bound[j])
            leverage = min(leverage, _MAX_LEVERAGE)
            capped = _value(coef, first_bound[j], basis_bound[j])
            vol[bound_index[j]] = (capped - leverage * upper_vol[j]) / (1.0 - leverage)
    outlier = np.zeros(strikes, dtype=np.bool_)
    for i in range(n):
        outlier[fit_index[i]] = robust[i] == 0.0
    return vol, vol_error, outlier, scale, atm


@kernel
def _design(k, lo, step, n_basis):
    """Cubic B-spline basis on uniform knots starting 3 steps below `lo`: per point, the
    index of its first non-zero basis function and the four non-zero values."""
    first = np.empty(k.size, dtype=np.int64)
    values = np.empty((k.size, 4))
    for p in range(k.size):
        u = (k[p] - lo) / step + 3.0
        cell = min(max(np.floor(u), 3.0), n_basis - 1.0)
        f = u - cell
        g = 1.0 - f
        f2, g2 = f * f, g * g
        first[p] = int(cell) - 3
        values[p, 0] = g2 * g / 6.0
        values[p, 1] = ((3.0 * f - 6.0) * f2 + 4.0) / 6.0
        values[p, 2] = ((3.0 * g - 6.0) * g2 + 4.0) / 6.0  # the mirror image of the second
        values[p, 3] = f2 * f / 6.0
    return first, values


@kernel
def _value(coef, first, values):
    return (
        coef[first] * values[0]
        + coef[first + 1] * values[1]
        + coef[first + 2] * values[2]
        + coef[first + 3] * values[3]
    )


@kernel
def _quadratic(matrix, first, values):
    """b' M b for a basis row b with four non-zeros from `first`."""
    total = 0.0
    for a in range(4):
        for c in range(4):
            total += values[a] * matrix[first + a, first + c] * values[c]
    return total


@kernel
def _solve(
    first_fit, basis_fit, weights, target, first_bound, basis_bound, active, upper_vol,
    bound_weight, smoothing, gram,
):  # fmt: skip
    """Penalised weighted least squares, binding caps as pseudo-observations: coefficients and
    the inverse of the normal matrix (the hat matrix and the errors need it). `gram` is the
    second-difference penalty's D'D, the same for every solve of a fit."""
    n_basis = gram.shape[0]
    normal = smoothing * gram
    rhs = np.zeros(n_basis)
    for i in range(first_fit.size):
        _accumulate(normal, rhs, first_fit[i], basis_fit[i], weights[i], target[i])
    for j in range(first_bound.size):
        if active[j]:
            _accumulate(normal, rhs, first_bound[j], basis_bound[j], bound_weight, upper_vol[j])
    # A ridge far below any real weight keeps the system solvable when the robust weights
    # have zeroed every quote under some basis function.
    ridge = _RIDGE * np.trace(normal)
    for a in range(n_basis):
        normal[a, a] += ridge
    inverse = _banded_inverse(normal, _BANDWIDTH)
    return inverse @ rhs, inverse


@kernel
def _banded_inverse(matrix, bandwidth):
    """Inverse of a symmetric positive-definite matrix with `bandwidth` off-diagonals, by its
    banded Cholesky factor: O(n²·b), about three times faster than LAPACK's general inverse
    on these ~25×25 systems (the hat matrix needs every entry, not just a solve)."""
    n = matrix.shape[0]
    factor = np.zeros((n, n))
    reciprocal = np.empty(n)  # 1 / the factor's diagonal: multiplications, not divisions
    for j in range(n):
        pivot = matrix[j, j]
        for k in range(max(0, j - bandwidth), j):
            pivot -= factor[j, k] ** 2
        pivot = np.sqrt(pivot)
        factor[j, j] = pivot
        reciprocal[j] = 1.0 / pivot
        for i in range(j + 1, min(n, j + bandwidth + 1)):
            value = matrix[i, j]
            for k in range(max(0, i - bandwidth), j):
                value -= factor[i, k] * factor[j, k]
            factor[i, j] = value * reciprocal[j]
    # Row by row (the inverse is symmetric): L·y = e_row, then Lᵀ·x = y.
    inverse = np.empty((n, n))
    forward = np.zeros(n)
    for row in range(n):
        for i in range(row, n):
            value = 1.0 if i == row else 0.0
            for k in range(max(row, i - bandwidth), i):
                value -= factor[i, k] * forward[k]
            forward[i] = value * reciprocal[i]
        out = inverse[row]
        for i in range(n - 1, -1, -1):
            value = forward[i] if i >= row else 0.0
            for k in range(i + 1, min(n, i + bandwidth + 1)):
                value -= factor[k, i] * out[k]
            out[i] = value * reciprocal[i]
    return inverse


@kernel
def _accumulate(normal, rhs, first, values, weight, target):
    for a in range(4):
        rhs[first + a] += weight * values[a] * target
        for c in range(4):
            normal[first + a, first + c] += weight * values[a] * values[c]


@kernel
def _second_difference_gram(n_basis):
    """D'D for the second-difference operator D on `n_basis` coefficients."""
    gram = np.zeros((n_basis, n_basis))
    stencil = np.array([1.0, -2.0, 1.0])
    for row in range(n_basis - 2):
        for a in range(3):
            for c in range(3):
                gram[row + a, row + c] += stencil[a] * stencil[c]
    return gram


@kernel
def _normalised_weights(half_width, cap):
    """1/half_width², scaled to a median of one so `smoothing` means the same on every chain,
    and at most `cap`: a locked or one-tick-wide quote is not so much more informative than
    its neighbours that the curve should pass through it (leverage near one leaves nothing
    to judge it by)."""
    weights = 1.0 / half_width**2
    return np.minimum(weights / _median(weights), cap)


@kernel
def _robust_scale(standardized, robust, floor):
    """1.4826 · median absolute deviation of the inliers' residuals, at least `floor`."""
    inliers = standardized[robust > 0.0]
    if inliers.size == 0:
        return floor
    centre = _median(inliers)
    return max(1.4826 * _median(np.abs(inliers - centre)), floor)


@kernel
def _median(values):
    ordered = np.sort(values)
    middle = ordered.size // 2
    return 0.5 * (ordered[middle] + ordered[(ordered.size - 1) // 2])


@kernel
def _robust_weight(a, tukey, huber_c, tukey_c):
    """Huber (monotone) or Tukey biweight (redescending) weight of a scaled |residual|."""
    if tukey:
        return (1.0 - (a / tukey_c) ** 2) ** 2 if a < tukey_c else 0.0
    return 1.0 if a <= huber_c else huber_c / max(a, 1e-300)


@kernel
def _extrapolated(k, lo, hi, step, n_basis, coef):
    """The spline inside [lo, hi]; beyond, its linear continuation, never below half its
    edge value."""
    eps = 1e-4 * max(hi - lo, 1e-6)
    edges = np.array([lo, lo + eps, hi - eps, hi])
    first_edge, basis_edge = _design(edges, lo, step, n_basis)
    edge = np.empty(4)
    for p in range(4):
        edge[p] = _value(coef, first_edge[p], basis_edge[p])
    slope_lo = (edge[1] - edge[0]) / eps
    slope_hi = (edge[3] - edge[2]) / eps
    first, basis = _design(np.minimum(np.maximum(k, lo), hi), lo, step, n_basis)
    out = np.empty(k.size)
    for p in range(k.size):
        if k[p] < lo:
            out[p] = max(edge[0] + slope_lo * (k[p] - lo), 0.5 * edge[0])
        elif k[p] > hi:
            out[p] = max(edge[3] + slope_hi * (k[p] - hi), 0.5 * edge[3])
        else:
            out[p] = _value(coef, first[p], basis[p])
    return out
