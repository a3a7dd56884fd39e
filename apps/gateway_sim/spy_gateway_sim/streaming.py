"""Market-data subscriptions: which ticks a subscriber gets, and only when they change.

A subscription remembers the last value it sent per tick type, so each market step sends a
contract's changes only, as TWS does; a snapshot sends everything once. Delayed data
(market data type 3/4) uses IB's delayed tick types.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from spy_core.models import Right

from . import protocol
from .analytics import SOURCES, Computation
from .instruments import Instrument
from .market import MarketView
from .protocol import Tick

OPEN_INTEREST_TICKS = "101"  # generic tick list entry asking for open interest
_COMPUTATION_TICKS = dict(
    zip(
        SOURCES,
        (Tick.BID_OPTION, Tick.ASK_OPTION, Tick.LAST_OPTION, Tick.MODEL_OPTION),
        strict=True,
    )
)
_LAST_SIZE = 1.0  # the model does not size trades; ib_async wants a size with a price


@dataclass
class Subscription:
    req_id: int
    instrument: Instrument
    generic_ticks: frozenset[str]
    data_type: int  # 1 live, 3 delayed (2 and 4 frozen are treated as their live/delayed)
    sent: dict[int, object] = field(default_factory=dict)

    def messages(
        self, view: MarketView, computations: dict[str, Computation] | None, full: bool = False
    ) -> list[list[object]]:
        """The tick messages that bring this subscriber up to `view` (all of them if `full`)."""
        out: list[list[object]] = []
        for tick, value in self._values(view, computations):
            if not full and self.sent.get(tick) == value:
                continue
            self.sent[tick] = value
            wire_tick = protocol.delayed(tick) if self.data_type in (3, 4) else int(tick)
            if isinstance(value, Computation):
                out.append(protocol.option_computation(self.req_id, wire_tick, value))
            elif isinstance(value, tuple):
                out.append(protocol.tick_price(self.req_id, wire_tick, *value))
            else:
                out.append(protocol.tick_size(self.req_id, wire_tick, value))
        return out

    def _values(
        self, view: MarketView, computations: dict[str, Computation] | None
    ) -> list[tuple[Tick, object]]:
        if not self.instrument.is_option:
            stock = view.stock
            return [
                (Tick.BID, (stock.bid, float(stock.bid_size))),
                (Tick.ASK, (stock.ask, float(stock.ask_size))),
                (Tick.LAST, (stock.last, _LAST_SIZE)),
                (Tick.VOLUME, float(stock.volume)),
            ]
        quote = view.quotes.get(self.instrument.key)
        if quote is None:  # expired or delisted: nothing more to say
            return []
        values: list[tuple[Tick, object]] = [
            (Tick.BID, (quote.bid, float(quote.bid_size or 0))),
            (Tick.ASK, (quote.ask, float(quote.ask_size or 0))),
        ]
        if quote.last is not None:
            values.append((Tick.LAST, (quote.last, _LAST_SIZE)))
        values.append((Tick.VOLUME, float(quote.volume or 0)))
        if OPEN_INTEREST_TICKS in self.generic_ticks:
            tick = Tick.CALL_OPEN_INTEREST if quote.right is Right.CALL else Tick.PUT_OPEN_INTEREST
            values.append((tick, float(quote.open_interest or 0)))
        for source, computation in (computations or {}).items():
            values.append((_COMPUTATION_TICKS[source], computation))
        return values
