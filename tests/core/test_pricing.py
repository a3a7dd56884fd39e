"""Black-76 pricing and implied vol: properties against a 40-digit mpmath reference."""

from __future__ import annotations

import math

import mpmath as mp
import numpy as np
import pytest
from hypothesis import assume, given, settings
from hypothesis import strategies as st

from spy_core.pricing import (
    black76_gamma,
    black76_greeks,
    black76_price,
    black76_vega,
    delta_from_price,
    implied_vol,
)

MINUTE = 1.0 / (365.0 * 24 * 60)
mp.mp.dps = 40


def reference_price(forward: float, strike: float, t: float, vol: float, df: float, call: bool):
    f, k, s = mp.mpf(forward), mp.mpf(strike), mp.mpf(vol) * mp.sqrt(mp.mpf(t))
    d1 = mp.log(f / k) / s + s / 2
    d2 = d1 - s
    if call:
        return float(mp.mpf(df) * (f * mp.ncdf(d1) - k * mp.ncdf(d2)))
    return float(mp.mpf(df) * (k * mp.ncdf(-d2) - f * mp.ncdf(-d1)))


forwards = st.floats(50.0, 2000.0)
times = st.floats(2 * MINUTE, 3.0)
vols = st.floats(0.03, 2.0)
discounts = st.floats(0.85, 1.0)


@settings(max_examples=300, deadline=None)
@given(forwards, st.floats(0.0, 6.0), times, vols, discounts, st.booleans())
def test_implied_vol_recovers_vol_of_otm_options_to_1e12(forward, stdevs, t, vol, df, call):
    """The issue's bar: |σ̂ − σ| ≤ 1e-12 on OTM options priced ≥ 1e-8·F, minutes included."""
    s = vol * math.sqrt(t)
    strike = forward * math.exp(stdevs * s if call else -stdevs * s)
    price = reference_price(forward, strike, t, vol, df, call)
    assume(price >= 1e-8 * forward)
    assert abs(implied_vol(price, forward, strike, t, df, call) - vol) <= 1e-12


@settings(max_examples=300, deadline=None)
@given(forwards, st.floats(0.0, 4.0), st.floats(2 * MINUTE, 1 / 365), vols, st.booleans())
def test_zero_dte_implied_vol_to_1e12_against_the_reference(forward, stdevs, t, vol, call):
    """Minutes to expiry near the money: where the erfcx difference alone keeps ~ε/τ."""
    s = vol * math.sqrt(t)
    strike = forward * math.exp(stdevs * s if call else -stdevs * s)
    price = reference_price(forward, strike, t, vol, 1.0, call)
    assume(price >= 1e-8 * forward)
    assert abs(implied_vol(price, forward, strike, t, 1.0, call) - vol) <= 1e-12


@pytest.mark.parametrize("minutes", [2, 7, 30, 390])
def test_zero_dte_grid_near_the_money_to_1e12(minutes):
    """A grid where a difference of two erfcx values would lose the 12th digit: |h| < 1
    and τ = σ√t/2 down to 1e-4."""
    t = minutes * MINUTE
    cases = [
        (600.0 * math.exp(side * stdevs * vol * math.sqrt(t)), vol, side > 0)
        for vol in (0.3, 1.0, 2.0)
        for stdevs in np.linspace(0.0, 1.0, 21)
        for side in (-1, 1)
    ]
    strike, vol, call = (np.array(column) for column in zip(*cases, strict=True))
    price = np.array([reference_price(600.0, k, t, v, 1.0, c) for k, v, c in cases])
    assert np.max(np.abs(implied_vol(price, 600.0, strike, t, 1.0, call) - vol)) <= 1e-12


@settings(max_examples=150, deadline=None)
@given(forwards, st.floats(-0.2, 0.2), st.floats(2 * MINUTE, 1 / 365), vols, st.booleans())
def test_zero_dte_round_trip_through_our_own_price(forward, log_moneyness, t, vol, call):
    strike = forward * math.exp(log_moneyness)
    price = black76_price(forward, strike, t, vol, 1.0, call)
    otm_price = black76_price(forward, strike, t, vol, 1.0, strike >= forward)
    assume(otm_price >= 1e-8 * forward)
    recovered = implied_vol(price, forward, strike, t, 1.0, call)
    # In-the-money premia carry the intrinsic value, which limits precision to its ulp.
    tolerance = (
        1e-12
        if otm_price == price
        else 1e-9 + 4e-16 * price / float(black76_vega(forward, strike, t, vol))
    )
    assert abs(recovered - vol) <= tolerance


@settings(max_examples=200, deadline=None)
@given(forwards, st.floats(-1.0, 1.0), times, vols, discounts, st.booleans())
def test_price_matches_reference_to_relative_precision(forward, log_moneyness, t, vol, df, call):
    strike = forward * math.exp(log_moneyness)
    expected = reference_price(forward, strike, t, vol, df, call)
    assume(expected > 1e-300)
    got = float(black76_price(forward, strike, t, vol, df, call))
    intrinsic = df * max((forward - strike) if call else (strike - forward), 0.0)
    assert abs(got - expected) <= 1e-10 * expected + 1e-15 * intrinsic


