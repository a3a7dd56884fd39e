"""Chains the generator produced that the detector once got wrong, replayed: each pins one
piece of evidence a fair value now uses (see fair_value.py). `make_chain(seed, i, 200, regime)`
regenerates chain i exactly; the figures in the docstrings are from before the change."""

from __future__ import annotations

import pytest

from bench.evaluate_detector import REGIMES, make_chain
from spy_core.models import AnomalyKind, Right, Side
from spy_detector import DetectorConfig, detect
from spy_detector.detector import _current_quotes, fair_value_error
from spy_detector.fair_value import fair_values
from spy_detector.slices import split_expiries


def _found(regime: str, seed: int, index: int):
    snapshot, injected, _ = make_chain(seed, index, 200, REGIMES[regime])
    analysis = detect(snapshot)
    flags = {(a.strike, a.right, a.side): a for a in analysis.anomalies}
    return analysis, injected, flags


def test_a_sharp_short_dated_smile_quoted_one_tick_wide_gives_no_false_flags():
    """Thin seed 3 chain 44 (clean, 200 minutes, ATM vol 0.40 falling to 0.32 within four
    strikes): the spline through the out-of-the-money quotes alone could not follow the
    curvature and put eleven flags on it, fair values up to $0.16 above quotes one cent wide.
    The in-the-money quotes of the same strikes pin each vol by parity."""
    _, injected, flags = _found("thin", 3, 44)
    assert injected == []
    assert flags == {}


def test_a_neighbour_in_arbitrage_with_a_quote_does_not_hide_its_finding():
    """Thin seed 3 chain 211: the 573 and 574 puts were both bid up; each one's floor (the
    highest bid of the cheaper puts) came from the other, so neither was found."""
    _, injected, flags = _found("thin", 3, 211)
    for planted in injected:
        if planted.edge >= 0.08:
            assert (planted.strike, planted.right, planted.side) in flags, planted


def test_one_mispriced_leg_near_expiry_neither_moves_the_forward_nor_fakes_a_stale_spot():
    """Thin seed 3 chain 358 (7 minutes left): three strikes were bid on both sides and one
    of them held a put bid up $0.50; the parity forward followed it, the spot was judged
    stale, and eleven in-the-money quotes were flagged against the wrong forward. Unbid wings
    against quoted partners now vote too."""
    analysis, injected, flags = _found("thin", 3, 358)
    assert analysis.warnings == []
    planted = {(m.strike, m.right, m.side) for m in injected}
    assert (652.0, Right.PUT, Side.SELL) in planted & set(flags)
    assert not [key for key in flags if key not in planted]


def test_without_a_smile_parity_prices_in_the_money_quotes():
    """Thin seed 3 chain 331 (5 minutes left, too few two-sided out-of-the-money quotes
    for a smile): the 514 put offered $0.20 under its value had no fair value at all."""
    analysis, _, flags = _found("thin", 3, 331)
    assert analysis.expiries[0].atm_vol is None  # no smile: parity alone
    found = flags.get((514.0, Right.PUT, Side.BUY))
    assert found is not None and found.edge >= 0.15
    assert found.kind in (AnomalyKind.SMILE, AnomalyKind.INTRINSIC)


@pytest.mark.parametrize(("seed", "index"), [(3, 44), (3, 320), (1, 211)])
def test_the_error_a_finding_is_scored_in_covers_the_fit_missing_a_clean_quote(seed, index):
    """Across these chains' clean quotes, a fair value off the truth by more than three of
    its own standard errors is rare: the score's denominator is not optimistic."""
    snapshot, injected, truth = make_chain(seed, index, 200, REGIMES["thin"])
    moved = {(m.expiry, m.strike, m.right) for m in injected}
    # The per-quote values the detector judges, from the same pieces `detect` uses.
    config = DetectorConfig()
    current, _ = _current_quotes(snapshot, config)
    (chain,) = split_expiries(current, config.default_rate)[0]
    values = fair_values(chain, config)
    z = []
    for i, quote in enumerate(chain.quotes):
        key = (quote.expiry, quote.strike, quote.right)
        if key in moved or quote.bid <= 0:
            continue
        z.append(abs(values.fair[i] - truth[key]) / fair_value_error(chain, values, i))
    assert len(z) > 30
    assert sum(v > 3 for v in z) <= 0.02 * len(z)
