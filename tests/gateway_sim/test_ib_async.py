"""Unmodified ib_async 2.1.0 against the simulator over real loopback sockets."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

import pytest
from ib_async import IB, ComboLeg, Contract, LimitOrder, Option, Stock, Trade

from spy_core.models import Right
from spy_gateway_sim import GatewaySimulator

from .conftest import START, TIMEOUT, run, simulator, wait_until

ACCOUNT = "DU1234567"


@contextlib.asynccontextmanager
async def connected(sim: GatewaySimulator, client_id: int = 1) -> AsyncIterator[IB]:
    ib = IB()
    await ib.connectAsync("127.0.0.1", sim.port, clientId=client_id, timeout=TIMEOUT)
    try:
        yield ib
    finally:
        ib.disconnect()


def spy_option(expiry: str, strike: float, right: str = "C") -> Option:
    return Option(
        "SPY", expiry, strike, right, "SMART", multiplier="100", currency="USD", tradingClass="SPY"
    )


def atm_option(sim: GatewaySimulator, right: Right = Right.CALL) -> Option:
    expiry = sim.market.expiries[0]
    strike = min(sim.market.strikes(expiry), key=lambda k: abs(k - sim.market.view().spot))
    return spy_option(f"{expiry:%Y%m%d}", strike, right.value)


def errors_of(ib: IB) -> list[tuple[int, int]]:
    """(reqId, code) of every error the client receives from now on."""
    seen: list[tuple[int, int]] = []
    ib.errorEvent += lambda req_id, code, *_: seen.append((req_id, code))
    return seen


async def marketable_buy(ib: IB, option: Option, quantity: float, **order: object) -> Trade:
    """A buy limited $1 above the current ask, so it takes whatever the ask shows."""
    ticker = ib.reqMktData(option)
    await wait_until(lambda: ticker.ask > 0)
    return ib.placeOrder(option, LimitOrder("BUY", quantity, round(ticker.ask + 1.0, 2), **order))


async def place_and_cancel(ib: IB, option: Option) -> Trade:
    """A buy far below the market, acknowledged, then cancelled."""
    trade = ib.placeOrder(option, LimitOrder("BUY", 1, 0.01))
    await wait_until(lambda: trade.orderStatus.status == "Submitted")
    ib.cancelOrder(trade.order)
    await wait_until(lambda: trade.orderStatus.status == "Cancelled")
    return trade


def test_connect_reports_account_next_id_and_simulated_time():
    async def body():
        async with simulator(speed=0) as sim, connected(sim) as ib:
            assert ib.managedAccounts() == [ACCOUNT]
            assert ib.client.getReqId() >= 1
            assert await ib.reqCurrentTimeAsync() == START  # frozen clock: exactly the open
            tags = {v.tag: v.value for v in ib.accountValues()}
            assert float(tags["NetLiquidation"]) == pytest.approx(1_000_000.0)
            assert ib.positions() == []

    run(body())


def test_qualify_stock_and_options_with_failures_as_none():
    async def body():
        async with simulator(speed=0) as sim, connected(sim) as ib:
            [stock] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
            assert stock.conId == 756733 and stock.primaryExchange == "ARCA"
            front, last = sim.market.expiries[0], sim.market.expiries[-1]
            edge = max(sim.market.strikes(front))  # listed for 0DTE only: the union trap
            good = atm_option(sim)
            contracts = [
                good,
                spy_option(f"{last:%Y%m%d}", edge),
                spy_option("20991231", good.strike),
            ]
            qualified = await ib.qualifyContractsAsync(*contracts)
            assert qualified[0] is not None and qualified[0].conId > 0
            assert qualified[0].localSymbol.startswith("SPY   ")
            assert qualified[1:] == [None, None]

    run(body())


def test_sec_def_opt_params_lists_expiries_and_union_of_strikes():
    async def body():
        async with simulator(speed=0) as sim, connected(sim) as ib:
            chains = await ib.reqSecDefOptParamsAsync("SPY", "", "STK", 756733)
            smart = [c for c in chains if c.exchange == "SMART"]
            assert len(smart) == 1 and smart[0].tradingClass == "SPY"
            assert smart[0].multiplier == "100"
            assert smart[0].expirations == [f"{e:%Y%m%d}" for e in sim.market.expiries]
            assert len(smart[0].strikes) == 61  # ±30 strikes on today's expiry

    run(body())


def test_streaming_market_data_fills_tickers_with_quotes_and_greeks():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            [stock] = await ib.qualifyContractsAsync(Stock("SPY", "SMART", "USD"))
            ticker = ib.reqMktData(option, "101")
            underlying = ib.reqMktData(stock)
            await wait_until(lambda: ticker.modelGreeks is not None and ticker.bidGreeks)
            assert 0 < ticker.bid < ticker.ask
            assert ticker.callOpenInterest > 0 and ticker.volume >= 0
            model = ticker.modelGreeks
            assert 0.2 < model.delta < 0.8 and model.gamma > 0 and model.vega > 0
            assert model.theta < 0 and 0.03 < model.impliedVol < 2.0
            assert ticker.bidGreeks.impliedVol < ticker.askGreeks.impliedVol
            await wait_until(lambda: underlying.bid > 0 and underlying.ask > underlying.bid)
            assert model.undPrice == pytest.approx(underlying.last, abs=0.05)
            first = len(ticker.ticks)
            ticks_seen: list[int] = []
            ticker.updateEvent += lambda t: ticks_seen.append(len(t.ticks))
            await wait_until(lambda: len(ticks_seen) >= 3)  # the market moves: more updates
            assert ticker.marketDataType == 1 and first >= 2

    run(body())


def test_snapshot_returns_once_and_keeps_no_subscription():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            [option] = await ib.qualifyContractsAsync(atm_option(sim, Right.PUT))
            [ticker] = await asyncio.wait_for(ib.reqTickersAsync(option), TIMEOUT)
            assert 0 < ticker.bid < ticker.ask and ticker.modelGreeks is not None
            assert all(not s.subscriptions for s in sim.sessions)

    run(body())


def test_10197_then_delayed_market_data_type_3():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            sim.faults.refuse_live_data = True
            errors = errors_of(ib)
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            live = ib.reqMktData(option)
            await wait_until(lambda: any(code == 10197 for _, code in errors))
            assert math.isnan(live.bid)
            ib.cancelMktData(option)
            ib.reqMarketDataType(3)
            delayed = ib.reqMktData(option)
            await wait_until(lambda: delayed.bid > 0 and delayed.modelGreeks is not None)
            assert delayed.marketDataType == 3
            assert {t.tickType for t in delayed.ticks} & {66, 67}

    run(body())


def test_order_partial_fill_then_complete_updates_positions_and_account():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            sim.faults.partial_fills = True
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            trade = await marketable_buy(ib, option, 4, orderRef="sig-1", tif="DAY")
            await wait_until(lambda: trade.orderStatus.filled > 0)
            assert trade.orderStatus.filled < 4  # forced partial first
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            assert len(trade.fills) >= 2 and sum(f.execution.shares for f in trade.fills) == 4
            assert all(f.execution.orderRef == "sig-1" for f in trade.fills)
            await wait_until(lambda: all(f.commissionReport.commission > 0 for f in trade.fills))
            await wait_until(lambda: [p.position for p in ib.positions()] == [4.0])
            cash = {v.tag: float(v.value) for v in ib.accountValues() if v.currency == "USD"}
            paid = sum(f.execution.shares * f.execution.price * 100 for f in trade.fills)
            fees = sum(f.commissionReport.commission for f in trade.fills)
            assert cash["TotalCashValue"] == pytest.approx(1_000_000.0 - paid - fees, abs=0.01)

    run(body())


def test_cancel_working_order():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            trade = await place_and_cancel(ib, option)
            assert trade.fills == [] and ib.positions() == []

    run(body())


def test_second_connection_with_same_client_id_gets_326_and_is_closed():
    async def body():
        async with simulator(speed=0) as sim, connected(sim, client_id=5) as first:
            second = IB()
            errors = errors_of(second)
            with pytest.raises((TimeoutError, ConnectionError)):
                await second.connectAsync("127.0.0.1", sim.port, clientId=5, timeout=5)
            assert (-1, 326) in errors
            assert first.isConnected()
            assert await first.reqCurrentTimeAsync() == START

    run(body())


def test_dropped_connection_then_reconnect_keeps_positions():
    async def body():
        async with simulator() as sim:
            async with connected(sim, client_id=3) as ib:
                [option] = await ib.qualifyContractsAsync(atm_option(sim))
                trade = await marketable_buy(ib, option, 2)
                await wait_until(lambda: trade.orderStatus.status == "Filled")
                disconnected = asyncio.Event()
                ib.disconnectedEvent += disconnected.set
                sim.drop_connections()
                await asyncio.wait_for(disconnected.wait(), TIMEOUT)
            async with connected(sim, client_id=3) as again:
                assert [p.position for p in again.positions()] == [2.0]
                fills = await again.reqExecutionsAsync()
                assert sum(f.execution.shares for f in fills) == 2

    run(body())


def test_restart_rolls_back_next_valid_id_and_reused_ids_are_rejected():
    async def body():
        async with simulator() as sim:
            async with connected(sim, client_id=4) as ib:
                [option] = await ib.qualifyContractsAsync(atm_option(sim))
                used = (await place_and_cancel(ib, option)).order.orderId
            sim.restart()
            ib = IB()
            valid_ids: list[int] = []
            ib.wrapper.nextValidId = valid_ids.append
            await ib.connectAsync("127.0.0.1", sim.port, clientId=4, timeout=TIMEOUT)
            errors = errors_of(ib)
            assert valid_ids == [1]
            reused = LimitOrder("BUY", 1, 0.01)
            reused.orderId = used
            ib.placeOrder(option, reused)
            await wait_until(lambda: (used, 103) in errors)
            ib.disconnect()

    run(body())


def test_connectivity_loss_and_restore_are_reported():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            errors = errors_of(ib)
            sim.lose_connectivity()
            await wait_until(lambda: (-1, 1100) in errors)
            sim.restore_connectivity(data_lost=True)
            await wait_until(lambda: (-1, 1101) in errors)
            sim.lose_connectivity()
            sim.restore_connectivity()
            await wait_until(lambda: (-1, 1102) in errors)

    run(body())


def test_same_seed_gives_same_first_quotes():
    async def first_quotes(seed: int) -> list[tuple[float, float]]:
        async with simulator(seed=seed, speed=0) as sim, connected(sim) as ib:
            expiry = f"{sim.market.expiries[0]:%Y%m%d}"
            strikes = sorted(sim.market.strikes(sim.market.expiries[0]))[25:35]
            contracts = await ib.qualifyContractsAsync(*(spy_option(expiry, k) for k in strikes))
            tickers = await asyncio.wait_for(ib.reqTickersAsync(*contracts), TIMEOUT)
            return [(t.bid, t.ask) for t in tickers]

    async def body():
        first = await first_quotes(11)
        assert await first_quotes(11) == first
        other = await first_quotes(12)
        assert first != other

    run(body())


def test_latency_fault_keeps_replies_in_order():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            sim.faults.latency = 0.05
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            [ticker] = await asyncio.wait_for(ib.reqTickersAsync(option), TIMEOUT)
            assert ticker.bid > 0
            assert (await ib.reqCurrentTimeAsync()) >= START

    run(body())


def test_pnl_subscriptions_and_portfolio_report_ib_day_pnl():
    async def body():
        async with simulator() as sim, connected(sim) as ib:
            account = ib.managedAccounts()[0]
            [option] = await ib.qualifyContractsAsync(atm_option(sim))
            pnl = ib.reqPnL(account)
            single = ib.reqPnLSingle(account, "", option.conId)
            await wait_until(lambda: not math.isnan(pnl.realizedPnL))
            assert (pnl.dailyPnL, pnl.unrealizedPnL, pnl.realizedPnL) == (0.0, 0.0, 0.0)
            bought = await marketable_buy(ib, option, 2)
            await wait_until(lambda: bought.orderStatus.status == "Filled")
            ticker = ib.ticker(option)
            sold = ib.placeOrder(option, LimitOrder("SELL", 1, 0.01))
            await wait_until(lambda: sold.orderStatus.status == "Filled")
            await wait_until(lambda: all(f.commissionReport.commission > 0 for f in sold.fills))
            realized = sum(f.commissionReport.realizedPNL for f in sold.fills)
            fees = sum(f.commissionReport.commission for f in bought.fills + sold.fills)
            assert fees > 0
            # IB's convention: the lot sold at its fill price less the sale's commission,
            # against the average cost per contract with the purchase's commission in it.
            # Not its sign: the simulated market may move between the buy and the sell (a
            # loaded CI run sold one tick above the purchase: +$1.35).
            bought_cost = sum(
                100 * f.execution.price * f.execution.shares + f.commissionReport.commission
                for f in bought.fills
            ) / sum(f.execution.shares for f in bought.fills)
            proceeds = sum(
                100 * f.execution.price * f.execution.shares - f.commissionReport.commission
                for f in sold.fills
            )
            assert realized == pytest.approx(proceeds - bought_cost, abs=0.01)
            await wait_until(lambda: pnl.realizedPnL == pytest.approx(realized))
            await wait_until(lambda: single.position == 1.0)
            assert single.realizedPnL == pytest.approx(realized)
            [item] = ib.portfolio()
            assert item.position == 1.0 and item.realizedPNL == pytest.approx(realized)
            # IB's figures at IB's mark: unrealised against the average cost with commissions.
            mark = sim.marks()[option.conId]
            daily, unrealized, _ = sim.pnl()
            assert unrealized == pytest.approx(100 * mark - item.averageCost)
            assert daily == pytest.approx(realized + unrealized)
            assert ticker.bid > 0  # the book the sell crossed

    run(body())


def bag(*legs: tuple[Option, str]) -> Contract:
    """A combo (BAG) contract of qualified options, one of each."""
    return Contract(
        secType="BAG",
        symbol="SPY",
        exchange="SMART",
        currency="USD",
        comboLegs=[ComboLeg(conId=o.conId, ratio=1, action=a, exchange="SMART") for o, a in legs],
    )


def test_a_vertical_as_one_combo_order_fills_both_legs_at_once_at_its_net_price():
    async def body():
        async with simulator(speed=0) as sim, connected(sim) as ib:
            short = atm_option(sim)
            wing = spy_option(short.lastTradeDateOrContractMonth, short.strike + 1)
            [short, wing] = await ib.qualifyContractsAsync(short, wing)
            books = sim.books([short.conId, wing.conId])
            credit = round(books[short.conId].bid - books[wing.conId].ask, 2)
            spread = bag((wing, "BUY"), (short, "SELL"))
            # Asking a cent more credit than the touch gives: it rests, no leg fills alone.
            greedy = ib.placeOrder(spread, LimitOrder("BUY", 2, -credit - 0.01, orderRef="v-1"))
            await wait_until(lambda: greedy.orderStatus.status == "Submitted")
            assert greedy.fills == [] and sim.broker.positions == {}
            assert [leg.conId for leg in greedy.contract.comboLegs] == [wing.conId, short.conId]
            ib.cancelOrder(greedy.order)
            await wait_until(lambda: greedy.orderStatus.status == "Cancelled")

            trade = ib.placeOrder(spread, LimitOrder("BUY", 2, -credit, orderRef="v-2"))
            await wait_until(lambda: trade.orderStatus.status == "Filled")
            assert trade.filled() == 2 and trade.orderStatus.avgFillPrice == pytest.approx(-credit)
            legs = {f.contract.conId: f for f in trade.fills if f.contract.secType == "OPT"}
            assert legs[wing.conId].execution.side == "BOT"
            assert legs[short.conId].execution.side == "SLD"
            assert {f.execution.shares for f in legs.values()} == {2}
            assert all(f.execution.orderRef == "v-2" for f in trade.fills)
            await wait_until(lambda: len(ib.positions()) == 2)
            held = {p.contract.conId: p.position for p in ib.positions()}
            assert held == {wing.conId: 2.0, short.conId: -2.0}
            await wait_until(lambda: all(f.commissionReport.commission > 0 for f in legs.values()))

    run(body())


def test_a_combo_with_a_leg_ib_does_not_list_is_refused():
    async def body():
        async with simulator(speed=0) as sim, connected(sim) as ib:
            errors = errors_of(ib)
            [short] = await ib.qualifyContractsAsync(atm_option(sim))
            unknown = Option(conId=999, symbol="SPY")
            trade = ib.placeOrder(
                bag((short, "SELL"), (unknown, "BUY")), LimitOrder("BUY", 1, -0.1)
            )
            await wait_until(lambda: (trade.order.orderId, 200) in errors)
            assert sim.broker.orders == {}

    run(body())
