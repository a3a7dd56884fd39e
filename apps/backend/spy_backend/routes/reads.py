"""Reads for the dashboard: market state, anomaly history, GEX, flow, and the trading
lists whose producer (the trader) does not exist yet."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, Depends, Query, Request
from fastapi.exceptions import RequestValidationError

from spy_core.models import AnomalyEvent, Severity, Side

from ..schemas import (
    AnalysisRecord,
    AnomalyPage,
    FlowPoint,
    Gex,
    IsoDate,
    IsoDateTime,
    MarketState,
    Placeholder,
    SnapshotRecord,
)
from ..services import Services
from ..storage.base import AnomalyQuery, Kind, Position, to_micros

router = APIRouter(prefix="/api", tags=["read"])


def _services(request: Request) -> Services:
    return request.app.state.services


ServicesDep = Annotated[Services, Depends(_services)]


async def _latest(services: Services, kind: Kind) -> str | None:
    return await services.call_storage("latest", services.storage.latest, kind)


@router.get("/market", response_model=MarketState)
async def market(services: ServicesDep) -> MarketState:
    """The newest snapshot summary and analysis (spot, fit per expiry, GEX, flow)."""
    snapshot = await _latest(services, Kind.SNAPSHOT)
    analysis = await _latest(services, Kind.ANALYSIS)
    return MarketState(
        snapshot=None if snapshot is None else SnapshotRecord.model_validate_json(snapshot),
        analysis=None if analysis is None else AnalysisRecord.model_validate_json(analysis),
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
    return AnomalyPage(
        items=[AnomalyEvent.model_validate_json(body) for body in page.bodies],
        next_cursor=None if page.next is None else page.next.encode(),
    )


@router.get("/gex", response_model=Gex | None)
async def gex(services: ServicesDep) -> Gex | None:
    """Gamma exposure by strike from the newest analysis (null before the first)."""
    analysis = await _latest(services, Kind.ANALYSIS)
    return None if analysis is None else AnalysisRecord.model_validate_json(analysis).gex


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
    points = []
    for body in bodies:
        record = json.loads(body)
        points.append(
            FlowPoint(timestamp=record["timestamp"], spot=record["spot"], flow=record["flow"])
        )
    return points


def _placeholder(name: str) -> None:
    async def empty() -> Placeholder:
        return Placeholder()

    empty.__name__ = name
    empty.__doc__ = f"{name.capitalize()}: none until the trader posts them."
    router.add_api_route(f"/{name}", empty, methods=["GET"], response_model=Placeholder)


for _name in ("signals", "trades", "positions", "pnl"):
    _placeholder(_name)
