"""The detector end to end on synthetic chains, constructed arbitrage and the real chains."""

from __future__ import annotations

from datetime import timedelta

import pytest

from bench.evaluate_detector import make_chain
from spy_core.chain_io import load_chain
from spy_core.models import AnomalyKind, Right, Side
from spy_core.synthetic import sample_chain
from spy_detector import DetectorConfig, detect

from .chains import NOW, flat_chain

STATIC_KINDS = {k for k in AnomalyKind if k is not AnomalyKind.SMILE}


def flags(snapshot, **config):
    return {
        (a.strike, a.right, a.side): a for a in detect(snapshot, DetectorConfig(**config)).anomalies
    }


def test_clean_constructed_chain_has_no_flags():
    assert flags(flat_chain()) == {}


@pytest.mark.parametrize("index", range(12))
def test_clean_synthetic_chains_give_no_flags(index):
    snapshot, injected, _ = make_chain(seed=11, index=index, chains=12)
    assert injected == []
    assert detect(snapshot).anomalies == []


@pytest.mark.parametrize("index", range(12, 24))
def test_injected_mispricings_with_real_edge_are_found_on_the_right_side(index):
    snapshot, injected, _ = make_chain(seed=11, index=index, chains=12)
    found = {(a.strike, a.right, a.side) for a in detect(snapshot).anomalies}
    for planted in injected:
        if planted.edge >= 0.12:  # well clear of the spread: must be caught
            assert (planted.strike, planted.right, planted.side) in found, planted


def test_smile_flags_name_side_edge_and_fair():
    chain = flat_chain()
    put = next(q for q in chain.quotes if q.strike == 589.0 and q.right is Right.PUT)
    cheap = flat_chain(overrides={(589.0, Right.PUT): (put.bid - 0.15, put.ask - 0.15)})
    rich = flat_chain(overrides={(589.0, Right.PUT): (put.bid + 0.15, put.ask + 0.15)})
    buy = flags(cheap)[(589.0, Right.PUT, Side.BUY)]
    sell = flags(rich)[(589.0, Right.PUT, Side.SELL)]
    # A $0.15 move also breaks static bounds against the neighbours, which take precedence
    # (model-free); a smile finding carries its edge against the smile's fair value.
    if buy.kind is AnomalyKind.SMILE:
        assert buy.edge == pytest.approx(buy.fair - buy.ask)
    if sell.kind is AnomalyKind.SMILE:
        assert sell.edge == pytest.approx(sell.bid - sell.fair)
    assert buy.fair > buy.ask and sell.bid > sell.fair
    assert buy.edge >= 0.03 and sell.edge >= 0.03
    assert buy.score >= 3 and sell.score >= 3


def test_monotonicity_violation_is_flagged_as_static_arbitrage():
    chain = flat_chain()
    lower = next(q for q in chain.quotes if q.strike == 592.0 and q.right is Right.CALL)
    crossed = flat_chain(overrides={(593.0, Right.CALL): (lower.ask + 0.20, lower.ask + 0.22)})
    anomaly = flags(crossed)[(593.0, Right.CALL, Side.SELL)]
    assert anomaly.kind in {AnomalyKind.MONOTONICITY, AnomalyKind.BUTTERFLY}
    assert anomaly.edge >= 0.15


def test_butterfly_violation_is_flagged():
    chain = flat_chain()
    quotes = {(q.strike, q.right): q for q in chain.quotes}
    left, right = quotes[(590.0, Right.CALL)], quotes[(592.0, Right.CALL)]
    cap = 0.5 * (left.ask + right.ask)
    bent = flat_chain(overrides={(591.0, Right.CALL): (cap + 0.05, cap + 0.07)})
    anomaly = flags(bent)[(591.0, Right.CALL, Side.SELL)]
    assert anomaly.kind is AnomalyKind.BUTTERFLY


def test_ask_below_intrinsic_is_flagged_on_american_underlying():
    cheap = flat_chain(overrides={(580.0, Right.CALL): (9.70, 9.75)})  # S − K = 10
    anomaly = flags(cheap)[(580.0, Right.CALL, Side.BUY)]
    # The same quote also breaks the 579/580 vertical; one anomaly per quote and side.
    assert anomaly.kind in {AnomalyKind.INTRINSIC, AnomalyKind.VERTICAL}
    assert anomaly.edge > 0.2


def test_expired_expiries_are_excluded_and_counted():
    chain = flat_chain()
    late = chain.model_copy(update={"timestamp": NOW + timedelta(hours=6)})
    analysis = detect(late)
    assert analysis.anomalies == [] and analysis.expiries == []
    assert analysis.excluded == {"expired expiries": 1, "quotes in expired expiries": 62}


def test_gamma_exposure_is_reported_under_the_configured_convention():
    gex = detect(flat_chain(), DetectorConfig(dealer_convention="short_both")).gex
    assert gex is not None and gex.total < 0
    assert gex.convention == "short_both"
    assert 585 <= gex.call_wall <= 595


def test_real_spy_chain_has_no_static_arbitrage_and_only_named_smile_flags(real_chain_path):
    """Zero static-arbitrage flags on bid/ask, and at most one smile flag, named here:
    - 2023-09-15 452P sell (4.5 cents, score ≈ 3, at the threshold): the 1DTE expiry straddles SPY's
      ex-dividend date (2023-09-15, $1.58), so its near-money in-the-money-by-spot put
      carries early-exercise value the European smile does not see, beyond the bound the
      detector allows for it.
    """
    analysis = detect(load_chain(real_chain_path("cboe_spy_2023-09-14_1631ET.csv")).snapshot)
    assert [a for a in analysis.anomalies if a.kind in STATIC_KINDS] == []
    found = {
        (a.expiry.isoformat(), a.strike, a.right.value, a.side.value) for a in analysis.anomalies
    }
    assert found <= {("2023-09-15", 452.0, "P", "sell")}
    assert all(a.edge < 0.10 for a in analysis.anomalies)
    assert analysis.excluded["expired expiries"] == 1


