"""The compiled erfcx against 40-digit mpmath and scipy, and its table against its generator."""

from __future__ import annotations

import math
from pathlib import Path

import mpmath as mp
import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from scipy import special

import spy_core
from spy_core.erfcx_table import header
from spy_core.special import erfcx


def _exact(x: float) -> mp.mpf:
    with mp.workdps(40):
        return mp.exp(mp.mpf(x) ** 2) * mp.erfc(mp.mpf(x))


def test_committed_table_is_what_the_generator_makes():
    committed = Path(spy_core.__file__).with_name("_erfcx_coefficients.h").read_text()
    assert committed == header()


@given(st.floats(0.0, 1e6))
@settings(max_examples=400, deadline=None)
def test_non_negative_arguments_are_exact_to_a_few_ulps(x):
    """Within 4.5 ulps, as scipy's (both 8.6e-16 at worst, near x = 0 where t = 2y − 199
    rounds)."""
    assert abs(erfcx(x) - _exact(x)) <= 1e-15 * _exact(x)


@pytest.mark.parametrize(
    "x", [0.0, 1e-300, 1e-8, 49.999999, 50.0, 50.000001, 5e7, 5.0000001e7, 1e300]
)
def test_the_seams_between_methods(x):
    expected = 1.0 / (math.sqrt(math.pi) * x) if x > 1e7 else float(_exact(x))
    assert erfcx(x) == pytest.approx(expected, rel=1e-15)


@given(st.floats(-26.0, 0.0))
@settings(max_examples=300, deadline=None)
def test_negative_arguments_agree_with_scipy(x):
    """Both reflect through 2·exp(x²), whose own rounding (~x²·ε) dominates here."""
    assert erfcx(x) == pytest.approx(special.erfcx(x), rel=1e-15)


def test_limits():
    assert math.isnan(erfcx(math.nan))
    assert erfcx(-27.0) == math.inf
    assert erfcx(math.inf) == 0.0
    assert erfcx(0.0) == 1.0
    assert np.isfinite(erfcx(-26.0))
