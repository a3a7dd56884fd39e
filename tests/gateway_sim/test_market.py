"""The market model and the simulated clock, without sockets."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from spy_core.models import AnomalyEventType, Right, Side
from spy_detector import StreamingDetector, detect
from spy_gateway_sim.clock import SessionClock
from spy_gateway_sim.market import MarketConfig, MarketModel

from .conftest import START


def model(seed: int = 7, **config) -> MarketModel:
    return MarketModel(MarketConfig(seed=seed, **config), START)


def atm_key(market: MarketModel, right: Right = Right.CALL):
    expiry = market.expiries[0]
    strike = min(market.strikes(expiry), key=lambda k: abs(k - market.view().spot))
    return (expiry, strike, right)


def test_same_seed_same_path_and_quotes_whatever_the_cadence():
    one, other = model(), model()
    for minutes in (1, 7, 30):
        one.advance_to(START + timedelta(minutes=minutes))
    other.advance_to(START + timedelta(minutes=30))
    assert one.view().snapshot == other.view().snapshot
    assert one.view().spot == other.view().spot
    different = model(seed=8)
    different.advance_to(START + timedelta(minutes=30))
    assert different.view().snapshot != one.view().snapshot


def test_quotes_are_on_the_tick_contain_fair_and_volume_only_grows():
    market = model(mispricing_rate=0.0)
    previous = {}
    for minutes in (5, 60, 200):
        market.advance_to(START + timedelta(minutes=minutes))
        view = market.view()
        for key, quote in view.quotes.items():
            assert round(quote.bid, 2) == quote.bid and round(quote.ask, 2) == quote.ask
            assert quote.bid <= view.fair[key] <= quote.ask
            assert quote.volume >= previous.get(key, 0)
            previous[key] = quote.volume
    assert sum(previous.values()) > 0


@pytest.mark.parametrize("seed", range(8))
def test_clean_chains_have_no_anomalies(seed):
    """Seed 6 at +2 h once gave six smile flags: a 1DTE smile too sharp at the money for
    knots uniform in log-moneyness (the detector now also fits a stretched coordinate)."""
    market = model(seed=seed, mispricing_rate=0.0)
    for hours in (0.1, 2.0, 5.0):
        market.advance_to(START + timedelta(hours=hours))
        assert list(detect(market.view().snapshot).anomalies) == []


def test_injected_mispricing_lives_from_the_clock_when_the_model_lags():
    """A slow step leaves the model behind the clock; the next `advance_to` catches up
    several steps at once. A 4 s mispricing injected then must still be shown: its lifetime
    counts from the clock's now (before, from the lagging model time, it could expire
    within the catch-up and never reach a client)."""
    market = model(seed=7, mispricing_rate=0.0)
    market.advance_to(START + timedelta(minutes=5))
    key = atm_key(market)
    clock = START + timedelta(minutes=5, seconds=5)  # the model is 5 simulated seconds behind
    market.inject(key, Side.SELL, 0.30, lifetime=4.0, now=clock)
    market.advance_to(clock)
    assert [(m.strike, m.side) for m in market.live_mispricings()] == [(key[1], Side.SELL)]
    market.advance_to(clock + timedelta(seconds=4))
    assert market.live_mispricings() == ()
    lagging = model(seed=7, mispricing_rate=0.0)  # without `now`: from the model's time
    lagging.advance_to(START + timedelta(minutes=5))
    lagging.inject(key, Side.SELL, 0.30, lifetime=4.0)
    lagging.advance_to(clock)
    assert lagging.live_mispricings() == ()


def test_injected_mispricing_is_recorded_and_flagged():
    market = model(seed=1, mispricing_rate=0.0)
    market.advance_to(START + timedelta(hours=1))
    key = atm_key(market, Right.PUT)
    market.inject(key, Side.BUY, 0.40, lifetime=300)
    [live] = market.live_mispricings()
    assert (live.expiry, live.strike, live.right, live.side) == (*key, Side.BUY)
    assert live.edge > 0.1
    found = {
        (a.expiry, a.strike, a.right, a.side) for a in detect(market.view().snapshot).anomalies
    }
    assert (*key, Side.BUY) in found
    market.advance_to(START + timedelta(hours=1, minutes=6))
    assert market.live_mispricings() == ()


def test_mispricings_arrive_at_the_configured_rate_near_the_money():
    market = model(mispricing_rate=2.0, mispricing_lifetime=60.0)
    seen = set()
    for minutes in range(1, 31):
        market.advance_to(START + timedelta(minutes=minutes))
        view = market.view()
        for record in view.injected:
            assert abs(record.strike - view.spot) < 0.03 * view.spot
            assert record.expiry in market.expiries[:2]
            seen.add((record.expiry, record.strike, record.right, record.side))
    assert 20 <= len(seen) <= 100  # ~60 expected in 30 minutes at 2 per minute


def test_the_day_rolls_to_the_next_session_with_new_expiries():
    market = model()
    first = market.expiries
    market.advance_to(START + timedelta(days=1, hours=1))
    assert market.expiries[0] == first[1]
    assert market.time.date() == first[1]


def test_session_clock_plays_the_day_and_skips_the_night():
    wall = [0.0]
    clock = SessionClock(START, speed=60.0, monotonic=lambda: wall[0])
    assert clock.now() == START
    wall[0] = 60.0
    assert clock.now() == START + timedelta(hours=1)
    wall[0] = 7 * 60.0  # 7 trading hours: the 6.5-hour session is over
    assert clock.now() == datetime(2025, 10, 31, 14, 0, tzinfo=UTC)  # Friday 10:00 ET
    with pytest.raises(ValueError, match="not inside a trading session"):
        SessionClock(datetime(2025, 11, 1, 15, 0, tzinfo=UTC))


def test_near_money_mispricings_are_flagged_at_first_sight_on_the_right_leg():
    """A $0.30 move of one of the eight contracts nearest the money, every 6 simulated
    seconds for 10 minutes: the very snapshot that carries it flags that contract and side
    (not a neighbour that a static violation also involves)."""
    market = model(seed=7, mispricing_rate=0.0)
    now = START + timedelta(minutes=5)
    missed = []
    for i in range(100):
        market.advance_to(now)
        snapshot = market.view().snapshot
        today = min(q.expiry for q in snapshot.quotes)
        near = sorted(
            {(q.expiry, q.strike, q.right) for q in snapshot.quotes if q.expiry == today},
            key=lambda k: (abs(k[1] - snapshot.spot), k[1], k[2].value),
        )[:8]
        key = near[i % 8]
        bid = next(q.bid for q in snapshot.quotes if (q.expiry, q.strike, q.right) == key)
        side = Side.BUY if i % 2 and bid >= 0.5 else Side.SELL
        market.inject(key, side, 0.30, lifetime=4.0)
        flags = detect(market.view().snapshot).anomalies
        if (*key, side) not in {(a.expiry, a.strike, a.right, a.side) for a in flags}:
            missed.append((i, key, side))
        now += timedelta(seconds=6)
    assert missed == []


def test_streaming_detector_announces_near_money_mispricings_on_the_service_band():
    """What the market-data service feeds it: today's expiry within ±1% of spot, snapshot by
    snapshot. A $0.30 move must be announced (opened, or escalated when a small finding on
    the same quote was already open) in the snapshot that carries it. Before a small static
    bound stopped masking the larger smile edge at the streaming detector's lower keep-bars,
    ~10% of these went unannounced."""
    market = model(seed=7, mispricing_rate=0.0)
    detector = StreamingDetector()
    now = START + timedelta(minutes=5)
    missed = 0
    for i in range(150):
        market.advance_to(now)
        snapshot = market.view().snapshot
        today = min(q.expiry for q in snapshot.quotes)
        spot = snapshot.spot

        detector.update(_band(snapshot, today, spot))
        near = sorted(
            {(q.expiry, q.strike, q.right) for q in snapshot.quotes if q.expiry == today},
            key=lambda k: (abs(k[1] - spot), k[1], k[2].value),
        )[:8]
        key = near[i % 8]
        bid = next(q.bid for q in snapshot.quotes if (q.expiry, q.strike, q.right) == key)
        side = Side.BUY if i % 2 and bid >= 0.5 else Side.SELL
        market.inject(key, side, 0.30, lifetime=4.0)
        market.advance_to(now + timedelta(seconds=1))
        events = detector.update(_band(market.view().snapshot, today, spot)).events
        announced = {
            (e.anomaly.expiry, e.anomaly.strike, e.anomaly.right, e.anomaly.side)
            for e in events
            if e.event in (AnomalyEventType.OPENED, AnomalyEventType.ESCALATED)
        }
        still_open = {(a.expiry, a.strike, a.right, a.side) for a in detector.open_anomalies}
        if (*key, side) not in announced and (*key, side) not in still_open:
            missed += 1
        now += timedelta(seconds=6)
    assert missed <= 4  # 150 injections; the rest is the sparse-chain attribution case


def _band(chain, expiry, spot, width=0.01):
    """The chain as the market-data service subscribes it: one expiry, strikes within ±1%."""
    inside = (q for q in chain.quotes if q.expiry == expiry and abs(q.strike / spot - 1) <= width)
    return chain.model_copy(update={"quotes": tuple(inside)})
