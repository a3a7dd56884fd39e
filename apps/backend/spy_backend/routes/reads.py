"""Reads for the dashboard: market state, anomaly history, GEX, flow. The trader's lists
are in `trading`."""

from __future__ import annotations

import logging
from datetime import UTC, datetime, timedelta
from typing import Annotated, TypeVar

from fastapi import APIRouter, Query
from fastapi.exceptions import RequestValidationError
from pydantic import BaseModel

from spy_core.models import Severity, Side

from ..deps import ServicesDep
from ..schemas import (
    AnalysisRecord,
    AnomalyEventRecord,
    AnomalyPage,
    Flow,
    FlowPoint,
    Gex,
    IsoDate,
    IsoDateTime,
    MarketState,
    SnapshotRecord,
)
from ..services import Services
from ..storage.base import AnomalyQuery, Kind, Position, to_micros
from ..wire import checked

router = APIRouter(prefix="/api", tags=["read"])
_log = logging.getLogger(__name__)
Model = TypeVar("Model", bound=BaseModel)


def _valid(services: Services, model: type[Model], kind: Kind, body: str) -> Model | None:
    """A stored row as `model`, or None when it no longer validates (written by an older,
    laxer version, or by hand): a read skips it and counts it, and never fails on it."""
    try:
        return model.model_validate(checked(body))
    except ValueError as problem:  # BadJsonError and pydantic's ValidationError are ValueErrors
        services.metrics.skipped_rows.labels(kind.value).inc()
        _log.warning(
            "skipped a stored %s row that does not validate: %s", kind.value, _why(problem)
        )
        return None


def _why(problem: ValueError) -> str:
    """The problem without the row's content (which may hold anything)."""
    errors = getattr(problem, "errors", None)
    if callable(errors):
        first = errors(include_input=False, include_url=False)[0]
        return f"{first['msg']} at {'.'.join(map(str, first['loc']))}"
    return str(problem)


async def _latest(services: Services, kind: Kind) -> str | None:
    return await services.call_storage("latest", services.storage.latest, kind)


@router.get("/market", response_model=MarketState)
async def market(services: ServicesDep) -> MarketState:
    """The newest snapshot summary and analysis (spot, fit per expiry, GEX, flow)."""
    snapshot = await _latest(services, Kind.SNAPSHOT)
    analysis = await _latest(services, Kind.ANALYSIS)
    return MarketState(
        snapshot=None
        if snapshot is None
        else _valid(services, SnapshotRecord, Kind.SNAPSHOT, snapshot),
        analysis=None
        if analysis is None
        else _valid(services, AnalysisRecord, Kind.ANALYSIS, analysis),
    )


@router.get("/anomalies", response_model=AnomalyPage)
async def anomalies(
    services: ServicesDep,
    since: Annotated[IsoDateTime | None, Query(description="events at or after")] = None,
    until: Annotated[IsoDateTime | None, Query(description="events before")] = None,
    expiry: IsoDate | None = None,
    side: Side | None = None,
    severity: Severity | None = None,
    cursor: Annotated[str | None, Query(max_length=400)] = None,
    limit: Annotated[int, Query(ge=1, le=500)] = 100,
) -> AnomalyPage:
    """Anomaly events, newest first; `next_cursor` pages to older ones."""
    try:
        after = None if cursor is None else Position.decode(cursor)
    except ValueError:
        raise RequestValidationError(
            [
                {
                    "type": "value_error",
                    "loc": ("query", "cursor"),
                    "msg": "invalid cursor: pass back a next_cursor unchanged",
                    "input": cursor,
                }
            ]
        ) from None
    query = AnomalyQuery(
        since_us=None if since is None else to_micros(since),
        until_us=None if until is None else to_micros(until),
        expiry=expiry,
        side=side,
        severity=severity,
        after=after,
        limit=limit,
    )
    page = await services.call_storage("anomalies", services.storage.anomalies, query)
    events = (_valid(services, AnomalyEventRecord, Kind.EVENT, body) for body in page.bodies)
    return AnomalyPage(
        items=[event for event in events if event is not None],
        next_cursor=None if page.next is None else page.next.encode(),
    )


@router.get("/gex", response_model=Gex | None)
async def gex(services: ServicesDep) -> Gex | None:
    """Gamma exposure by strike from the newest analysis (null before the first)."""
    body = await _latest(services, Kind.ANALYSIS)
    analysis = None if body is None else _valid(services, AnalysisRecord, Kind.ANALYSIS, body)
    return None if analysis is None else analysis.gex


@router.get("/flow", response_model=list[FlowPoint])
async def flow(
    services: ServicesDep,
    since: IsoDateTime | None = None,
    until: IsoDateTime | None = None,
    limit: Annotated[int, Query(ge=1, le=20_000)] = 5000,
) -> list[FlowPoint]:
    """Premium flow per analysed snapshot, oldest first; default the last four hours."""
    end = until or datetime.now(UTC) + timedelta(minutes=1)
    start = since or end - timedelta(hours=4)
    bodies = await services.call_storage(
        "series", services.storage.series, Kind.ANALYSIS, to_micros(start), to_micros(end), limit
    )
    points = (_valid(services, _FlowOfAnalysis, Kind.ANALYSIS, body) for body in bodies)
    return [
        FlowPoint(timestamp=p.timestamp, spot=p.spot, flow=p.flow) for p in points if p is not None
    ]


class _FlowOfAnalysis(BaseModel):
    """What /api/flow reads of a stored analysis (the rest, e.g. GEX by strike, is skipped
    unparsed: a series reads thousands of rows)."""

    timestamp: IsoDateTime
    spot: float
    flow: Flow
