"""The SignalR JSON hub protocol (version 1), as far as a broadcast-only hub needs it.

Every message is a JSON object followed by the record separator 0x1E; several may share one
WebSocket frame. Frames are text: the JavaScript client fails on a binary handshake reply.
"""

from __future__ import annotations

import json
from typing import Any

RS = "\x1e"
INVOCATION = 1
COMPLETION = 3
PING = 6
CLOSE = 7

HANDSHAKE_OK = "{}" + RS
PING_FRAME = json.dumps({"type": PING}) + RS


class HandshakeError(ValueError):
    pass


def parse_handshake(frame: str) -> str:
    """Check the client's handshake; return what followed it in the same frame."""
    head, sep, rest = frame.partition(RS)
    if not sep:
        raise HandshakeError("handshake must end with the record separator")
    try:
        request = json.loads(head)
    except json.JSONDecodeError as problem:
        raise HandshakeError("handshake is not JSON") from problem
    if not isinstance(request, dict) or request.get("protocol") != "json":
        raise HandshakeError("only the json protocol is supported")
    if request.get("version") != 1:
        raise HandshakeError("only protocol version 1 is supported")
    return rest


def handshake_error(message: str) -> str:
    return json.dumps({"error": message}) + RS


def split_messages(frame: str) -> list[dict[str, Any]]:
    """The messages of one frame; a malformed one raises ValueError."""
    messages = []
    for part in frame.split(RS):
        if part:
            message = json.loads(part)
            if not isinstance(message, dict):
                raise ValueError("a hub message must be a JSON object")
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
