"""The port between the service and a market-data provider. The service only knows this
interface; `ibkr.IbkrSource` implements it on ib_async (so does nothing else, today)."""

from __future__ import annotations

import logging
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Generic, Protocol, TypeVar

from spy_core.models import ContractKey

from .book import TopOfBook

_log = logging.getLogger(__name__)
T = TypeVar("T")


@dataclass(frozen=True)
class ChainListing:
    """What the provider lists for the underlying: expiries and the union of their strikes."""

    expirations: tuple[date, ...]
    strikes: tuple[float, ...]


class Subscribers(Generic[T]):
    """Callbacks that each get every value emitted, in the order they subscribed (like
    ib_async's events). A callback that raises is logged and the others still get the value;
    callbacks share the value, so none may change it."""

    def __init__(self, name: str) -> None:
        self.name = name
        self._callbacks: list[Callable[[T], None]] = []

    def subscribe(self, callback: Callable[[T], None]) -> None:
        self._callbacks.append(callback)

    def unsubscribe(self, callback: Callable[[T], None]) -> None:
        """Stop calling `callback` (once per subscription); unknown callbacks are ignored."""
        if callback in self._callbacks:
            self._callbacks.remove(callback)

    def __len__(self) -> int:
        return len(self._callbacks)

    def emit(self, value: T) -> None:
        for callback in tuple(self._callbacks):
            try:
                callback(value)
            except Exception:
                _log.exception("%s subscriber %r failed", self.name, callback)


class QuoteSource(Protocol):
    """Gives every `on_updates` subscriber each batch of top-of-book changes (the detector's
    service and, sharing the source, the trader); calls `on_disconnect` when the connection is
    gone (the service reconnects; the source never does by itself)."""

    on_updates: Subscribers[list[TopOfBook]]
    on_disconnect: Callable[[], None]

    @property
    def connected(self) -> bool: ...

    @property
    def market_data_type(self) -> int: ...  # 1 live, 3 delayed

    async def connect(self) -> None: ...

    def disconnect(self) -> None: ...

    async def current_time(self) -> datetime: ...

    async def subscribe_underlying(self) -> int:
        """Subscribe the underlying; returns its subscription id."""
        ...

    async def listing(self) -> ChainListing: ...

    async def subscribe(self, keys: Iterable[ContractKey]) -> dict[ContractKey, int]:
        """Qualify and subscribe; returns the subscription id of each contract that exists
        (ones the provider does not list are left out)."""
        ...

    def unsubscribe(self, sub_ids: Iterable[int]) -> None: ...

    @property
    def lines(self) -> int: ...  # market-data lines in use
