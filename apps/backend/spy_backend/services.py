"""What one app instance holds, built in its lifespan and shared by the routes."""

from __future__ import annotations

from dataclasses import dataclass, field

import anyio.to_thread

from .market_clock import MarketClock
from .metrics import Metrics
from .realtime.azure import AzureSignalR
from .realtime.broadcaster import Broadcaster
from .realtime.hub import LocalHub
from .settings import Settings
from .signals import IngestWatch
from .storage import Storage


@dataclass
class Services:
    settings: Settings
    token: str
    metrics: Metrics
    storage: Storage
    hub: LocalHub
    broadcaster: Broadcaster
    market_clock: MarketClock
    azure: AzureSignalR | None = None
    ingest: IngestWatch = field(default_factory=IngestWatch)

    async def call_storage(self, op: str, function, *args):
        """Run a (blocking) storage call in a worker thread, timed per operation."""
        with self.metrics.storage(op):
            return await anyio.to_thread.run_sync(function, *args)
