from __future__ import annotations

import math
from datetime import datetime, timedelta

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from spy_core.market_hours import NEW_YORK, session
from spy_core.models import ChainSnapshot, Right, Side
from spy_core.pricing import black76_price
from spy_core.synthetic import (
    TICK,
    MarketScenario,
    SmileParams,
    fair_values,
    inject_mispricings,
    quote_chain,
    random_scenario,
    sample_chain,
)

SEEDS = st.integers(min_value=0, max_value=2**32 - 1)


def _clean(seed: int, expiries: int = 1):
    rng = np.random.default_rng(seed)
    scenario = random_scenario(rng, expiries=expiries)
    return scenario, fair_values(scenario), quote_chain(scenario, rng)


def _on_tick(price: float) -> bool:
    return abs(price / TICK - round(price / TICK)) < 1e-9


def test_sample_chain_is_deterministic_and_seed_dependent():
    assert sample_chain(7) == sample_chain(7)
    assert sample_chain(7)[0] != sample_chain(8)[0]


def test_sample_chain_round_trips_through_json():
    snapshot, injected = sample_chain(seed=11, mispricings=4)
    assert ChainSnapshot.model_validate_json(snapshot.model_dump_json()) == snapshot
    assert len(injected) == 4
    assert len(snapshot.quotes) == 2 * 31


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS)
def test_clean_quotes_are_valid_on_tick_and_contain_fair(seed):
    scenario, fair, snapshot = _clean(seed, expiries=2)
    assert len(snapshot.quotes) == len(fair) == 2 * 2 * 31
    for quote in snapshot.quotes:
        value = fair[(quote.expiry, quote.strike, quote.right)]
        assert _on_tick(quote.bid) and _on_tick(quote.ask)
        assert quote.bid < quote.ask
        assert quote.bid - 1e-9 <= value <= quote.ask + 1e-9
        if value < TICK:
            assert quote.bid == 0 and quote.bid_size == 0
    assert abs(snapshot.spot - scenario.spot) < 0.2


@settings(max_examples=60, deadline=None)
@given(seed=SEEDS)
def test_smiles_are_butterfly_free(seed):
    scenario = random_scenario(np.random.default_rng(seed), expiries=3)
    for expiry, smile in zip(scenario.expiries, scenario.smiles, strict=True):
        atm_sd = math.sqrt(float(smile.total_variance(0.0)))
        k = np.concatenate([np.linspace(-40, 40, 4001) * atm_sd, np.linspace(-2, 2, 4001)])
        assert smile.density_factor(k).min() >= 0.0
        atm_vol = math.sqrt(float(smile.total_variance(0.0)) / scenario.years(expiry))
        assert 0.08 * 0.9 <= atm_vol <= 0.60 + 1e-12  # sqrt(w/T) rounds
        assert smile.total_variance(-3 * atm_sd) > smile.total_variance(3 * atm_sd)  # puts richer


def test_density_factor_detects_a_known_arbitrage():
    # Axel Vogt's raw SVI (Gatheral and Jacquier 2014, Example 3.1): g < 0 near k = 0.7.
    vogt = SmileParams(a=-0.0410, b=0.1331, rho=0.3060, m=0.3586, sigma=0.4153)
    assert vogt.density_factor(np.linspace(-1.5, 1.5, 301)).min() < 0


def test_call_prices_are_convex_in_strike():
    scenario = random_scenario(np.random.default_rng(3))
    expiry, smile = scenario.expiries[0], scenario.smiles[0]
    t, forward = scenario.years(expiry), scenario.forward(expiry)
    strikes = np.linspace(0.97, 1.03, 2001) * forward
    vol = np.sqrt(smile.total_variance(np.log(strikes / forward)) / t)
    calls = black76_price(forward, strikes, t, vol)
    assert np.diff(calls, 2).min() > -1e-12


def test_ssvi_slice_matches_its_closed_form():
    theta, rho, psi = 4e-5, -0.6, 1.1
    smile = SmileParams.from_ssvi(theta, rho, psi)
    phi = psi / math.sqrt(theta)
    k = np.linspace(-0.05, 0.05, 11)
    expected = 0.5 * theta * (1 + rho * phi * k + np.sqrt((phi * k + rho) ** 2 + 1 - rho * rho))
    np.testing.assert_allclose(smile.total_variance(k), expected, rtol=1e-12)