@given(forwards, st.floats(-0.5, 0.5), times, vols, discounts)
def test_put_call_parity(forward, log_moneyness, t, vol, df):
    strike = forward * math.exp(log_moneyness)
    call = black76_price(forward, strike, t, vol, df, True)
    put = black76_price(forward, strike, t, vol, df, False)
    assert call - put == pytest.approx(df * (forward - strike), abs=1e-9 * forward)


@given(
    forwards,
    st.floats(-0.3, 0.3),
    st.floats(1 / 365, 2.0),
    st.floats(0.05, 1.0),
    discounts,
    st.booleans(),
)
def test_greeks_match_finite_differences(forward, log_moneyness, t, vol, df, call):
    strike = forward * math.exp(log_moneyness)
    g = black76_greeks(forward, strike, t, vol, df, call)
    s = vol * math.sqrt(t)
    h_f, h_v, h_t = 1e-3 * s * forward, 1e-4 * vol, 1e-4 * t

    def price(f=forward, v=vol, tt=t, d=df):
        return float(black76_price(f, strike, tt, v, d, call))

    delta = (price(forward + h_f) - price(forward - h_f)) / (2 * h_f)
    gamma = (price(forward + h_f) - 2 * price() + price(forward - h_f)) / h_f**2
    vega = (price(v=vol + h_v) - price(v=vol - h_v)) / (2 * h_v)
    rate = -math.log(df) / t
    theta = -(
        price(tt=t + h_t, d=math.exp(-rate * (t + h_t)))
        - price(tt=t - h_t, d=math.exp(-rate * (t - h_t)))
    ) / (2 * h_t)
    assert g.delta == pytest.approx(delta, rel=1e-5, abs=1e-7)
    assert g.gamma == pytest.approx(gamma, rel=1e-3, abs=1e-6)
    assert g.vega == pytest.approx(vega, rel=1e-5, abs=1e-7)
    assert g.theta == pytest.approx(theta, rel=1e-4, abs=1e-6)
    assert black76_gamma(forward, strike, t, vol, df) == pytest.approx(g.gamma, rel=1e-14)
    assert black76_vega(forward, strike, t, vol, df) == pytest.approx(g.vega, rel=1e-14)


@given(forwards, st.floats(-0.3, 0.3), times, st.floats(0.03, 1.5), st.booleans())
def test_price_increases_with_vol(forward, log_moneyness, t, vol, call):
    strike = forward * math.exp(log_moneyness)
    assert black76_price(forward, strike, t, vol * 1.01, 1.0, call) >= black76_price(
        forward, strike, t, vol, 1.0, call
    )


def test_implied_vol_broadcasts_and_keeps_shape():
    strikes = np.array([[580.0, 590.0, 600.0]])
    t = np.array([[10 * MINUTE], [60 * MINUTE]])
    vols = np.array([[0.15, 0.2, 0.25]])
    prices = black76_price(590.0, strikes, t, vols, 1.0, strikes >= 590.0)
    got = implied_vol(prices, 590.0, strikes, t, 1.0, strikes >= 590.0)
    assert got.shape == (2, 3)
    np.testing.assert_allclose(got, np.broadcast_to(vols, (2, 3)), atol=1e-12)
    assert isinstance(implied_vol(1.0, 100.0, 100.0, 0.1), float | np.floating)


@pytest.mark.parametrize(
    ("price", "strike", "t", "call", "why"),
    [
        (4.0, 95.0, 0.1, True, "below intrinsic 5"),
        (100.5, 95.0, 0.1, True, "above the call's upper bound F"),
        (95.5, 95.0, 0.1, False, "above the put's upper bound K"),
        (-1.0, 100.0, 0.1, True, "negative premium"),
        (1.0, 100.0, 0.0, True, "expired"),
        (1.0, 100.0, -0.1, True, "negative time"),
        (float("nan"), 100.0, 0.1, True, "NaN premium"),
        (float("inf"), 100.0, 0.1, True, "infinite premium"),
    ],
)
def test_no_volatility_reproduces_the_price(price, strike, t, call, why):
    assert math.isnan(implied_vol(price, 100.0, strike, t, 1.0, call)), why


def test_price_at_intrinsic_has_zero_vol():
    assert implied_vol(5.0, 100.0, 95.0, 0.1, 1.0, True) == 0.0


@settings(deadline=None)
@given(
    st.floats(0.5, 1.5),
    st.floats(1e-4, 0.02),
    st.floats(0.05, 1.5),
    st.booleans(),
)
def test_delta_from_price_agrees_with_implied_vol_and_greeks(moneyness, t, vol, is_call):
    price = float(black76_price(100.0, 100.0 * moneyness, t, vol, 1.0, is_call))
    intrinsic = max((100.0 - 100.0 * moneyness) * (1 if is_call else -1), 0.0)
    if price - intrinsic < 1e-6:
        return  # no vol information left in the price
    expected = float(black76_greeks(100.0, 100.0 * moneyness, t, vol, 1.0, is_call).delta)
    assert delta_from_price(price, 100.0, 100.0 * moneyness, t, is_call) == pytest.approx(
        expected, abs=1e-4
    )
