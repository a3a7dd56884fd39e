"""The compiled smile fit against the mathematics it relies on: a straight smile is fitted
exactly, leave-one-out values equal a real refit without the quote, and one wild quote is
rejected rather than followed."""

from __future__ import annotations

import numpy as np
from hypothesis import given, settings
from hypothesis import strategies as st

from spy_detector.config import SmileSettings
from spy_detector.smile import SmileQuotes, fit_smiles

NO_BOUNDS = np.array([], dtype=np.int64)


def _quotes(index: np.ndarray, mid: np.ndarray, half_width: np.ndarray) -> SmileQuotes:
    empty = np.array([])
    return SmileQuotes(index, mid, half_width, NO_BOUNDS, empty, empty)


def _strikes(n: int) -> np.ndarray:
    return np.linspace(-0.05, 0.04, n)


@given(
    n=st.integers(6, 40),
    level=st.floats(0.05, 1.5),
    slope=st.floats(-3.0, 3.0),
    seed=st.integers(0, 2**32 - 1),
)
@settings(max_examples=60, deadline=None)
def test_a_straight_smile_is_reproduced_exactly(n, level, slope, seed):
    """The second-difference penalty does not resist a line, so a linear smile must come back
    exactly, leave-one-out values included, whatever the quotes' widths."""
    k = _strikes(n)
    vol = level + slope * k
    widths = np.random.default_rng(seed).uniform(0.002, 0.05, n)
    (fit,) = fit_smiles([k], _quotes(np.arange(n), vol, widths), SmileSettings())
    np.testing.assert_allclose(fit.vol, vol, atol=1e-9)
    np.testing.assert_allclose(fit.atm_vol, level, atol=1e-9)
    assert np.all(np.isfinite(fit.vol_error)) and np.all(fit.vol_error > 0)
    assert not fit.outlier.any()


@given(
    n=st.integers(10, 30),
    curvature=st.floats(0.0, 40.0),
    seed=st.integers(0, 2**32 - 1),
    data=st.data(),
)
@settings(max_examples=60, deadline=None)
def test_leave_one_out_equals_a_refit_without_the_quote(n, curvature, seed, data):
    """The hat-matrix identity behind every fair value: a fitted quote's value is the fit of
    the others. Equal widths and a knot count capped below n keep the refit's weights and
    knots identical; a huge Tukey constant keeps every robust weight at one; and the
    smoothing is fixed (on sparse chains it is chosen from the data, quote included)."""
    k = _strikes(n)
    rng = np.random.default_rng(seed)
    mid = 0.2 - 0.8 * k + curvature * k**2 + rng.normal(0.0, 0.004, n)
    widths = np.full(n, 0.01)
    config = SmileSettings(max_intervals=5, huber_c=1e9, tukey_c=1e9, gcv_below=0)
    left_out = data.draw(st.integers(1, n - 2))  # interior: the span of the data is unchanged
    (fit,) = fit_smiles([k], _quotes(np.arange(n), mid, widths), config)
    keep = np.arange(n) != left_out
    (refit,) = fit_smiles([k], _quotes(np.flatnonzero(keep), mid[keep], widths[keep]), config)
    assert abs(fit.vol[left_out] - refit.vol[left_out]) < 1e-9


def test_a_wild_quote_is_an_outlier_and_does_not_bend_the_smile():
    k = _strikes(25)
    true = 0.18 - 0.9 * k + 12.0 * k**2
    mid = true.copy()
    mid[12] += 0.05  # five half-widths rich
    quotes = _quotes(np.arange(25), mid, np.full(25, 0.01))
    fits = fit_smiles([k, np.arcsinh(k / 0.01)], quotes, SmileSettings())
    for fit in fits:
        assert fit.outlier[12] and fit.outlier.sum() == 1
        assert abs(fit.vol[12] - true[12]) < 0.002  # its fair value: the others' smile
        assert np.abs(np.delete(fit.vol - true, 12)).max() < 0.002


def test_a_binding_cap_limits_the_smile_but_not_its_own_fair_value():
    """A one-tick offer between two-sided quotes caps the curve where it binds, and its own fair
    value comes from the curve without it (leave-one-out on the pseudo-observation)."""
    k = _strikes(21)
    true = 0.2 - 0.5 * k
    fitted = np.delete(np.arange(21), 10)
    cap = true[10] - 0.003  # just below the smile: binds, but is plausible
    quotes = SmileQuotes(
        fitted, true[fitted], np.full(20, 0.01), np.array([10]), np.array([cap]), np.array([0.01])
    )
    (fit,) = fit_smiles([k], quotes, SmileSettings())
    (uncapped,) = fit_smiles([k], _quotes(fitted, true[fitted], np.full(20, 0.01)), SmileSettings())
    assert abs(fit.vol[10] - true[10]) < 1e-3
    assert fit.vol[9] < uncapped.vol[9]  # the cap pulled its neighbours down


def test_too_few_quotes_give_no_smile():
    k = _strikes(3)
    quotes = _quotes(np.arange(3), k + 0.2, np.full(3, 0.01))
    assert fit_smiles([k], quotes, SmileSettings()) is None
