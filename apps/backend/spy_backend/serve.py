"""Running the app under uvicorn. `BackendServer` tells hub viewers "reconnect" (close
message with allowReconnect) before uvicorn drops their sockets, so a restart is a short
blip for the dashboard instead of a dead connection."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Iterator

import uvicorn
from fastapi import FastAPI

from .realtime.protocol import MAX_CLIENT_FRAME_BYTES


class BackendServer(uvicorn.Server):
    def __init__(
        self,
        app: FastAPI,
        host: str,
        port: int,
        log_level: str = "warning",
        own_signals: bool = True,
    ) -> None:
        """`own_signals=False` when the server is one part of a bigger program (the local
        platform) that handles Ctrl-C itself and stops the server with `should_exit`."""
        super().__init__(
            uvicorn.Config(
                app,
                host=host,
                port=port,
                log_level=log_level,
                lifespan="on",
                ws="websockets-sansio",
                ws_ping_interval=None,  # the hub pings at the SignalR level
                ws_max_size=MAX_CLIENT_FRAME_BYTES,
                timeout_graceful_shutdown=3,
            )
        )
        self.app = app
        self._own_signals = own_signals

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self._own_signals:
            with super().capture_signals():
                yield
        else:
            yield

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
