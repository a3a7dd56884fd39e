"""Connection drops, restarts and gateway restarts: no signal sent twice, no order left
unknown, positions reconciled with IB's."""

from __future__ import annotations

import asyncio
import contextlib
import random
from collections import Counter
from collections.abc import Callable

from spy_core.trading import OrderStatus, Signal
from spy_trader.service import TraderService
from spy_trader.settings import TraderSettings

from .conftest import (
    Recorder,
    atm,
    run,
    simulator,
    snapshot_of,
    touch_signal,
    trader,
    vertical,
    wait_until,
)


@contextlib.asynccontextmanager
async def service(sim, tmp_path, **settings):
    trader_service = TraderService(
        TraderSettings(port=sim.port, data_dir=tmp_path, **settings),
        Recorder(),
        clock=sim.now,
        environ={},
    )
    trader_service.gateway.connect_timeout = 30.0
    task = asyncio.create_task(trader_service.run())
    try:
        await wait_until(lambda: trader_service.ready or task.done())
        yield trader_service
    finally:
        trader_service.stop()
        await task


async def submit_with_drops(
    sim, svc, signals: Callable[[int], Signal], count: int, seed: int
) -> Counter[str]:
    """Submit `count` signals, dropping every connection at a random moment of each
    submission; when all is settled, how many orders IB holds per orderRef (none twice)."""
    rng = random.Random(seed)
    for i in range(count):
        await wait_until(lambda: svc.ready)
        svc.engine.publish_snapshot(snapshot_of(sim))
        submitting = asyncio.create_task(svc.engine.submit(signals(i)))
        await asyncio.sleep(rng.uniform(0, 0.02))
        before = svc.reconnects
        sim.drop_connections()
        await submitting
        await wait_until(lambda: svc.reconnects > before)  # noqa: B023
    await wait_until(lambda: svc.ready)
    await wait_until(lambda: not svc.engine.journal.open_orders())
    refs = Counter(o.order_ref for o in sim.broker.orders.values())
    assert refs and max(refs.values()) == 1, "a signal produced two orders"
    return refs


def test_100_connection_drops_in_the_order_flow_leave_no_duplicate_and_no_orphan(tmp_path):
    async def body():
        async with simulator() as sim, service(sim, tmp_path) as svc:
            engine = svc.engine
            contract = atm(sim)
            refs = await submit_with_drops(
                sim, svc, lambda i: touch_signal(sim, f"d-{i}", contract), 100, seed=11
            )
            known = {r.ref for r in engine.journal.orders_of_all()}
            assert set(refs) <= known, "an order at IB is unknown to the trader"
            filled = sum(1 for o in sim.broker.orders.values() if o.filled)
            ib_position = sum(p.quantity for p in sim.broker.positions.values())
            assert engine.portfolio.holdings[contract].quantity == ib_position == filled
            assert svc.reconnects >= 100

    run(body(), timeout=600)


def test_a_restart_holding_positions_reconciles_them(tmp_path):
    async def body():
        async with simulator() as sim:
            contract = atm(sim)
            async with trader(sim, tmp_path) as engine:
                await engine.submit(touch_signal(sim, "h-1", contract, quantity=2))
                await wait_until(
                    lambda: engine.journal.order("h-1:L0").status is OrderStatus.FILLED
                )
            async with trader(sim, tmp_path) as again:
                assert again.portfolio.holdings[contract].quantity == 2
                assert again.metrics.position_mismatches._value.get() == 0
                assert "h-1" in again.portfolio.groups
            async with trader(sim, tmp_path / "lost-journal") as rebuilt:
                # The journal is gone: the fills come back from IB's executions.
                assert rebuilt.portfolio.holdings[contract].quantity == 2
                assert rebuilt.metrics.position_mismatches._value.get() == 0
            async with trader(sim, tmp_path / "other-client", client_id=31) as stranger:
                # Another client id sees none of the executions, only the account's
                # position: adopted as a group of its own, to be managed and flattened.
                assert stranger.portfolio.holdings[contract].quantity == 2
                assert stranger.metrics.position_mismatches._value.get() == 1
                assert any(g.startswith("recon-") for g in stranger.portfolio.groups)

    run(body())


