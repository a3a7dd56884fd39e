"""Streaming detection: state across snapshots, so each mispricing is announced once, escalated
when it grows, and reported when it clears.

Findings are keyed by contract and side (not by kind: a quote that moves from a smile
mispricing to a static-arbitrage violation is the same opportunity). Announcing uses the
detector's thresholds; staying open needs only `clear_ratio` of them (hysteresis).
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from datetime import date, datetime

from spy_core.forward import settlement_of_root
from spy_core.market_hours import NEW_YORK, time_to_expiry
from spy_core.models import (
    Anomaly,
    AnomalyEvent,
    AnomalyEventType,
    ChainSnapshot,
    Right,
    Severity,
    Side,
)

from .config import DetectorConfig, StreamSettings
from .detector import ChainAnalysis, detect, ranked, reportable

TrackKey = tuple[date, float, Right, str | None, Side]
_SEVERITY_RANK = {Severity.LOW: 0, Severity.MEDIUM: 1, Severity.HIGH: 2}


@dataclass(frozen=True, slots=True)
class StreamUpdate:
    """What one snapshot changed. `analysis.anomalies` lists the open anomalies only."""

    analysis: ChainAnalysis | None  # None when the snapshot was out of order and skipped
    events: list[AnomalyEvent]
    skipped: str = ""  # why the snapshot was not analysed


@dataclass(slots=True)
class _Open:
    id: str
    first_seen: datetime
    anomaly: Anomaly
    peak_edge: float
    # The highest severity announced: a finding whose severity wavers between two levels is
    # escalated once, when it first reaches the higher one, not on every rise.
    peak_severity: int = 0
    missing: int = 0


@dataclass(slots=True)
class _Tracker:
    open: dict[TrackKey, _Open] = field(default_factory=dict)
    pending: dict[TrackKey, int] = field(default_factory=dict)
    last_time: datetime | None = None
    session: date | None = None
    # When each line last ticked, as seen so far: a quote stamped earlier is out of order.
    quote_times: dict[tuple, datetime] = field(default_factory=dict)


class StreamingDetector:
    """Feed snapshots in time order with `update`; act on the returned events."""

    def __init__(
        self, config: DetectorConfig | None = None, settings: StreamSettings | None = None
    ) -> None:
        self.config = config or DetectorConfig()
        self.settings = settings or StreamSettings()
        ratio = self.settings.clear_ratio
        self._keep_config = self.config.model_copy(
            update={
                "min_edge": self.config.min_edge * ratio,
                "min_score": self.config.min_score * ratio,
            }
        )
        self._state = _Tracker()

    @property
    def open_anomalies(self) -> list[Anomaly]:
        return ranked(entry.anomaly for entry in self._state.open.values())

    def update(self, snapshot: ChainSnapshot) -> StreamUpdate:
        state = self._state
        if state.last_time is not None and snapshot.timestamp <= state.last_time:
            return StreamUpdate(
                None,
                [],
                f"snapshot at {snapshot.timestamp.isoformat()} is not after the last one "
                f"({state.last_time.isoformat()})",
            )
        state.last_time = snapshot.timestamp
        events = self._new_session(snapshot)
        snapshot, behind = self._in_order(snapshot)
        analysis = detect(snapshot, self._keep_config)
        if behind:
            analysis.excluded["quotes older than one already seen"] = behind
        found = {_track_key(a): a for a in analysis.anomalies}
        events += self._follow_open(snapshot, found)
        events += self._announce_new(snapshot, found)
        return StreamUpdate(dataclasses.replace(analysis, anomalies=self.open_anomalies), events)

    def _in_order(self, snapshot: ChainSnapshot) -> tuple[ChainSnapshot, int]:
        """Drop quotes stamped before the same line's last quote (a feed replaying an old
        update), remembering the newest stamp of each line."""
        seen = self._state.quote_times
        kept, behind = [], 0
        for quote in snapshot.quotes:
            stamp, key = quote.updated_at, quote.contract_key
            if stamp is not None and key in seen and stamp < seen[key]:
                behind += 1
                continue
            if stamp is not None:
                seen[key] = stamp
            kept.append(quote)
        if not behind:
            return snapshot, 0
        return snapshot.model_copy(update={"quotes": tuple(kept)}), behind

    def _new_session(self, snapshot: ChainSnapshot) -> list[AnomalyEvent]:
        """A new trading day starts clean: yesterday's findings are history."""
        session = snapshot.timestamp.astimezone(NEW_YORK).date()
        previous, self._state.session = self._state.session, session
        if previous is None or previous == session:
            return []
        events = [self._cleared(key, snapshot, "new session") for key in list(self._state.open)]
        self._state.pending.clear()
        self._state.quote_times.clear()
        return events

    def _follow_open(
        self, snapshot: ChainSnapshot, found: dict[TrackKey, Anomaly]
    ) -> list[AnomalyEvent]:
        present = {quote.contract_key for quote in snapshot.quotes}
        events: list[AnomalyEvent] = []
        for key, entry in list(self._state.open.items()):
            expiry, strike, right, root, _side = key
            if time_to_expiry(snapshot.timestamp, expiry, settlement_of_root(root)) <= 0:
                events.append(self._cleared(key, snapshot, "expired"))
            elif key in found:
                events += self._observe(key, entry, found[key], snapshot)
            elif (expiry, strike, right, root) in present:
                events.append(self._cleared(key, snapshot, "no longer mispriced"))
            else:
                entry.missing += 1
                if entry.missing >= self.settings.missing_snapshots:
                    events.append(self._cleared(key, snapshot, "quote missing"))
        return events

    def _observe(
        self, key: TrackKey, entry: _Open, anomaly: Anomaly, snapshot: ChainSnapshot
    ) -> list[AnomalyEvent]:
        rank = _SEVERITY_RANK[anomaly.severity]
        escalated = rank > entry.peak_severity
        entry.anomaly, entry.missing = anomaly, 0
        entry.peak_edge = max(entry.peak_edge, anomaly.edge)
        if not escalated:
            return []
        entry.peak_severity = rank
        return [self._event(AnomalyEventType.ESCALATED, entry, snapshot)]

    def _announce_new(
        self, snapshot: ChainSnapshot, found: dict[TrackKey, Anomaly]
    ) -> list[AnomalyEvent]:
        state, events = self._state, []
        sightings: dict[TrackKey, int] = {}
        for key, anomaly in found.items():
            if key in state.open or not anomaly.executable:
                continue
            if not reportable(anomaly.kind, anomaly.edge, anomaly.score, self.config):
                continue
            sightings[key] = state.pending.get(key, 0) + 1
            if sightings[key] < self.settings.confirm_snapshots:
                continue
            del sightings[key]
            entry = _Open(
                _anomaly_id(snapshot.underlying, key, snapshot.timestamp),
                snapshot.timestamp,
                anomaly,
                anomaly.edge,
                _SEVERITY_RANK[anomaly.severity],
            )
            state.open[key] = entry
            events.append(self._event(AnomalyEventType.OPENED, entry, snapshot))
        state.pending = sightings
        return events

    def _cleared(self, key: TrackKey, snapshot: ChainSnapshot, reason: str) -> AnomalyEvent:
        entry = self._state.open.pop(key)
        return self._event(AnomalyEventType.CLEARED, entry, snapshot, reason)

    @staticmethod
    def _event(
        kind: AnomalyEventType, entry: _Open, snapshot: ChainSnapshot, reason: str = ""
    ) -> AnomalyEvent:
        return AnomalyEvent(
            id=entry.id,
            event=kind,
            underlying=snapshot.underlying,
            at=snapshot.timestamp,
            first_seen=entry.first_seen,
            anomaly=entry.anomaly,
            peak_edge=entry.peak_edge,
            reason=reason,
        )


def _track_key(anomaly: Anomaly) -> TrackKey:
    return (anomaly.expiry, anomaly.strike, anomaly.right, anomaly.root, anomaly.side)


def _anomaly_id(underlying: str, key: TrackKey, first_seen: datetime) -> str:
    expiry, strike, right, root, side = key
    millis = round(first_seen.timestamp() * 1000)
    return f"{root or underlying}-{expiry:%Y%m%d}-{strike:g}{right.value}-{side.value}-{millis}"
