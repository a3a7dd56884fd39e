"""Several subscribers on one quote source (the detector's service and the trader share it):
each gets every batch, and one that raises does not starve the others."""

from __future__ import annotations

import logging

from spy_marketdata.ibkr import IbkrSource
from spy_marketdata.settings import MarketDataSettings
from spy_marketdata.source import Subscribers

from ..gateway_sim.conftest import TIMEOUT, run, simulator, wait_until
from .conftest import CLIENT_ID


def test_every_subscriber_gets_every_value_in_subscription_order():
    event: Subscribers[int] = Subscribers("numbers")
    calls: list[tuple[str, int]] = []
    event.subscribe(lambda v: calls.append(("first", v)))
    event.subscribe(lambda v: calls.append(("second", v)))
    event.emit(1)
    event.emit(2)
    assert calls == [("first", 1), ("second", 1), ("first", 2), ("second", 2)]


def test_unsubscribed_callbacks_are_not_called_and_unknown_ones_are_ignored():
    event: Subscribers[int] = Subscribers("numbers")
    seen: list[int] = []
    event.subscribe(seen.append)
    event.emit(1)
    event.unsubscribe(seen.append)
    event.unsubscribe(print)
    event.emit(2)
    assert seen == [1]
    assert len(event) == 0


def test_a_failing_subscriber_is_logged_and_the_others_still_get_the_value(caplog):
    event: Subscribers[int] = Subscribers("numbers")
    before: list[int] = []
    after: list[int] = []

    def broken(value: int) -> None:
        raise RuntimeError(f"cannot take {value}")

    event.subscribe(before.append)
    event.subscribe(broken)
    event.subscribe(after.append)
    with caplog.at_level(logging.ERROR, logger="spy_marketdata.source"):
        event.emit(7)
        event.emit(8)
    assert before == after == [7, 8]
    failures = [r for r in caplog.records if "numbers subscriber" in r.getMessage()]
    assert len(failures) == 2
    assert "cannot take 7" in str(failures[0].exc_info[1])


def test_a_subscriber_may_unsubscribe_itself_while_being_called():
    event: Subscribers[int] = Subscribers("numbers")
    seen: list[int] = []

    def once(value: int) -> None:
        seen.append(value)
        event.unsubscribe(once)

    event.subscribe(once)
    event.subscribe(seen.append)
    event.emit(1)
    event.emit(2)
    assert seen == [1, 1, 2]


def test_the_ib_source_gives_each_subscriber_every_tick_batch(caplog):
    async def body():
        async with simulator(speed=60) as sim:
            source = IbkrSource(MarketDataSettings(port=sim.port, client_id=CLIENT_ID))
            first: list[list] = []
            second: list[list] = []

            def broken(updates: list) -> None:
                raise ValueError("a subscriber's bug")

            source.on_updates.subscribe(first.append)
            source.on_updates.subscribe(broken)
            source.on_updates.subscribe(second.append)
            await source.connect()
            try:
                await source.subscribe_underlying()
                await wait_until(lambda: len(second) >= 3, TIMEOUT)
            finally:
                source.disconnect()
            assert first == second  # the same batches, in the same order
            assert all(update.sub_id for batch in second for update in batch)

    with caplog.at_level(logging.ERROR, logger="spy_marketdata.source"):
        run(body())
    assert any("a subscriber's bug" in str(r.exc_info[1]) for r in caplog.records if r.exc_info)
