"""The local SignalR-compatible hub: what the dashboard's `@microsoft/signalr` client talks to
when there is no Azure SignalR, with the same negotiate + WebSocket + JSON protocol.

Broadcast only: the server sends invocations; a client's own invocations get an error
completion. Each connection has its own `Outbox` and writer task, so one slow viewer cannot
delay the others. A viewer that lags is coalesced, not disconnected: its writer sends
everything pending as one WebSocket frame (the protocol lets messages share a frame), and a
`LATEST` target's unsent message is replaced by the newer one (market state is shed before
anomaly events). Only a viewer whose unsent events exceed `MAX_BACKLOG_BYTES` (its socket is
stuck, not merely slow) is closed, with allowReconnect, and re-reads state from the API.

A client that breaks the protocol (a frame over `MAX_CLIENT_FRAME_BYTES`, not UTF-8, not
JSON, nested too deep) gets a close message saying why and the matching WebSocket close
code (1009, 1007, 1002), never an unhandled exception.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import secrets
import time
from collections import deque
from dataclasses import dataclass, field

from starlette.websockets import WebSocket, WebSocketDisconnect

from . import protocol
from .targets import Delivery, Target

_log = logging.getLogger(__name__)

_TOKEN_TTL = 60.0  # seconds a negotiated connection token stays valid if unused
_MAX_PENDING = 10_000  # negotiated but unused tokens kept, so negotiate cannot exhaust memory
MAX_BACKLOG_BYTES = 1 << 20  # unsent EVERY messages one viewer may have before it is closed
MAX_SEND_BYTES = 64 * 1024  # messages joined into one WebSocket frame, at most


@dataclass(frozen=True, slots=True)
class _Close:
    frame: str
    code: int


class Outbox:
    """One viewer's unsent messages: EVERY targets in order (bounded in bytes), LATEST
    targets one each (newest wins), and at most one close."""

    def __init__(self, max_bytes: int = MAX_BACKLOG_BYTES) -> None:
        self._max_bytes = max_bytes
        self._every: deque[str] = deque()
        self._every_bytes = 0
        self._latest: dict[Target, str] = {}
        self._closing: _Close | None = None
        self._ready = asyncio.Event()

    @property
    def backlog_bytes(self) -> int:
        return self._every_bytes + sum(map(len, self._latest.values()))

    def put(self, target: Target | None, frame: str) -> bool:
        """Queue a frame (target None: a reply to this client, delivered like EVERY);
        False when the viewer's backlog is full (or it is closing)."""
        if self._closing is not None:
            return False
        if target is not None and target.delivery is Delivery.LATEST:
            self._latest[target] = frame
        else:
            if self._every_bytes + len(frame) > self._max_bytes:
                return False
            self._every.append(frame)
            self._every_bytes += len(frame)
        self._ready.set()
        return True

    def close(self, frame: str, code: int) -> None:
        """Send nothing more but this close message, then close the socket with `code`."""
        self._every.clear()
        self._every_bytes = 0
        self._latest.clear()
        self._closing = _Close(frame, code)
        self._ready.set()

    async def take(self, timeout: float) -> str | _Close | None:
        """What to send next: pending messages joined into one frame (EVERY first, in
        order, then LATEST by priority), the close, or None after `timeout` of quiet."""
        if not self._ready.is_set():
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._ready.wait(), timeout)
        if self._closing is not None:
            return self._closing
        if not self._ready.is_set():
            return None
        parts: list[str] = []
        size = 0
        while self._every and (not parts or size + len(self._every[0]) <= MAX_SEND_BYTES):
            frame = self._every.popleft()
            self._every_bytes -= len(frame)
            parts.append(frame)
            size += len(frame)
        if not self._every:
            for target in sorted(self._latest, key=lambda t: t.priority):
                parts.append(self._latest.pop(target))
            self._ready.clear()
        return "".join(parts)


