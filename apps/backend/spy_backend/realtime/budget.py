"""The daily message budget as a token bucket.

Azure SignalR bills delivered messages: one broadcast to V viewers is V messages, and each
2 KB of a message counts again. Free tier: 20,000 a day, i.e. 0.23 a second — with three
viewers, one broadcast every 13 s. The bucket refills at budget/86,400 per second and holds
at most `burst`, so a quiet hour cannot be spent in one burst and the day never overruns.
"""

from __future__ import annotations

import math
import time
from collections.abc import Callable

UNIT_BYTES = 2048  # Azure counts a message in 2 KB units
MAX_MESSAGE_BYTES = 2000  # what one message may take: under one unit, with room for framing


def units(frame_bytes: int) -> int:
    return max(1, math.ceil(frame_bytes / UNIT_BYTES))


class MessageBudget:
    def __init__(
        self,
        per_day: int,
        burst: float | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        """`per_day` 0 means unlimited (the local hub costs nothing)."""
        self.per_day = per_day
        self._rate = per_day / 86_400
        self._capacity = burst if burst is not None else max(20.0, self._rate * 60)
        self._tokens = self._capacity
        self._clock = clock
        self._last = clock()

    @property
    def unlimited(self) -> bool:
        return self.per_day == 0

    def _refill(self) -> None:
        now = self._clock()
        self._tokens = min(self._capacity, self._tokens + (now - self._last) * self._rate)
        self._last = now

    def wait_for(self, cost: int) -> float:
        """Seconds until `cost` messages may be spent (0 = now). A cost above the bucket's
        capacity waits for a full bucket, so a crowd of viewers slows broadcasts, never
        stops them."""
        if self.unlimited:
            return 0.0
        self._refill()
        needed = min(cost, self._capacity) - self._tokens
        return 0.0 if needed <= 0 else needed / self._rate

    def spend(self, cost: int) -> None:
        if not self.unlimited:
            self._refill()
            self._tokens -= min(cost, self._capacity)
