"""'Now' for the desk's session header (`GET /api/session`): the market clock of the data.

A live feed's market runs on the machine's clock (`MarketClockKind.REAL`). A simulated or
replayed one (`SIMULATED`) runs on its own: the gateway simulator plays today's session or
the latest one, `speed` market seconds per wall second, jumping from each close to the next
open; a replay plays a recorded day. Then "now" is the latest snapshot's market time — from
the ladder posts, one per analysed snapshot at most every 0.5 s and never spooled, so never
an old record replayed — run on since its arrival at the data's own pace: the median rate
(market seconds per wall second) of the last consecutive posts, so a jump over a night or a
post that stalled does not swing it. The kind is configuration (`SPY_MARKET_CLOCK`; the
local platform sets it), not a guess from how far the data's time is from the machine's.
"""

from __future__ import annotations

import statistics
import time
from collections import deque
from collections.abc import Callable
from datetime import datetime, timedelta
from enum import StrEnum

from spy_core.clock import Clock, RealClock

RATE_PAIRS = 15  # consecutive posts whose rates the median is taken over
_MIN_GAP = 0.05  # wall seconds: two posts closer than this give no rate (too noisy)


class MarketClockKind(StrEnum):
    REAL = "real"  # a live feed: the machine's clock
    SIMULATED = "simulated"  # a simulator or a replay: the data's own clock


class MarketClock:
    def __init__(
        self,
        kind: MarketClockKind,
        *,
        real: Clock | None = None,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self.kind = kind
        self._real = real or RealClock()
        self._monotonic = monotonic
        self._latest: tuple[float, datetime] | None = None  # (arrival, market time)
        self._rates: deque[float] = deque(maxlen=RATE_PAIRS)

    def observe(self, market_time: datetime) -> None:
        """A snapshot stamped `market_time` (aware) has just arrived. An older or repeated
        one never moves the clock back."""
        if self.kind is MarketClockKind.REAL:
            return
        arrival = self._monotonic()
        if self._latest is not None:
            previous_arrival, previous_time = self._latest
            if market_time <= previous_time:
                return
            gap = arrival - previous_arrival
            if gap >= _MIN_GAP:
                self._rates.append((market_time - previous_time).total_seconds() / gap)
        self._latest = (arrival, market_time)

    @property
    def rate(self) -> float:
        """Market seconds per wall second: 1 for a live feed, and for simulated data until
        two posts have been seen."""
        return statistics.median(self._rates) if self._rates else 1.0

    def now(self) -> datetime | None:
        """The market's now (aware); None when the data's clock has not been seen yet."""
        if self.kind is MarketClockKind.REAL:
            return self._real.now()
        if self._latest is None:
            return None
        arrival, market_time = self._latest
        return market_time + timedelta(seconds=(self._monotonic() - arrival) * self.rate)
