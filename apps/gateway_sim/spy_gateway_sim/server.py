"""The gateway simulator: listens, keeps the shared market and broker, steps the market,
fans out ticks and order reports, and exposes a control API for faults.

Start it in a running event loop (`async with GatewaySimulator(config) as sim:` or
`await sim.start()` … `await sim.stop()`); `sim.port` is the bound port (config port 0 picks
a free one). Everything runs on that loop; control methods must be called from it.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from types import TracebackType

from spy_core.clock import Clock, RealClock
from spy_core.default_ports import GATEWAY_PORT
from spy_core.models import ContractKey, Side
from spy_core.synthetic import InjectedMispricing

from . import protocol
from .analytics import Computation, computations
from .clock import SessionClock
from .faults import Faults, run_schedule
from .instruments import Instrument
from .market import MarketConfig, MarketModel, MarketView, default_start
from .orders import Book, Broker, Execution, Order
from .session import ClientSession

_log = logging.getLogger(__name__)
_RESTORED = "Connectivity between IB and Trader Workstation has been restored"


@dataclass
class SimulatorConfig:
    host: str = "127.0.0.1"
    port: int = GATEWAY_PORT
    market: MarketConfig = field(default_factory=MarketConfig)
    speed: float = 1.0  # simulated seconds per wall second (session clock only)
    start: datetime | None = None  # default: today's session open (or the latest one)
    real_clock: bool = False
    tick_interval: float = 0.25  # wall seconds between market steps sent to clients
    account: str = "DU1234567"
    faults: Faults = field(default_factory=Faults)


class GatewaySimulator:
    def __init__(self, config: SimulatorConfig, clock: Clock | None = None) -> None:
        self.config = config
        self.faults = config.faults
        self.account = config.account
        if clock is None:
            if config.real_clock:
                clock = RealClock()
            else:
                start = config.start or default_start(datetime.now(UTC))
                clock = SessionClock(start, config.speed)
        self.clock = clock
        self.market = MarketModel(config.market, clock.now())
        self.broker = Broker(account=config.account)
        self.sessions: set[ClientSession] = set()
        self.connectivity_lost = False
        self._server: asyncio.Server | None = None
        self._tasks: list[asyncio.Task] = []
        self._computed: tuple[int, dict[ContractKey, dict[str, Computation]]] | None = None
        self._day = self.market.time.date()

    # -- lifecycle ----------------------------------------------------------------------
    async def start(self) -> None:
        # The first greeks import scipy (~0.4 s): paid here, not in the first subscriber's tick.
        view = self.view()
        self._computed = (view.step, computations(view))
        self._server = await asyncio.start_server(self._accept, self.config.host, self.config.port)
        loop = asyncio.get_running_loop()
        self._tasks = [
            loop.create_task(self._ticker()),
            loop.create_task(run_schedule(self, self.faults)),
        ]
        _log.info(
            "IB Gateway simulator on %s:%d, simulated time %s, speed %g",
            self.config.host,
            self.port,
            self.now().isoformat(),
            self.config.speed,
        )

    @property
    def port(self) -> int:
        assert self._server is not None, "not started"
        return self._server.sockets[0].getsockname()[1]

    async def stop(self) -> None:
        for task in self._tasks:
            task.cancel()
        for task in self._tasks:
            with contextlib.suppress(asyncio.CancelledError):
                await task
        self.drop_connections()
        if self._server is not None:
            self._server.close()
            await self._server.wait_closed()
        _log.info("simulator stopped")

    async def serve_forever(self) -> None:
        await self.start()
        try:
            await asyncio.Event().wait()
        finally:
            await self.stop()

    async def __aenter__(self) -> GatewaySimulator:
        await self.start()
        return self

    async def __aexit__(
        self,
        kind: type[BaseException] | None,
        error: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        await self.stop()

    async def _accept(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        session = ClientSession(self, reader, writer)
        self.sessions.add(session)
        _log.info("%s: connected", session.peer)
        try:
            await session.run()
        except Exception:
            _log.exception("%s: session failed", session.peer)
        finally:
            self.sessions.discard(session)
            _log.info("%s: disconnected", session.peer)

    def client_in_use(self, client_id: int, asking: ClientSession) -> bool:
        return any(s.client_id == client_id and s is not asking for s in self.sessions)

    # -- market -------------------------------------------------------------------------
    def now(self) -> datetime:
        """The simulated time: what clients see in reqCurrentTime and the handshake."""
        return self.clock.now()

    def view(self) -> MarketView:
        return self.market.view()

    def computations_for(self, instrument: Instrument) -> dict[str, Computation] | None:
        if not instrument.is_option:
            return None
        view = self.view()
        if self._computed is None or self._computed[0] != view.step:
            self._computed = (view.step, computations(view))
        return self._computed[1].get(instrument.key)

    async def _ticker(self) -> None:
        while True:
            try:
                self.step()
            except Exception:
                _log.exception("market step failed")
            await asyncio.sleep(self.config.tick_interval)

    def step(self) -> None:
        """Advance the market to now, fill what crosses, and send every client its ticks."""
        before = self.market.step
        self.market.advance_to(self.now())
        if self.market.time.date() != self._day:
            self._day = self.market.time.date()
            for order in self.broker.cancel_day_orders():
                self._report(order, [])
            self.broker.new_day()
        if self.market.step == before or self.connectivity_lost:
            return
        self.view()  # built here, in the tick, so the next order does not wait for it
        self.match_orders()
        for session in list(self.sessions):
            session.publish()
        self._publish_pnl()

    def books(self, con_ids: Iterable[int]) -> dict[int, Book]:
        """Top of book for the listed contracts among `con_ids` (those with working orders
        or positions: building all ~400 per order cost milliseconds)."""
        view = self.view()
        books = {}
        for con_id in set(con_ids):
            instrument = self.market.instrument(con_id)
            if instrument is None:
                continue
            if instrument.is_option:
                quote = view.quotes.get(instrument.key)
                if quote is None:
                    continue
                mark = 0.5 * (quote.bid + quote.ask)
                books[con_id] = Book(
                    quote.bid, quote.ask, quote.bid_size or 0, quote.ask_size or 0, mark
                )
            else:
                s = view.stock
                books[con_id] = Book(s.bid, s.ask, s.bid_size, s.ask_size, s.last)
        return books

    # -- orders and account -------------------------------------------------------------
    def match_orders(self) -> None:
        if self.connectivity_lost:
            return
        working = self.broker.working_orders()
        if not working:
            return
        books = self.books(con_id for o in working for con_id in o.con_ids)
        fills = self.broker.match(books, self.now(), partial=self.faults.partial_fills)
        by_order: dict[tuple[int, int], list[Execution]] = {}
        for fill in fills:
            by_order.setdefault((fill.client_id, fill.order_id), []).append(fill)
        for key, executions in by_order.items():
            self._report(self.broker.orders[key], executions)
        if fills:
            self._publish_account()

    def _report(self, order: Order, executions: list[Execution]) -> None:
        """Order status, the fills and their commissions, to the client that owns the order."""
        messages: list[list[object]] = [protocol.open_order(order)]
        for execution in executions:
            messages.append(protocol.execution_data(-1, execution))
            if not execution.instrument.is_combo:  # commissions are charged per leg
                messages.append(protocol.commission_report(execution))
        messages.append(protocol.order_status(order))
        for session in self.sessions:
            if session.client_id == order.client_id:
                session.send(*messages)

    def marks(self) -> dict[int, float]:
        """Mark per held contract (the mid for options, the last for SPY)."""
        return {con_id: book.mark for con_id, book in self.books(self.broker.positions).items()}

    def account_values(self) -> dict[str, str]:
        values = self.broker.account_values(self.marks())
        return {k: f"{v:.2f}" for k, v in values.items()}

    def account_update_messages(self) -> list[list[object]]:
        marks = self.marks()
        broker = self.broker
        messages = [protocol.account_value("AccountCode", self.account, self.account, "")]
        messages += [
            protocol.account_value(tag, value, self.account)
            for tag, value in self.account_values().items()
        ]
        for con_id, position in broker.positions.items():
            mark = marks.get(con_id, 0.0)
            messages.append(
                protocol.portfolio_value(
                    self.account,
                    position.instrument,
                    position.quantity,
                    mark,
                    position.avg_cost,
                    position.realized,
                )
            )
        messages.append(protocol.account_time(self.now()))
        return messages

    def _publish_account(self) -> None:
        positions = [
            protocol.position(self.account, p.instrument, p.quantity, p.avg_cost)
            for p in self.broker.positions.values()
        ]
        updates = self.account_update_messages()
        values = self.account_values()
        for session in self.sessions:
            session.publish_account(positions, updates, values)
        self._publish_pnl()

    def pnl(self) -> tuple[float, float, float]:
        """The account's (daily, unrealised, realised) P&L at the current marks."""
        return self.broker.pnl(self.marks())

    def pnl_single(self, con_id: int) -> tuple[float, float, float, float, float]:
        """One contract's (position, daily, unrealised, realised, value)."""
        position = self.broker.positions.get(con_id)
        if position is None:
            return 0.0, 0.0, 0.0, 0.0, 0.0
        mark = self.marks().get(
            con_id, position.avg_cost / float(position.instrument.multiplier or 1)
        )
        unrealized = position.unrealized(mark)
        value = position.quantity * mark * float(position.instrument.multiplier or 1)
        daily = position.realized + unrealized
        return position.quantity, daily, unrealized, position.realized, value

    def _publish_pnl(self) -> None:
        """Every P&L subscription's current figures (IB sends them about once a second)."""
        if any(s.pnl_requests or s.pnl_single_requests for s in self.sessions):
            for session in list(self.sessions):
                session.publish_pnl()

    # -- control API --------------------------------------------------------------------
    def live_mispricings(self) -> tuple[InjectedMispricing, ...]:
        """The mispricings in the quotes clients see now, with their current edge."""
        return self.market.live_mispricings()

    def inject_mispricing(
        self, key: ContractKey, side: Side, size: float, lifetime: float | None = None
    ) -> None:
        """Misprice `key` for `lifetime` simulated seconds from the clock's now (default: the
        market config's `mispricing_lifetime`)."""
        self.market.inject(key, side, size, lifetime, now=self.now())

    def move_spot(self, fraction: float) -> None:
        """Jump SPY by `fraction` (0.01 = +1%); clients see it with the next market step."""
        self.market.move_spot(fraction)

    def drop_connections(self) -> None:
        """Close every client socket at once (a gateway crash or network cut)."""
        _log.warning("dropping %d connection(s)", len(self.sessions))
        for session in list(self.sessions):
            session.close()

    def restart(self, roll_back_order_ids: bool = True) -> None:
        """A gateway restart: connections dropped, and (by default) nextValidId rolled back
        to 1 while the orders already placed still exist, as after IB's nightly reset."""
        self.faults.roll_back_order_ids = roll_back_order_ids
        self.drop_connections()

    def lose_connectivity(self) -> None:
        """Error 1100: the gateway lost IB's servers; no data flows until restored."""
        self.connectivity_lost = True
        self._broadcast(1100, "Connectivity between IB and Trader Workstation has been lost.")

    def restore_connectivity(self, data_lost: bool = False) -> None:
        """1101 (subscriptions lost, clients must resubscribe) or 1102 (data maintained)."""
        self.connectivity_lost = False
        if data_lost:
            for session in self.sessions:
                session.drop_subscriptions()
            self._broadcast(1101, f"{_RESTORED} - data lost.")
        else:
            self._broadcast(1102, f"{_RESTORED} - data maintained.")

    def _broadcast(self, code: int, message: str) -> None:
        _log.warning("error %d to all clients: %s", code, message)
        for session in self.sessions:
            if session.client_id is not None:
                session.error(-1, code, message)
