"""The streaming detector: announce once, hold through noise near the threshold, clear."""

from __future__ import annotations

from datetime import timedelta

import pytest

from spy_core.models import AnomalyEventType, OptionQuote, Right, Severity, Side
from spy_detector import DetectorConfig, StreamingDetector, StreamSettings, detect

from .chains import NOW, flat_chain

STRIKE, RIGHT = 596.0, Right.CALL  # out of the money, a few dollars from spot 590


def snapshot_at(second: int, shift: float = 0.0, drop: bool = False):
    """The constructed chain `second` seconds after NOW, with the 596 call's bid and ask
    raised by `shift` (a sell mispricing) or the quote removed."""
    base = flat_chain()
    quotes = []
    for quote in base.quotes:
        if (quote.strike, quote.right) == (STRIKE, RIGHT):
            if drop:
                continue
            moved = {"bid": quote.bid + shift, "ask": quote.ask + shift}
            quotes.append(OptionQuote(**(quote.model_dump() | moved)))
        else:
            quotes.append(quote)
    return base.model_copy(
        update={"timestamp": NOW + timedelta(seconds=second), "quotes": tuple(quotes)}
    )


def finding(snapshot, config: DetectorConfig):
    """What the plain detector reports for the 596 call's sell side, or None."""
    for anomaly in detect(snapshot, config).anomalies:
        if (anomaly.strike, anomaly.right, anomaly.side) == (STRIKE, RIGHT, Side.SELL):
            return anomaly
    return None


HALF_BAR = DetectorConfig(min_edge=0.015, min_score=1.5)  # the default clear_ratio of 0.5


def run(detector: StreamingDetector, snapshots):
    return [[(e.event, e.reason) for e in detector.update(s).events] for s in snapshots]


def test_announced_once_then_cleared_when_it_is_gone():
    detector = StreamingDetector()
    events = run(detector, [snapshot_at(i, 0.20) for i in range(5)] + [snapshot_at(5)])
    assert events[0] == [(AnomalyEventType.OPENED, "")]
    assert events[1:5] == [[]] * 4
    assert events[5] == [(AnomalyEventType.CLEARED, "no longer mispriced")]
    assert detector.open_anomalies == []


def test_a_quote_hovering_at_the_threshold_is_not_re_announced():
    config = DetectorConfig()
    above, below = snapshot_at(0, 0.05), snapshot_at(1, 0.03)
    # The premise: one shift is over the announcing bar, the other under it but over half.
    assert finding(above, config) is not None
    assert finding(below, config) is None and finding(below, HALF_BAR) is not None
    detector = StreamingDetector(config)
    shifts = [0.05, 0.03] * 5
    events = run(detector, [snapshot_at(i, s) for i, s in enumerate(shifts)])
    flat = [event for step in events for event in step]
    assert flat == [(AnomalyEventType.OPENED, "")]
    assert len(detector.open_anomalies) == 1


def test_below_the_bar_is_never_announced():
    config = DetectorConfig()
    assert finding(snapshot_at(0, 0.03), config) is None
    assert finding(snapshot_at(0, 0.03), HALF_BAR) is not None
    detector = StreamingDetector(config)
    assert run(detector, [snapshot_at(i, 0.03) for i in range(3)]) == [[], [], []]


def test_escalation_is_reported_and_the_id_stays():
    detector = StreamingDetector()
    first = detector.update(snapshot_at(0, 0.05)).events
    second = detector.update(snapshot_at(1, 0.40)).events
    assert [e.event for e in first] == [AnomalyEventType.OPENED]
    assert [e.event for e in second] == [AnomalyEventType.ESCALATED]
    assert first[0].id == second[0].id
    assert (first[0].anomaly.severity, second[0].anomaly.severity) == (
        Severity.LOW,
        Severity.HIGH,
    )
    assert second[0].peak_edge == pytest.approx(second[0].anomaly.edge)


def test_a_missing_quote_clears_only_after_the_configured_number_of_snapshots():
    detector = StreamingDetector(settings=StreamSettings(missing_snapshots=3))
    steps = [snapshot_at(0, 0.20)] + [snapshot_at(i, drop=True) for i in range(1, 4)]
    events = run(detector, steps)
    assert events == [
        [(AnomalyEventType.OPENED, "")],
        [],
        [],
        [(AnomalyEventType.CLEARED, "quote missing")],
    ]


def test_a_quote_that_comes_back_before_the_limit_stays_open():
    detector = StreamingDetector(settings=StreamSettings(missing_snapshots=3))
    steps = [snapshot_at(0, 0.20), snapshot_at(1, drop=True), snapshot_at(2, 0.20)]
    assert run(detector, steps) == [[(AnomalyEventType.OPENED, "")], [], []]


def test_confirmation_delays_the_announcement():
    detector = StreamingDetector(settings=StreamSettings(confirm_snapshots=2))
    steps = [snapshot_at(0, 0.20), snapshot_at(1), snapshot_at(2, 0.20), snapshot_at(3, 0.20)]
    assert run(detector, steps) == [[], [], [], [(AnomalyEventType.OPENED, "")]]


def test_out_of_order_snapshots_are_skipped_without_events():
    detector = StreamingDetector()
    detector.update(snapshot_at(5, 0.20))
    update = detector.update(snapshot_at(4))
    assert update.analysis is None and update.events == []
    assert "not after the last one" in update.skipped
    assert len(detector.open_anomalies) == 1


def test_expiry_and_new_session_clear_open_anomalies():
    detector = StreamingDetector()
    detector.update(snapshot_at(0, 0.20))
    after_close = snapshot_at(int(timedelta(hours=5, minutes=1).total_seconds()), 0.20)
    assert run(detector, [after_close]) == [[(AnomalyEventType.CLEARED, "expired")]]
    detector = StreamingDetector()
    detector.update(snapshot_at(0, 0.20))
    next_day = snapshot_at(int(timedelta(days=1).total_seconds()), 0.20)
    reasons = [(e.event, e.reason) for e in detector.update(next_day).events]
    assert reasons == [(AnomalyEventType.CLEARED, "new session")]


def test_replaying_the_same_snapshots_gives_the_same_events():
    steps = [snapshot_at(i, s) for i, s in enumerate([0.2, 0.2, 0.0, 0.3, 0.3, 0.0])]
    runs = []
    for _ in range(2):
        detector = StreamingDetector()
        runs.append([e.model_dump() for s in steps for e in detector.update(s).events])
    assert runs[0] == runs[1]
    assert len({e["id"] for e in runs[0]}) == 2  # two separate lives of the same quote


def test_update_lists_only_open_anomalies():
    update = StreamingDetector().update(snapshot_at(0, 0.03))
    assert update.analysis is not None and update.analysis.anomalies == []


def test_a_severity_that_wavers_is_escalated_once():
    """Medium, low, medium, low…: one escalation when it first reaches medium, not one on
    every rise (the desk's feed showed the same finding escalated every few seconds)."""
    detector = StreamingDetector()
    shifts = [0.05, 0.07] + [0.05, 0.07] * 4
    events = run(detector, [snapshot_at(i, s) for i, s in enumerate(shifts)])
    flat = [event for step in events for event, _ in step]
    assert [e for e in flat if e is AnomalyEventType.OPENED] == [AnomalyEventType.OPENED]
    assert [e for e in flat if e is AnomalyEventType.ESCALATED] == [AnomalyEventType.ESCALATED]
