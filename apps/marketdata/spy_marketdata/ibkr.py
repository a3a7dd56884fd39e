"""The IBKR adapter: `QuoteSource` on ib_async 2.1.0. The only module that imports ib_async.

- Contracts are qualified in batches (`qualifyContractsAsync`; None results, e.g. error 200
  for a strike the union lists but this expiry does not, are dropped) and cached by key, so a
  reconnect re-subscribes without re-qualifying.
- Pacing: ib_async's own throttle, set to `settings.pacing` messages per second.
- Subscription ids are contract ids: they survive reconnects, unlike request ids.
- Error 10197 (live data refused: a competing live session) switches to delayed data
  (`reqMarketDataType(3)`) and re-requests the refused lines; the choice sticks for later
  connections. 1101 (connectivity restored, data lost) re-requests every line.
"""

from __future__ import annotations

import asyncio
import logging
import math
from collections.abc import Callable, Iterable
from datetime import UTC, datetime

from ib_async import IB, Contract, IBDefaults, Option, StartupFetchNONE, Stock, Ticker

from spy_core.models import ContractKey, Right

from .book import TopOfBook
from .planning import as_date
from .settings import MarketDataSettings
from .source import ChainListing, Subscribers

_log = logging.getLogger(__name__)
LIVE, DELAYED = 1, 3
NO_LIVE_DATA = 10197
DATA_LOST = 1101


