"""Between the API and the viewers: coalesces updates into few, small messages within budget.

Two hub targets (documented in docs/backend.md):
- `anomalies`: `[{"events": [AnomalyEvent, ...], "dropped": n}]` — anomaly events, sent as
  soon as the budget allows, several per message, each message under 2 KB. Events wait in a
  bounded queue; when the budget cannot keep up, the oldest are dropped and counted in
  `dropped`, the client's cue to re-read `/api/anomalies` (nothing is lost from storage).
- `trading`: `[{"records": [Signal | Decision | OrderReport | FillReport | PositionPoint |
  PnlPoint, ...]}]` (`spy_core.trading`, each with its `type`) — the trader's activity,
  packed like anomaly events; when the queue overflows the oldest go (the API has them all).
- `market`: `[{"underlying", "timestamp", "spot", "open_anomalies", "gex": {...},
  "flow": {...}}]` — the latest market state, at most one per `state_interval`; newer state
  replaces unsent state (only the latest matters).
- `ladder`: the strike ladder's band quotes as numbered deltas (`realtime.ladder`), the
  lowest priority: sent when nothing else waits, at most one post per `state_interval`.
- `smile`: the front expiry's whole smile after a ladder broadcast when it changed, at most
  one per `_smile_gap()` (the Smile tab is pushed, not polled), in columns that fit one
  message (`realtime.smile`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import time
from collections import deque
from typing import Any, Protocol

from opentelemetry.context import Context

from .. import signals
from ..metrics import Metrics
from .budget import MAX_MESSAGE_BYTES, MessageBudget, units
from .ladder import LadderFeed
from .protocol import invocation
from .targets import ANOMALIES, LADDER, MARKET, SMILE, TRADING, Target

_log = logging.getLogger(__name__)

MAX_PENDING_EVENTS = 500


class Publisher(Protocol):
    """Where broadcast messages go: the local hub or Azure SignalR."""

    def viewers(self) -> int:
        """Copies one broadcast costs (connected viewers, or the configured estimate)."""
        ...

    async def send(self, target: Target, arguments: list[Any]) -> None: ...


class Broadcaster:
    def __init__(
        self,
        publisher: Publisher,
        budget: MessageBudget,
        metrics: Metrics,
        state_interval: float = 1.0,
    ) -> None:
        self._publisher = publisher
        self._budget = budget
        self._metrics = metrics
        self._state_interval = state_interval
        # each pending event with the trace context of the request that brought it
        self._events: deque[tuple[str, Context]] = deque()
        self._dropped = 0
        self._trading: deque[str] = deque()
        self._state: dict | None = None
        self._state_context: Context | None = None
        self._last_state = -float("inf")
        self._ladder: LadderFeed | None = None
        self._last_ladder = -float("inf")
        self._last_smile = -float("inf")
        self._wake = asyncio.Event()
        self._task: asyncio.Task | None = None
        signals.watch_viewers(publisher)

    def start(self) -> None:
        self._task = asyncio.create_task(self._run(), name="broadcaster")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task

    def anomaly_events(self, events: list[dict]) -> None:
        here = signals.current_context()
        for event in events:
            self._events.append((json.dumps(event, separators=(",", ":"), allow_nan=False), here))
        while len(self._events) > MAX_PENDING_EVENTS:
            self._events.popleft()
            self._dropped += 1
            self._metrics.dropped.inc()
        self._wake.set()

    def trading(self, records: list[dict]) -> None:
        for record in records:
            self._trading.append(json.dumps(record, separators=(",", ":"), allow_nan=False))
        while len(self._trading) > MAX_PENDING_EVENTS:
            self._trading.popleft()
        self._wake.set()

    def market_state(self, state: dict) -> None:
        self._state = state
        self._state_context = signals.current_context()
        self._wake.set()

    def ladder(self, feed: LadderFeed) -> None:
        """The ladder feed has a new post; its deltas go out when nothing else waits."""
        self._ladder = feed
        self._wake.set()

    def _ladder_gap(self) -> float:
        """Seconds between ladder broadcasts: none on the free local hub (the producer's own
        interval paces it), `state_interval` when messages are billed."""
        return 0.0 if self._budget.unlimited else self._state_interval

    def _smile_gap(self) -> float:
        """Seconds between smile messages: a second on the free local hub, five state
        intervals when messages are billed (the smile is for study, the ladder for trading)."""
        return 1.0 if self._budget.unlimited else 5 * self._state_interval

    def _ladder_due(self) -> bool:
        return self._ladder is not None and self._ladder.pending

    async def _run(self) -> None:
        while True:
            await self._wake.wait()
            self._wake.clear()
            try:
                await self._drain()
            except Exception:
                _log.exception("broadcast failed")
                await asyncio.sleep(1.0)

    async def _drain(self) -> None:
        while self._events or self._trading or self._state is not None or self._ladder_due():
            viewers = self._publisher.viewers()
            if viewers == 0:
                # Nobody to tell: a viewer who connects later reads the API first.
                self._events.clear()
                self._trading.clear()
                self._dropped = 0
                self._state = None
                if self._ladder is not None:
                    self._ladder.commit_unsent()
                return
            if self._events:
                target, (payload, contexts) = ANOMALIES, self._pack_events()
            elif self._trading:
                target, payload = TRADING, {"records": _pack(self._trading, TRADING.name)}
                contexts = []
            elif self._ladder_due() and (
                self._state is None or self._last_state + self._state_interval > time.monotonic()
            ):
                if self._last_ladder + self._ladder_gap() > time.monotonic():
                    await asyncio.sleep(0.05)  # short naps: an event may arrive meanwhile
                    continue
                await self._send_ladder(viewers)
                continue
            else:
                pause = self._last_state + self._state_interval - time.monotonic()
                if pause > 0:
                    await asyncio.sleep(pause)
                    continue
                target, payload = MARKET, self._state
                contexts = [self._state_context] if self._state_context is not None else []
                self._state = None
                self._last_state = time.monotonic()
            cost = viewers * units(len(invocation(target.name, [payload]).encode()))
            delay = self._budget.wait_for(cost)
            if delay > 0:
                await asyncio.sleep(delay)
            self._budget.spend(cost)
            with signals.broadcast_span(target.name, contexts, viewers):
                await self._publisher.send(target, [payload])
            self._metrics.broadcasts.labels(target.name).inc()
            self._metrics.delivered.inc(cost)
            signals.record_delivered(target.name, cost)

    async def _send_ladder(self, viewers: int) -> None:
        assert self._ladder is not None
        self._last_ladder = time.monotonic()
        messages = [(LADDER, payload) for payload in self._ladder.take()]
        if self._last_smile + self._smile_gap() <= self._last_ladder:
            smile = self._ladder.take_smile()
            if smile is not None:
                self._last_smile = self._last_ladder
                messages.append((SMILE, smile))
        for target, payload in messages:
            cost = viewers * units(len(invocation(target.name, [payload]).encode()))
            delay = self._budget.wait_for(cost)
            if delay > 0:
                await asyncio.sleep(delay)
            self._budget.spend(cost)
            await self._publisher.send(target, [payload])
            self._metrics.broadcasts.labels(target.name).inc()
            self._metrics.delivered.inc(cost)

    def _pack_events(self) -> tuple[dict, list[Context]]:
        """As many pending events as fit in one message (always at least one), and the
        trace contexts they came with."""
        overhead = len(invocation(ANOMALIES.name, [{"events": [], "dropped": self._dropped}]))
        size = overhead
        chosen: list[str] = []
        contexts: list[Context] = []
        while self._events:
            extra = len(self._events[0][0].encode()) + (1 if chosen else 0)
            if chosen and size + extra > MAX_MESSAGE_BYTES:
                break
            event, here = self._events.popleft()
            chosen.append(event)
            contexts.append(here)
            size += extra
        payload = {"events": [json.loads(e) for e in chosen], "dropped": self._dropped}
        self._dropped = 0
        return payload, contexts


def _pack(queue: deque[str], target: str) -> list:
    """As many queued records as fit in one `target` message (always at least one)."""
    size = len(invocation(target, [{"records": []}]))
    chosen: list[str] = []
    while queue:
        extra = len(queue[0].encode()) + (1 if chosen else 0)
        if chosen and size + extra > MAX_MESSAGE_BYTES:
            break
        chosen.append(queue.popleft())
        size += extra
    return [json.loads(record) for record in chosen]