@pytest.mark.parametrize("seed", [1, 2, 3])
def test_a_thinned_real_spy_chain_in_session_gets_no_high_severity_flag(real_chain_path, seed):
    """The real SPY file as a thin market shows it: at 14:00 (in session, so findings are
    executable) with half its quotes dropped at random, many strikes keep one leg only and
    the pairs left for parity sit far from the money, where the day before the ex-dividend
    date deep calls are exercised early. Before the American forward kept to near-the-money
    pairs and to what far pairs bracket, seed 1 flagged 39 deep puts high."""
    import random

    snapshot = load_chain(real_chain_path("cboe_spy_2023-09-14_1631ET.csv")).snapshot
    rng = random.Random(seed)
    thinned = snapshot.model_copy(
        update={
            "timestamp": snapshot.timestamp.replace(hour=14, minute=0),
            "quotes": tuple(q for q in snapshot.quotes if rng.random() < 0.5),
        }
    )
    analysis = detect(thinned)
    assert analysis.market_open
    assert [a for a in analysis.anomalies if a.severity.value == "high"] == []
    assert len(analysis.anomalies) <= 3


def test_real_spx_chain_has_no_flags(real_chain_path):
    """Strikes from 200 to 6,000 around 4,500: a smile in uniform log-moneyness knots cannot
    follow the short expiries' at-the-money curvature (hundreds of false flags before the
    stretched second fit); the consensus of the two fits flags nothing."""
    analysis = detect(load_chain(real_chain_path("cboe_spx_2023-09-14_1631ET.csv")).snapshot)
    assert analysis.anomalies == []


def test_one_tick_bounds_follow_the_class_tick_size():
    """A $0.05 bid is a live two-sided quote for SPY (penny ticks) but only the minimum
    increment of an SPXW option, where it says no more than 'worth at most the ask'."""
    spy = flat_chain()
    spxw = spy.model_copy(
        update={
            "underlying": "SPX",
            "quotes": tuple(q.model_copy(update={"root": "SPXW"}) for q in spy.quotes),
        }
    )
    low_bids = sum(1 for q in spy.quotes if 0.01 < q.bid <= 0.05)
    assert low_bids > 0  # the premise: some quotes bid between one penny and one nickel
    [spy_report] = detect(spy).expiries
    [spxw_report] = detect(spxw).expiries
    assert spxw_report.bound_only > spy_report.bound_only
    assert spxw_report.fitted < spy_report.fitted
    assert detect(spxw, DetectorConfig(tick=0.01)).expiries[0].bound_only == spy_report.bound_only


def test_a_mispriced_one_tick_offer_is_reported_not_used_as_a_cap():
    """A one-tick bid only bounds the smile from above (at its ask). When such an offer sits
    far below its neighbours' smile, it is the mispricing: reported as a buy, and the smile is
    not dragged down onto it (which would flag its honest neighbours as sells)."""
    clean, _ = sample_chain(seed=7, mispricings=0)
    assert detect(clean).anomalies == []
    quotes = [
        q.model_copy(update={"bid": 0.01, "ask": 0.20})
        if (q.strike, q.right) == (666.0, Right.CALL)  # fair ≈ 0.40
        else q
        for q in clean.quotes
    ]
    found = flags(clean.model_copy(update={"quotes": tuple(quotes)}))
    assert (666.0, Right.CALL, Side.BUY) in found
    assert [key for key in found if key[2] is Side.SELL] == []


def test_mispricings_on_the_services_sparse_band_are_attributed_to_the_mispriced_quote():
    """The market-data service watches today's strikes within ±1% of spot: about eight
    two-sided quotes. A $0.30 move of one of the eight nearest contracts must be reported on
    that contract and side, not on the honest neighbour sharing its butterfly (which a
    near-interpolating smile once made look further off: 3 of 300 before GCV smoothing)."""
    from datetime import UTC, datetime

    from spy_gateway_sim.market import MarketConfig, MarketModel

    start = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)
    market = MarketModel(MarketConfig(seed=7, mispricing_rate=0.0), start)
    now, wrong = start + timedelta(minutes=5), []
    for i in range(150):
        market.advance_to(now)
        now += timedelta(seconds=6)
        quotes = market.view().snapshot.quotes
        spot = market.view().snapshot.spot
        today = min(q.expiry for q in quotes)
        nearest = sorted(
            (q for q in quotes if q.expiry == today),
            key=lambda q: (abs(q.strike - spot), q.strike, q.right.value),
        )[:8]
        target = nearest[i % 8]
        side = Side.BUY if i % 2 and target.bid >= 0.5 else Side.SELL
        key = (target.expiry, target.strike, target.right)
        market.inject(key, side, 0.30, lifetime=4.0)
        full = market.view().snapshot
        band = full.model_copy(
            update={
                "quotes": tuple(
                    q for q in full.quotes if q.expiry == today and abs(q.strike / spot - 1) <= 0.01
                )
            }
        )
        found = {(a.expiry, a.strike, a.right, a.side) for a in detect(band).anomalies}
        if (*key, side) not in found:
            wrong.append((i, key, side, found))
    assert wrong == []
