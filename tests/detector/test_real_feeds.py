"""What real feeds do to the detector: a stale underlying, wide quotes, old and future
quotes, a closed market, closures at short notice."""

from __future__ import annotations

from datetime import date, datetime, timedelta

import numpy as np
import pytest
from hypothesis import given
from hypothesis import strategies as st

from spy_core.market_hours import NEW_YORK, settlement_time
from spy_core.models import AnomalyKind, Severity, Side
from spy_core.synthetic import (
    SpreadRegime,
    fair_values,
    misprice_quote,
    quote_chain,
    random_scenario,
)
from spy_detector import DetectorConfig, StreamingDetector, detect
from spy_detector.liveness import quote_confidence

WHEN = datetime(2025, 3, 12, 11, 0, tzinfo=NEW_YORK)
STATIC = {k for k in AnomalyKind if k is not AnomalyKind.SMILE}


def _chain(seed: int = 5, regime: SpreadRegime = SpreadRegime.THIN, when: datetime = WHEN):
    rng = np.random.default_rng(seed)
    scenario = random_scenario(rng, timestamp=when)
    return scenario, quote_chain(scenario, rng, regime), fair_values(scenario)


@pytest.mark.parametrize("away", [-5.0, -1.5, 1.5, 5.0])
def test_a_stale_spot_is_named_and_floods_nothing(away):
    """The after-hours failure: the stock moved $5 after the options stopped. The quoted spot
    is judged against the parity-implied one, named in a warning, and model-free bounds use
    the implied spot: no intrinsic 'arbitrage' on every in-the-money quote."""
    scenario, snapshot, _ = _chain()
    stale = snapshot.model_copy(update={"spot": snapshot.spot + away})
    analysis = detect(stale)
    (warning,) = [w for w in analysis.warnings if w["kind"] == "stale_underlying"]
    assert warning["quoted"] == pytest.approx(stale.spot)
    assert warning["implied"] == pytest.approx(scenario.spot, abs=0.05)
    assert warning["difference"] == pytest.approx(away, abs=0.05)
    assert [a for a in analysis.anomalies if a.kind in STATIC] == []
    assert detect(snapshot).warnings == []  # the same chain with its own spot: no warning


def test_a_stale_spot_opens_no_streaming_finding():
    _, snapshot, _ = _chain(seed=6)
    stream = StreamingDetector()
    for second in range(3):
        moment = snapshot.timestamp + timedelta(seconds=second)
        update = stream.update(
            snapshot.model_copy(update={"spot": snapshot.spot - 4.0, "timestamp": moment})
        )
        assert update.events == []


def test_score_is_over_fair_value_error_not_quote_width():
    """An in-the-money quote 3% wide whose ask is $0.08 under a parity-pinned fair value is
    found with a high score; its width lowers its confidence, not its score."""
    scenario, snapshot, fair = _chain(seed=7)
    quotes = list(snapshot.quotes)
    deep = max(
        (i for i, q in enumerate(quotes) if q.right.value == "C" and q.strike < scenario.spot - 5),
        key=lambda i: quotes[i].strike,
    )
    quote = quotes[deep]
    moved, _ = misprice_quote(
        quote, fair[(quote.expiry, quote.strike, quote.right)], Side.BUY, 0.08, to_edge=True
    )
    quotes[deep] = moved
    analysis = detect(snapshot.model_copy(update={"quotes": tuple(quotes)}))
    (found,) = [
        a for a in analysis.anomalies if a.strike == quote.strike and a.right == quote.right
    ]
    assert found.side is Side.BUY and found.edge >= 0.075
    assert found.score >= 3
    assert (moved.ask - moved.bid) / moved.ask > 0.015
    assert found.confidence < 1.0


def test_old_and_future_quotes_are_excluded_with_a_reason():
    _, snapshot, _ = _chain(seed=8)
    now = snapshot.timestamp
    quotes = list(snapshot.quotes)
    quotes[0] = quotes[0].model_copy(update={"updated_at": now - timedelta(minutes=5)})
    quotes[1] = quotes[1].model_copy(update={"updated_at": now + timedelta(minutes=1)})
    quotes[2] = quotes[2].model_copy(update={"updated_at": now - timedelta(seconds=2)})
    analysis = detect(snapshot.model_copy(update={"quotes": tuple(quotes)}))
    assert analysis.excluded["quotes older than 15 s"] == 1
    assert analysis.excluded["quotes timestamped after the snapshot"] == 1
    everything = detect(
        snapshot.model_copy(update={"quotes": tuple(quotes)}),
        DetectorConfig(max_quote_age=None, clock_skew=120),
    )
    assert "quotes older than 15 s" not in everything.excluded


