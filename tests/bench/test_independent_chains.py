"""The independent chain generator (bench/independent_chains.py): clean chains are free of
static arbitrage with fair value inside every quote; injections cross fair as declared."""

from __future__ import annotations

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from bench.independent_chains import (
    SCENARIOS,
    SIZE_RANGE,
    _undiscounted_black,
    american_premium,
    lewis_calls,
    make_chain,
    sabr_vol,
    tick_at,
)
from spy_core.models import Right, Side

CHAINS = 1000  # indices below are clean, at or above mispriced
scenarios = st.sampled_from(sorted(SCENARIOS))
seeds = st.integers(0, 2**16)


def _by_right(chain, right: Right) -> tuple[np.ndarray, np.ndarray]:
    rows = sorted((k[1], v) for k, v in chain.fair.items() if k[2] is right)
    strikes, fair = np.array(rows).T
    return strikes, fair


@settings(max_examples=40, deadline=None)
@given(scenarios, seeds, st.integers(0, CHAINS - 1))
def test_clean_chains_are_arbitrage_free_and_quotes_contain_fair(name, seed, index):
    chain = make_chain(name, seed, index, CHAINS)
    assert chain.injected == ()
    index_class = SCENARIOS[name].underlying == "SPX"
    european = index_class
    info = chain.info
    strikes, calls = _by_right(chain, Right.CALL)
    _, puts = _by_right(chain, Right.PUT)
    # American premia come from a CRR tree: allow a few tenths of a cent of discretisation
    # per price, so twice that over a strike step in a slope and four times in a second
    # difference (seed 3320 chain 184: a deep put at intrinsic beside one 0.3¢ above it).
    tol = 1e-6 if european else 3e-3
    step = np.diff(strikes)
    slope = np.diff(calls) / step
    assert np.all(slope <= 2 * tol / step)
    assert np.all(np.diff(slope) >= -2 * tol * (1 / step[1:] + 1 / step[:-1]))
    put_slope = np.diff(puts) / step
    assert np.all(put_slope >= -2 * tol / step)
    assert np.all(np.diff(put_slope) >= -2 * tol * (1 / step[1:] + 1 / step[:-1]))
    spot = info["spot"]
    assert np.all(calls >= np.maximum(spot - strikes, 0) - (1e-9 if not european else spot))
    if european:
        t = chain.minutes_to_expiry / (365 * 24 * 60)
        discount = math.exp(-info["rate"] * t)
        parity = calls - puts - discount * (info["forward"] - strikes)
        # puts are floored at zero: parity holds wherever the put is worth something
        assert np.all(np.abs(parity[puts > 1e-9]) < 1e-6)
    else:
        assert np.all(puts >= np.maximum(strikes - spot, 0) - 1e-9)
    for quote in chain.snapshot.quotes:
        fair = chain.fair[(quote.expiry, quote.strike, quote.right)]
        if quote.bid == quote.ask:  # a locked line sits on the tick nearest fair
            assert abs(quote.bid - fair) <= tick_at(fair, index_class) / 2 + 1e-9
        else:
            assert quote.bid - 1e-9 <= fair <= quote.ask + 1e-9


@settings(max_examples=40, deadline=None)
@given(scenarios, seeds, st.integers(CHAINS, 2 * CHAINS - 1))
def test_injections_cross_fair_by_their_size(name, seed, index):
    chain = make_chain(name, seed, index, CHAINS)
    assert 1 <= len(chain.injected) <= 5
    assert len({i.key[:3] for i in chain.injected}) == len(chain.injected)
    quotes = {(q.expiry, q.strike, q.right): q for q in chain.snapshot.quotes}
    for inj in chain.injected:
        quote = quotes[inj.key[:3]]
        assert (quote.bid, quote.ask) == (inj.bid, inj.ask)
        assert SIZE_RANGE[0] <= inj.size <= SIZE_RANGE[1]
        assert quote.bid >= 0
        if inj.side is Side.BUY:
            assert quote.ask <= inj.fair - inj.size + 1e-9
            assert math.isclose(inj.edge, inj.fair - quote.ask, abs_tol=1e-6)
        else:
            assert quote.bid >= inj.fair + inj.size - 1e-9
            assert math.isclose(inj.edge, quote.bid - inj.fair, abs_tol=1e-6)
        width, was = quote.ask - quote.bid, inj.original_ask - inj.original_bid
        if quote.bid > 0 and SCENARIOS[name].underlying == "SPY":
            assert math.isclose(width, was, abs_tol=1e-6)


def test_chains_replay_exactly():
    for name in SCENARIOS:
        a, b = make_chain(name, 7, 3, 2), make_chain(name, 7, 3, 2)
        assert a.snapshot == b.snapshot
        assert a.injected == b.injected


@pytest.mark.parametrize("minutes", [5, 60, 390, 5 * 1440])
def test_lewis_integral_reproduces_black(minutes):
    t = minutes / (365 * 24 * 60)
    forward, vol = 450.0, 0.25
    strikes = np.arange(420.0, 481.0)

    def cf(u):
        return np.exp(-0.5 * vol * vol * t * (u * u + 1j * u))

    lewis = lewis_calls(forward, strikes, cf, vol * math.sqrt(t))
    black = _undiscounted_black(forward, strikes, t, vol, True)
    assert np.max(np.abs(lewis - black)) < 1e-4


def test_sabr_at_the_money_is_near_alpha_for_lognormal_beta():
    vol = sabr_vol(450.0, np.array([450.0]), 1 / 365, 0.2, 1.0, -0.5, 5.0)
    assert abs(vol[0] - 0.2) < 0.01


def test_american_premium_is_zero_without_carry_and_bounded_by_interest():
    strikes = np.array([400.0, 450.0, 500.0])
    vols = np.full(3, 0.2)
    assert np.all(american_premium(450.0, strikes, 3 / 365, 0.0, 0.0, vols, False) < 1e-9)
    premium = american_premium(450.0, strikes, 3 / 365, 0.05, 0.0, vols, False)
    assert np.all(premium <= strikes * 0.05 * 3 / 365 + 1e-9)
    assert premium[2] > premium[0]


def test_runner_reports_every_figure():
    from bench.evaluate_independent import as_json, run_scenario, table

    result = run_scenario("spx0-sabr", 2, 1)
    data = as_json(result)
    assert data["recall_by_edge"]
    assert data["false_flags_per_clean_chain"] >= 0
    assert "spx0-sabr" in table([result])
