"""The benchmarks' SignalR client: negotiate, WebSocket, JSON hub protocol handshake, and the
keep-alive every SignalR client owes the server.

A hub closes a connection it has heard nothing from for its client timeout (30 s, as
ASP.NET Core's `ClientTimeoutInterval`; the local hub's `client_timeout`); the JS client
sends a ping every 15 s (`keepAliveIntervalInMilliseconds`) so that a viewer who only
listens stays connected. A benchmark client that only listens is closed after 30 s.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import AsyncIterator

import httpx
import websockets

RS = "\x1e"
KEEP_ALIVE_SECONDS = 15.0  # @microsoft/signalr's default keepAliveIntervalInMilliseconds
PING_FRAME = json.dumps({"type": 6}) + RS


@contextlib.asynccontextmanager
async def hub_connection(
    base: str, keep_alive: float = KEEP_ALIVE_SECONDS
) -> AsyncIterator[websockets.ClientConnection]:
    """A handshaken hub connection on `base` (http://host:port) that pings while open."""
    async with httpx.AsyncClient() as http:
        answer = (await http.post(f"{base}/hub/negotiate?negotiateVersion=1")).json()
    url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
    async with websockets.connect(url, max_size=None) as ws:
        await ws.send(json.dumps({"protocol": "json", "version": 1}) + RS)
        reply = await ws.recv()
        if reply != "{}" + RS:
            raise RuntimeError(f"hub handshake refused: {reply!r}")
        pinger = asyncio.create_task(_ping(ws, keep_alive))
        try:
            yield ws
        finally:
            pinger.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await pinger


async def _ping(ws: websockets.ClientConnection, every: float) -> None:
    with contextlib.suppress(websockets.ConnectionClosed):
        while True:
            await asyncio.sleep(every)
            await ws.send(PING_FRAME)