def test_a_crash_between_deciding_and_sending_is_repaired_not_resent(tmp_path):
    async def body():
        async with simulator() as sim:
            contract = atm(sim)
            async with trader(sim, tmp_path) as engine:
                signal = touch_signal(sim, "k-1", contract)
                assert await engine.gateway.qualify(contract)
                engine.gateway.disconnect()  # the order cannot leave: as if we crashed here
                await engine.submit(signal)
                assert engine.journal.order("k-1:L0").status is OrderStatus.PENDING
            async with trader(sim, tmp_path) as again:
                row = again.journal.order("k-1:L0")
                assert row.status is OrderStatus.CANCELLED
                assert await again.submit(signal) is None
                assert not sim.broker.orders

    run(body())


def test_a_gateway_restart_rolling_back_next_valid_id_reuses_no_order_id(tmp_path):
    async def body():
        async with simulator() as sim, service(sim, tmp_path) as svc:
            contract = atm(sim)
            engine = svc.engine
            for i in range(3):
                await engine.submit(touch_signal(sim, f"b-{i}", contract))
            await wait_until(lambda: len(sim.broker.orders) == 3)
            used = {o.order_id for o in sim.broker.orders.values()}
            sim.restart(roll_back_order_ids=True)  # nextValidId = 1 from now on
            await asyncio.sleep(0.2)
            await wait_until(lambda: svc.ready)
            engine.publish_snapshot(snapshot_of(sim))
            decision = await engine.submit(touch_signal(sim, "a-1", contract))
            assert decision.taken
            await wait_until(lambda: engine.journal.order("a-1:L0").status is OrderStatus.FILLED)
            new = [o for o in sim.broker.orders.values() if o.order_ref == "a-1:L0"]
            assert len(new) == 1 and new[0].order_id > max(used)

    run(body())


def test_connection_drops_around_combo_orders_leave_no_duplicate_and_no_orphan(tmp_path):
    async def body():
        async with simulator() as sim, service(sim, tmp_path) as svc:
            engine = svc.engine
            refs = await submit_with_drops(sim, svc, lambda i: vertical(sim, f"c-{i}"), 25, seed=5)
            assert all(ref.endswith(":C") for ref in refs)
            signals = {r.signal_id for r in engine.journal.orders_of_all()}
            assert {ref.removesuffix(":C") for ref in refs} <= signals, "an unknown order"
            ib = {p.instrument.strike: p.quantity for p in sim.broker.positions.values()}
            ours = {c.strike: h.quantity for c, h in engine.portfolio.holdings.items()}
            assert {k: q for k, q in ours.items() if q} == {k: q for k, q in ib.items() if q}
            assert sum(ib.values()) == 0  # every combo bought one wing per short
            filled = sum(1 for o in sim.broker.orders.values() if o.filled)
            rows = engine.journal.orders_of_all()
            assert sum(r.status is OrderStatus.FILLED for r in rows) == 2 * filled

    run(body(), timeout=600)


def test_a_restart_finds_its_working_combo_at_ib_by_its_ref(tmp_path):
    async def body():
        async with simulator() as sim:
            settings = TraderSettings(port=sim.port, order_ttl_seconds=600)  # stays working
            async with trader(sim, tmp_path, settings) as engine:
                assert (await engine.submit(vertical(sim, "w-1", credit_wanted=0.5))).taken
                await wait_until(lambda: bool(sim.broker.orders))
            async with trader(sim, tmp_path, settings) as again:
                rows = again.journal.orders_of("w-1")
                assert {r.status for r in rows} == {OrderStatus.WORKING}
                assert again.metrics.orphans._value.get() == 0
                [combo] = sim.broker.orders.values()
                assert not combo.is_done  # not taken for an orphan
            async with trader(sim, tmp_path / "lost-journal") as stranger:
                assert stranger.metrics.orphans._value.get() == 1  # unknown there: cancelled
                await wait_until(lambda: combo.is_done)

    run(body())
