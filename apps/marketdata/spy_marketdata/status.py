"""What the service reports about itself: health (is it working at all) and readiness (is it
publishing fresh snapshots). Plain data, so the CLI, the tiny HTTP endpoint and the backend
can all show it."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from enum import StrEnum


class State(StrEnum):
    STARTING = "starting"
    CONNECTING = "connecting"
    DISCOVERING = "discovering"  # finding today's expiry and strikes, subscribing
    STREAMING = "streaming"
    MARKET_CLOSED = "market closed"
    RECONNECTING = "reconnecting"  # waiting out a backoff after a lost connection
    STOPPED = "stopped"
    FAILED = "failed"


@dataclass
class ServiceStatus:
    state: State = State.STARTING
    connected: bool = False
    market_data_type: int = 1  # 1 live, 3 delayed
    expiry: str | None = None
    lines: int = 0  # market-data lines in use, underlying included
    spot: float | None = None
    last_snapshot: datetime | None = None  # market time of the last published snapshot
    snapshots: int = 0
    events: int = 0
    reconnects: int = 0
    rejected_updates: dict[str, int] = field(default_factory=dict)
    last_error: str = ""

    @property
    def healthy(self) -> bool:
        """Running and able to recover by itself (reconnecting or a closed market count)."""
        return self.state not in (State.FAILED, State.STOPPED)

    @property
    def ready(self) -> bool:
        """Connected and publishing snapshots."""
        return self.state is State.STREAMING and self.connected and self.snapshots > 0

    def to_dict(self) -> dict:
        return {
            "state": self.state.value,
            "healthy": self.healthy,
            "ready": self.ready,
            "connected": self.connected,
            "market_data_type": self.market_data_type,
            "expiry": self.expiry,
            "lines": self.lines,
            "spot": self.spot,
            "last_snapshot": None if self.last_snapshot is None else self.last_snapshot.isoformat(),
            "snapshots": self.snapshots,
            "events": self.events,
            "reconnects": self.reconnects,
            "rejected_updates": dict(self.rejected_updates),
            "last_error": self.last_error,
        }
