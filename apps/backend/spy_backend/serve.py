"""Running the app under uvicorn. `BackendServer` tells hub viewers "reconnect" (close
message with allowReconnect) before uvicorn drops their sockets, so a restart is a short
blip for the dashboard instead of a dead connection."""

from __future__ import annotations

import asyncio

import uvicorn
from fastapi import FastAPI


class BackendServer(uvicorn.Server):
    def __init__(self, app: FastAPI, host: str, port: int, log_level: str = "warning") -> None:
        super().__init__(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level=log_level,
                lifespan="on",
                ws="websockets-sansio",
                ws_ping_interval=None,  # the hub pings at the SignalR level
                timeout_graceful_shutdown=3,
            )
        )
        self.app = app

    async def shutdown(self, sockets=None) -> None:
        services = getattr(self.app.state, "services", None)
        if services is not None:
            await services.hub.close_all()
        await super().shutdown(sockets)

    @property
    def bound_port(self) -> int:
        """The port actually bound (useful with port 0)."""
        return self.servers[0].sockets[0].getsockname()[1]

    async def wait_started(self, timeout: float = 10.0) -> None:
        async with asyncio.timeout(timeout):
            while not self.started:
                await asyncio.sleep(0.02)
