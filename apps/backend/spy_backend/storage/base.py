"""The storage port: what the API needs from history, whatever keeps it.

Every record has a unique key, so writing it again is a no-op (idempotent ingest: a spool
replay or a retried POST never duplicates). Reads are newest-first with an opaque cursor
that encodes the position (time, key) of the last item returned, so both adapters page the
same way and a page never repeats or skips an item when new records arrive meanwhile.

Adapters are synchronous (sqlite3 and azure-data-tables' sync client are); the app calls
them from a worker thread.
"""

from __future__ import annotations

import base64
import json
from dataclasses import dataclass
from datetime import UTC, date, datetime
from enum import StrEnum
from typing import Protocol

from spy_core.models import Severity, Side

MAX_MICROS = 10**17  # microseconds until the year 5138: what a 17-digit key can hold


class Kind(StrEnum):
    EVENT = "event"
    ANALYSIS = "analysis"
    SNAPSHOT = "snapshot"
    # The trader's records (spy_core.trading), stored and read by time like the rest.
    SIGNAL = "signal"
    DECISION = "decision"
    ORDER = "order"
    FILL = "fill"
    POSITION = "position"
    PNL = "pnl"


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One record as storage sees it: indexed columns plus the JSON body."""

    kind: Kind
    key: str  # unique within its kind
    at_us: int  # UTC microseconds since the epoch: ordering and retention
    body: str  # the record's JSON
    expiry: date | None = None  # anomaly events only: filter columns
    side: Side | None = None
    severity: Severity | None = None


@dataclass(frozen=True, slots=True)
class Position:
    """Where a newest-first page stopped: items strictly older than this come next."""

    at_us: int
    key: str

    def encode(self) -> str:
        raw = json.dumps([self.at_us, self.key], separators=(",", ":")).encode()
        return base64.urlsafe_b64encode(raw).decode().rstrip("=")

    @classmethod
    def decode(cls, cursor: str) -> Position:
        """Raises ValueError on anything that is not a cursor this API issued."""
        try:
            raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
            at_us, key = json.loads(raw)
        except (ValueError, TypeError) as problem:
            raise ValueError("invalid cursor") from problem
        if (
            not isinstance(at_us, int)
            or not 0 <= at_us < MAX_MICROS
            or not isinstance(key, str)
            or not key.isascii()  # keys are key-safe ASCII; this also refuses lone surrogates
        ):
            raise ValueError("invalid cursor")
        return cls(at_us, key)


@dataclass(frozen=True, slots=True)
class AnomalyQuery:
    since_us: int | None = None
    until_us: int | None = None
    expiry: date | None = None
    side: Side | None = None
    severity: Severity | None = None
    after: Position | None = None
    limit: int = 100

    def equalities(self) -> dict[str, str]:
        """The exact-match filters set, by column name (expiry, side, severity)."""
        values = {
            "expiry": self.expiry and self.expiry.isoformat(),
            "side": self.side and self.side.value,
            "severity": self.severity and self.severity.value,
        }
        return {column: value for column, value in values.items() if value is not None}


@dataclass(frozen=True, slots=True)
class Page:
    bodies: list[str]
    next: Position | None


class Storage(Protocol):
    def write(self, records: list[StoredRecord]) -> list[tuple[Kind, str]]:
        """Store what is new; return (kind, key) of those that were new (a known key is skipped, so
        only new records are broadcast)."""
        ...

    def anomalies(self, query: AnomalyQuery) -> Page: ...

    def latest(self, kind: Kind) -> str | None:
        """The newest record of a kind, or None."""
        ...

    def series(self, kind: Kind, since_us: int, until_us: int, limit: int) -> list[str]:
        """Records of a kind in [since, until), oldest first, at most `limit` (the newest)."""
        ...

    def purge(self, before_us: int) -> int:
        """Delete records older than `before_us`; return how many went."""
        ...

    def ping(self) -> None:
        """Raise if the store cannot be reached."""
        ...

    def close(self) -> None: ...


def to_micros(moment: datetime) -> int:
    delta = moment.astimezone(UTC) - datetime(1970, 1, 1, tzinfo=UTC)
    return (delta.days * 86_400 + delta.seconds) * 1_000_000 + delta.microseconds


def from_micros(micros: int) -> datetime:
    return datetime.fromtimestamp(micros / 1_000_000, tz=UTC)
