"""Gamma exposure: the Γ·OI·100·S²·0.01 formula, conventions, zero-gamma level and walls."""

from __future__ import annotations

import json
import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spy_detector.gex import DealerConvention, GammaExposure, gamma_exposure

SPOT = 450.0
FORWARD = 451.2
T = 10 / 365


def _norm_cdf(x: float) -> float:
    return 0.5 * (1.0 + math.erf(x / math.sqrt(2.0)))


def _black76_call_in_spot(spot: float, strike: float, t: float, vol: float, df: float) -> float:
    """Black-76 call price with the forward moving in proportion to spot (F = S·F0/S0)."""
    forward = spot * FORWARD / SPOT
    s = vol * math.sqrt(t)
    d1 = math.log(forward / strike) / s + 0.5 * s
    return df * (forward * _norm_cdf(d1) - strike * _norm_cdf(d1 - s))


def test_single_call_matches_the_formula_computed_by_hand() -> None:
    strike, vol, df, oi = 455.0, 0.18, 0.998, 2500
    s = vol * math.sqrt(T)
    d1 = math.log(FORWARD / strike) / s + 0.5 * s
    gamma_forward = df * math.exp(-0.5 * d1 * d1) / math.sqrt(2 * math.pi) / (FORWARD * s)
    gamma_spot = gamma_forward * (FORWARD / SPOT) ** 2
    expected = gamma_spot * oi * 100 * SPOT**2 * 0.01
    # Independently: Γ_S as a second difference of an erf-based price in spot.
    h = 0.05
    prices = [_black76_call_in_spot(SPOT + k * h, strike, T, vol, df) for k in (-1, 0, 1)]
    gamma_spot_fd = (prices[0] - 2 * prices[1] + prices[2]) / h**2

    gex = gamma_exposure([strike], [True], [oi], [vol], FORWARD, SPOT, T, df)

    assert gex.total == pytest.approx(expected, rel=1e-12)
    assert gex.total == pytest.approx(gamma_spot_fd * oi * 100 * SPOT**2 * 0.01, rel=1e-4)
    assert expected == pytest.approx(14_547_566.257, rel=1e-7)
    assert gex.strikes[0].call_gex == gex.total
    assert gex.strikes[0].put_gex == 0.0


def test_put_is_negative_under_the_default_convention_and_calls_flip_under_short_both() -> None:
    args = ([450.0, 450.0], [True, False], [100, 100], [0.2, 0.2], FORWARD, SPOT, T)
    default = gamma_exposure(*args)
    short_both = gamma_exposure(*args, convention=DealerConvention.SHORT_BOTH)
    row, short_row = default.strikes[0], short_both.strikes[0]
    assert row.call_gex > 0 > row.put_gex
    assert short_row.call_gex == -row.call_gex
    assert short_row.put_gex == row.put_gex
    assert short_both.total < 0


def test_contracts_without_usable_inputs_contribute_nothing() -> None:
    gex = gamma_exposure(
        strike=[440.0, 445.0, 450.0, 455.0],
        is_call=[True, True, False, False],
        open_interest=[100, 0, -5, 100],
        vol=[np.nan, 0.2, 0.2, 0.2],
        forward=FORWARD,
        spot=SPOT,
        t=[T, T, T, 0.0],
    )
    assert gex.total == 0.0
    assert [row.strike for row in gex.strikes] == [440.0, 445.0, 450.0, 455.0]
    assert gex.zero_gamma is None
    assert gex.call_wall is None
    assert gex.put_wall is None


@pytest.mark.parametrize("open_interest", [[], [0, 0, 0]])
def test_empty_or_zero_open_interest_has_no_exposure(open_interest: list[int]) -> None:
    n = len(open_interest)
    gex = gamma_exposure(
        [445.0, 450.0, 455.0][:n],
        [True, False, True][:n],
        open_interest,
        [0.2] * n,
        FORWARD,
        SPOT,
        T,
    )
    assert gex.total == 0.0
    assert gex.zero_gamma is None
    assert (gex.call_wall, gex.put_wall) == (None, None)
    assert len(gex.strikes) == n