@dataclass(eq=False)  # identity: each connection is its own set member
class _Connection:
    ws: WebSocket
    outbox: Outbox = field(default_factory=Outbox)
    writer: asyncio.Task | None = None


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

    def publish(self, target: Target, frame: str) -> int:
        """Queue one encoded frame to every viewer; return how many copies were queued."""
        sent = 0
        for connection in list(self._connections):
            if connection.outbox.put(target, frame):
                sent += 1
            else:
                _log.warning("hub viewer stuck (%d bytes unsent): closing it", MAX_BACKLOG_BYTES)
                self._drop(connection, "too slow: re-read the API")
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
        except (protocol.ProtocolError, TimeoutError, WebSocketDisconnect) as problem:
            code = problem.code if isinstance(problem, protocol.ProtocolError) else 1002
            with contextlib.suppress(Exception):
                await ws.send_text(protocol.handshake_error(str(problem) or "no handshake"))
                await ws.close(code)
            return
        try:
            await ws.send_text(protocol.HANDSHAKE_OK)
        except (RuntimeError, OSError, WebSocketDisconnect):
            # Gone already: the client left, or the server closed the socket itself (a frame
            # after the handshake over `ws_max_size`: 1009) while the handshake was read.
            return
        connection = _Connection(ws)
        self._connections.add(connection)
        connection.writer = writer = asyncio.create_task(self._write(connection))
        error, code = None, 1000
        try:
            if rest:
                self._handle(connection, rest)
            while not writer.done():
                frame = await asyncio.wait_for(self._receive(ws), self._client_timeout)
                if frame is None or not self._handle(connection, frame):
                    break
        except TimeoutError:
            # Said in the close message, so a client that forgot its keep-alive learns why.
            error = f"client timeout: nothing received for {self._client_timeout:g} s"
        except protocol.ProtocolError as problem:
            error, code = f"protocol error: {problem}", problem.code
        except WebSocketDisconnect:
            pass
        finally:
            self._connections.discard(connection)
            if not writer.done():
                self._drop(connection, error, code)
            with contextlib.suppress(Exception):
                await writer

    async def _receive(self, ws: WebSocket) -> str | None:
        message = await ws.receive()
        if message["type"] == "websocket.disconnect":
            raise WebSocketDisconnect(message.get("code", 1000))
        if message.get("text") is not None:
            return protocol.text_of(message["text"])
        return protocol.text_of(message.get("bytes") or b"")

    def _handle(self, connection: _Connection, frame: str) -> bool:
        """Handle a client frame; False when the client closed."""
        for message in protocol.split_messages(frame):
            kind = message.get("type")
            if kind == protocol.CLOSE:
                return False
            if kind == protocol.INVOCATION and message.get("invocationId"):
                answer = protocol.completion_error(
                    str(message["invocationId"]), "this hub only broadcasts"
                )
                connection.outbox.put(None, answer)
        return True

    async def _write(self, connection: _Connection) -> None:
        """Send what the outbox gives; a ping whenever the line has been quiet for the ping
        interval; the close message, then close."""
        ws, code = connection.ws, 1000
        try:
            while True:
                item = await connection.outbox.take(self._ping)
                if isinstance(item, _Close):
                    code = item.code
                    await ws.send_text(item.frame)
                    break
                await ws.send_text(protocol.PING_FRAME if item is None else item)
        except Exception:
            _log.debug("hub viewer gone while sending", exc_info=True)
        finally:
            with contextlib.suppress(Exception):
                await ws.close(code)

    def _drop(self, connection: _Connection, error: str | None, code: int = 1000) -> None:
        """Ask the writer to send a close message (reconnect allowed) and stop."""
        self._connections.discard(connection)
        connection.outbox.close(protocol.close_frame(error, allow_reconnect=True), code)

    async def close_all(self) -> None:
        """Server stopping: every viewer gets a close message with allowReconnect, so its
        client reconnects to the next server rather than giving up."""
        self._stopping = True
        connections = list(self._connections)
        for connection in connections:
            self._drop(connection, "server restarting")
        writers = [c.writer for c in connections if c.writer is not None]
        if writers:
            await asyncio.wait(writers, timeout=2.0)


class HubPublisher:
    """The broadcaster's publisher for the local hub: a copy per connected viewer."""

    def __init__(self, hub: LocalHub) -> None:
        self.hub = hub

    def viewers(self) -> int:
        return self.hub.connections

    async def send(self, target: Target, arguments: list) -> None:
        self.hub.publish(target, protocol.invocation(target.name, arguments))
