"""The engine trading through unmodified ib_async against the gateway simulator."""

from __future__ import annotations

from spy_core.trading import Action, OrderStatus

from .conftest import atm, run, simulator, touch_signal, trader, wait_until


def test_a_signal_at_the_touch_fills_and_books_the_position(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            contract = atm(sim)
            decision = await engine.submit(touch_signal(sim, "t-1", contract))
            assert decision is not None and decision.taken, decision
            await wait_until(lambda: engine.journal.order("t-1:L0").status is OrderStatus.FILLED)
            await wait_until(lambda: engine.portfolio.holdings.get(contract) is not None)
            assert engine.portfolio.holdings[contract].quantity == 1
            assert sim.broker.positions  # IB agrees
            assert [o.order_ref for o in sim.broker.orders.values()] == ["t-1:L0"]
            assert await engine.submit(touch_signal(sim, "t-1", contract)) is None

    run(body())
