"""The trader process: market data in (its own detector pipeline, or the one `spy-platform up`
already runs), the engine, the IB execution connection with reconnects, the lease, and the
HTTP surface. Start-up refuses (ConfigurationError) before any order when live trading is
not configured twice or the gateway's account is of the other kind.

After every (re)connect the engine reconciles with IB before it may trade again; while
disconnected or not holding the lease it decides nothing.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import os
from collections.abc import Callable, Mapping
from datetime import UTC, datetime

from spy_marketdata.service import MarketDataService
from spy_marketdata.settings import MarketDataSettings
from spy_marketdata.sinks import FanOut, Sink

from .engine import Engine, Reporter
from .ibkr import IbkrExecution
from .journal import Journal
from .lease import Lease, lease_for
from .settings import ConfigurationError, TraderSettings, check_account, check_live_twice

_log = logging.getLogger(__name__)
_RECOVERABLE = (ConnectionError, OSError, TimeoutError)


class TraderService:
    def __init__(
        self,
        settings: TraderSettings,
        reporter: Reporter,
        *,
        environ: Mapping[str, str] | None = None,
        lease: Lease | None = None,
        clock: Callable[[], datetime] | None = None,
        market_data: MarketDataSettings | None = None,
        extra_sinks: tuple[Sink, ...] = (),
    ) -> None:
        """`clock` given: the caller feeds the engine (it is a Sink) from its own market
        data. Otherwise the service runs a market-data pipeline with `market_data` settings
        (default: the trader's gateway with its market-data client id)."""
        check_live_twice(settings, dict(os.environ if environ is None else environ))
        self.settings = settings
        self.journal = Journal(settings.state_path)
        self.gateway = IbkrExecution(
            settings.host, settings.port, settings.client_id, settings.connect_timeout
        )
        self.lease = lease or lease_for(settings.lease, settings.data_dir.expanduser())
        self.market_data: MarketDataService | None = None
        if clock is None:
            md = market_data or MarketDataSettings(
                host=settings.host, port=settings.port, client_id=settings.market_data_client_id
            )
            clock = self._market_clock
            self.engine = Engine(
                settings, self.gateway, self.journal, reporter, clock, is_leader=self.lease.held
            )
            self.market_data = MarketDataService(md, FanOut(self.engine, *extra_sinks))
        else:
            self.engine = Engine(
                settings, self.gateway, self.journal, reporter, clock, is_leader=self.lease.held
            )
        self.gateway.on_disconnect = self._on_disconnect
        self._lost = asyncio.Event()
        self._stop = asyncio.Event()
        self._restored = False
        self.account: str | None = None
        self.reconnects = 0

    def _market_clock(self) -> datetime:
        assert self.market_data is not None
        return self.market_data.clock.now()

    @property
    def ready(self) -> bool:
        return self.gateway.connected and self.engine.ready and self.lease.held()

    def stop(self) -> None:
        self._stop.set()
        self._lost.set()
        if self.market_data is not None:
            self.market_data.stop()

    async def run(self) -> None:
        """Until `stop()`; raises ConfigurationError (refusing to trade) on an account
        mismatch."""
        tasks = [asyncio.create_task(self.lease.run(), name="lease")]
        if self.market_data is not None:
            tasks.append(asyncio.create_task(self.market_data.run(), name="market-data"))
        try:
            await self._execution()
        finally:
            self.engine.close()
            for task in tasks:
                task.cancel()
            for task in tasks:
                with contextlib.suppress(asyncio.CancelledError, Exception):
                    await task
            self.gateway.disconnect()
            self.engine.metrics.gateway_connected.set(0)
            await self.lease.release()
            self.journal.close()

    async def _execution(self) -> None:
        backoff = 0.5
        while not self._stop.is_set():
            try:
                await self.connect_once()
                backoff = 0.5
                await self._lost.wait()
            except ConfigurationError:
                raise
            except _RECOVERABLE as problem:
                _log.warning("trader: gateway %s: %s", type(problem).__name__, problem)
            self.engine.ready = False
            self.engine.metrics.gateway_connected.set(0)
            if self._stop.is_set():
                break
            self.reconnects += 1
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._stop.wait(), backoff)
            backoff = min(backoff * 2, 10.0)

    async def connect_once(self) -> None:
        """Connect, check the account kind, restore (first time) and reconcile."""
        self._lost.clear()
        self.account = await self.gateway.connect(self.journal.max_order_id())
        check_account(self.settings, self.account)
        await self._clock_ready()
        if not self._restored:
            self.engine.restore(self.engine.clock())
            self._restored = True
        self.engine.reconcile()
        self.engine.metrics.gateway_connected.set(1)
        _log.info("trader connected to %s:%d (reconciled)", self.settings.host, self.settings.port)

    async def _clock_ready(self) -> None:
        """The market-data clock (the gateway's time) syncs on its own connection; the
        trader needs it to know which trading day it restores."""
        deadline = asyncio.get_running_loop().time() + self.settings.connect_timeout
        while True:
            try:
                self.engine.clock()
                return
            except RuntimeError:
                if asyncio.get_running_loop().time() > deadline:
                    raise TimeoutError("the market-data clock did not sync") from None
                await asyncio.sleep(0.05)

    def _on_disconnect(self) -> None:
        self.engine.ready = False
        self._lost.set()


def now_utc() -> datetime:
    return datetime.now(UTC)
