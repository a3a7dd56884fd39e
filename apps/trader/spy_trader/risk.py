"""Pre-trade risk (pure, no I/O): every signal passes every check or is rejected by name.

Modelled on NautilusTrader's RiskEngine: a trading state (ACTIVE / REDUCING / HALTED) gates
what may be sent; throttled orders are denied, not queued. Orders that take risk off
(`Intent.CLOSE`) skip the exposure limits and the trading state, so the kill switch and the
flatten can always get out; they still need an open market, a fresh quote, a limit inside
it and room in the order rate.

The checks, in order (the rule name is what a rejection, the log and /metrics carry):
trading_state, market_closed, not_executable, min_confidence, opening_minutes,
closing_minutes, stale_quote, limit_outside_quote, limit_outside_fair_band,
max_contracts_per_order, max_contracts_per_contract, max_contracts_total,
max_open_positions, max_premium_at_risk, max_net_delta, max_daily_loss,
max_orders_per_minute. Cancels have their own limit, max_cancels_per_minute.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from spy_core.market_hours import NEW_YORK, Session, session
from spy_core.trading import (
    CONTRACT_MULTIPLIER,
    Action,
    ContractRef,
    Decision,
    Intent,
    Signal,
    TradingState,
)

from .settings import RiskSettings

RULES = (
    "trading_state",
    "market_closed",
    "not_executable",
    "min_confidence",
    "opening_minutes",
    "closing_minutes",
    "stale_quote",
    "limit_outside_quote",
    "limit_outside_fair_band",
    "max_contracts_per_order",
    "max_contracts_per_contract",
    "max_contracts_total",
    "max_open_positions",
    "max_premium_at_risk",
    "max_net_delta",
    "max_daily_loss",
    "max_orders_per_minute",
    "max_cancels_per_minute",
    "duplicate_signal",
    "unknown_contract",
    "not_leader",
)
_MINUTE = timedelta(minutes=1)
_EPS = 1e-9


@dataclass(frozen=True, slots=True)
class Exposure:
    """The book as risk sees it, working orders counted as if filled (pessimistic)."""

    by_contract: dict[ContractRef, int] = field(default_factory=dict)  # signed contracts
    contracts_total: int = 0
    open_positions: int = 0
    premium_at_risk: float = 0.0  # dollars that can be lost
    net_delta: float = 0.0  # share-equivalents
    day_pnl: float = 0.0  # realised net + unrealised at mid, dollars


def signal_max_loss(signal: Signal) -> float:
    """Dollars the signal can lose if held to expiry: the debit paid, or for a credit
    vertical the strike width less the credit."""
    q = max(leg.quantity for leg in signal.legs)
    debit = sum(leg.limit if leg.action is Action.BUY else -leg.limit for leg in signal.legs)
    if debit >= 0:
        return debit * q * CONTRACT_MULTIPLIER
    strikes = [leg.contract.strike for leg in signal.legs]
    width = max(strikes) - min(strikes)
    return max(width + debit, 0.0) * q * CONTRACT_MULTIPLIER


def signal_delta(signal: Signal) -> float:
    return sum(
        (1 if leg.action is Action.BUY else -1) * leg.delta * leg.quantity * CONTRACT_MULTIPLIER
        for leg in signal.legs
    )


class RiskEngine:
    def __init__(
        self, settings: RiskSettings, sessions: Callable[..., Session | None] = session
    ) -> None:
        self.settings = settings
        self._session = sessions
        self._orders: deque[datetime] = deque()
        self._cancels: deque[datetime] = deque()

    # -- throttles ----------------------------------------------------------------------
    def record_orders(self, now: datetime, count: int) -> None:
        self._orders.extend([now] * count)

    def allow_cancel(self, now: datetime) -> bool:
        """Take one slot of the cancel rate; False (deny, not queue) when it is full."""
        _trim(self._cancels, now)
        if len(self._cancels) >= self.settings.max_cancels_per_minute:
            return False
        self._cancels.append(now)
        return True

    # -- the flatten clock --------------------------------------------------------------
    def flatten_due(self, now: datetime) -> bool:
        """True from `flatten_before_close_minutes` before today's close (early closes
        included) until the next session: nothing 0DTE may be left to settle."""
        today = self._session(now.astimezone(NEW_YORK).date())
        if today is None:
            return True
        flat_at = today.close - timedelta(minutes=self.settings.flatten_before_close_minutes)
        return now >= flat_at

    def loss_limit_hit(self, exposure: Exposure) -> bool:
        return exposure.day_pnl <= -self.settings.max_daily_loss

    # -- the check ----------------------------------------------------------------------
    def check(
        self, signal: Signal, now: datetime, state: TradingState, exposure: Exposure
    ) -> Decision:
        failed = self._first_failure(signal, now, state, exposure)
        if failed is None:
            self.record_orders(now, len(signal.legs))
            return Decision(signal_id=signal.id, at=now, taken=True, state=state)
        rule, detail = failed
        return Decision(
            signal_id=signal.id, at=now, taken=False, rule=rule, detail=detail, state=state
        )

    def _first_failure(
        self, signal: Signal, now: datetime, state: TradingState, exposure: Exposure
    ) -> tuple[str, str] | None:
        s = self.settings
        opening = signal.intent is Intent.OPEN
        if opening and state is not TradingState.ACTIVE:
            return "trading_state", f"state is {state.value}: no new positions"
        today = self._session(now.astimezone(NEW_YORK).date())
        if today is None or not today.open <= now < today.close:
            return "market_closed", "outside the regular session"
        if opening:
            if not signal.executable:
                return "not_executable", "market closed or underlying stale (detector)"
            if signal.confidence < s.min_confidence:
                return "min_confidence", f"{signal.confidence:.2f} < {s.min_confidence:.2f}"
            if now < today.open + timedelta(minutes=s.no_open_first_minutes):
                return (
                    "opening_minutes",
                    f"no new positions in the first {s.no_open_first_minutes:g} min",
                )
            if now >= today.close - timedelta(minutes=s.no_open_last_minutes):
                return (
                    "closing_minutes",
                    f"no new positions in the last {s.no_open_last_minutes:g} min",
                )
        age_ms = (
            float("inf")
            if signal.quote_time is None
            else (now - signal.quote_time).total_seconds() * 1000
        )
        if age_ms > s.max_quote_age_ms:
            return "stale_quote", f"quote {age_ms:.0f} ms old > {s.max_quote_age_ms:g} ms"
        for leg in signal.legs:
            if not leg.bid - _EPS <= leg.limit <= leg.ask + _EPS or leg.ask <= 0:
                return "limit_outside_quote", (
                    f"{leg.contract.label} limit {leg.limit} outside {leg.bid}-{leg.ask}"
                )
            beyond = leg.limit - leg.fair if leg.action is Action.BUY else leg.fair - leg.limit
            if opening and beyond > s.fair_band + _EPS:
                return "limit_outside_fair_band", (
                    f"{leg.contract.label} limit {leg.limit} is {beyond:.2f} beyond "
                    f"fair {leg.fair:.2f}"
                )
            if leg.quantity > s.max_contracts_per_order:
                return "max_contracts_per_order", f"{leg.quantity} > {s.max_contracts_per_order}"
        if opening:
            failed = self._exposure_failure(signal, exposure)
            if failed is not None:
                return failed
        _trim(self._orders, now)
        if len(self._orders) + len(signal.legs) > s.max_orders_per_minute:
            return "max_orders_per_minute", f"{len(self._orders)} orders in the last minute"
        return None

    def _exposure_failure(self, signal: Signal, exposure: Exposure) -> tuple[str, str] | None:
        s = self.settings
        for leg in signal.legs:
            signed = leg.quantity if leg.action is Action.BUY else -leg.quantity
            after = abs(exposure.by_contract.get(leg.contract, 0) + signed)
            if after > s.max_contracts_per_contract:
                return "max_contracts_per_contract", (
                    f"{leg.contract.label} would be {after} > {s.max_contracts_per_contract}"
                )
        total = exposure.contracts_total + sum(leg.quantity for leg in signal.legs)
        if total > s.max_contracts_total:
            return "max_contracts_total", f"{total} > {s.max_contracts_total}"
        if exposure.open_positions + 1 > s.max_open_positions:
            return (
                "max_open_positions",
                f"{exposure.open_positions} open, max {s.max_open_positions}",
            )
        at_risk = exposure.premium_at_risk + signal_max_loss(signal)
        if at_risk > s.max_premium_at_risk:
            return "max_premium_at_risk", f"${at_risk:,.0f} > ${s.max_premium_at_risk:,.0f}"
        delta = exposure.net_delta + signal_delta(signal)
        if abs(delta) > s.max_net_delta and abs(delta) > abs(exposure.net_delta):
            return "max_net_delta", f"|{delta:.0f}| > {s.max_net_delta:g}"
        if self.loss_limit_hit(exposure):
            return "max_daily_loss", f"day P&L ${exposure.day_pnl:,.0f}"
        return None


def _trim(window: deque[datetime], now: datetime) -> None:
    while window and now - window[0] >= _MINUTE:
        window.popleft()
