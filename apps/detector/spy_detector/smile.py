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
once. The fit itself is compiled, a C extension built when the package is installed
(`spy_detector/_native.c`): on a few dozen quotes numpy's per-call overhead, not the arithmetic,
was the cost (about 0.4 ms of numpy calls per fit), and the cubic B-spline basis has four
non-zeros per quote, which loops exploit and array code cannot.

How one coordinate is fitted (`_fit`):
- The spline spans every quote that informs it, bounds included, so a cheap wing's ask caps the
  curve where it is quoted instead of an extrapolation doing so; about one knot interval per
  `points_per_knot` informative quotes.
- Weights are 1/half-width², scaled to a median of one (so `smoothing` means the same on every
  chain) and at most `max_weight`: a locked or one-tick-wide quote is not so much more
  informative than its neighbours that the curve should pass through it.
- A sparse chain (the market-data service's ±1% band: about eight two-sided quotes) has about
  as many basis functions as quotes: the spline all but interpolates them, and a leave-one-out
  value is an extrapolation from two neighbours. There the smoothing is the configured value or
  stiffer (× 4⁰ … 4⁷), whichever generalised cross-validation prefers on the first (unweighted)
  fit. Dense chains keep the configured value: GCV over-stiffens real smiles that bend sharply
  (applied to every fit it cost 3 points of precision).
- Robust iterations on studentized (leave-one-out) residuals, Huber then Tukey: a lone quote at
  the edge of the data bends the spline towards itself, so its plain residual understates how
  far off it is. Caps switch on where the curve exceeds them; between two-sided quotes, a cap
  the uncapped curve overshoots by more than `cap_doubt` scaled half-ticks is more likely a
  mispriced offer (to be reported) than a bound on the smile: it never caps.
- The normal matrix (bandwidth 3) is inverted through its banded Cholesky factor: the hat
  matrix and the errors need every entry of the inverse. Values at every strike are
  leave-one-out where the strike's own quote shaped them (the hat-matrix identity), and a cap
  between two-sided quotes does not set its own fair value either.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import NamedTuple

import numpy as np
from numpy.typing import NDArray

from spy_core.arrays import FloatArray

from . import _native
from .config import SmileSettings


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
    # The first `primary` fit quotes (0: all) set the weights' scale: a median of one over
    # them, so added in-the-money quotes do not change what `smoothing` means.
    primary: int = 0


def fit_smiles(
    coordinates: Sequence[FloatArray], quotes: SmileQuotes, settings: SmileSettings
) -> list[SmileFit] | None:
    """Fit vol to the quotes once per coordinate (each: one value per strike, increasing in
    strike, 0 at the money) and return each fit's values at every strike. The first
    coordinate is log-moneyness: on sparse chains only its smoothing is chosen from the data.

    Returns None when fewer than `settings.min_points` quotes have a usable mid.
    """
    # Positions may share a strike (a call and a put): knots and the minimum count strikes.
    n = _distinct(np.asarray(coordinates[0])[quotes.fit_index])
    if n < settings.min_points:
        return None
    fit_index = np.ascontiguousarray(quotes.fit_index, dtype=np.int64)
    bound_index = np.ascontiguousarray(quotes.bound_index, dtype=np.int64)
    fit_quotes = _FitQuotes(
        fit_index,
        np.ascontiguousarray(quotes.mid_vol, dtype=np.float64),
        np.ascontiguousarray(quotes.half_width, dtype=np.float64),
        bound_index,
        np.ascontiguousarray(quotes.upper_vol, dtype=np.float64),
        np.ascontiguousarray(quotes.bound_half_width, dtype=np.float64),
        # Caps between two-sided quotes (the same in every monotone coordinate).
        (bound_index > fit_index.min()) & (bound_index < fit_index.max()),
        quotes.primary or fit_index.size,
    )
    fit_settings = _FitSettings(
        _intervals(n + bound_index.size // 2, settings),
        settings.smoothing,
        settings.robust_iterations,
        settings.huber_c,
        settings.tukey_c,
        settings.min_residual_scale,
        settings.cap_doubt,
        settings.max_weight,
        # The compiled fit counts quotes; the setting counts strikes (a call and a put of
        # one strike are one strike's worth of smile).
        settings.gcv_below + fit_index.size - n,
    )
    # The stretched coordinate exists to follow a short expiry's sharp at-the-money
    # curvature: stiffening it too put a false flag on a clean 90-minute chain.
    return [
        _fit(
            np.ascontiguousarray(k, dtype=np.float64),
            fit_quotes,
            fit_settings if index == 0 else fit_settings._replace(gcv_below=0),
        )
        for index, k in enumerate(coordinates)
    ]


class _FitQuotes(NamedTuple):
    """`SmileQuotes` as the compiled fit reads them: contiguous int64 positions, float64
    values, and `inside`, whether each cap lies between two-sided quotes."""

    fit_index: NDArray[np.int64]
    mid_vol: FloatArray
    half_width: FloatArray
    bound_index: NDArray[np.int64]
    upper_vol: FloatArray
    bound_half_width: FloatArray
    inside: NDArray[np.bool_]
    primary: int


class _FitSettings(NamedTuple):
    """`SmileSettings` as one coordinate's fit uses them: the number of knot intervals, and
    GCV smoothing only for fits of fewer than `gcv_below` two-sided quotes."""

    intervals: int
    smoothing: float
    robust_iterations: int
    huber_c: float
    tukey_c: float
    min_scale: float
    cap_doubt: float
    max_weight: float
    gcv_below: int


def _fit(k_all: FloatArray, quotes: _FitQuotes, settings: _FitSettings) -> SmileFit:
    """One coordinate's robust fit and its values at every strike (see the module docstring
    and `fit_smiles`); computed by `_native.fit`."""
    vol, vol_error = np.empty(k_all.size), np.empty(k_all.size)
    outlier = np.empty(k_all.size, dtype=np.bool_)
    scale, atm = _native.fit(k_all, quotes, settings, vol, vol_error, outlier)
    return SmileFit(vol, vol_error, outlier, scale, atm)


def _distinct(values: FloatArray) -> int:
    """How many distinct values (np.unique(values).size without its overhead)."""
    if values.size == 0:
        return 0
    ordered = np.sort(values)
    return 1 + int(np.count_nonzero(ordered[1:] != ordered[:-1]))


def _intervals(n: int, settings: SmileSettings) -> int:
    """About one knot interval per `points_per_knot` informative quotes."""
    return min(max(round(n / settings.points_per_knot), 2), settings.max_intervals)
