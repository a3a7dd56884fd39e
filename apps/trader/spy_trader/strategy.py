"""The strategy (pure, no I/O): detector events and the latest snapshot in, signals out.

Default rules (`EdgeStrategy`):
- Take a finding (OPENED or ESCALATED) only when the detector judges the quote executable
  with confidence ≥ `min_confidence`, and its edge after costs (commissions in and out, the
  half-spread paid to get out) clears `min_edge` per share.
- Defined risk only: a cheap option is bought outright at the ask; a rich one is sold only
  as a vertical against a wing `wing_strikes` further out of the money (bear call / bull put
  spread), sent as one combo order (the engine's). Never a naked short.
- Exit at the touch when the finding has cleared and the position can be closed at its fair
  value at entry or better, at take-profit or stop-loss, or at the flatten time.

Signal ids: an opening signal takes the detector event id (stable over the anomaly's life,
so ESCALATED repeats the OPENED id and the journal drops it); an exit is `<id>:X<n>`.
"""

from __future__ import annotations

import math
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from spy_core.market_hours import time_to_expiry
from spy_core.models import AnomalyEvent, AnomalyEventType, ChainSnapshot, OptionQuote, Right, Side
from spy_core.pricing import delta_from_price
from spy_core.trading import (
    CONTRACT_MULTIPLIER,
    Action,
    ContractRef,
    Intent,
    Leg,
    Signal,
)

from .portfolio import Group, Portfolio, exit_id
from .settings import StrategySettings

QuoteKey = tuple[date, float, Right]


@dataclass(frozen=True, slots=True)
class Skip:
    """A finding the strategy passed on, and why (logged and counted, not sent)."""

    event_id: str
    reason: str


class MarketIndex:
    """The latest snapshot's quotes by contract, and strikes per expiry and right."""

    def __init__(self, snapshot: ChainSnapshot) -> None:
        self.snapshot = snapshot
        self.quotes: dict[QuoteKey, OptionQuote] = {
            (q.expiry, q.strike, q.right): q for q in snapshot.quotes
        }
        strikes: dict[tuple[date, Right], list[float]] = {}
        for q in snapshot.quotes:
            strikes.setdefault((q.expiry, q.right), []).append(q.strike)
        self.strikes = {k: sorted(v) for k, v in strikes.items()}

    def quote(self, contract: ContractRef) -> OptionQuote | None:
        return self.quotes.get((contract.expiry, contract.strike, contract.right))

    def quote_time(self, quote: OptionQuote) -> datetime:
        return quote.updated_at or self.snapshot.timestamp

    def neighbour(self, expiry: date, strike: float, right: Right, steps: int) -> float | None:
        """The strike `steps` further out of the money (up for calls, down for puts)."""
        listed = self.strikes.get((expiry, right), [])
        if strike not in listed:
            return None
        i = listed.index(strike) + (steps if right is Right.CALL else -steps)
        return listed[i] if 0 <= i < len(listed) else None


class Strategy(Protocol):
    def on_events(
        self, events: Sequence[AnomalyEvent], market: MarketIndex, portfolio: Portfolio
    ) -> list[Signal | Skip]: ...

    def exits(
        self,
        market: MarketIndex,
        portfolio: Portfolio,
        now: datetime,
        flatten: bool,
        busy: Iterable[str] = (),
    ) -> list[Signal]: ...


def order_commission(settings: StrategySettings, quantity: int) -> float:
    return max(settings.commission_per_contract * quantity, settings.min_commission)


def delta_of(quote: OptionQuote, spot: float, now: datetime) -> float:
    """Delta per share from the mid (forward ≈ spot for 0DTE); ±1 where no vol reproduces
    the mid, so risk over- rather than under-counts."""
    sign = 1.0 if quote.right is Right.CALL else -1.0
    t = time_to_expiry(now, quote.expiry)
    mid = 0.5 * (quote.bid + quote.ask)
    delta = delta_from_price(mid, spot, quote.strike, t, quote.right is Right.CALL)
    return sign if math.isnan(delta) else delta


