"""The local SignalR-compatible hub: what the dashboard's `@microsoft/signalr` client talks to
when there is no Azure SignalR, with the same negotiate + WebSocket + JSON protocol.

Broadcast only: the server sends invocations; a client's own invocations get an error
completion. Each connection has a bounded outgoing queue and its own writer task, so one
slow viewer cannot delay the others; a viewer whose queue fills is disconnected (its client
reconnects and re-reads state from the API).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from . import protocol

_log = logging.getLogger(__name__)

_TOKEN_TTL = 60.0  # seconds a negotiated connection token stays valid if unused
_MAX_PENDING = 10_000  # negotiated but unused tokens kept, so negotiate cannot exhaust memory
_QUEUE = 256  # frames waiting for one viewer before it counts as too slow
_CLOSE = object()  # writer sentinel: send nothing more, close the socket


@dataclass(eq=False)  # identity: each connection is its own set member
class _Connection:
    ws: WebSocket
    queue: asyncio.Queue = field(default_factory=lambda: asyncio.Queue(_QUEUE))


class LocalHub:
    def __init__(self, ping_seconds: float = 15.0, client_timeout: float = 30.0) -> None:
        self._ping = ping_seconds
        self._client_timeout = client_timeout
        self._pending: dict[str, float] = {}
        self._connections: set[_Connection] = set()
        self._stopping = False

    @property
    def connections(self) -> int:
        return len(self._connections)

    def negotiate(self) -> dict:
        """The direct negotiate answer (negotiateVersion 1): WebSockets only."""
        now = time.monotonic()
        self._pending = {t: exp for t, exp in self._pending.items() if exp > now}
        if len(self._pending) >= _MAX_PENDING:
            self._pending.pop(next(iter(self._pending)))
        token = secrets.token_urlsafe(24)
        self._pending[token] = now + _TOKEN_TTL
        return {
            "connectionId": secrets.token_urlsafe(16),
            "connectionToken": token,
            "negotiateVersion": 1,
            "availableTransports": [
                {"transport": "WebSockets", "transferFormats": ["Text", "Binary"]}
            ],
        }

    def _claim(self, token: str | None) -> bool:
        expires = self._pending.pop(token, None) if token else None
        return expires is not None and expires > time.monotonic()

    def publish(self, frame: str) -> int:
        """Queue one encoded frame to every viewer; return how many copies were queued."""
        sent = 0
        for connection in list(self._connections):
            try:
                connection.queue.put_nowait(frame)
                sent += 1
            except asyncio.QueueFull:
                _log.warning("hub viewer too slow: disconnecting it")
                self._drop(connection, "too slow")
        return sent

    async def serve(self, ws: WebSocket) -> None:
        """One WebSocket connection, from handshake to close."""
        if self._stopping or not self._claim(ws.query_params.get("id")):
            await ws.close(code=1008)
            return
        await ws.accept()
        try:
            first = await asyncio.wait_for(self._receive(ws), self._client_timeout)
            rest = protocol.parse_handshake(first or "")
        except (protocol.HandshakeError, TimeoutError, WebSocketDisconnect) as problem:
            with contextlib.suppress(Exception):
                await ws.send_text(protocol.handshake_error(str(problem) or "no handshake"))
                await ws.close()
            return
        await ws.send_text(protocol.HANDSHAKE_OK)
        connection = _Connection(ws)
        self._connections.add(connection)
        writer = asyncio.create_task(self._write(connection))
        error = None
        try:
            if rest:
                await self._handle(connection, rest)
            while not writer.done():
                frame = await asyncio.wait_for(self._receive(ws), self._client_timeout)
                if frame is None or not await self._handle(connection, frame):
                    break
        except TimeoutError:
            # Said in the close message, so a client that forgot its keep-alive learns why.
            error = f"client timeout: nothing received for {self._client_timeout:g} s"
        except (WebSocketDisconnect, ValueError):
            pass
        finally:
            self._connections.discard(connection)
            if not writer.done():
                self._drop(connection, error)
            with contextlib.suppress(Exception):
                await writer

    async def _receive(self, ws: WebSocket) -> str | None:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return message["text"]
        return (message.get("bytes") or b"").decode("utf-8")

    async def _handle(self, connection: _Connection, frame: str) -> bool:
        """Handle a client frame; False when the client closed."""
        for message in protocol.split_messages(frame):
            kind = message.get("type")
            if kind == protocol.CLOSE:
                return False
            if kind == protocol.INVOCATION and message.get("invocationId"):
                answer = protocol.completion_error(
                    str(message["invocationId"]), "this hub only broadcasts"
                )
                with contextlib.suppress(asyncio.QueueFull):
                    connection.queue.put_nowait(answer)
        return True

    async def _write(self, connection: _Connection) -> None:
        """Send queued frames; a ping whenever the line has been quiet for the ping interval."""
        ws = connection.ws
        try:
            while True:
                try:
                    frame = await asyncio.wait_for(connection.queue.get(), self._ping)
                except TimeoutError:
                    frame = protocol.PING_FRAME
                if frame is _CLOSE:
                    break
                await ws.send_text(frame)
        except Exception:
            _log.debug("hub viewer gone while sending", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await ws.close()

    def _drop(self, connection: _Connection, error: str | None) -> None:
        """Ask the writer to send a close message (reconnect allowed) and stop."""
        self._connections.discard(connection)
        queue = connection.queue
        while not queue.empty():
            queue.get_nowait()
        queue.put_nowait(protocol.close_frame(error, allow_reconnect=True))
        queue.put_nowait(_CLOSE)

    async def close_all(self) -> None:
        """Server stopping: every viewer gets a close message with allowReconnect, so its
        client reconnects to the next server rather than giving up."""
        self._stopping = True
        connections = list(self._connections)
        for connection in connections:
            self._drop(connection, "server restarting")
        await asyncio.sleep(0)
        deadline = time.monotonic() + 2.0
        while any(not c.queue.empty() for c in connections) and time.monotonic() < deadline:
            await asyncio.sleep(0.01)


class HubPublisher:
    """The broadcaster's publisher for the local hub: a copy per connected viewer."""

    def __init__(self, hub: LocalHub) -> None:
        self.hub = hub

    def viewers(self) -> int:
        return self.hub.connections

    async def send(self, target: str, arguments: list) -> None:
        self.hub.publish(protocol.invocation(target, arguments))
