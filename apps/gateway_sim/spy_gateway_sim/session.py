"""One client connection: the handshake, then request dispatch, then replies.

A session owns its socket, its market-data subscriptions and what it asked to be kept
informed of (positions, account updates); shared state (market, broker, clock, faults) lives
on its host, the server, which the session knows only as the `SessionHost` protocol. Unknown
message ids are logged and ignored; a request that cannot be parsed gets an error message
and the connection stays up. Only a broken byte stream (bad greeting, impossible length)
closes it.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime
from typing import Protocol

from . import protocol, requests
from .analytics import Computation
from .faults import Faults
from .instruments import COMBO, ContractRequest, Instrument, match
from .market import MarketModel
from .orders import Broker, ComboLeg, OrderRejectedError
from .protocol import In, Out
from .streaming import Subscription
from .wire import (
    GREETING,
    FrameDecoder,
    FramingError,
    encode_message,
    parse_version_range,
    split_fields,
)

_log = logging.getLogger(__name__)
_READ_CHUNK = 65536
_ACCOUNT_SUMMARY_TAGS = ("NetLiquidation", "TotalCashValue", "AvailableFunds", "BuyingPower")


class SessionHost(Protocol):
    """What a session needs from the server that accepted it: the shared state, and the
    operations that span every client."""

    account: str
    faults: Faults
    market: MarketModel
    broker: Broker

    def now(self) -> datetime: ...

    def computations_for(self, instrument: Instrument) -> dict[str, Computation] | None: ...

    def match_orders(self) -> None: ...

    def account_values(self) -> dict[str, str]: ...

    def account_update_messages(self) -> list[list[object]]: ...

    def pnl(self) -> tuple[float, float, float]: ...

    def pnl_single(self, con_id: int) -> tuple[float, float, float, float, float]: ...

    def client_in_use(self, client_id: int, asking: ClientSession) -> bool: ...


class ClientSession:
    def __init__(
        self,
        server: SessionHost,
        reader: asyncio.StreamReader,
        writer: asyncio.StreamWriter,
    ) -> None:
        self.server = server
        self.reader = reader
        self.writer = writer
        self.client_id: int | None = None
        self.version = protocol.SERVER_VERSION
        self.data_type = 1
        self.subscriptions: dict[int, Subscription] = {}
        self.wants_positions = False
        self.wants_account_updates = False
        self.account_multi_ids: set[int] = set()
        self.pnl_requests: set[int] = set()
        self.pnl_single_requests: dict[int, int] = {}  # request id → contract id
        self._pending: asyncio.Queue[tuple[float, bytes]] | None = None
        self._delayed: asyncio.Task[None] | None = None  # the latency fault's writer
        self._handlers: dict[int, Callable[[list[str]], None]] = {
            In.REQ_MKT_DATA: self._req_mkt_data,
            In.CANCEL_MKT_DATA: self._cancel_mkt_data,
            In.PLACE_ORDER: self._place_order,
            In.CANCEL_ORDER: self._cancel_order,
            In.REQ_OPEN_ORDERS: self._req_open_orders,
            In.REQ_ALL_OPEN_ORDERS: self._req_open_orders,
            In.REQ_AUTO_OPEN_ORDERS: lambda fields: None,
            In.REQ_ACCOUNT_UPDATES: self._req_account_updates,
            In.REQ_EXECUTIONS: self._req_executions,
            In.REQ_IDS: lambda fields: self.send(protocol.next_valid_id(self.next_order_id())),
            In.REQ_CONTRACT_DATA: self._req_contract_data,
            In.REQ_MANAGED_ACCTS: lambda f: self.send(protocol.managed_accounts(server.account)),
            In.REQ_CURRENT_TIME: lambda fields: self.send(protocol.current_time(server.now())),
            In.REQ_MARKET_DATA_TYPE: self._req_market_data_type,
            In.REQ_POSITIONS: self._req_positions,
            In.CANCEL_POSITIONS: self._cancel_positions,
            In.REQ_ACCOUNT_SUMMARY: self._req_account_summary,
            In.CANCEL_ACCOUNT_SUMMARY: lambda fields: None,
            In.REQ_ACCOUNT_UPDATES_MULTI: self._req_account_updates_multi,
            In.CANCEL_ACCOUNT_UPDATES_MULTI: self._cancel_account_updates_multi,
            In.REQ_SEC_DEF_OPT_PARAMS: self._req_sec_def_opt_params,
            In.REQ_PNL: self._req_pnl,
            In.CANCEL_PNL: lambda fields: self.pnl_requests.discard(int(fields[1])),
            In.REQ_PNL_SINGLE: self._req_pnl_single,
            In.CANCEL_PNL_SINGLE: lambda fields: self.pnl_single_requests.pop(int(fields[1]), None),
            In.REQ_COMPLETED_ORDERS: lambda fields: self.send(
                protocol.end_of(Out.COMPLETED_ORDERS_END)
            ),
        }

    @property
    def peer(self) -> str:
        return str(self.writer.get_extra_info("peername"))

    # -- output -------------------------------------------------------------------------
    def send(self, *messages: Sequence[object]) -> None:
        """Queue messages in order; with the latency fault each waits that long first."""
        if self.writer.is_closing():
            return
        data = b"".join(encode_message(m) for m in messages)
        latency = self.server.faults.latency
        if latency <= 0 and self._pending is None:
            self.writer.write(data)
            return
        if self._pending is None:
            self._pending = asyncio.Queue()
            self._delayed = asyncio.get_running_loop().create_task(
                self._delayed_writer(self._pending)
            )
        self._pending.put_nowait((time.monotonic() + latency, data))

    async def _delayed_writer(self, queue: asyncio.Queue[tuple[float, bytes]]) -> None:
        while not self.writer.is_closing():
            due, data = await queue.get()
            await asyncio.sleep(max(due - time.monotonic(), 0.0))
            if not self.writer.is_closing():
                self.writer.write(data)

    def close(self) -> None:
        """Close the socket; what the latency fault still holds back is dropped with it."""
        if self._delayed is not None:
            self._delayed.cancel()
        if not self.writer.is_closing():
            self.writer.close()

    def error(self, req_id: int, code: int, message: str) -> None:
        self.send(protocol.error(req_id, code, message))

    # -- input --------------------------------------------------------------------------
    async def run(self) -> None:
        try:
            greeting = await self.reader.readexactly(len(GREETING))
            if greeting != GREETING:
                raise FramingError(f"bad greeting {greeting!r}")
            decoder = FrameDecoder()
            payloads: list[bytes] = []
            while not payloads:
                chunk = await self.reader.read(_READ_CHUNK)
                if not chunk:
                    return
                payloads = decoder.feed(chunk)
            _, client_max = parse_version_range(payloads[0].decode("ascii", errors="replace"))
            self.version = min(client_max, protocol.SERVER_VERSION)
            self.writer.write(encode_message(protocol.handshake(self.server.now(), self.version)))
            for payload in payloads[1:]:
                self.handle(split_fields(payload))
            while chunk := await self.reader.read(_READ_CHUNK):
                for payload in decoder.feed(chunk):
                    self.handle(split_fields(payload))
                await self.writer.drain()
        except (asyncio.IncompleteReadError, ConnectionError):
            pass
        except FramingError as problem:
            _log.warning("%s: closing, unreadable stream: %s", self.peer, problem)
        finally:
            self.close()

    def handle(self, fields: list[str]) -> None:
        """Dispatch one request; parse problems become an error reply, never a crash."""
        if not fields:
            return
        try:
            msg_id = int(fields[0])
        except ValueError:
            _log.warning("%s: message id %r is not a number; ignored", self.peer, fields[0])
            return
        _log.debug("%s <<< %s", self.peer, ",".join(fields))
        if msg_id == In.START_API:
            self._start_api(fields)
            return
        if self.client_id is None:
            _log.warning("%s: message %d before startApi; ignored", self.peer, msg_id)
            return
        handler = self._handlers.get(msg_id)
        if handler is None:
            _log.info("%s: unsupported message id %d; ignored", self.peer, msg_id)
            return
        try:
            handler(fields)
        except (ValueError, IndexError) as problem:
            req_id = _request_id(msg_id, fields)
            _log.warning("%s: bad request %s: %s", self.peer, fields, problem)
            self.error(req_id, 320, f"Error reading request: {problem}")

    # -- connection ---------------------------------------------------------------------
    def _start_api(self, fields: list[str]) -> None:
        client_id = int(fields[2])
        if self.server.client_in_use(client_id, self):
            _log.warning("%s: client id %d already in use", self.peer, client_id)
            self.error(
                -1,
                326,
                "Unable to connect as the client id is already in use. "
                "Retry with a unique client id.",
            )
            self.close()
            return
        self.client_id = client_id
        _log.info("%s: client %d connected (server version %d)", self.peer, client_id, self.version)
        self.send(
            protocol.managed_accounts(self.server.account),
            protocol.next_valid_id(self.next_order_id()),
        )

    def next_order_id(self) -> int:
        if self.server.faults.roll_back_order_ids:
            return 1
        assert self.client_id is not None
        return self.server.broker.next_valid_id(self.client_id)

    # -- contracts ----------------------------------------------------------------------
    def _resolve(self, request: ContractRequest) -> list[Instrument]:
        return match(request, self.server.market.instruments())

    def _req_contract_data(self, fields: list[str]) -> None:
        req_id, request = requests.contract_details(fields)
        found = self._resolve(request)
        if not found:
            self.error(req_id, 200, "No security definition has been found for the request")
            return
        today = self.server.market.time.date()
        self.send(
            *(protocol.contract_data(req_id, i, today) for i in found),
            protocol.end_of(Out.CONTRACT_DATA_END, req_id),
        )

    def _req_sec_def_opt_params(self, fields: list[str]) -> None:
        req_id, symbol = int(fields[1]), fields[2].upper()
        market = self.server.market
        if symbol != "SPY":
            self.error(req_id, 200, "No security definition has been found for the request")
            return
        expiries = list(market.expiries)
        strikes = sorted({k for e in expiries for k in market.strikes(e)})
        self.send(
            protocol.option_parameters(req_id, "SMART", expiries, strikes),
            protocol.option_parameters(req_id, "CBOE", expiries, strikes),
            protocol.end_of(Out.SECURITY_DEFINITION_OPTION_PARAMETER_END, req_id),
        )

    # -- market data --------------------------------------------------------------------
    def _req_mkt_data(self, fields: list[str]) -> None:
        request = requests.market_data(fields)
        found = self._resolve(request.contract)
        if len(found) != 1:
            self.error(request.req_id, 200, "No security definition has been found for the request")
            return
        if self.data_type in (1, 2) and self.server.faults.refuse_live_data:
            self.error(
                request.req_id,
                10197,
                "No market data during competing live session",
            )
            return
        subscription = Subscription(request.req_id, found[0], request.generic_ticks, self.data_type)
        self.send(protocol.market_data_type(request.req_id, self.data_type))
        view = self.server.market.view()
        self.send(*subscription.messages(view, self.server.computations_for(found[0]), full=True))
        if request.snapshot:
            self.send(protocol.end_of(Out.TICK_SNAPSHOT_END, request.req_id))
        else:
            self.subscriptions[request.req_id] = subscription

    def _cancel_mkt_data(self, fields: list[str]) -> None:
        self.subscriptions.pop(int(fields[2]), None)

    def _req_market_data_type(self, fields: list[str]) -> None:
        data_type = int(fields[2])
        if data_type not in (1, 2, 3, 4):
            raise ValueError(f"market data type {data_type} is not 1-4")
        self.data_type = data_type
        for subscription in self.subscriptions.values():
            subscription.data_type = data_type
            subscription.sent.clear()
            self.send(protocol.market_data_type(subscription.req_id, data_type))

    def drop_subscriptions(self) -> None:
        """Forget every market-data line (error 1101: the client must resubscribe)."""
        self.subscriptions.clear()

    def publish(self) -> None:
        """Send every subscription's changes since the last market step."""
        if not self.subscriptions:
            return
        view = self.server.market.view()
        messages = []
        for subscription in self.subscriptions.values():
            computations = self.server.computations_for(subscription.instrument)
            messages.extend(subscription.messages(view, computations))
        if messages:
            self.send(*messages)

    # -- orders -------------------------------------------------------------------------
    def _place_order(self, fields: list[str]) -> None:
        contract, request = requests.place_order(fields)
        market = self.server.market
        legs = tuple(
            ComboLeg(instrument, leg.ratio, leg.action)
            for leg in request.legs
            if (instrument := market.instrument(leg.con_id)) is not None and instrument.is_option
        )
        found = [COMBO] if request.legs else self._resolve(contract)
        if len(found) != 1 or len(legs) != len(request.legs):
            self.error(
                request.order_id, 200, "No security definition has been found for the request"
            )
            return
        assert self.client_id is not None
        try:
            order = self.server.broker.place(self.client_id, request, found[0], legs)
        except OrderRejectedError as rejected:
            self.error(request.order_id, rejected.code, rejected.message)
            return
        _log.info(
            "client %d order %d: %s %g %s @ %g",
            self.client_id,
            order.order_id,
            order.action,
            order.quantity,
            found[0].local_symbol,
            order.limit,
        )
        self.send(protocol.open_order(order), protocol.order_status(order))
        self.server.match_orders()

    def _cancel_order(self, fields: list[str]) -> None:
        order_id = int(fields[2])
        assert self.client_id is not None
        try:
            order = self.server.broker.cancel(self.client_id, order_id)
        except OrderRejectedError as rejected:
            self.error(order_id, rejected.code, rejected.message)
            return
        self.send(
            protocol.order_status(order),
            protocol.error(order_id, 202, "Order Canceled - reason:"),
        )

    def _req_open_orders(self, fields: list[str]) -> None:
        broker = self.server.broker
        for order in broker.orders.values():
            if order.client_id == self.client_id and not order.is_done:
                self.send(protocol.open_order(order), protocol.order_status(order))
        self.send(protocol.end_of(Out.OPEN_ORDER_END))

    def _req_executions(self, fields: list[str]) -> None:
        req_id = int(fields[2])
        wanted = int(fields[3] or 0) or self.client_id
        for execution in self.server.broker.executions:
            if execution.client_id == wanted:
                self.send(
                    protocol.execution_data(req_id, execution),
                    protocol.commission_report(execution),
                )
        self.send(protocol.end_of(Out.EXECUTION_DATA_END, req_id))

    # -- account ------------------------------------------------------------------------
    def _req_positions(self, fields: list[str]) -> None:
        self.wants_positions = True
        broker = self.server.broker
        for position in broker.positions.values():
            self.send(
                protocol.position(
                    broker.account, position.instrument, position.quantity, position.avg_cost
                )
            )
        self.send(protocol.end_of(Out.POSITION_END))

    def publish_account(
        self,
        positions: Sequence[list[object]],
        updates: Sequence[list[object]],
        values: dict[str, str],
    ) -> None:
        """After fills: the position, account-update and multi-account messages this client
        asked to be kept informed of."""
        if self.wants_positions:
            self.send(*positions)
        if self.wants_account_updates:
            self.send(*updates)
        for req_id in self.account_multi_ids:
            self.send(
                *(
                    protocol.account_update_multi(req_id, self.server.account, tag, value)
                    for tag, value in values.items()
                )
            )

    def _cancel_positions(self, fields: list[str]) -> None:
        self.wants_positions = False

    def _req_account_updates(self, fields: list[str]) -> None:
        self.wants_account_updates = fields[2] not in ("0", "")
        if self.wants_account_updates:
            self.send(*self.server.account_update_messages())
            self.send([Out.ACCT_DOWNLOAD_END, 1, self.server.account])

    def _req_account_updates_multi(self, fields: list[str]) -> None:
        req_id = int(fields[2])
        self.account_multi_ids.add(req_id)
        values = self.server.account_values()
        self.send(
            *(
                protocol.account_update_multi(req_id, self.server.account, tag, value)
                for tag, value in values.items()
            ),
            protocol.end_of(Out.ACCOUNT_UPDATE_MULTI_END, req_id),
        )

    def _cancel_account_updates_multi(self, fields: list[str]) -> None:
        self.account_multi_ids.discard(int(fields[2]))

    def _req_pnl(self, fields: list[str]) -> None:
        """reqPnL: 92, reqId, account, modelCode."""
        self._check_account(fields[2])
        self.pnl_requests.add(int(fields[1]))
        self.publish_pnl()

    def _req_pnl_single(self, fields: list[str]) -> None:
        """reqPnLSingle: 94, reqId, account, modelCode, conId."""
        self._check_account(fields[2])
        self.pnl_single_requests[int(fields[1])] = int(fields[4])
        self.publish_pnl()

    def _check_account(self, account: str) -> None:
        if account and account != self.server.account:
            raise ValueError(f"unknown account {account!r}")

    def publish_pnl(self) -> None:
        """The current figures for every P&L subscription of this client."""
        messages = [protocol.pnl(req_id, *self.server.pnl()) for req_id in self.pnl_requests]
        messages += [
            protocol.pnl_single(req_id, *self.server.pnl_single(con_id))
            for req_id, con_id in self.pnl_single_requests.items()
        ]
        if messages:
            self.send(*messages)

    def _req_account_summary(self, fields: list[str]) -> None:
        req_id, tags = int(fields[2]), fields[4]
        values = self.server.account_values()
        wanted = [t for t in tags.split(",") if t in values] or list(_ACCOUNT_SUMMARY_TAGS)
        self.send(
            *(protocol.account_summary(req_id, self.server.account, t, values[t]) for t in wanted),
            protocol.end_of(Out.ACCOUNT_SUMMARY_END, req_id),
        )


def _request_id(msg_id: int, fields: list[str]) -> int:
    """The request (or order) id a malformed request was about, else −1."""
    index = (
        1
        if msg_id in (In.PLACE_ORDER, In.REQ_SEC_DEF_OPT_PARAMS, In.REQ_PNL, In.REQ_PNL_SINGLE)
        else 2
    )
    try:
        return int(fields[index])
    except (IndexError, ValueError):
        return -1
