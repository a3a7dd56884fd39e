"""The API's wire contract: what on-prem services POST and what readers GET.

Anomaly events are `spy_core.models.AnomalyEvent` itself (with a `type` tag), never a copy.
Analysis and snapshot records are summaries of what `spy_detector` produces (the same field
names as `ChainAnalysis.to_dict()` and the flow totals), small enough to store each second.

Unknown fields are rejected everywhere (`extra="forbid"`, 422 naming the field): a producer
and the backend that disagree about the contract should fail loudly, not drop data quietly.
"""

from __future__ import annotations

import re
from datetime import UTC, date, datetime
from typing import Annotated, Literal

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    field_validator,
)

from spy_core.models import Anomaly, AnomalyEvent

# Characters allowed in ids that become storage keys (Azure RowKeys forbid / \ # ? and controls).
_KEY_SAFE = re.compile(r"^[A-Za-z0-9._:+-]{1,160}$")
_NUMBER = re.compile(r"^[+-]?(\d+\.?\d*|\.\d+)([eE][+-]?\d+)?$")


def _iso_only(value: object) -> object:
    """Dates and times are ISO 8601 text (times with a UTC offset); pydantic would also take
    a number as epoch seconds, which the documented contract (format date/date-time) does
    not allow."""
    if not isinstance(value, str | date) or (
        isinstance(value, str) and _NUMBER.match(value.strip())
    ):
        raise ValueError("expected ISO 8601 text")
    return value


# Times the storage keys can hold (microseconds since 1970, 17 digits in Azure RowKeys) and
# convert to UTC without overflow (0001-01-01T00:00:00+01:00 cannot be).
EARLIEST = datetime(1970, 1, 1, tzinfo=UTC)
LATEST = datetime(4000, 1, 1, tzinfo=UTC)


def _storable(value: datetime) -> datetime:
    try:
        ok = EARLIEST <= value.astimezone(UTC) < LATEST
    except OverflowError:
        ok = False
    if not ok:
        raise ValueError(f"must be from {EARLIEST:%Y-%m-%d} to before {LATEST:%Y-%m-%d} (UTC)")
    return value


IsoDateTime = Annotated[AwareDatetime, BeforeValidator(_iso_only), AfterValidator(_storable)]
IsoDate = Annotated[date, BeforeValidator(_iso_only)]


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class AnomalyObservation(Anomaly):
    """An `Anomaly` as posted: its expiry in ISO 8601 text, like every date on the wire."""

    expiry: IsoDate


class AnomalyEventRecord(AnomalyEvent):
    """An `AnomalyEvent` as posted: the event's own fields plus `"type": "event"`, with the
    wire's rules for times (ISO 8601 text with an offset, within what storage can key)."""

    type: Literal["event"] = "event"
    at: IsoDateTime
    first_seen: IsoDateTime
    anomaly: AnomalyObservation

    @field_validator("id")
    @classmethod
    def _key_safe(cls, value: str) -> str:
        if not _KEY_SAFE.match(value):
            raise ValueError("id must be 1-160 characters of A-Z a-z 0-9 . _ : + -")
        return value


class FlowTotals(_Strict):
    """`spy_detector.flow.FlowTotals.to_dict()`: dollars of premium."""

    call_buy: float
    call_sell: float
    put_buy: float
    put_sell: float
    unclassified: float
    net_call: float
    net_put: float
    net: float


class Flow(_Strict):
    increment: FlowTotals
    session: FlowTotals


class GexStrike(_Strict):
    strike: float
    call: float | None
    put: float | None
    net: float | None


class Gex(_Strict):
    """`spy_detector.gex.GammaExposure.to_dict()`: dollars per 1% move."""

    convention: str
    spot: float | None
    total: float | None
    zero_gamma: float | None
    call_wall: float | None
    put_wall: float | None
    by_strike: list[GexStrike] = Field(max_length=2000)


class ExpirySummary(_Strict):
    """`spy_detector.ExpiryReport.to_dict()`."""

    expiry: IsoDate
    root: str | None
    minutes_to_expiry: float
    forward: float
    forward_strikes: int
    discount: float
    atm_vol: float | None
    quotes: int
    fitted: int
    bound_only: int
    outliers: int
    fit_residual_scale: float | None
    note: str | None = Field(default=None, max_length=200)  # why an expiry has no smile


class _Moment(_Strict):
    """What every summary record has: whose chain, when, at what spot."""

    underlying: str = Field(min_length=1, max_length=16, pattern=r"^[A-Z0-9.]+$")
    timestamp: IsoDateTime
    spot: float = Field(gt=0)


class AnalysisRecord(_Moment):
    """One analysed snapshot: spot, per-expiry fit summary, GEX and premium flow."""

    type: Literal["analysis"] = "analysis"
    open_anomalies: int = Field(ge=0)
    expiries: list[ExpirySummary] = Field(max_length=64)
    gex: Gex | None
    flow: Flow
    excluded: dict[str, int] = Field(default_factory=dict, max_length=64)
    # The detector's snapshot warnings by kind: "stale_underlying", "market_closed", ...
    warnings: list[Annotated[str, Field(max_length=32, pattern=r"^[a-z_]+$")]] = Field(
        default_factory=list, max_length=8
    )


class SnapshotRecord(_Moment):
    """A chain snapshot in brief: what was seen, not every quote."""

    type: Literal["snapshot"] = "snapshot"
    quotes: int = Field(ge=0)
    expiries: list[IsoDate] = Field(max_length=64)


Record = Annotated[
    AnomalyEventRecord | AnalysisRecord | SnapshotRecord, Field(discriminator="type")
]


MAX_RECORDS = 10_000  # the most `SPY_MAX_BATCH` allows


def _countable(value: object) -> object:
    """Refuse an over-long list before its items are validated: 400,000 bad items would be
    400,000 errors, seconds of CPU and a response far bigger than the request."""
    if isinstance(value, list) and len(value) > MAX_RECORDS:
        raise ValueError(f"at most {MAX_RECORDS} records")
    return value


class EventBatch(_Strict):
    records: Annotated[list[Record], BeforeValidator(_countable)] = Field(min_length=1)


class IngestResult(_Strict):
    accepted: int = Field(description="records in the batch")
    stored: int = Field(description="records new to storage (a re-sent record is not stored twice)")


class AnomalyPage(_Strict):
    items: list[AnomalyEvent]
    next_cursor: str | None = Field(description="pass as ?cursor= for the next (older) page")


class MarketState(_Strict):
    snapshot: SnapshotRecord | None
    analysis: AnalysisRecord | None


class FlowPoint(_Strict):
    timestamp: IsoDateTime
    spot: float
    flow: Flow


class Health(_Strict):
    status: Literal["ok"] = "ok"


class Readiness(_Strict):
    ready: bool
    storage: str
