"""The chain book: the latest top of book per subscribed contract, and the consistent
`ChainSnapshot` assembled from it. Pure: no I/O, no clock, no ib_async.

Every update is validated before it counts. A bad one (a tick for an id nobody subscribed,
an update older than the last accepted one for its contract, a NaN, infinite or negative
price, a crossed quote) is logged with its context, counted under a reason, and *removes*
that contract from snapshots until a good update arrives: its last good quote is no longer
the market, so keeping it would feed the detector a stale price.
"""

from __future__ import annotations

import logging
import math
from collections import Counter
from dataclasses import dataclass
from datetime import datetime

from pydantic import ValidationError

from spy_core.chain_json import describe
from spy_core.models import ChainSnapshot, ContractKey, OptionQuote

_log = logging.getLogger(__name__)
_LOUD_PER_REASON = 10  # warnings per reason before the rest go to debug


@dataclass(frozen=True, slots=True)
class TopOfBook:
    """A contract's top of book as its source last reported it (all fields may be unset:
    None or NaN, as ib_async leaves them). `received` orders updates of one subscription."""

    sub_id: int
    received: datetime
    bid: float | None = None
    ask: float | None = None
    bid_size: float | None = None
    ask_size: float | None = None
    last: float | None = None
    volume: float | None = None
    open_interest: float | None = None


class ChainBook:
    """Feed updates with `apply`; take a `snapshot(timestamp)` whenever one is wanted.

    `sub_id` is the source's id of a subscription (the IBKR adapter uses the contract id,
    which survives reconnects); the underlying has one too, and sets the spot.
    """

    def __init__(self, underlying: str) -> None:
        self.underlying = underlying
        self.rejected: Counter[str] = Counter()
        self._underlying_id: int | None = None
        self._contracts: dict[int, ContractKey] = {}
        self._quotes: dict[int, OptionQuote] = {}
        self._received: dict[int, datetime] = {}
        self._spot: float | None = None

    # -- subscriptions ------------------------------------------------------------------
    def track_underlying(self, sub_id: int) -> None:
        self._underlying_id = sub_id

    def track(self, sub_id: int, key: ContractKey) -> None:
        self._contracts[sub_id] = key

    def untrack(self, sub_id: int) -> None:
        self._contracts.pop(sub_id, None)
        self._quotes.pop(sub_id, None)
        self._received.pop(sub_id, None)

    def forget_quotes(self) -> None:
        """Drop every price (not the subscriptions): after a reconnect nothing held is current."""
        self._quotes.clear()
        self._received.clear()
        self._spot = None

    @property
    def tracked(self) -> dict[int, ContractKey]:
        return dict(self._contracts)

    @property
    def spot(self) -> float | None:
        return self._spot

    @property
    def quote_count(self) -> int:
        return len(self._quotes)

    # -- updates ------------------------------------------------------------------------
    def apply(self, update: TopOfBook) -> str | None:
        """Take one update; returns None when accepted, else the reason it was excluded."""
        sub_id = update.sub_id
        if sub_id != self._underlying_id and sub_id not in self._contracts:
            return self._reject(update, "unknown subscription", remove=False)
        previous = self._received.get(sub_id)
        if previous is not None and update.received < previous:
            return self._reject(update, "out of order", remove=False)
        if sub_id == self._underlying_id:
            return self._apply_spot(update)
        return self._apply_quote(update, self._contracts[sub_id])

    def _apply_spot(self, update: TopOfBook) -> str | None:
        bid, ask, last = _price(update.bid), _price(update.ask), _price(update.last)
        if bid is not None and ask is not None and 0 < bid <= ask:
            spot = 0.5 * (bid + ask)
        elif last is not None and last > 0:
            spot = last
        else:
            return self._reject(update, "no usable underlying price", remove=False)
        self._spot = spot
        self._received[update.sub_id] = update.received
        return None

    def _apply_quote(self, update: TopOfBook, key: ContractKey) -> str | None:
        if _is_unset(update.bid) or _is_unset(update.ask):
            return self._reject(update, "incomplete quote", remove=True, loud=False)
        expiry, strike, right = key
        last = _price(update.last)
        try:
            quote = OptionQuote(
                expiry=expiry,
                strike=strike,
                right=right,
                bid=update.bid,
                ask=update.ask,
                bid_size=_count(update.bid_size),
                ask_size=_count(update.ask_size),
                volume=_count(update.volume),
                open_interest=_count(update.open_interest),
                last=last if last is not None and last > 0 else None,
            )
        except ValidationError as error:
            return self._reject(update, describe(error), remove=True)
        self._quotes[update.sub_id] = quote
        self._received[update.sub_id] = update.received
        return None

    def _reject(self, update: TopOfBook, reason: str, remove: bool, loud: bool = True) -> str:
        category = reason.split(":", 1)[0]
        self.rejected[category] += 1
        if remove:
            self._quotes.pop(update.sub_id, None)
        contract = self._contracts.get(update.sub_id)
        loud = loud and self.rejected[category] <= _LOUD_PER_REASON
        level = logging.WARNING if loud else logging.DEBUG
        _log.log(
            level,
            "excluded update for %s (id %d) received %s: %s; bid=%r ask=%r last=%r",
            _describe(contract) if contract else self.underlying,
            update.sub_id,
            update.received.isoformat(),
            reason,
            update.bid,
            update.ask,
            update.last,
        )
        return reason

    # -- snapshots ----------------------------------------------------------------------
    def snapshot(self, timestamp: datetime) -> ChainSnapshot | None:
        """The chain now: every subscribed contract with a good quote, and the spot.

        Each quote's `updated_at` is `timestamp` less how long its line has been silent
        compared with the newest update (the feed's clock and the snapshot's need not agree:
        a simulator's clock runs fast), so the detector can exclude lines silent too long.
        None until there is a spot and at least one quote (a snapshot needs both)."""
        if self._spot is None or not self._quotes:
            return None
        newest = max(self._received.values())
        quotes = sorted(
            (
                quote.model_copy(update={"updated_at": timestamp - (newest - self._received[sub])})
                for sub, quote in self._quotes.items()
            ),
            key=lambda q: (q.expiry, q.strike, q.right),
        )
        return ChainSnapshot(
            underlying=self.underlying, timestamp=timestamp, spot=self._spot, quotes=tuple(quotes)
        )


def _is_unset(value: float | None) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _price(value: float | None) -> float | None:
    """A usable price or None (unset, non-finite, or IB's −1 'no price')."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return float(value)


def _count(value: float | None) -> int | None:
    """Sizes, volume and open interest: whole numbers; unset or nonsense is simply unknown."""
    if value is None or not math.isfinite(value) or value < 0:
        return None
    return int(value)


def _describe(key: ContractKey) -> str:
    expiry, strike, right = key
    return f"{expiry:%Y-%m-%d} {strike:g}{right.value}"
