"""The platform's shared data contracts: one definition, imported by every app.

Prices are dollars per share (one option contract is 100 shares); strikes are dollars;
timestamps are timezone-aware (stored as given, compared in UTC).
"""

from __future__ import annotations

import math
import re
from datetime import date
from enum import StrEnum
from typing import Annotated

from pydantic import (
    AfterValidator,
    AwareDatetime,
    BaseModel,
    ConfigDict,
    Field,
    field_validator,
    model_validator,
)


class Right(StrEnum):
    CALL = "C"
    PUT = "P"


# One listed option: (expiry, strike, right). The key of every per-contract map.
ContractKey = tuple[date, float, Right]


class Side(StrEnum):
    """`buy` when the ask is below fair value, `sell` when the bid is above it."""

    BUY = "buy"
    SELL = "sell"


class AnomalyKind(StrEnum):
    SMILE = "smile"  # executable side outside the arbitrage-free smile's fair value
    MONOTONICITY = "monotonicity"  # price not monotone in strike (bid/ask)
    VERTICAL = "vertical"  # vertical spread worth more than the strike distance
    BUTTERFLY = "butterfly"  # negative butterfly (convexity) at bid/ask
    INTRINSIC = "intrinsic"  # ask below intrinsic value
    PARITY = "parity"  # put-call parity broken at bid/ask (European underlyings only)


class Severity(StrEnum):
    LOW = "low"
    MEDIUM = "medium"
    HIGH = "high"


class ExerciseStyle(StrEnum):
    AMERICAN = "american"
    EUROPEAN = "european"


# Names and ids (underlyings, trading classes, anomaly ids) end up in storage keys, log lines
# and metric labels: printable text only, no control characters (C0, DEL, C1).
_CONTROL = re.compile(r"[\x00-\x1f\x7f-\x9f]")


def _printable(value: str) -> str:
    if _CONTROL.search(value):
        raise ValueError("must not contain control characters")
    return value


Identifier = Annotated[str, Field(min_length=1, max_length=256), AfterValidator(_printable)]


class _Frozen(BaseModel):
    model_config = ConfigDict(frozen=True, extra="forbid")


def _finite(value: float | None, info_name: str) -> float | None:
    if value is not None and not math.isfinite(value):
        raise ValueError(f"{info_name} must be a finite number")
    return value


class OptionQuote(_Frozen):
    """One listed option's top of book at the snapshot time."""

    expiry: date
    strike: float = Field(gt=0)
    right: Right
    bid: float = Field(ge=0)
    ask: float = Field(ge=0)
    bid_size: int | None = Field(default=None, ge=0)
    ask_size: int | None = Field(default=None, ge=0)
    volume: int | None = Field(default=None, ge=0)
    open_interest: int | None = Field(default=None, ge=0)
    last: float | None = Field(default=None, ge=0)
    # Trading class when one expiry date carries several (SPX AM-settled vs SPXW PM-settled).
    root: Identifier | None = None
    # When this line last ticked, where the feed knows it; quotes older than the detector's
    # `max_quote_age` are excluded with a reason. None: as fresh as the snapshot.
    updated_at: AwareDatetime | None = None

    @field_validator("strike", "bid", "ask", "last")
    @classmethod
    def _check_finite(cls, value: float | None, info) -> float | None:
        return _finite(value, info.field_name)

    @model_validator(mode="after")
    def _not_crossed(self) -> OptionQuote:
        if self.bid > self.ask:
            raise ValueError(f"crossed quote: bid {self.bid} is above ask {self.ask}")
        return self

    @property
    def contract_key(self) -> tuple[date, float, Right, str | None]:
        return (self.expiry, self.strike, self.right, self.root)


class ChainSnapshot(_Frozen):
    """A consistent picture of one underlying's option chain at one instant."""

    underlying: Identifier
    timestamp: AwareDatetime
    spot: float = Field(gt=0)
    rate: float | None = Field(default=None, ge=-0.05, le=0.5)
    dividend_yield: float | None = Field(default=None, ge=-0.05, le=0.5)
    quotes: tuple[OptionQuote, ...] = Field(min_length=1)

    @field_validator("spot", "rate", "dividend_yield")
    @classmethod
    def _check_finite(cls, value: float | None, info) -> float | None:
        return _finite(value, info.field_name)

    @model_validator(mode="after")
    def _unique_contracts(self) -> ChainSnapshot:
        seen: set[tuple] = set()
        for quote in self.quotes:
            if quote.contract_key in seen:
                raise ValueError(
                    f"duplicate contract {quote.expiry} {quote.strike:g}{quote.right.value}"
                )
            seen.add(quote.contract_key)
        return self


class Anomaly(_Frozen):
    """A quote that is mispriced against the fitted smile or breaks a static-arbitrage bound.

    `edge` is dollars per share available at the quote's executable side: fair − ask for a
    buy, bid − fair for a sell. `score` is the edge over the standard error of the fair value
    (fit, forward, discounting), so 3 means "three standard errors". `confidence` (0–1) is a
    separate judgement of whether the quote itself is live and executable (width, size, age);
    `executable` is False when the market is closed or the underlying is stale, so the
    finding is shown for study only.
    """

    expiry: date
    strike: float = Field(gt=0)
    right: Right
    side: Side
    kind: AnomalyKind
    bid: float = Field(ge=0)
    ask: float = Field(ge=0)
    fair: float
    edge: float
    score: float
    severity: Severity
    root: Identifier | None = None
    detail: str = ""
    confidence: float = Field(default=1.0, ge=0.0, le=1.0)
    executable: bool = True

    @property
    def key(self) -> tuple[date, float, Right, str | None, Side, AnomalyKind]:
        return (self.expiry, self.strike, self.right, self.root, self.side, self.kind)


class AnomalyEventType(StrEnum):
    OPENED = "opened"  # first announcement of a quote and side
    ESCALATED = "escalated"  # its severity went up
    CLEARED = "cleared"  # the mispricing is gone (see `reason`)


class AnomalyEvent(_Frozen):
    """A change in the life of one anomaly, as the streaming detector reports it.

    `id` is stable for the anomaly's whole life and deterministic (contract, side and the
    time first seen), so a replay of the same snapshots produces the same ids and a consumer
    can use it as the signal id. `anomaly` is the latest observation that counted.
    """

    id: Identifier
    event: AnomalyEventType
    underlying: Identifier
    at: AwareDatetime
    first_seen: AwareDatetime
    anomaly: Anomaly
    peak_edge: float
    reason: str = ""