def test_walls_aggregate_equal_strikes_across_expiries() -> None:
    # 455 calls: two expiries of 700 each beat 450's single 1000 once aggregated; one 455
    # expiry alone would lose to 450.
    gex = gamma_exposure(
        strike=[450.0, 455.0, 455.0, 460.0, 440.0, 445.0, 445.0],
        is_call=[True, True, True, True, False, False, False],
        open_interest=[1000, 700, 700, 200, 3000, 500, 100],
        vol=0.15,
        forward=[451.0, 451.0, 452.0, 451.0, 451.0, 451.0, 452.0],
        spot=SPOT,
        t=[T, T, 2 * T, T, T, T, 2 * T],
    )
    assert gex.call_wall == 455.0
    assert gex.put_wall == 440.0
    assert [row.strike for row in gex.strikes] == [440.0, 445.0, 450.0, 455.0, 460.0]
    one_expiry = gamma_exposure([450.0, 455.0], True, [1000, 700], 0.15, 451.0, SPOT, T)
    assert one_expiry.call_wall == 450.0
    assert gex.total == pytest.approx(sum(row.net for row in gex.strikes))


def test_walls_do_not_depend_on_the_convention() -> None:
    args = ([445.0, 455.0, 440.0], [True, True, False], [100, 900, 50], 0.2, FORWARD, SPOT, T)
    default = gamma_exposure(*args)
    short_both = gamma_exposure(*args, convention=DealerConvention.SHORT_BOTH)
    assert default.call_wall == short_both.call_wall == 455.0
    assert default.put_wall == short_both.put_wall == 440.0


def _put_heavy_below_call_heavy_above(spot: float) -> GammaExposure:
    """Puts concentrated at 430-440, calls at 460-470; forward equal to spot."""
    strikes = [430.0, 440.0, 450.0, 460.0, 470.0]
    return gamma_exposure(
        strike=strikes * 2,
        is_call=[True] * 5 + [False] * 5,
        open_interest=[0, 100, 500, 3000, 2000, 2000, 3000, 500, 100, 0],
        vol=0.2,
        forward=spot,
        spot=spot,
        t=T,
    )


def test_zero_gamma_between_put_heavy_strikes_below_and_call_heavy_strikes_above() -> None:
    gex = _put_heavy_below_call_heavy_above(SPOT)
    assert gex.zero_gamma is not None
    assert 440.0 < gex.zero_gamma < 460.0
    assert _put_heavy_below_call_heavy_above(gex.zero_gamma - 1.0).total < 0
    assert _put_heavy_below_call_heavy_above(gex.zero_gamma + 1.0).total > 0


def test_to_dict_is_json_ready_and_rounded() -> None:
    gex = gamma_exposure([445.0, 455.0], [False, True], [1234, 4321], 0.2, FORWARD, SPOT, T)
    data = json.loads(json.dumps(gex.to_dict()))
    assert set(data) == {
        "convention",
        "spot",
        "total",
        "zero_gamma",
        "call_wall",
        "put_wall",
        "by_strike",
    }
    assert data["convention"] == "long_calls_short_puts"
    assert data["total"] == round(gex.total, 2)
    assert data["by_strike"][0] == {
        "strike": 445.0,
        "call": 0.0,
        "put": round(gex.strikes[0].put_gex, 2),
        "net": round(gex.strikes[0].net, 2),
    }


def test_rejects_bad_spot_and_grid() -> None:
    with pytest.raises(ValueError, match="spot"):
        gamma_exposure([450.0], [True], [1], [0.2], FORWARD, 0.0, T)
    with pytest.raises(ValueError, match="grid"):
        gamma_exposure([450.0], [True], [1], [0.2], FORWARD, SPOT, T, grid_points=1)


# --- properties -------------------------------------------------------------------------

_N = 8

chains = st.fixed_dictionaries(
    {
        "strike": st.lists(st.floats(420.0, 480.0), min_size=_N, max_size=_N),
        "is_call": st.lists(st.booleans(), min_size=_N, max_size=_N),
        "open_interest": st.lists(st.integers(0, 50_000), min_size=_N, max_size=_N),
        "vol": st.lists(st.floats(0.08, 0.6), min_size=_N, max_size=_N),
        "t": st.lists(st.floats(7 / 365, 0.5), min_size=_N, max_size=_N),
    }
)


