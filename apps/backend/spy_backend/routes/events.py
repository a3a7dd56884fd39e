"""Writes from the on-prem services: one authenticated, batch-capable POST. Storage first,
then broadcast only what was new, so a retried or replayed batch is stored once and shown
once."""

from __future__ import annotations

from fastapi import APIRouter, HTTPException

from ..deps import ServicesDep
from ..ingest import store_new, stored
from ..schemas import (
    AnalysisRecord,
    AnomalyEventRecord,
    EventBatch,
    IngestResult,
    SnapshotRecord,
)
from ..signals import record_ingest
from ..wire import StrictJsonRoute

router = APIRouter(prefix="/api", tags=["ingest"], route_class=StrictJsonRoute)


@router.post(
    "/events",
    response_model=IngestResult,
    responses={
        400: {"description": "body is not UTF-8 JSON, or nested too deep"},
        401: {"description": "missing or wrong token"},
        413: {"description": "body or batch too big"},
    },
)
async def post_events(batch: EventBatch, services: ServicesDep) -> IngestResult:
    if len(batch.records) > services.settings.max_batch:
        raise HTTPException(413, f"at most {services.settings.max_batch} records per batch")
    rows = [stored(record) for record in batch.records]
    fresh = await store_new(services, batch.records, rows)
    events = [
        r.model_dump(mode="json", exclude={"type"})
        for r in fresh
        if isinstance(r, AnomalyEventRecord)
    ]
    record_ingest(
        [(row.kind.value, _at(record)) for record, row in zip(batch.records, rows, strict=True)],
        [(e["anomaly"]["severity"], e["event"]) for e in events],
    )
    if events:
        services.broadcaster.anomaly_events(events)
    analyses = [r for r in fresh if isinstance(r, AnalysisRecord)]
    if analyses:
        services.broadcaster.market_state(market_message(max(analyses, key=_time)))
    return IngestResult(accepted=len(rows), stored=len(fresh))


def _time(record: AnalysisRecord):
    return record.timestamp


def _at(record: AnomalyEventRecord | AnalysisRecord | SnapshotRecord):
    return record.at if isinstance(record, AnomalyEventRecord) else record.timestamp


def market_message(analysis: AnalysisRecord) -> dict:
    """The `market` broadcast: the analysis without per-strike and per-expiry detail (those
    are on /api/gex and /api/market), well under 2 KB."""
    gex = analysis.gex
    return {
        "underlying": analysis.underlying,
        "timestamp": analysis.timestamp.isoformat(),
        "spot": analysis.spot,
        "open_anomalies": analysis.open_anomalies,
        "gex": None if gex is None else gex.model_dump(mode="json", exclude={"by_strike"}),
        "flow": analysis.flow.session.model_dump(mode="json"),
        "warnings": analysis.warnings,
    }
