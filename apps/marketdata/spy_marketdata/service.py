"""The market-data service: connect, discover, subscribe, follow the money, snapshot, detect,
publish; reconnect when the connection drops. Orchestration only: the pure parts are
`book` (snapshots), `planning` (which contracts), `pipeline` (detector → sink); the provider
is behind `source.QuoteSource` (ib_async in `ibkr`).

Snapshots are taken when ticks arrive (after `coalesce`, at most one per `min_gap`) and at
least every `interval` wall seconds, timestamped by the clock the service is given. The
pipeline outlives connections, so the detector's open anomalies and ids carry over a
reconnect and nothing is published twice. Outside the NYSE session (by that clock) there
are no option lines and no snapshots; the state says 'market closed'.

`metrics` (metrics.py) counts the ticks, times each snapshot's assembly and tells the pipeline
when the oldest tick a snapshot holds arrived (for the tick → anomaly latency).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import time
from datetime import date

from spy_core.clock import Clock, RealClock
from spy_core.market_hours import is_market_open
from spy_core.models import ContractKey

from .book import ChainBook, TopOfBook
from .clock import GatewayClock
from .metrics import MarketDataMetrics
from .pipeline import Pipeline
from .planning import changes, session_date, strikes_in_band, todays_expiry, wanted_contracts
from .settings import ClockSource, MarketDataSettings
from .sinks import Sink
from .source import QuoteSource
from .status import ServiceStatus, State

_log = logging.getLogger(__name__)
_RECOVERABLE = (ConnectionError, OSError, TimeoutError, LookupError)


class _LostError(Exception):
    """The connection went away (or a stop was asked for) while waiting."""


class MarketDataService:
    def __init__(
        self,
        settings: MarketDataSettings,
        sink: Sink,
        source: QuoteSource | None = None,
        clock: Clock | None = None,
    ) -> None:
        if source is None:
            from .ibkr import IbkrSource

            source = IbkrSource(settings)
        self.settings = settings
        self.source = source
        self.book = ChainBook(settings.underlying)
        self.status = ServiceStatus()
        self.metrics = MarketDataMetrics(lambda: self.status)
        self.pipeline = Pipeline(sink, settings.detector, settings.stream, self.metrics)
        if clock is None:
            clock = (
                GatewayClock(source.current_time)
                if settings.clock is ClockSource.GATEWAY
                else RealClock()
            )
        self.clock = clock
        source.on_updates.subscribe(self._on_updates)
        source.on_disconnect = self._on_disconnect
        self._ids: dict[ContractKey, int] = {}
        self._plan_spot: float | None = None
        self._plan_day: date | None = None
        self._planning: asyncio.Task | None = None
        self._wake = asyncio.Event()
        self._lost = asyncio.Event()
        self._stop = asyncio.Event()
        self._ticked = False
        self._oldest_tick: float | None = None  # perf_counter: first tick not yet snapshot

    # -- control ------------------------------------------------------------------------
    def stop(self) -> None:
        """Ask `run` to finish: lines cancelled, disconnected (safe from a signal handler)."""
        self._stop.set()
        self._wake.set()

    async def run(self) -> None:
        """Connect, stream, reconnect with exponential backoff, until `stop()`."""
        backoff = self.settings.reconnect_initial
        try:
            while not self._stop.is_set():
                self.status.state = State.CONNECTING
                streamed = False
                try:
                    await self.source.connect()
                    self.status.connected = True
                    streamed = await self._connected()
                except _LostError:
                    pass
                except _RECOVERABLE as problem:
                    self.status.last_error = f"{type(problem).__name__}: {problem}"
                    _log.warning("market data: %s", self.status.last_error)
                finally:
                    await self._cancel_planning()
                    self.status.connected = self.source.connected
                if self._stop.is_set():
                    break
                if self.source.connected:
                    self.source.disconnect()
                backoff = self.settings.reconnect_initial if streamed else backoff
                self.status.state = State.RECONNECTING
                self.status.reconnects += 1
                _log.info("reconnecting in %.1f s", backoff)
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._stop.wait(), backoff)
                backoff = min(2 * backoff, self.settings.reconnect_max)
        except Exception as problem:
            self.status.state = State.FAILED
            self.status.last_error = f"{type(problem).__name__}: {problem}"
            raise
        finally:
            self.source.disconnect()
            self.status.connected = False
            if self.status.state is not State.FAILED:
                self.status.state = State.STOPPED

    # -- one connection -----------------------------------------------------------------
    async def _connected(self) -> bool:
        """Stream over one connection until it drops; True if any snapshot was taken on it."""
        self._lost.clear()
        for sub_id in self.book.tracked:
            self.book.untrack(sub_id)
        self._ids.clear()
        self.book.forget_quotes()
        self.status.market_data_type = self.source.market_data_type
        if isinstance(self.clock, GatewayClock):
            await self.clock.sync()
        await self._wait_for_open()
        self.status.state = State.DISCOVERING
        self.book.track_underlying(await self.source.subscribe_underlying())
        await self._until(lambda: self.book.spot is not None, self.settings.connect_timeout)
        await self._plan()
        return await self._stream()

    async def _wait_for_open(self) -> None:
        while not is_market_open(self.clock.now()):
            if self.status.state is not State.MARKET_CLOSED:
                _log.info("market closed at %s: waiting for the open", self.clock.now())
            self.status.state = State.MARKET_CLOSED
            await self._pause(self.settings.interval)

    async def _plan(self) -> None:
        """Subscribe today's expiry within the band around spot; drop what left the band."""
        spot = self.book.spot
        assert spot is not None
        listing = await self.source.listing()
        now = self.clock.now()
        expiry = todays_expiry(listing.expirations, now)
        if expiry is None:
            raise LookupError("no expiry listed on or after today")
        strikes = strikes_in_band(
            listing.strikes, spot, self.settings.band, self.settings.option_lines
        )
        add, remove = changes(wanted_contracts(expiry, strikes), self._ids)
        self.source.unsubscribe(self._ids[k] for k in remove)
        for key in remove:
            self.book.untrack(self._ids.pop(key))
        for key, sub_id in (await self.source.subscribe(add)).items():
            self._ids[key] = sub_id
            self.book.track(sub_id, key)
        self._plan_spot, self._plan_day = spot, session_date(now)
        self.status.expiry = expiry.isoformat()
        self.status.lines = self.source.lines
        if add or remove:
            _log.info(
                "expiry %s, spot %.2f: %d contracts (+%d −%d), %d lines",
                expiry,
                spot,
                len(self._ids),
                len(add),
                len(remove),
                self.source.lines,
            )

    async def _stream(self) -> bool:
        s = self.settings
        # Warm-up: give every new line a chance to quote, so the first snapshots after a
        # (re)connect are whole and the detector does not see contracts as missing.
        with contextlib.suppress(TimeoutError):
            await self._until(lambda: self.book.quote_count >= len(self._ids), 2 * s.interval)
        self._start_streaming()
        loop = asyncio.get_running_loop()
        streamed, last_snapshot = False, -float("inf")
        next_resync = loop.time() + s.clock_resync
        while True:
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._wake.wait(), s.interval)
            self._check()
            self._wake.clear()
            if self._ticked:
                self._ticked = False
                wait = max(s.coalesce, last_snapshot + s.min_gap - loop.time())
                if wait > 0:
                    await self._pause(wait)
            now = self.clock.now()
            if not is_market_open(now):
                await self._close_for_the_day()
                continue
            if session_date(now) != self._plan_day and self._planning is None:
                self._replan()  # a new trading day: a new 0DTE expiry
            last_snapshot = loop.time()
            streamed |= self._snapshot(now)
            self._follow_the_money()
            if isinstance(self.clock, GatewayClock) and loop.time() >= next_resync:
                next_resync = loop.time() + s.clock_resync
                self._background(self.clock.sync(edges=1))

    def _start_streaming(self) -> None:
        # Ticks that came before (the warm-up, a closed market) waited on purpose: counted in
        # the tick → anomaly latency they would page for a slow pipeline that is not.
        self._oldest_tick = None
        self.status.state = State.STREAMING

    def _snapshot(self, now) -> bool:
        started = time.perf_counter()
        snapshot = self.book.snapshot(now)
        if snapshot is not None:
            self.metrics.snapshot_seconds.observe(time.perf_counter() - started)
        self.status.spot = self.book.spot
        self.status.market_data_type = self.source.market_data_type
        self.status.lines = self.source.lines
        self.status.rejected_updates = dict(self.book.rejected)
        if snapshot is None or self.pipeline.process(snapshot, self._oldest_tick) is None:
            return False  # its ticks are in the next snapshot: their wait goes on
        self._oldest_tick = None
        self.status.last_snapshot = snapshot.timestamp
        self.status.snapshots = self.pipeline.counts.snapshots
        self.status.events = self.pipeline.counts.events
        return True

    def _follow_the_money(self) -> None:
        spot, planned = self.book.spot, self._plan_spot
        if spot is None or planned is None or self._planning is not None:
            return
        if abs(spot / planned - 1.0) >= self.settings.follow_threshold:
            self._replan()

    def _replan(self) -> None:
        self._planning = self._background(self._plan())
        self._planning.add_done_callback(self._planned)

    def _planned(self, task: asyncio.Task) -> None:
        self._planning = None

    async def _close_for_the_day(self) -> None:
        """The session ended: free the option lines, wait for the next open, start afresh."""
        await self._cancel_planning()
        self.source.unsubscribe(self._ids.values())
        for sub_id in self._ids.values():
            self.book.untrack(sub_id)
        self._ids.clear()
        self.status.lines = self.source.lines
        self.status.expiry = None
        await self._wait_for_open()
        await self._plan()
        self._start_streaming()

    # -- callbacks from the source ------------------------------------------------------
    def _on_updates(self, updates: list[TopOfBook]) -> None:
        if self._oldest_tick is None:
            self._oldest_tick = time.perf_counter()
        for update in updates:
            self.book.apply(update)
        self.metrics.ticks.inc(len(updates))
        self._ticked = True
        self._wake.set()

    def _on_disconnect(self) -> None:
        if not self._stop.is_set():
            _log.warning("gateway connection lost")
        self.status.connected = False
        self._lost.set()
        self._wake.set()

    # -- helpers ------------------------------------------------------------------------
    def _check(self) -> None:
        if self._lost.is_set() or self._stop.is_set():
            raise _LostError

    async def _pause(self, seconds: float) -> None:
        """Sleep, but wake (and raise _LostError) at once if the connection drops or we stop."""
        self._check()
        lost, stop = (
            asyncio.ensure_future(self._lost.wait()),
            asyncio.ensure_future(self._stop.wait()),
        )
        try:
            await asyncio.wait({lost, stop}, timeout=seconds, return_when=asyncio.FIRST_COMPLETED)
        finally:
            lost.cancel()
            stop.cancel()
        self._check()

    async def _until(self, condition, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not condition():
            if time.monotonic() > deadline:
                raise TimeoutError(f"gave up waiting after {timeout:g} s: {condition}")
            await self._pause(0.01)

    def _background(self, coroutine) -> asyncio.Task:
        task = asyncio.get_running_loop().create_task(coroutine)
        task.add_done_callback(_log_failure)
        return task

    async def _cancel_planning(self) -> None:
        task, self._planning = self._planning, None
        if task is not None:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError, *_RECOVERABLE, _LostError):
                await task


def _log_failure(task: asyncio.Task) -> None:
    if task.cancelled():
        return
    problem = task.exception()
    if problem is not None and not isinstance(problem, _LostError):
        _log.warning("background task failed: %s: %s", type(problem).__name__, problem)
