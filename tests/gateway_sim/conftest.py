"""Helpers for the simulator tests: a simulator on a free loopback port, and waiting on
conditions with generous timeouts (the suite must pass on a loaded 2-core machine)."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Callable, Coroutine
from datetime import UTC, datetime
from typing import Any

from spy_gateway_sim import Faults, GatewaySimulator, MarketConfig, SimulatorConfig

# A Thursday session: expiries that day (0DTE), Friday, Monday, Tuesday.
START = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)
TIMEOUT = 30.0


def run(coroutine: Coroutine[Any, Any, Any], timeout: float = 120.0) -> Any:
    """Run one async test body to completion, failing (not hanging) after `timeout`."""
    return asyncio.run(asyncio.wait_for(coroutine, timeout))


@contextlib.asynccontextmanager
async def simulator(
    seed: int = 7,
    speed: float = 60.0,
    faults: Faults | None = None,
    start: datetime = START,
    **market: Any,
) -> AsyncIterator[GatewaySimulator]:
    config = SimulatorConfig(
        port=0,
        market=MarketConfig(seed=seed, **market),
        speed=speed,
        start=start,
        tick_interval=0.05,
        faults=faults or Faults(),
    )
    async with GatewaySimulator(config) as sim:
        yield sim


async def wait_until(condition: Callable[[], object], timeout: float = TIMEOUT) -> None:
    """Poll `condition` until true; raise TimeoutError with its source if it never is."""
    deadline = asyncio.get_running_loop().time() + timeout
    while not condition():
        if asyncio.get_running_loop().time() > deadline:
            raise TimeoutError(f"condition never held: {condition}")
        await asyncio.sleep(0.02)
