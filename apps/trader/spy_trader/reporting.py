"""Reporting adapters besides the backend's spooled `HttpSink` (which takes the same
`publish(record)`): a readable terminal line per decision, fill and P&L change, and a fan-out.
"""

from __future__ import annotations

import logging
import time
from typing import IO

from pydantic import BaseModel

from spy_core.market_hours import NEW_YORK
from spy_core.trading import Decision, FillReport, OrderReport, OrderStatus, PnlPoint

_log = logging.getLogger(__name__)


class TextReporter:
    """Trades and P&L for a person at a terminal; P&L at most every `pnl_every` seconds."""

    def __init__(self, stream: IO[str], pnl_every: float = 10.0) -> None:
        self._stream = stream
        self._pnl_every = pnl_every
        self._last_pnl = -float("inf")

    def publish(self, record: BaseModel) -> None:
        line = self._line(record)
        if line:
            self._stream.write(line + "\n")
            self._stream.flush()

    def _line(self, record: BaseModel) -> str | None:
        if isinstance(record, Decision):
            verdict = "TAKEN   " if record.taken else f"REJECTED {record.rule}: {record.detail}"
            return f"{_t(record)} signal   {record.signal_id}  {verdict}"
        if isinstance(record, FillReport):
            return (
                f"{_t(record)} fill     {record.action.value:<4} {record.quantity} "
                f"{record.contract.label} @ {record.price:.2f}  ({record.order_ref})"
            )
        if isinstance(record, OrderReport) and record.status is OrderStatus.REJECTED:
            return f"{_t(record)} order    {record.order_ref} REJECTED {record.message}"
        if isinstance(record, PnlPoint):
            now = time.monotonic()
            if now - self._last_pnl < self._pnl_every:
                return None
            self._last_pnl = now
            ib = (
                ""
                if record.ib_realized is None or record.ib_unrealized is None
                else f"  (IB: {record.ib_realized + record.ib_unrealized:+.2f})"
            )
            return (
                f"{_t(record)} P&L      realised {record.realized:+.2f}  unrealised "
                f"{record.unrealized_mid:+.2f} (mid){ib} {record.unrealized_fair:+.2f} (fair)  "
                f"{record.open_positions} open  state {record.state.value}"
            )
        return None


def _t(record: BaseModel) -> str:
    return record.at.astimezone(NEW_YORK).strftime("%H:%M:%S ET")  # type: ignore[attr-defined]


class FanOutReporter:
    def __init__(self, *reporters) -> None:
        self.reporters = reporters

    def publish(self, record: BaseModel) -> None:
        for reporter in self.reporters:
            try:
                reporter.publish(record)
            except Exception:
                _log.exception("reporter %s failed", type(reporter).__name__)
