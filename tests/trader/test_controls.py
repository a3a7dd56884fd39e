"""Kill switch, daily loss stop and the flatten before the close, against the simulator."""

from __future__ import annotations

import asyncio
import contextlib
from datetime import UTC, datetime

import httpx

from spy_core.market_hours import NEW_YORK
from spy_core.trading import OrderStatus, TradingState
from spy_trader.http import create_app
from spy_trader.settings import RiskSettings, TraderSettings

from .conftest import atm, run, simulator, snapshot_of, touch_signal, trader, wait_until
from .test_recovery import service


@contextlib.asynccontextmanager
async def feeding(engine, sim, every: float = 0.1):
    """Snapshots to the engine as the market-data pipeline would send them."""

    async def feed():
        while True:
            engine.publish_snapshot(snapshot_of(sim))
            await asyncio.sleep(every)

    task = asyncio.create_task(feed())
    try:
        yield
    finally:
        task.cancel()


def flat(sim) -> bool:
    return all(p.quantity == 0 for p in sim.broker.positions.values())


async def buy_one(engine, sim, sid="o-1"):
    contract = atm(sim)
    assert (await engine.submit(touch_signal(sim, sid, contract))).taken
    await wait_until(lambda: engine.journal.order(f"{sid}:L0").status is OrderStatus.FILLED)
    await wait_until(lambda: not flat(sim))
    return contract


def test_the_kill_switch_cancels_flattens_stops_opening_and_survives_a_restart(tmp_path):
    async def body():
        async with simulator() as sim:
            async with trader(sim, tmp_path) as engine:
                contract = await buy_one(engine, sim)
                resting = touch_signal(sim, "o-2", atm(sim, offset=2), limit=0.01)
                resting = resting.model_copy(
                    update={"legs": (resting.legs[0].model_copy(update={"bid": 0.01}),)}
                )
                assert (await engine.submit(resting)).taken
                async with feeding(engine, sim):
                    engine.kill("test")
                    await wait_until(lambda: flat(sim))
                    await wait_until(
                        lambda: engine.journal.order("o-2:L0").status is OrderStatus.CANCELLED
                    )
                assert engine.state is TradingState.HALTED
                assert engine.portfolio.holdings[contract].quantity == 0
                again = await engine.submit(touch_signal(sim, "o-3", contract))
                assert again.rule == "trading_state"
            async with trader(sim, tmp_path) as restarted:
                assert restarted.state is TradingState.HALTED
                restarted.reset()
                assert restarted.state is TradingState.ACTIVE

    run(body())


def test_the_daily_loss_limit_trips_the_kill_switch(tmp_path):
    async def body():
        async with simulator() as sim:
            settings = TraderSettings(port=sim.port, risk=RiskSettings(max_daily_loss=1.0))
            async with trader(sim, tmp_path, settings) as engine:
                await buy_one(engine, sim)
                async with feeding(engine, sim):
                    await wait_until(lambda: engine.state is TradingState.HALTED)
                    await wait_until(lambda: flat(sim))
                assert "max_daily_loss" in engine.state_reason
                day = sim.now().astimezone(NEW_YORK).date()
                assert engine.journal.state(day)[0] is TradingState.HALTED

    run(body())


def test_flat_before_an_early_close(tmp_path):
    early = datetime(2025, 11, 28, 17, 40, tzinfo=UTC)  # 12:40 ET; the close is 13:00 ET

    async def body():
        async with simulator(start=early, speed=30.0) as sim:
            assert sim.market.expiries[0] == early.date()  # 0DTE
            risk = RiskSettings(
                no_open_first_minutes=0,
                no_open_last_minutes=10,
                flatten_before_close_minutes=15,
                max_quote_age_ms=20_000,
            )
            settings = TraderSettings(port=sim.port, risk=risk)
            async with trader(sim, tmp_path, settings) as engine:
                await buy_one(engine, sim)
                async with feeding(engine, sim):
                    await wait_until(lambda: engine.state is TradingState.REDUCING, 60)
                    await wait_until(lambda: flat(sim), 60)
                flat_at = sim.now().astimezone(NEW_YORK)
                assert (
                    flat_at.time()
                    < datetime(2025, 11, 28, 18, 0, tzinfo=UTC).astimezone(NEW_YORK).time()
                )

    run(body())


def test_the_kill_switch_endpoint_needs_the_token(tmp_path):
    async def body():
        async with simulator() as sim, service(sim, tmp_path) as svc:
            app = create_app(svc, "s3cret")
            transport = httpx.ASGITransport(app=app)
            async with httpx.AsyncClient(transport=transport, base_url="http://t") as client:
                assert (await client.post("/kill-switch", json={"on": True})).status_code == 401
                wrong = {"authorization": "Bearer nope"}
                assert (
                    await client.post("/kill-switch", json={"on": True}, headers=wrong)
                ).status_code == 401
                good = {"authorization": "Bearer s3cret"}
                answer = await client.post("/kill-switch", json={"on": True}, headers=good)
                assert answer.json()["state"] == "halted"
                ready = await client.get("/ready")
                assert ready.status_code == 200 and ready.json()["state"] == "halted"
                metrics = (await client.get("/metrics")).text
                assert 'trader_trading_state{state="halted"} 1.0' in metrics
                answer = await client.post("/kill-switch", json={"on": False}, headers=good)
                assert answer.json()["state"] == "active"

    run(body())
