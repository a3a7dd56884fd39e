"""The trader's records: one authenticated batch POST (`/api/trading`, what the trader's
spooled `HttpSink` sends) and the reads `/api/signals`, `/api/trades`, `/api/positions`,
`/api/pnl`. Records are `spy_core.trading` models themselves, stored under their own kinds
with a unique key each (a re-sent record is stored and broadcast once), then broadcast on
the hub's `trading` target."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Annotated

from fastapi import APIRouter, HTTPException, Query
from pydantic import BaseModel, ConfigDict, Field

from spy_core.trading import (
    ContractRef,
    Decision,
    FillReport,
    OrderReport,
    PnlPoint,
    PositionPoint,
    Signal,
)

from ..deps import ServicesDep
from ..ingest import store_new
from ..schemas import IngestResult, IsoDateTime
from ..services import Services
from ..signals import record_trading
from ..storage.base import Kind, StoredRecord, to_micros
from ..wire import WRITE_ERRORS

TradingRecord = Annotated[
    Signal | Decision | OrderReport | FillReport | PositionPoint | PnlPoint,
    Field(discriminator="type"),
]
_KINDS = {
    "signal": Kind.SIGNAL,
    "decision": Kind.DECISION,
    "order": Kind.ORDER,
    "fill": Kind.FILL,
    "position": Kind.POSITION,
    "pnl": Kind.PNL,
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class TradingBatch(_Strict):
    records: list[TradingRecord] = Field(min_length=1)


class SignalItem(_Strict):
    signal: Signal
    decision: Decision | None


class SignalList(_Strict):
    items: list[SignalItem]


class TradeList(_Strict):
    orders: list[OrderReport] = Field(description="latest state of each order, newest first")
    fills: list[FillReport] = Field(description="executions, newest first")


class PositionList(_Strict):
    items: list[PositionPoint]


# A week: the last session is still in view after a long weekend (and in the local platform,
# whose simulator plays the latest session, not necessarily today).
_DEFAULT_WINDOW = timedelta(days=7)
router = APIRouter(prefix="/api", tags=["trading"])
reads = APIRouter(prefix="/api", tags=["read"])


def _contract_key(contract: ContractRef) -> str:
    return f"{contract.expiry:%Y%m%d}-{contract.strike:g}{contract.right.value}"


def stored(record: BaseModel) -> StoredRecord:
    """The unique key of each kind: signals by id, decisions by signal, orders by reference
    and state, fills by execution id, positions by contract and time, P&L by time."""
    at_us = to_micros(record.at)  # type: ignore[attr-defined]
    if isinstance(record, Signal):
        key = record.id
    elif isinstance(record, Decision):
        key = record.signal_id
    elif isinstance(record, OrderReport):
        key = f"{record.order_ref}:{record.status.value}:{record.filled}"
    elif isinstance(record, FillReport):
        key = record.exec_id
    elif isinstance(record, PositionPoint):
        key = f"{_contract_key(record.contract)}:{at_us}"
    else:
        key = f"pnl:{at_us}"
    return StoredRecord(
        kind=_KINDS[record.type],  # type: ignore[attr-defined]
        key=key,
        at_us=at_us,
        body=record.model_dump_json(),
    )


@router.post(
    "/trading",
    response_model=IngestResult,
    responses={**WRITE_ERRORS, 413: {"description": "body or batch too big"}},
)
async def post_trading(batch: TradingBatch, services: ServicesDep) -> IngestResult:
    if len(batch.records) > services.settings.max_batch:
        raise HTTPException(413, f"at most {services.settings.max_batch} records per batch")
    rows = [stored(record) for record in batch.records]
    fresh = await store_new(services, batch.records, rows)
    record_trading(
        [r.action.value for r in fresh if isinstance(r, FillReport)],
        [r.realized + r.unrealized_mid for r in fresh if isinstance(r, PnlPoint)],
    )
    if fresh:
        services.broadcaster.trading([record.model_dump(mode="json") for record in fresh])
    return IngestResult(accepted=len(rows), stored=len(fresh))


async def _series(
    services: Services, kind: Kind, since: datetime | None, until: datetime | None, limit: int
) -> list[str]:
    end = until or datetime.now(UTC) + timedelta(minutes=1)
    start = since or end - _DEFAULT_WINDOW
    return await services.call_storage(
        "series", services.storage.series, kind, to_micros(start), to_micros(end), limit
    )


Since = Annotated[IsoDateTime | None, Query(description="at or after (default: 7 days back)")]
Until = Annotated[IsoDateTime | None, Query(description="before (default: now)")]
Limit = Annotated[int, Query(ge=1, le=5000)]


@reads.get("/signals", response_model=SignalList)
async def signals(
    services: ServicesDep, since: Since = None, until: Until = None, limit: Limit = 500
) -> SignalList:
    """The trader's signals, newest first, each with risk's decision (taken, or the rule
    that rejected it)."""
    bodies = await _series(services, Kind.SIGNAL, since, until, limit)
    decided = await _series(services, Kind.DECISION, since, until, 5000)
    decisions = {d.signal_id: d for d in map(Decision.model_validate_json, decided)}
    items = [
        SignalItem(signal=s, decision=decisions.get(s.id))
        for s in map(Signal.model_validate_json, reversed(bodies))
    ]
    return SignalList(items=items)


@reads.get("/trades", response_model=TradeList)
async def trades(
    services: ServicesDep, since: Since = None, until: Until = None, limit: Limit = 500
) -> TradeList:
    """Orders (the latest state of each) and fills, newest first."""
    reports = map(
        OrderReport.model_validate_json, await _series(services, Kind.ORDER, since, until, 5000)
    )
    latest: dict[str, OrderReport] = {}
    for report in reports:  # oldest first: later states replace earlier ones
        latest[report.order_ref] = report
    orders = sorted(latest.values(), key=lambda o: o.at, reverse=True)[:limit]
    fills = await _series(services, Kind.FILL, since, until, limit)
    return TradeList(
        orders=orders, fills=[FillReport.model_validate_json(b) for b in reversed(fills)]
    )


@reads.get("/positions", response_model=PositionList)
async def positions(
    services: ServicesDep,
    since: Since = None,
    until: Until = None,
    closed: Annotated[bool, Query(description="include flat positions")] = False,
) -> PositionList:
    """The latest position of each contract (open ones unless `closed`)."""
    latest: dict[str, PositionPoint] = {}
    for body in await _series(services, Kind.POSITION, since, until, 5000):
        point = PositionPoint.model_validate_json(body)
        latest[_contract_key(point.contract)] = point
    items = [p for p in latest.values() if closed or p.quantity != 0]
    return PositionList(items=sorted(items, key=lambda p: _contract_key(p.contract)))


@reads.get("/pnl", response_model=list[PnlPoint])
async def pnl(
    services: ServicesDep, since: Since = None, until: Until = None, limit: Limit = 5000
) -> list[PnlPoint]:
    """The day's P&L points, oldest first: realised, unrealised at mid and at fair value."""
    bodies = await _series(services, Kind.PNL, since, until, limit)
    return [PnlPoint.model_validate_json(b) for b in bodies]
