"""The service's idea of 'now', which decides market hours, 0DTE and every snapshot time.

`spy_core.clock.RealClock` is the machine's clock (a real IB Gateway). `GatewayClock` follows
the time the gateway reports through reqCurrentTime, for a simulator that plays a trading day
at its own pace: reqCurrentTime has one-second resolution and the simulated clock may run at
any speed, so the clock samples it until the reported second changes (an "edge", exact to the
polling interval), and extrapolates from the latest edge at the rate measured between the
first and the latest edges (the longer that baseline, the better the rate). `now()` never
goes back.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Awaitable, Callable
from datetime import datetime, timedelta

_SECOND = timedelta(seconds=1)


class GatewayClock:
    """Call `await sync()` after connecting (and from time to time); then `now()`."""

    def __init__(
        self,
        ask: Callable[[], Awaitable[datetime]],
        poll: float = 0.05,
        window: float = 2.5,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._ask = ask
        self._poll = poll
        self._window = window
        self._monotonic = monotonic
        self._first: tuple[float, datetime] | None = None  # first edge (monotonic, time)
        self._anchor: tuple[float, datetime] | None = None  # latest edge or sample
        self._rate = 0.0  # gateway seconds per wall second
        self._last: datetime | None = None

    @property
    def rate(self) -> float:
        return self._rate

    @property
    def synced(self) -> bool:
        return self._anchor is not None

    async def sync(self, edges: int = 2, span: float = 0.5) -> None:
        """Sample until `edges` second-changes were seen, the first and last at least `span`
        wall seconds apart (or the window passes: a frozen or very slow gateway clock), then
        update the anchor and the rate."""
        seen: list[tuple[float, datetime]] = []
        previous = await self._sample()
        deadline = self._monotonic() + self._window
        while not _enough(seen, edges, span) and self._monotonic() < deadline:
            await asyncio.sleep(self._poll)
            sample = await self._sample()
            if sample[1] != previous[1]:
                seen.append(_edge(previous, sample))
            previous = sample
        if not seen:
            if self._anchor is None:
                self._anchor = previous
            return
        if self._first is None:
            self._first = seen[0]
        self._anchor = seen[-1]
        start, end = self._first, self._anchor
        if end[0] > start[0]:
            self._rate = (end[1] - start[1]).total_seconds() / (end[0] - start[0])

    async def _sample(self) -> tuple[float, datetime]:
        before = self._monotonic()
        reported = await self._ask()
        return 0.5 * (before + self._monotonic()), reported

    def now(self) -> datetime:
        if self._anchor is None:
            raise RuntimeError("GatewayClock.now() before sync()")
        wall, reported = self._anchor
        moment = reported + timedelta(seconds=(self._monotonic() - wall) * self._rate)
        if self._last is not None and moment < self._last:
            moment = self._last
        self._last = moment
        return moment


def _enough(seen: list[tuple[float, datetime]], edges: int, span: float) -> bool:
    if len(seen) < edges:
        return False
    return edges < 2 or seen[-1][0] - seen[0][0] >= span


def _edge(
    previous: tuple[float, datetime], sample: tuple[float, datetime]
) -> tuple[float, datetime]:
    """(wall, gateway) at a change of the reported second. One step: the change happened
    between the samples (take the midpoint). Several: the clock outruns the polling, and the
    reported whole second lies within one gateway second before the sample."""
    if sample[1] - previous[1] == _SECOND:
        return 0.5 * (previous[0] + sample[0]), sample[1]
    return sample[0], sample[1] + _SECOND / 2
