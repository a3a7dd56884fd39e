"""The port between the service and a market-data provider. The service only knows this
interface; `ibkr.IbkrSource` implements it on ib_async (so does nothing else, today)."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from spy_core.models import ContractKey

from .book import TopOfBook


@dataclass(frozen=True)
class ChainListing:
    """What the provider lists for the underlying: expiries and the union of their strikes."""

    expirations: tuple[date, ...]
    strikes: tuple[float, ...]


class QuoteSource(Protocol):
    """Calls `on_updates` with every batch of top-of-book changes, `on_disconnect` when the
    connection is gone (the service reconnects; the source never does by itself)."""

    on_updates: Callable[[list[TopOfBook]], None]
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
