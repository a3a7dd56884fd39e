"""The engine with the backtest's simulated gateway: exit retries and in-flight duplicates."""

from __future__ import annotations

import asyncio
from datetime import UTC, date, datetime, timedelta

from spy_core.models import ChainSnapshot, OptionQuote, Right
from spy_core.trading import Action, ContractRef, FillReport
from spy_trader.backtest import FillModel, SimulatedGateway
from spy_trader.engine import Engine
from spy_trader.journal import Journal
from spy_trader.settings import TraderSettings

from .conftest import Recorder

DAY = date(2025, 10, 30)
NOON = datetime(2025, 10, 30, 16, 0, tzinfo=UTC)
CONTRACT = ContractRef(expiry=DAY, strike=580, right=Right.CALL)


def snapshot(at: datetime, bid: float) -> ChainSnapshot:
    quote = OptionQuote(expiry=DAY, strike=580, right=Right.CALL, bid=bid, ask=bid + 0.05)
    return ChainSnapshot(underlying="SPY", timestamp=at, spot=580.0, quotes=(quote,))


def test_a_rejected_exit_is_retried_under_a_new_id(tmp_path):
    async def body():
        now = [NOON]
        gateway = SimulatedGateway(FillModel(), lambda: now[0])
        engine = Engine(
            TraderSettings(), gateway, Journal(tmp_path / "j.sqlite"), Recorder(), lambda: now[0]
        )
        engine.restore(NOON)
        engine.ready = True
        engine.portfolio.open_group("g", NOON, "g", 1.0)
        engine.on_fill(
            FillReport(
                exec_id="e1",
                order_ref="g:L0",
                at=NOON,
                contract=CONTRACT,
                action=Action.BUY,
                quantity=1,
                price=1.0,
                commission=1.0,
            )
        )
        # Take-profit fires, but the clock has run 10 s past the quote: stale, rejected.
        engine.publish_snapshot(snapshot(NOON, bid=1.5))
        now[0] = NOON + timedelta(seconds=10)
        engine.on_tick()
        await asyncio.gather(*engine._tasks)
        assert engine.journal.signal("g:X1") is not None
        assert engine.journal.orders_of("g:X1") == []
        # A fresh quote: the next attempt has a new id and is taken.
        engine.publish_snapshot(snapshot(now[0], bid=1.5))
        await asyncio.gather(*engine._tasks)
        assert [r.leg.action for r in engine.journal.orders_of("g:X2")] == [Action.SELL]

    asyncio.run(body())