def deltas_of(quotes: Sequence[OptionQuote], spot: float, now: datetime) -> list[float]:
    return [delta_of(q, spot, now) for q in quotes]


class EdgeStrategy:
    def __init__(self, settings: StrategySettings) -> None:
        self.settings = settings

    # -- entries ------------------------------------------------------------------------
    def on_events(
        self, events: Sequence[AnomalyEvent], market: MarketIndex, portfolio: Portfolio
    ) -> list[Signal | Skip]:
        out: list[Signal | Skip] = []
        for event in events:
            if event.event is AnomalyEventType.CLEARED:
                group = portfolio.groups.get(event.id)
                if group is not None:
                    group.cleared = True
                continue
            if event.id in portfolio.groups:
                continue
            out.append(self._entry(event, market))
        return out

    def _entry(self, event: AnomalyEvent, market: MarketIndex) -> Signal | Skip:
        a, s = event.anomaly, self.settings
        if not a.executable:
            return Skip(event.id, "not executable (market closed or underlying stale)")
        if a.confidence < s.min_confidence:
            return Skip(event.id, f"confidence {a.confidence:.2f} < {s.min_confidence:.2f}")
        contract = ContractRef(
            underlying=event.underlying, expiry=a.expiry, strike=a.strike, right=a.right
        )
        quote = market.quote(contract)
        if quote is None or quote.ask <= 0:
            return Skip(event.id, "no current quote")
        if a.side is Side.BUY:
            return self._buy(event, contract, quote, market)
        if not s.allow_verticals:
            return Skip(event.id, "sell finding and verticals are off: never a naked short")
        return self._vertical(event, contract, quote, market)

    def _buy(
        self, event: AnomalyEvent, contract: ContractRef, quote: OptionQuote, market: MarketIndex
    ) -> Signal | Skip:
        s, a, q = self.settings, event.anomaly, self.settings.quantity
        half_spread = 0.5 * (quote.ask - quote.bid)
        costs = 2 * order_commission(s, q) / (q * CONTRACT_MULTIPLIER)
        edge = a.fair - quote.ask - half_spread - costs
        if edge < s.min_edge:
            return Skip(event.id, f"edge after costs {edge:.3f} < {s.min_edge:.3f}")
        leg = self._leg(contract, Action.BUY, quote, a.fair, market)
        return self._signal(event, (leg,), f"buy cheap {contract.label}", edge, market, quote)

    def _vertical(
        self, event: AnomalyEvent, contract: ContractRef, quote: OptionQuote, market: MarketIndex
    ) -> Signal | Skip:
        s, a, q = self.settings, event.anomaly, self.settings.quantity
        wing_strike = market.neighbour(a.expiry, a.strike, a.right, s.wing_strikes)
        if wing_strike is None:
            return Skip(event.id, "no wing strike for a vertical")
        wing = contract.model_copy(update={"strike": wing_strike})
        wing_quote = market.quote(wing)
        if wing_quote is None or wing_quote.ask <= 0:
            return Skip(event.id, f"no quote for the wing {wing.label}")
        credit = quote.bid - wing_quote.ask
        if credit <= 0:
            return Skip(event.id, "the vertical takes no credit")
        wing_mid = 0.5 * (wing_quote.bid + wing_quote.ask)
        costs = 4 * order_commission(s, q) / (q * CONTRACT_MULTIPLIER)
        out_spread = 0.5 * (quote.ask - quote.bid) + 0.5 * (wing_quote.ask - wing_quote.bid)
        edge = credit - (a.fair - wing_mid) - out_spread - costs
        if edge < s.min_edge:
            return Skip(event.id, f"vertical edge after costs {edge:.3f} < {s.min_edge:.3f}")
        legs = (
            self._leg(wing, Action.BUY, wing_quote, wing_mid, market),
            self._leg(contract, Action.SELL, quote, a.fair, market),
        )
        reason = f"sell rich {contract.label} as a vertical against {wing_strike:g}"
        return self._signal(event, legs, reason, edge, market, quote)

    def _leg(
        self,
        contract: ContractRef,
        action: Action,
        quote: OptionQuote,
        fair: float,
        market: MarketIndex,
        quantity: int | None = None,
    ) -> Leg:
        """A leg priced at the touch: buy at the ask, sell at the bid."""
        return Leg(
            contract=contract,
            action=action,
            quantity=quantity or self.settings.quantity,
            limit=quote.ask if action is Action.BUY else quote.bid,
            bid=quote.bid,
            ask=quote.ask,
            fair=fair,
            delta=delta_of(quote, market.snapshot.spot, market.snapshot.timestamp),
        )

    def _signal(
        self,
        event: AnomalyEvent,
        legs: tuple[Leg, ...],
        reason: str,
        edge_per_share: float,
        market: MarketIndex,
        quote: OptionQuote,
    ) -> Signal:
        a = event.anomaly
        return Signal(
            id=event.id,
            at=market.snapshot.timestamp,
            intent=Intent.OPEN,
            legs=legs,
            reason=f"{reason} ({a.kind.value}, score {a.score:.1f})",
            expected_edge=round(edge_per_share * self.settings.quantity * CONTRACT_MULTIPLIER, 2),
            source_event=event.id,
            quote_time=market.quote_time(quote),
            executable=a.executable,
            confidence=a.confidence,
        )

    # -- exits --------------------------------------------------------------------------
    def exits(
        self,
        market: MarketIndex,
        portfolio: Portfolio,
        now: datetime,
        flatten: bool,
        busy: Iterable[str] = (),
    ) -> list[Signal]:
        """Close signals for the groups whose exit rule fires; `busy` groups (an order of
        theirs is working) are left alone."""
        waiting = set(busy)
        out = []
        for group in portfolio.open_groups():
            if group.id in waiting:
                continue
            signal = self._exit(group, market, now, flatten)
            if signal is not None:
                out.append(signal)
        return out

    def _exit(
        self, group: Group, market: MarketIndex, now: datetime, flatten: bool
    ) -> Signal | None:
        s = self.settings
        way_out = []  # (contract, action, quote, quantity): priced first, legs built on exit
        exit_value = 0.0
        for contract, holding in group.legs.items():
            if holding.quantity == 0:
                continue
            quote = market.quote(contract)
            if quote is None or (holding.quantity < 0 and quote.ask <= 0):
                return None  # cannot price the way out now; try on the next snapshot
            action = Action.SELL if holding.quantity > 0 else Action.BUY
            if action is Action.SELL and quote.bid <= 0:
                if not flatten:
                    return None
                continue  # a worthless long: nothing to sell, it expires at zero
            way_out.append((contract, action, quote, abs(holding.quantity)))
            exit_value += quote.bid if action is Action.SELL else -quote.ask
        if not way_out:
            return None
        pnl = exit_value - group.entry_price
        if flatten:
            reason = "flatten before the close"
        elif pnl >= s.take_profit:
            reason = f"take profit {pnl:+.2f}"
        elif pnl <= -s.stop_loss:
            reason = f"stop loss {pnl:+.2f}"
        elif group.cleared and exit_value >= group.entry_fair:
            reason = f"finding cleared, exit at {exit_value:.2f} ≥ fair {group.entry_fair:.2f}"
        else:
            return None
        legs = [
            self._leg(contract, action, quote, 0.5 * (quote.bid + quote.ask), market, quantity)
            for contract, action, quote, quantity in way_out
        ]
        legs.sort(key=lambda leg: leg.action is Action.SELL)  # buy back shorts first
        costs = sum(order_commission(s, leg.quantity) for leg in legs)
        return Signal(
            id=exit_id(group.id, group.exits + 1),
            at=now,
            intent=Intent.CLOSE,
            legs=tuple(legs),
            reason=reason,
            expected_edge=round(pnl * group.lots * CONTRACT_MULTIPLIER - costs, 2),
            source_event=group.source_event,
            quote_time=market.snapshot.timestamp,
        )
