"""The simulator's played-back trading day, a `spy_core.clock.Clock` (with `--real-clock`
the simulator uses `spy_core.clock.RealClock` instead, and trades only in real sessions).

`SessionClock` maps wall-clock seconds × speed onto consecutive NYSE sessions, skipping the
hours the market is closed, so a demo at night still shows a live market and `speed`
compresses the day. Sessions come from `spy_core.market_hours`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import datetime, timedelta

from spy_core.market_hours import Session, next_session, session


class SessionClock:
    """Trading time from `start` (inside a session) at `speed` simulated seconds per wall
    second; at a close it continues from the next session's open."""

    def __init__(
        self, start: datetime, speed: float = 1.0, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        found = session(start.date()) if start.tzinfo else None
        if found is None or not found.open <= start < found.close:
            raise ValueError(f"start {start} is not inside a trading session")
        if speed < 0:
            raise ValueError("speed must be ≥ 0")
        self.speed = speed
        self._monotonic = monotonic
        self._origin = monotonic()
        # The session being played and the elapsed trading seconds at its start.
        self._session: Session = found
        self._session_start = start
        self._elapsed_before = 0.0

    def now(self) -> datetime:
        elapsed = (self._monotonic() - self._origin) * self.speed
        while True:
            into = elapsed - self._elapsed_before
            length = (self._session.close - self._session_start).total_seconds()
            if into < length:
                return self._session_start + timedelta(seconds=into)
            self._elapsed_before += length
            self._session = next_session(self._session.day)
            self._session_start = self._session.open