@settings(max_examples=30, deadline=None)
@given(seed=SEEDS)
def test_timestamp_is_inside_a_regular_session(seed):
    scenario = random_scenario(np.random.default_rng(seed))
    found = session(scenario.timestamp.astimezone(NEW_YORK).date())
    assert found is not None
    assert found.open + timedelta(minutes=5) <= scenario.timestamp
    assert scenario.timestamp <= found.close - timedelta(minutes=5)
    assert scenario.expiries == (found.day,)
    assert 400 <= scenario.spot <= 700


def test_after_the_close_the_first_expiry_is_the_next_session():
    friday_evening = datetime(2024, 6, 7, 17, 0, tzinfo=NEW_YORK)
    scenario = random_scenario(np.random.default_rng(0), timestamp=friday_evening, expiries=2)
    assert [d.isoformat() for d in scenario.expiries] == ["2024-06-10", "2024-06-11"]


def test_scenario_rejects_expired_slices():
    scenario = random_scenario(np.random.default_rng(0))
    with pytest.raises(ValueError, match="settle after"):
        MarketScenario(
            spot=scenario.spot,
            timestamp=scenario.timestamp + timedelta(days=1),
            rate=scenario.rate,
            dividend_yield=scenario.dividend_yield,
            expiries=scenario.expiries,
            smiles=scenario.smiles,
        )


def test_spreads_widen_with_price_and_moneyness():
    widths: dict[str, list[float]] = {"wing": [], "itm": []}
    for seed in range(20):
        scenario, fair, snapshot = _clean(seed)
        for quote in snapshot.quotes:
            sign = 1 if quote.right is Right.CALL else -1
            intrinsic = max(sign * (scenario.spot - quote.strike), 0.0)
            value = fair[(quote.expiry, quote.strike, quote.right)]
            if intrinsic > 3:
                widths["itm"].append(quote.ask - quote.bid)
            elif intrinsic == 0 and value < 0.10:
                widths["wing"].append(quote.ask - quote.bid)
    assert np.median(widths["wing"]) == pytest.approx(0.01)
    assert 0.05 <= np.median(widths["itm"]) <= 0.20


@settings(max_examples=40, deadline=None)
@given(seed=SEEDS, count=st.integers(min_value=1, max_value=8))
def test_injected_quotes_have_the_declared_side_and_edge(seed, count):
    _, fair, clean = _clean(seed)
    moved, injected = inject_mispricings(clean, fair, np.random.default_rng([seed, 1]), count)
    assert len({m.key[:3] for m in injected}) == count
    before = {q.contract_key[:3]: q for q in clean.quotes}
    after = {q.contract_key[:3]: q for q in moved.quotes}
    for mispricing in injected:
        key = mispricing.key[:3]
        old, new = before[key], after.pop(key)
        shift = -mispricing.size if mispricing.side is Side.BUY else mispricing.size
        assert new.bid == pytest.approx(old.bid + shift) and _on_tick(new.bid)
        assert new.ask == pytest.approx(old.ask + shift) and _on_tick(new.ask)
        assert mispricing.fair == fair[key]
        if mispricing.side is Side.BUY:
            assert mispricing.edge == pytest.approx(fair[key] - new.ask)
        else:
            assert mispricing.edge == pytest.approx(new.bid - fair[key])
        assert mispricing.size - (old.ask - old.bid) - 1e-9 <= mispricing.edge
        assert mispricing.edge <= mispricing.size + 1e-9
    assert all(before[key] == quote for key, quote in after.items())


def test_large_moves_that_would_go_negative_are_skipped():
    _, fair, clean = _clean(5)
    moved, injected = inject_mispricings(
        clean, fair, np.random.default_rng(1), count=20, sizes=(0.5,)
    )
    assert all(q.bid >= 0 for q in moved.quotes)
    assert all(m.fair >= 0.5 for m in injected if m.side is Side.BUY)
    with pytest.raises(ValueError, match="could be injected"):
        inject_mispricings(clean, fair, np.random.default_rng(1), count=len(clean.quotes) + 1)
