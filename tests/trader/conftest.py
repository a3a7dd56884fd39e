"""Helpers for the trader tests: a simulator on a free port during a regular session, a
trader engine connected to it through ib_async, and snapshots of what the simulator shows."""

from __future__ import annotations

import contextlib
from collections.abc import AsyncIterator, Coroutine
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from pydantic import BaseModel

from spy_core.models import ChainSnapshot, Right
from spy_core.trading import Action, ContractRef, Intent, Leg, Signal
from spy_gateway_sim import GatewaySimulator
from spy_trader.engine import Engine
from spy_trader.ibkr import IbkrExecution
from spy_trader.journal import Journal
from spy_trader.settings import TraderSettings

from ..gateway_sim.conftest import run as sim_run
from ..gateway_sim.conftest import simulator as sim_simulator
from ..gateway_sim.conftest import wait_until  # noqa: F401  (the trader tests use it from here)

# Thursday 2025-10-30, 10:00 ET: inside the trading window.
START = datetime(2025, 10, 30, 14, 0, tzinfo=UTC)
TIMEOUT = 30.0


def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 180.0) -> Any:
    return sim_run(coroutine, timeout)


def simulator(start: datetime = START, speed: float = 1.0, **options: Any):
    """The simulator tests' simulator, at 1× speed from 10:00 ET, no random mispricings."""
    return sim_simulator(speed=speed, start=start, mispricing_rate=0.0, **options)


class Recorder:
    """The reporting port's in-memory adapter: keeps every record it is given."""

    def __init__(self) -> None:
        self.records: list[BaseModel] = []

    def publish(self, record: BaseModel) -> None:
        self.records.append(record)

    def of(self, kind: str) -> list[Any]:
        return [r for r in self.records if getattr(r, "type", None) == kind]


def snapshot_of(sim: GatewaySimulator) -> ChainSnapshot:
    view = sim.view()
    return ChainSnapshot(
        underlying="SPY", timestamp=sim.now(), spot=view.spot, quotes=tuple(view.quotes.values())
    )


def atm(sim: GatewaySimulator, right: Right = Right.CALL, offset: int = 0) -> ContractRef:
    expiry = sim.market.expiries[0]
    strikes = sorted(sim.market.strikes(expiry))
    spot = sim.view().spot
    i = min(range(len(strikes)), key=lambda j: abs(strikes[j] - spot)) + offset
    return ContractRef(expiry=expiry, strike=strikes[i], right=right)


def touch_signal(
    sim: GatewaySimulator,
    signal_id: str,
    contract: ContractRef,
    action: Action = Action.BUY,
    quantity: int = 1,
    intent: Intent = Intent.OPEN,
    limit: float | None = None,
) -> Signal:
    """A signal priced at the simulator's current touch (fair = the limit)."""
    quote = snapshot_index(sim)[(contract.expiry, contract.strike, contract.right)]
    price = limit if limit is not None else (quote.ask if action is Action.BUY else quote.bid)
    leg = Leg(
        contract=contract,
        action=action,
        quantity=quantity,
        limit=price,
        bid=quote.bid,
        ask=quote.ask,
        fair=price,
        delta=0.5 if contract.right is Right.CALL else -0.5,
    )
    return Signal(
        id=signal_id,
        at=sim.now(),
        intent=intent,
        legs=(leg,),
        reason="test",
        expected_edge=1.0,
        quote_time=sim.now(),
    )


def vertical(
    sim: GatewaySimulator, signal_id: str, quantities=(1, 1), credit_wanted: float = 0.0
) -> Signal:
    """Buy the wing one strike out, sell the ATM call, at the touch (or asking
    `credit_wanted` more credit on the short leg than its bid gives)."""
    short, wing = atm(sim), atm(sim, offset=1)
    index = snapshot_index(sim)
    sq = index[(short.expiry, short.strike, short.right)]
    wq = index[(wing.expiry, wing.strike, wing.right)]
    sell_at = round(sq.bid + credit_wanted, 2)
    legs = (
        Leg(contract=wing, action=Action.BUY, quantity=quantities[0], limit=wq.ask,
            bid=wq.bid, ask=wq.ask, fair=wq.ask),
        Leg(contract=short, action=Action.SELL, quantity=quantities[1], limit=sell_at,
            bid=sq.bid, ask=max(sq.ask, sell_at), fair=sell_at),
    )  # fmt: skip
    return touch_signal(sim, signal_id, short).model_copy(update={"legs": legs})


def snapshot_index(sim: GatewaySimulator) -> dict:
    return {(q.expiry, q.strike, q.right): q for q in sim.view().quotes.values()}


@contextlib.asynccontextmanager
async def trader(
    sim: GatewaySimulator,
    path: Path,
    settings: TraderSettings | None = None,
    client_id: int = 21,
    **overrides: Any,
) -> AsyncIterator[Engine]:
    """An engine connected, restored and reconciled, as the service starts one; settings
    given whole, or the defaults with `overrides`."""
    settings = settings or TraderSettings(port=sim.port, client_id=client_id, **overrides)
    journal = Journal(path / "trader.sqlite")
    gateway = IbkrExecution("127.0.0.1", sim.port, client_id, TIMEOUT)
    await gateway.connect(journal.max_order_id())
    engine = Engine(settings, gateway, journal, Recorder(), clock=sim.now)
    engine.restore(sim.now())
    engine.reconcile()
    engine.publish_snapshot(snapshot_of(sim))
    try:
        yield engine
    finally:
        engine.close()
        gateway.disconnect()
        journal.close()