def _gex(chain: dict, spot: float = SPOT, **kwargs) -> GammaExposure:
    return gamma_exposure(
        chain["strike"],
        chain["is_call"],
        chain["open_interest"],
        chain["vol"],
        forward=spot * FORWARD / SPOT,
        spot=spot,
        t=chain["t"],
        discount=0.99,
        **kwargs,
    )


@given(chains, st.floats(0.01, 100.0))
def test_gex_is_linear_in_open_interest(chain: dict, scale: float) -> None:
    base = _gex(chain)
    scaled = _gex({**chain, "open_interest": [oi * scale for oi in chain["open_interest"]]})
    assert scaled.total == pytest.approx(base.total * scale, rel=1e-9, abs=1e-6)
    for row, scaled_row in zip(base.strikes, scaled.strikes, strict=True):
        assert scaled_row.call_gex == pytest.approx(row.call_gex * scale, rel=1e-9)
        assert scaled_row.put_gex == pytest.approx(row.put_gex * scale, rel=1e-9)
    assert (scaled.call_wall, scaled.put_wall) == (base.call_wall, base.put_wall)


@given(chains)
def test_short_both_flips_call_sign_and_keeps_put_sign(chain: dict) -> None:
    default = _gex(chain)
    short_both = _gex(chain, convention=DealerConvention.SHORT_BOTH)
    for row, other in zip(default.strikes, short_both.strikes, strict=True):
        assert row.call_gex >= 0 and row.put_gex <= 0
        assert other.call_gex == -row.call_gex
        assert other.put_gex == row.put_gex


@given(chains, st.floats(0.05, 20.0))
def test_gex_scales_with_spot_squared_times_gamma(chain: dict, scale: float) -> None:
    """Scaling spot, forward and strikes by λ divides Γ by λ and multiplies S² by λ²."""
    base = _gex(chain)
    scaled = _gex({**chain, "strike": [k * scale for k in chain["strike"]]}, spot=SPOT * scale)
    assert scaled.total == pytest.approx(base.total * scale, rel=1e-9, abs=1e-6)
    if base.zero_gamma is not None:
        assert scaled.zero_gamma == pytest.approx(base.zero_gamma * scale, rel=1e-9)


@given(st.floats(0.05, 0.8), st.floats(1 / 365, 0.25), st.booleans())
def test_gamma_peaks_at_the_money(vol: float, t: float, is_call: bool) -> None:
    """Black gamma in strike peaks where d1 = 0, K = F·exp(σ²t/2): at the money."""
    strikes = np.linspace(0.7, 1.3, 601) * FORWARD
    gex = gamma_exposure(strikes, is_call, 1000, vol, FORWARD, SPOT, t)
    magnitudes = [abs(row.call_gex + row.put_gex) for row in gex.strikes]
    peak = gex.strikes[int(np.argmax(magnitudes))].strike
    assert peak == pytest.approx(
        FORWARD * math.exp(0.5 * vol * vol * t), abs=strikes[1] - strikes[0]
    )


@settings(max_examples=50, deadline=None)
@given(chains)
def test_zero_gamma_is_in_the_grid_and_is_the_nearest_sign_change(chain: dict) -> None:
    gex = _gex(chain, grid_points=41)
    grid = SPOT * np.linspace(0.95, 1.05, 41)
    totals = np.array([_gex(chain, spot=s, grid_points=2).total for s in grid])
    signs = np.sign(totals)
    if gex.zero_gamma is None:
        assert np.all(signs == signs[0])
        return
    assert grid[0] <= gex.zero_gamma <= grid[-1]
    hi = int(np.searchsorted(grid, gex.zero_gamma))
    assert signs[hi - 1] * signs[hi] < 0
    # No sign change between spot and the bracket: this is the nearest one.
    here = int(np.argmin(np.abs(grid - SPOT)))
    between = signs[min(here, hi) : max(here, hi - 1) + 1]
    assert np.all(between == between[0])