def test_streaming_excludes_a_line_that_goes_back_in_time():
    _, snapshot, _ = _chain(seed=9)
    now = snapshot.timestamp
    stream = StreamingDetector()
    first = [q.model_copy(update={"updated_at": now}) for q in snapshot.quotes]
    stream.update(snapshot.model_copy(update={"quotes": tuple(first)}))
    later = now + timedelta(seconds=1)
    replayed = [q.model_copy(update={"updated_at": later}) for q in snapshot.quotes]
    replayed[0] = replayed[0].model_copy(update={"updated_at": now - timedelta(seconds=1)})
    update = stream.update(
        snapshot.model_copy(update={"quotes": tuple(replayed), "timestamp": later})
    )
    assert update.analysis.excluded["quotes older than one already seen"] == 1


def test_after_the_close_findings_are_shown_for_study_only():
    """A snapshot taken after the session: the output says the market is closed, findings
    are labelled not executable and never rated above low; the streaming detector opens
    none of them."""
    scenario, snapshot, fair = _chain(seed=10, when=datetime(2025, 3, 12, 15, 50, tzinfo=NEW_YORK))
    quotes = list(snapshot.quotes)
    index = next(i for i, q in enumerate(quotes) if abs(q.strike - scenario.spot) < 1.5)
    quote = quotes[index]
    quotes[index], _ = misprice_quote(
        quote, fair[(quote.expiry, quote.strike, quote.right)], Side.SELL, 0.30, to_edge=True
    )
    # The same quotes, stamped after the close but before settlement of a later expiry.
    after = snapshot.model_copy(
        update={
            "quotes": tuple(quotes),
            "timestamp": datetime(2025, 3, 12, 15, 59, tzinfo=NEW_YORK),
        }
    )
    open_analysis = detect(after)
    assert open_analysis.market_open and open_analysis.anomalies
    closed = after.model_copy(update={"timestamp": datetime(2025, 3, 12, 9, 0, tzinfo=NEW_YORK)})
    closed_analysis = detect(closed)
    assert not closed_analysis.market_open
    assert {w["kind"] for w in closed_analysis.warnings} == {"market_closed"}
    assert closed_analysis.anomalies
    assert all(not a.executable and a.severity is Severity.LOW for a in closed_analysis.anomalies)
    assert StreamingDetector().update(closed).events == []


def test_an_expiry_on_a_closure_at_short_notice_settles_the_session_before():
    """2025-01-09 (national day of mourning): the exchange did not open; options listed for
    that day were priced, and expired, with the session of 2025-01-08."""
    assert settlement_time(date(2025, 1, 9)) == datetime(2025, 1, 8, 16, 0, tzinfo=NEW_YORK)
    assert settlement_time(date(2024, 12, 25)) == datetime(2024, 12, 24, 13, 0, tzinfo=NEW_YORK)


@given(
    bid=st.floats(0.01, 50.0),
    width=st.floats(0.0, 5.0),
    wider=st.floats(0.01, 5.0),
    size=st.one_of(st.none(), st.integers(0, 10_000)),
    age=st.floats(0.0, 600.0),
)
def test_confidence_is_a_probability_that_falls_with_width_and_age(bid, width, wider, size, age):
    ask = round(bid + width, 2)
    base = quote_confidence(bid, ask, 0.01, size, age, 15.0)
    assert 0.0 <= base <= 1.0
    assert quote_confidence(bid, ask + wider, 0.01, size, age, 15.0) <= base
    assert quote_confidence(bid, ask, 0.01, size, age + 1.0, 15.0) <= base
    assert quote_confidence(bid, bid + 0.01, 0.01, 10_000, 0.0, 15.0) > 0.99


def test_a_european_chain_sets_its_own_rate():
    """The slope of call − put across strikes is −DF: a long-dated index expiry determines
    its discounting better than the default rate's guess, and the detector uses it."""
    import dataclasses
    import math

    from spy_detector.slices import split_expiries

    rng = np.random.default_rng(21)
    scenario = random_scenario(rng, timestamp=WHEN, expiries=40)
    scenario = dataclasses.replace(
        scenario, underlying="SPX", rate=0.05, spot=4500.0, strike_step=25.0, dividend_yield=0.015
    )
    snapshot = quote_chain(scenario, rng).model_copy(update={"rate": None})
    slices, _ = split_expiries(snapshot, 0.04, (0.0025, 0.015))
    last = slices[-1]
    implied = -math.log(last.discount) / last.t
    implied_sd = last.discount_error / last.t
    assert implied_sd < 0.015
    assert abs(implied - 0.05) < 4 * implied_sd + 1e-4
    assert -math.log(slices[0].discount) / slices[0].t == pytest.approx(0.04)  # 0DTE: default
