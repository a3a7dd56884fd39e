"""From posted records to stored ones: the unique key and the index columns of each kind."""

from __future__ import annotations

from .schemas import AnalysisRecord, AnomalyEventRecord, SnapshotRecord
from .storage.base import Kind, StoredRecord, to_micros


def stored(record: AnomalyEventRecord | AnalysisRecord | SnapshotRecord) -> StoredRecord:
    """Anomaly events are keyed by anomaly id, event type and time (one anomaly opens,
    escalates and clears under one id); summaries by underlying and snapshot time."""
    if isinstance(record, AnomalyEventRecord):
        at_us = to_micros(record.at)
        a = record.anomaly
        return StoredRecord(
            kind=Kind.EVENT,
            key=f"{record.id}:{record.event.value}:{at_us}",
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
