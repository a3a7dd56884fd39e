"""'Now', as a port: every component that asks the time takes a `Clock`, so a simulated day
(the gateway simulator's session clock, the market-data service's gateway clock) replaces the
machine's clock without the component knowing."""

from __future__ import annotations

from datetime import UTC, datetime
from typing import Protocol


class Clock(Protocol):
    def now(self) -> datetime:
        """The current time, timezone-aware."""
        ...


class RealClock:
    """The machine's clock."""

    def now(self) -> datetime:
        return datetime.now(UTC)