class IbkrSource:
    def __init__(self, settings: MarketDataSettings) -> None:
        self.settings = settings
        self.on_updates: Subscribers[list[TopOfBook]] = Subscribers("on_updates")
        self.on_disconnect: Callable[[], None] = lambda: None
        self.ib = self._new_ib()
        self._data_type = LIVE
        self._qualified: dict[ContractKey, Contract] = {}
        self._stock: Stock | None = None
        self._keys: dict[int, ContractKey] = {}  # conId -> key of subscribed options
        self._subscribed: dict[int, Contract] = {}  # conId -> contract, options and stock
        self._refused: set[int] = set()

    # -- connection ---------------------------------------------------------------------
    def _new_ib(self) -> IB:
        """A fresh client per connection: ib_async keeps per-connection state (tickers,
        request ids) that a dropped socket leaves behind."""
        ib = IB()
        ib.client.MaxRequests = self.settings.pacing
        ib.pendingTickersEvent += self._on_tickers
        ib.disconnectedEvent += self._on_disconnected
        ib.errorEvent += self._on_error
        return ib

    @property
    def connected(self) -> bool:
        return self.ib.isConnected()

    @property
    def market_data_type(self) -> int:
        return self._data_type

    @property
    def lines(self) -> int:
        return len(self._subscribed)

    async def connect(self) -> None:
        s = self.settings
        self._subscribed.clear()
        self._keys.clear()
        self._refused.clear()
        self._retire(self.ib)
        self.ib = self._new_ib()
        await self.ib.connectAsync(
            s.host,
            s.port,
            clientId=s.client_id,
            timeout=s.connect_timeout,
            readonly=True,
            fetchFields=StartupFetchNONE,
        )
        if self._data_type != LIVE:
            self.ib.reqMarketDataType(self._data_type)

    def _retire(self, ib: IB) -> None:
        """Detach from a previous connection's client so its late events are not ours."""
        ib.pendingTickersEvent -= self._on_tickers
        ib.disconnectedEvent -= self._on_disconnected
        ib.errorEvent -= self._on_error
        if ib.isConnected():
            ib.disconnect()

    def disconnect(self) -> None:
        """Cancel every line, then close (a clean stop; a dropped socket skips the cancels)."""
        if self.ib.isConnected():
            self.unsubscribe(list(self._subscribed))
        self.ib.disconnect()

    def _on_disconnected(self) -> None:
        self.on_disconnect()

    async def current_time(self) -> datetime:
        return await self.ib.reqCurrentTimeAsync()

    # -- chain discovery ----------------------------------------------------------------
    async def subscribe_underlying(self) -> int:
        if self._stock is None:
            stock = Stock(self.settings.underlying, "SMART", "USD")
            [qualified] = await self.ib.qualifyContractsAsync(stock)
            if qualified is None:
                raise LookupError(f"{self.settings.underlying} is not known to the gateway")
            self._stock = stock
        self._request(self._stock)
        return self._stock.conId

    async def listing(self) -> ChainListing:
        assert self._stock is not None, "subscribe_underlying first"
        chains = await self.ib.reqSecDefOptParamsAsync(
            self._stock.symbol, "", "STK", self._stock.conId
        )
        smart = [
            c
            for c in chains
            if c.exchange == "SMART" and c.tradingClass == self.settings.underlying
        ]
        if not smart:
            raise LookupError(f"no SMART option chain for {self.settings.underlying}")
        return ChainListing(
            tuple(sorted(as_date(e) for e in smart[0].expirations)),
            tuple(sorted(smart[0].strikes)),
        )

    async def subscribe(self, keys: Iterable[ContractKey]) -> dict[ContractKey, int]:
        keys = list(keys)
        await self._qualify([k for k in keys if k not in self._qualified])
        ids = {}
        for key in keys:
            contract = self._qualified.get(key)
            if contract is None:
                continue
            self._keys[contract.conId] = key
            self._request(contract)
            ids[key] = contract.conId
        return ids

    async def _qualify(self, keys: list[ContractKey]) -> None:
        size = self.settings.qualify_batch
        for start in range(0, len(keys), size):
            batch = keys[start : start + size]
            contracts = [self._option(key) for key in batch]
            results = await self.ib.qualifyContractsAsync(*contracts)
            for key, result in zip(batch, results, strict=True):
                if isinstance(result, Contract):
                    self._qualified[key] = result
                else:
                    _log.info("not listed, dropped: %s %s", self.settings.underlying, key)

    def _option(self, key: ContractKey) -> Option:
        expiry, strike, right = key
        return Option(
            self.settings.underlying,
            f"{expiry:%Y%m%d}",
            strike,
            right.value,
            "SMART",
            multiplier="100",
            currency="USD",
            tradingClass=self.settings.underlying,
        )

    # -- lines --------------------------------------------------------------------------
    def _request(self, contract: Contract) -> None:
        ticks = self.settings.generic_ticks if contract.secType == "OPT" else ""
        self.ib.reqMktData(contract, ticks)
        self._subscribed[contract.conId] = contract

    def unsubscribe(self, sub_ids: Iterable[int]) -> None:
        for con_id in list(sub_ids):
            contract = self._subscribed.pop(con_id, None)
            self._keys.pop(con_id, None)
            if contract is not None and self.ib.isConnected():
                self.ib.cancelMktData(contract)

    def _rerequest(self, con_ids: Iterable[int]) -> None:
        for con_id in con_ids:
            contract = self._subscribed.get(con_id)
            if contract is not None and self.ib.isConnected():
                if self.ib.ticker(contract) is not None:
                    self.ib.cancelMktData(contract)
                self._request(contract)

    def _on_error(
        self, req_id: int, code: int, message: str, contract: Contract | None = None
    ) -> None:
        if code == NO_LIVE_DATA and contract is not None and contract.conId:
            if not self._refused:
                asyncio.get_running_loop().call_soon(self._fall_back_to_delayed)
            self._refused.add(contract.conId)
        elif code == DATA_LOST:
            _log.warning("gateway lost market data (1101): re-requesting %d lines", self.lines)
            self._rerequest(list(self._subscribed))

    def _fall_back_to_delayed(self) -> None:
        refused, self._refused = self._refused, set()
        if self._data_type != DELAYED:
            _log.warning("live market data refused (10197): switching to delayed data (type 3)")
            self._data_type = DELAYED
            self.ib.reqMarketDataType(DELAYED)
        self._rerequest(refused)

    # -- ticks --------------------------------------------------------------------------
    def _on_tickers(self, tickers: set[Ticker]) -> None:
        updates = [_top_of_book(t, self._keys.get(t.contract.conId)) for t in tickers]
        self.on_updates.emit(updates)


def _top_of_book(ticker: Ticker, key: ContractKey | None) -> TopOfBook:
    """What the book needs from an ib_async ticker (ib_async leaves unset values NaN)."""
    interest = None
    if key is not None:
        interest = ticker.callOpenInterest if key[2] is Right.CALL else ticker.putOpenInterest
    bid, bid_size = ticker.bid, ticker.bidSize
    if _empty_side(bid, bid_size):
        bid, bid_size = 0.0, 0.0  # no bid: an option nobody bids for is worth ≥ 0 to sell
    ask, ask_size = ticker.ask, ticker.askSize
    if _empty_side(ask, ask_size):
        ask, ask_size = None, None  # no offer: no price to check, the quote is incomplete
    return TopOfBook(
        sub_id=ticker.contract.conId,
        received=ticker.time or datetime.now(UTC),
        bid=bid,
        ask=ask,
        bid_size=bid_size,
        ask_size=ask_size,
        last=ticker.last,
        volume=ticker.volume,
        open_interest=None if interest is None or math.isnan(interest) else interest,
    )


def _empty_side(price: float, size: float) -> bool:
    """IB's 'nothing on this side': price −1 with size 0 (ib_async's default empty values)."""
    return price == IBDefaults.emptyPrice and size == IBDefaults.emptySize
