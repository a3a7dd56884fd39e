"""Faults the simulator injects on demand: the failures a real IB Gateway produces, so the
platform's handling of them is tested against a protocol peer rather than assumed.

`Faults` holds the switches the session code consults (10197, partial fills, latency, rolled
back order ids); `run_schedule` fires the periodic ones (dropped connections, connectivity
loss) from the CLI flags. One-off faults are methods of `GatewaySimulator`.
"""

from __future__ import annotations

import asyncio
import logging
from dataclasses import dataclass
from typing import Protocol

_log = logging.getLogger(__name__)


@dataclass
class Faults:
    refuse_live_data: bool = False  # error 10197 on reqMktData while market data type is live
    partial_fills: bool = False  # fill at most half of an order's remaining quantity at once
    latency: float = 0.0  # seconds added before every outgoing message
    roll_back_order_ids: bool = False  # nextValidId = 1, as after a gateway restart
    drop_every: float | None = None  # wall seconds between dropping all connections
    connectivity_loss_every: float | None = None  # wall seconds between 1100 losses
    connectivity_loss_duration: float = 2.0  # wall seconds until restored
    connectivity_data_lost: bool = False  # restore with 1101 (resubscribe) instead of 1102


class FaultTarget(Protocol):
    def drop_connections(self) -> None: ...

    def lose_connectivity(self) -> None: ...

    def restore_connectivity(self, data_lost: bool = False) -> None: ...


async def run_schedule(target: FaultTarget, faults: Faults) -> None:
    """Fire the periodic faults until cancelled."""
    tasks = []
    if faults.drop_every:
        tasks.append(_every(faults.drop_every, target.drop_connections))
    if faults.connectivity_loss_every:

        async def blip() -> None:
            target.lose_connectivity()
            await asyncio.sleep(faults.connectivity_loss_duration)
            target.restore_connectivity(faults.connectivity_data_lost)

        tasks.append(_every_async(faults.connectivity_loss_every, blip))
    if tasks:
        await asyncio.gather(*tasks)


async def _every(seconds: float, action) -> None:
    while True:
        await asyncio.sleep(seconds)
        _log.info("scheduled fault: %s", action.__name__)
        action()


async def _every_async(seconds: float, action) -> None:
    while True:
        await asyncio.sleep(seconds)
        _log.info("scheduled fault: connectivity loss")
        await action()
