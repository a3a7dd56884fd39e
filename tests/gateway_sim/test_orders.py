"""The simulated broker's fill rules and bookkeeping, without sockets."""

from __future__ import annotations

from datetime import date

import pytest
from hypothesis import given
from hypothesis import strategies as st

from spy_core.models import Right
from spy_gateway_sim.instruments import COMBO, option
from spy_gateway_sim.orders import Book, Broker, ComboLeg, OrderRejectedError, OrderRequest, Status

from .conftest import START

CALL = option(date(2025, 10, 30), 680.0, Right.CALL)


def request(order_id: int, action: str = "BUY", quantity: float = 10, limit: float = 1.05):
    return OrderRequest(order_id, action, quantity, "LMT", limit, "DAY", "", "ref")


def book(bid=1.00, ask=1.05, bid_size=5, ask_size=4) -> dict[int, Book]:
    return {CALL.con_id: Book(bid, ask, bid_size, ask_size, (bid + ask) / 2)}


def test_buy_fills_at_the_ask_up_to_its_size_and_the_rest_later():
    broker = Broker()
    order = broker.place(1, request(1, limit=1.10), CALL)
    [first] = broker.match(book(), START)
    assert (first.shares, first.price, order.status) == (4, 1.05, Status.SUBMITTED)
    assert broker.match(book(ask=1.20), START) == []  # the book moved away
    [second] = broker.match(book(ask=1.08, ask_size=50), START)
    assert second.shares == 6 and order.status is Status.FILLED
    assert order.avg_price == pytest.approx((4 * 1.05 + 6 * 1.08) / 10)
    position = broker.positions[CALL.con_id]
    assert position.quantity == 10
    assert broker.cash == pytest.approx(1_000_000 - (4 * 1.05 + 6 * 1.08) * 100 - 2.60 - 3.90)


def test_sell_closes_the_position_and_realises_pnl():
    broker = Broker()
    broker.place(1, request(1, quantity=2, limit=1.05), CALL)
    broker.match(book(), START)
    broker.place(1, request(2, "SELL", quantity=2, limit=1.50), CALL)
    [sold] = broker.match(book(bid=1.60, ask=1.65), START)
    assert sold.price == 1.60 and broker.positions[CALL.con_id].quantity == 0
    assert sold.realized_pnl == pytest.approx(2 * 55 - 1.30 - 1.30)  # $0.65 a contract each way


def test_forced_partial_fills_take_at_most_half():
    broker = Broker()
    broker.place(1, request(1, quantity=8), CALL)
    fills = [broker.match(book(ask_size=100), START, partial=True)[0].shares for _ in range(4)]
    assert fills == [4, 2, 1, 1]


def test_cancel_duplicates_and_rejections():
    broker = Broker()
    broker.place(1, request(5, limit=0.01), CALL)
    assert broker.next_valid_id(1) == 6 and broker.next_valid_id(2) == 1
    assert broker.cancel(1, 5).status is Status.CANCELLED
    for bad, code in (
        (request(5), 103),  # a used id
        (request(3), 103),  # below the next valid id
        (OrderRequest(9, "BUY", 1, "MKT", None, "DAY", "", ""), 387),
        (request(9, quantity=0), 434),
        (request(9, limit=1.005), 110),
    ):
        with pytest.raises(OrderRejectedError) as raised:
            broker.place(1, bad, CALL)
        assert raised.value.code == code
    with pytest.raises(OrderRejectedError):
        broker.cancel(1, 5)


def test_modifying_a_working_order_changes_its_limit():
    broker = Broker()
    order = broker.place(1, request(1, limit=0.50), CALL)
    assert broker.match(book(), START) == []
    broker.place(1, request(1, limit=1.05), CALL)
    assert order.limit == 1.05 and broker.match(book(), START)


@given(
    st.lists(
        st.tuples(st.sampled_from(["BUY", "SELL"]), st.integers(1, 5), st.integers(1, 300)),
        min_size=1,
        max_size=12,
    ),
    st.integers(1, 300),
)
def test_day_pnl_is_the_change_in_net_liquidation(trades, mark_cents):
    """Whatever the fills, IB's day P&L (realised + unrealised, commissions included)
    equals what the account gained: cash plus positions at the mark, less the start."""
    broker = Broker()
    for number, (action, quantity, cents) in enumerate(trades, start=1):
        price = cents / 100
        broker.place(1, request(number, action, quantity, limit=price), CALL)
        broker.match(book(bid=price, ask=price, bid_size=99, ask_size=99), START)
    mark = mark_cents / 100
    daily, unrealized, realized = broker.pnl({CALL.con_id: mark})
    position = broker.positions[CALL.con_id]
    gained = broker.cash - 1_000_000 + position.quantity * mark * 100
    assert daily == pytest.approx(gained, abs=1e-6)
    assert daily == pytest.approx(realized + unrealized)
    assert realized == pytest.approx(position.realized)
    broker.new_day()
    assert broker.pnl({CALL.con_id: mark})[2] == 0.0


WING = option(date(2025, 10, 30), 681.0, Right.CALL)
quotes = st.tuples(st.integers(1, 300), st.integers(0, 20), st.integers(0, 9))  # bid¢, width¢, size


@given(quotes, quotes, st.integers(-300, 300), st.sampled_from(["BUY", "SELL"]), st.integers(1, 6))
def test_a_combo_fills_every_leg_or_none_and_never_beyond_its_limit(
    short_quote, wing_quote, limit_cents, action, quantity
):
    def touch(quote):
        bid, width, size = quote
        return Book(bid / 100, (bid + width) / 100, size, size, 0.0)

    broker = Broker()
    legs = (ComboLeg(WING, 1, "BUY"), ComboLeg(CALL, 1, "SELL"))
    order_request = OrderRequest(1, action, quantity, "LMT", limit_cents / 100, "DAY", "", "v")
    order = broker.place(1, order_request, COMBO, legs)
    books = {CALL.con_id: touch(short_quote), WING.con_id: touch(wing_quote)}
    executions = broker.match(books, START)
    by_contract = {e.instrument.con_id: e for e in executions}
    if not executions:
        assert order.filled == 0 and broker.positions == {}
        return
    assert set(by_contract) == {WING.con_id, CALL.con_id, COMBO.con_id}
    assert {e.shares for e in executions} == {order.filled}
    assert order.filled <= min(short_quote[2], wing_quote[2], quantity)
    net = by_contract[COMBO.con_id].price
    # Paid for the wing less got for the short (bought), or got less paid (sold).
    assert net == pytest.approx(by_contract[WING.con_id].price - by_contract[CALL.con_id].price)
    assert net <= order.limit + 1e-9 if action == "BUY" else net >= order.limit - 1e-9
    signed = order.filled if action == "BUY" else -order.filled
    assert broker.positions[WING.con_id].quantity == signed
    assert broker.positions[CALL.con_id].quantity == -signed
