"""From posted records to stored ones: the unique key and the index columns of each kind."""

from __future__ import annotations

from spy_core.models import AnomalyEventType

from .schemas import AnalysisRecord, AnomalyEventRecord, SnapshotRecord
from .storage.base import Kind, StoredRecord, to_micros

# An anomaly opens once and clears once (a reopened quote is a new anomaly with a new id);
# it may escalate more than once, each at its own time.
_ONCE = {AnomalyEventType.OPENED, AnomalyEventType.CLEARED}


def stored(record: AnomalyEventRecord | AnalysisRecord | SnapshotRecord) -> StoredRecord:
    """Anomaly events are keyed by anomaly id and event type, plus the time for escalations
    (one anomaly opens, escalates and clears under one id, and a second `opened` for an id
    is a repeat, whatever its time); summaries by underlying and snapshot time."""
    if isinstance(record, AnomalyEventRecord):
        at_us = to_micros(record.at)
        a = record.anomaly
        return StoredRecord(
            kind=Kind.EVENT,
            key=event_key(record.id, record.event, at_us),
            at_us=at_us,
            body=record.model_dump_json(exclude={"type"}),
            expiry=a.expiry,
            side=a.side,
            severity=a.severity,
        )
    at_us = to_micros(record.timestamp)
    kind = Kind.ANALYSIS if isinstance(record, AnalysisRecord) else Kind.SNAPSHOT
    return StoredRecord(
        kind=kind,
        key=f"{record.underlying}:{at_us}",
        at_us=at_us,
        body=record.model_dump_json(),
    )


def event_key(anomaly_id: str, event: AnomalyEventType, at_us: int) -> str:
    if event in _ONCE:
        return f"{anomaly_id}:{event.value}"
    return f"{anomaly_id}:{event.value}:{at_us}"
