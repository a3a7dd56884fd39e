"""Signed option premium flow from successive chain snapshots, by the quote rule.

Each contract's traded volume since its previous observation is priced at `last` (the mid
when no trade price is known) and classified against the snapshot's quote: buyer-initiated
if last ≥ ask, seller-initiated if last ≤ bid, otherwise unclassified. Premium is dollars:
Δvolume · price · 100 shares.

Snapshots only show cumulative volume and the latest trade price, so this is an estimate:
several trades between snapshots are all priced and classified by the last one.

Baselines, never whole-day volume: the first observation of a contract, and any observation
whose volume went down (a counter reset or a bad tick), only record the volume. All state
resets at each NYSE session open (a flow day runs from one open to the next).
"""

from __future__ import annotations

from dataclasses import dataclass, fields
from datetime import date, datetime, timedelta
from typing import Literal

from spy_core.market_hours import NEW_YORK, session
from spy_core.models import ChainSnapshot, OptionQuote, Right

_SHARES_PER_CONTRACT = 100


@dataclass(frozen=True)
class FlowTotals:
    """Premium in dollars by right and aggressor side; unclassified holds calls and puts.

    Net figures follow the common bullish-premium definition: call buys and put sells are
    bullish, call sells and put buys bearish, so
    net = (call_buy − call_sell) − (put_buy − put_sell) = net_call − net_put.
    """

    call_buy: float = 0.0
    call_sell: float = 0.0
    put_buy: float = 0.0
    put_sell: float = 0.0
    unclassified: float = 0.0

    @property
    def net_call(self) -> float:
        return self.call_buy - self.call_sell

    @property
    def net_put(self) -> float:
        return self.put_buy - self.put_sell

    @property
    def net(self) -> float:
        return self.net_call - self.net_put

    def __add__(self, other: FlowTotals) -> FlowTotals:
        return FlowTotals(
            *(getattr(self, f.name) + getattr(other, f.name) for f in fields(FlowTotals))
        )

    def to_dict(self) -> dict[str, float]:
        """JSON-ready, dollars rounded to cents."""
        values = {f.name: getattr(self, f.name) for f in fields(FlowTotals)}
        values |= {"net_call": self.net_call, "net_put": self.net_put, "net": self.net}
        return {name: round(value, 2) for name, value in values.items()}


@dataclass(frozen=True)
class FlowUpdate:
    """The result of one snapshot: its own flow and the running total since the open.

    `contracts_baselined` counts contracts whose volume was only recorded: first sights
    and volume decreases.
    """

    timestamp: datetime
    increment: FlowTotals
    session: FlowTotals
    contracts_baselined: int


class PremiumFlowTracker:
    """Accumulates signed premium flow for one underlying across successive snapshots.

    Snapshots older than the latest one seen are ignored and counted in `stale_snapshots`.
    """

    def __init__(self) -> None:
        self.stale_snapshots = 0
        self._underlying: str | None = None
        self._latest: datetime | None = None
        self._flow_day: datetime | None = None
        self._volumes: dict[tuple, int] = {}
        self._session = FlowTotals()

    def update(self, snapshot: ChainSnapshot) -> FlowUpdate:
        """Flow since the previous snapshot; resets first if a session has opened since."""
        if self._underlying not in (None, snapshot.underlying):
            raise ValueError(
                f"tracker follows {self._underlying}, got a {snapshot.underlying} snapshot"
            )
        self._underlying = snapshot.underlying
        if self._latest is not None and snapshot.timestamp < self._latest:
            self.stale_snapshots += 1
            return FlowUpdate(snapshot.timestamp, FlowTotals(), self._session, 0)
        self._latest = snapshot.timestamp
        flow_day = _last_open(snapshot.timestamp)
        if flow_day != self._flow_day:
            self._flow_day = flow_day
            self._volumes.clear()
            self._session = FlowTotals()
        increment, baselined = FlowTotals(), 0
        for quote in snapshot.quotes:
            traded = self._traded_since_last(quote)
            if traded is None:
                baselined += 1
            elif traded:
                increment += _premium(quote, traded)
        self._session += increment
        return FlowUpdate(snapshot.timestamp, increment, self._session, baselined)

    def _traded_since_last(self, quote: OptionQuote) -> int | None:
        """Contracts traded since the last observation; None when this one is a baseline.

        A quote without volume leaves the contract's state untouched (0 traded)."""
        if quote.volume is None:
            return 0
        previous = self._volumes.get(quote.contract_key)
        self._volumes[quote.contract_key] = quote.volume
        if previous is None or quote.volume < previous:
            return None
        return quote.volume - previous


def _premium(quote: OptionQuote, traded: int) -> FlowTotals:
    """Dollar premium of `traded` contracts, bucketed by right and the quote rule."""
    price = quote.last if quote.last is not None else 0.5 * (quote.bid + quote.ask)
    premium = traded * price * _SHARES_PER_CONTRACT
    side = _aggressor(quote)
    if side is None:
        return FlowTotals(unclassified=premium)
    bucket = f"{'call' if quote.right is Right.CALL else 'put'}_{side}"
    return FlowTotals(**{bucket: premium})


def _aggressor(quote: OptionQuote) -> Literal["buy", "sell"] | None:
    """'buy' if last ≥ ask, 'sell' if last ≤ bid; None without a trade price or without an
    open market (ask not above bid: no offer, or locked), where the rule cannot tell."""
    if quote.last is None or quote.ask <= quote.bid:
        return None
    if quote.last >= quote.ask:
        return "buy"
    if quote.last <= quote.bid:
        return "sell"
    return None


def _last_open(moment: datetime) -> datetime:
    """The open of the latest NYSE session that opened at or before `moment` (aware)."""
    day: date = moment.astimezone(NEW_YORK).date()
    while (found := session(day)) is None or found.open > moment:
        day -= timedelta(days=1)
    return found.open
