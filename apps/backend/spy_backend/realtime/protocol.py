"""The SignalR JSON hub protocol (version 1), as far as a broadcast-only hub needs it.

Every message is a JSON object followed by the record separator 0x1E; several may share one
WebSocket frame. Frames are text: the JavaScript client fails on a binary handshake reply.
"""

from __future__ import annotations

import json
from typing import Any

from ..wire import BadJsonError, loads

RS = "\x1e"
# What a client of a broadcast-only hub sends: a handshake, pings, a close, at most an
# invocation it should not make. Anything larger is refused (uvicorn's `ws_max_size` and
# the hub both), instead of the 16 MiB a WebSocket server takes by default.
MAX_CLIENT_FRAME_BYTES = 16 * 1024
INVOCATION = 1
COMPLETION = 3
PING = 6
CLOSE = 7

HANDSHAKE_OK = "{}" + RS
PING_FRAME = json.dumps({"type": PING}) + RS


class ProtocolError(ValueError):
    """A client broke the protocol; the connection ends with this WebSocket close code."""

    code = 1002  # protocol error


class HandshakeError(ProtocolError):
    pass


class InvalidMessageError(ProtocolError):
    code = 1007  # invalid frame payload data: not UTF-8, not JSON, nested too deep


class MessageTooBigError(ProtocolError):
    code = 1009


def text_of(data: str | bytes) -> str:
    """A frame's text, refused if larger than a client of this hub needs or not UTF-8."""
    if len(data) > MAX_CLIENT_FRAME_BYTES:
        raise MessageTooBigError(f"frame over {MAX_CLIENT_FRAME_BYTES} bytes")
    if isinstance(data, str):
        return data
    try:
        return data.decode("utf-8")
    except UnicodeDecodeError:
        raise InvalidMessageError("frame is not UTF-8 text") from None


def parse_handshake(frame: str) -> str:
    """Check the client's handshake; return what followed it in the same frame."""
    head, sep, rest = frame.partition(RS)
    if not sep:
        raise HandshakeError("handshake must end with the record separator")
    try:
        request = loads(head)
    except BadJsonError as problem:
        raise HandshakeError(f"handshake {problem}") from None
    if not isinstance(request, dict) or request.get("protocol") != "json":
        raise HandshakeError("only the json protocol is supported")
    if request.get("version") != 1:
        raise HandshakeError("only protocol version 1 is supported")
    return rest


def handshake_error(message: str) -> str:
    return json.dumps({"error": message}) + RS


def split_messages(frame: str) -> list[dict[str, Any]]:
    """The messages of one frame; a malformed one raises InvalidMessageError."""
    messages = []
    for part in frame.split(RS):
        if part:
            try:
                message = loads(part)
            except BadJsonError as problem:
                raise InvalidMessageError(f"message {problem}") from None
            if not isinstance(message, dict):
                raise InvalidMessageError("a hub message must be a JSON object")
            messages.append(message)
    return messages


def invocation(target: str, arguments: list[Any]) -> str:
    """A broadcast invocation: no invocationId, the client does not answer."""
    return (
        json.dumps(
            {"type": INVOCATION, "target": target, "arguments": arguments},
            separators=(",", ":"),
            allow_nan=False,
        )
        + RS
    )


def completion_error(invocation_id: str, error: str) -> str:
    return json.dumps({"type": COMPLETION, "invocationId": invocation_id, "error": error}) + RS


def close_frame(error: str | None = None, allow_reconnect: bool = True) -> str:
    message: dict[str, Any] = {"type": CLOSE, "allowReconnect": allow_reconnect}
    if error:
        message["error"] = error
    return json.dumps(message) + RS
