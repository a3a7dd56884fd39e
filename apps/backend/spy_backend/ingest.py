"""From posted records to stored ones: the unique key and the index columns of each kind."""

from __future__ import annotations

from collections.abc import Sequence
from typing import TypeVar

from spy_core.models import AnomalyEventType
from spy_core.telemetry_names import Attr, SpanName

from .schemas import AnalysisRecord, AnomalyEventRecord, SnapshotRecord
from .services import Services
from .signals import tracer
from .storage.base import Kind, StoredRecord, to_micros

R = TypeVar("R")


async def store_new(services: Services, records: Sequence[R], rows: list[StoredRecord]) -> list[R]:
    """Write the rows; return the records that were new (each once, even when repeated in
    the batch), counting every record in the ingest metric."""
    with tracer.start_as_current_span(SpanName.STORE, attributes={Attr.RECORDS: len(rows)}):
        new = set(await services.call_storage("write", services.storage.write, rows))
    services.ingest.saw()
    fresh = []
    for record, row in zip(records, rows, strict=True):
        is_new = (row.kind, row.key) in new
        services.metrics.ingested.labels(row.kind.value, str(is_new).lower()).inc()
        if is_new:
            fresh.append(record)
            new.discard((row.kind, row.key))  # a record repeated inside one batch counts once
    return fresh


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
