"""The engine trading through unmodified ib_async against the gateway simulator."""

from __future__ import annotations

import asyncio

from spy_core.trading import OrderStatus

from .conftest import (
    atm,
    run,
    simulator,
    snapshot_index,
    snapshot_of,
    touch_signal,
    trader,
    vertical,
    wait_until,
)


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


def test_partial_fills_are_booked_one_execution_at_a_time(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            sim.faults.partial_fills = True
            contract = atm(sim)
            quote_size = 4
            decision = await engine.submit(touch_signal(sim, "p-1", contract, quantity=quote_size))
            assert decision.taken
            await wait_until(lambda: engine.journal.order("p-1:L0").status is OrderStatus.FILLED)
            fills = engine.reporter.of("fill")
            assert len(fills) >= 2  # filled in pieces
            assert sum(f.quantity for f in fills) == quote_size
            assert engine.portfolio.holdings[contract].quantity == quote_size

    run(body())


def test_an_order_ib_rejects_ends_rejected_with_its_meaning(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            sim.broker.reject_reason = "margin"
            await engine.submit(touch_signal(sim, "r-1", atm(sim)))
            await wait_until(lambda: engine.journal.order("r-1:L0").status is OrderStatus.REJECTED)
            report = engine.reporter.of("order")[-1]
            assert report.status is OrderStatus.REJECTED and "201" in report.message

    run(body())


def test_an_unfilled_order_is_cancelled_after_its_time_to_live(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path, order_ttl_seconds=0.2) as engine:
            contract = atm(sim)
            quote = snapshot_index(sim)[(contract.expiry, contract.strike, contract.right)]
            signal = touch_signal(sim, "c-1", contract, limit=quote.bid)  # rests, no fill
            assert (await engine.submit(signal)).taken
            await wait_until(lambda: engine.journal.order("c-1:L0").order_id is not None)
            await asyncio.sleep(0.3)
            engine.on_tick()
            await wait_until(lambda: engine.journal.order("c-1:L0").status is OrderStatus.CANCELLED)
            assert not engine.portfolio.holdings

    run(body())


def test_a_contract_ib_does_not_know_is_rejected_with_the_reason(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            contract = atm(sim)
            signal = touch_signal(sim, "u-1", contract)
            unknown = contract.model_copy(update={"strike": 1234.5})
            leg = signal.legs[0].model_copy(update={"contract": unknown})
            decision = await engine.submit(signal.model_copy(update={"legs": (leg,)}))
            assert not decision.taken and decision.rule == "unknown_contract"
            assert "1234.5" in decision.detail
            assert not sim.broker.orders

    run(body())


def test_a_vertical_in_and_out_is_one_combo_order_each_way(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            signal = vertical(sim, "v-1")
            wing, short = (leg.contract for leg in signal.legs)
            assert (await engine.submit(signal)).taken
            await wait_until(lambda: engine.journal.order("v-1:L1").status is OrderStatus.FILLED)
            [combo] = sim.broker.orders.values()  # one order at IB, every leg in it
            assert combo.order_ref == "v-1:C" and combo.instrument.is_combo
            assert [(leg.instrument.strike, leg.action) for leg in combo.legs] == [
                (wing.strike, "BUY"),
                (short.strike, "SELL"),
            ]
            rows = engine.journal.orders_of("v-1")
            assert {r.status for r in rows} == {OrderStatus.FILLED}
            assert {r.order_id for r in rows} == {combo.order_id}
            await wait_until(lambda: engine.portfolio.holdings.get(short) is not None)
            assert engine.portfolio.holdings[wing].quantity == 1
            assert engine.portfolio.holdings[short].quantity == -1
            assert {p.quantity for p in sim.broker.positions.values()} == {1, -1}  # IB agrees

            engine.publish_snapshot(snapshot_of(sim))
            [exit_] = engine.strategy.exits(engine.market, engine.portfolio, sim.now(), True)
            assert (await engine.submit(exit_)).taken
            await wait_until(lambda: not engine.portfolio.open_groups())
            assert [o.order_ref for o in sim.broker.orders.values()] == ["v-1:C", "v-1:X1:C"]
            assert {p.quantity for p in sim.broker.positions.values()} == {0}

    run(body())


def test_a_combo_the_market_does_not_reach_fills_no_leg_and_is_cancelled_whole(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path, order_ttl_seconds=0.5) as engine:
            assert (await engine.submit(vertical(sim, "v-2", credit_wanted=0.50))).taken
            await wait_until(lambda: bool(sim.broker.orders))
            for _ in range(40):  # ticks: the time-to-live runs out on one of them
                engine.publish_snapshot(snapshot_of(sim))
                if not engine.journal.open_orders():
                    break
                await asyncio.sleep(0.05)
            rows = engine.journal.orders_of("v-2")
            assert {r.status for r in rows} == {OrderStatus.CANCELLED}
            assert {r.filled for r in rows} == {0}
            assert sim.broker.positions == {} and engine.portfolio.contracts_held() == 0

    run(body())


def test_legs_of_different_sizes_still_buy_the_wing_before_selling(tmp_path):
    async def body():
        async with simulator() as sim, trader(sim, tmp_path) as engine:
            signal = vertical(sim, "v-3", quantities=(2, 1))
            assert (await engine.submit(signal)).taken
            await wait_until(lambda: engine.journal.order("v-3:L1").status is OrderStatus.FILLED)
            first, second = sorted(sim.broker.orders.values(), key=lambda o: o.perm_id)
            assert (first.action, second.action) == ("BUY", "SELL")
            assert (first.order_ref, second.order_ref) == ("v-3:L0", "v-3:L1")

    run(body())
