"""Our P&L against IB's: the conversion to IB's convention (property-tested against the
simulator's broker booking the same fills) and the reconciliation through ib_async."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st
from ib_async import IB, LimitOrder

from spy_core.models import Right
from spy_core.trading import Action, ContractRef, Intent
from spy_gateway_sim.instruments import option
from spy_gateway_sim.orders import Book, Broker, OrderRequest
from spy_trader.ibkr import to_ib
from spy_trader.portfolio import Portfolio

from ..gateway_sim.conftest import START as SIM_START
from .conftest import TIMEOUT, atm, run, simulator, snapshot_of, touch_signal, trader, wait_until

DAY = date(2025, 10, 30)
CONTRACT = ContractRef(expiry=DAY, strike=680.0, right=Right.CALL)
INSTRUMENT = option(DAY, 680.0, Right.CALL)

fills = st.lists(
    st.tuples(st.sampled_from([Action.BUY, Action.SELL]), st.integers(1, 6), st.integers(1, 400)),
    min_size=1,
    max_size=15,
)


@given(fills, st.integers(1, 400))
def test_our_pnl_in_ibs_convention_equals_what_ib_books(trades, mark_cents):
    """Whatever the fills (opens, partial closes, flips), our realised and unrealised P&L
    restated in IB's convention are IB's, and their sum is our own day P&L."""
    broker, portfolio = Broker(), Portfolio()
    for number, (action, quantity, cents) in enumerate(trades, start=1):
        price = cents / 100
        request = OrderRequest(number, action.value, quantity, "LMT", price, "DAY", "", "g:L0")
        broker.place(1, request, INSTRUMENT)
        [execution] = broker.match(
            {INSTRUMENT.con_id: Book(price, price, 99, 99, price)}, SIM_START
        )
        portfolio.apply_fill(
            execution.exec_id,
            "g:L0",
            CONTRACT,
            action,
            quantity,
            price,
            execution.commission,
            SIM_START,
        )
    mark = mark_cents / 100
    _, ib_unrealized, ib_realized = broker.pnl({INSTRUMENT.con_id: mark})
    realized, unrealized = portfolio.ib_view({CONTRACT: mark})
    assert realized == pytest.approx(ib_realized, abs=1e-6)
    assert unrealized == pytest.approx(ib_unrealized, abs=1e-6)
    ours = portfolio.realized_net + portfolio.unrealized({CONTRACT: mark})
    assert realized + unrealized == pytest.approx(ours, abs=1e-6)


def test_pnl_is_reconciled_with_ibs_and_a_trade_we_did_not_make_is_flagged(tmp_path):
    async def body():
        frozen = simulator(speed=0)  # the marks hold still: unrealised must agree too
        async with frozen as sim, trader(sim, tmp_path, pnl_grace_seconds=0.0) as engine:
            contract = atm(sim)
            assert (await engine.submit(touch_signal(sim, "p-1", contract, quantity=2))).taken
            await wait_until(lambda: engine.portfolio.holdings.get(contract) is not None)
            exit_ = touch_signal(sim, "p-1:X1", contract, Action.SELL, 1, Intent.CLOSE)
            assert (await engine.submit(exit_)).taken
            await wait_until(lambda: engine.portfolio.holdings[contract].quantity == 1)
            await wait_until(lambda: engine.gateway.broker_pnl() is not None)
            await wait_until(lambda: engine.gateway.broker_pnl().realized != 0.0)
            engine.publish_snapshot(snapshot_of(sim))
            point = engine.reporter.of("pnl")[-1]
            realized, _ = engine.portfolio.ib_view({})
            assert point.ib_realized == pytest.approx(realized, abs=0.01)
            assert point.realized < point.ib_realized  # IB keeps the open lot's commission
            difference = engine.metrics.pnl_difference.labels
            assert abs(difference("realized")._value.get()) < 0.01
            assert abs(difference("unrealized")._value.get()) < 0.01
            assert engine.metrics.pnl_mismatches._value.get() == 0

            # Someone trades the account by hand (another client): a round trip, so the
            # positions still agree, but IB's realised P&L is no longer ours.
            other = IB()
            await other.connectAsync("127.0.0.1", sim.port, clientId=5, timeout=TIMEOUT)
            [ib_contract] = await other.qualifyContractsAsync(to_ib(atm(sim, Right.PUT)))
            for action, limit in (("BUY", 50.0), ("SELL", 0.01)):
                trade = other.placeOrder(ib_contract, LimitOrder(action, 3, limit))
                await wait_until(lambda trade=trade: trade.orderStatus.status == "Filled")
            other.disconnect()
            await wait_until(lambda: abs(engine.gateway.broker_pnl().realized - realized) > 1)
            engine.publish_snapshot(snapshot_of(sim))  # apart: the grace period starts
            engine.publish_snapshot(snapshot_of(sim))  # still apart after it: flagged
            assert engine.metrics.pnl_mismatches._value.get() == 1
            assert abs(difference("realized")._value.get()) > 1

    run(body())
