"""A dependency-free HTTP endpoint for probes: `GET /health` (200 while the service can
recover by itself, 503 once it stopped or failed) and `GET /ready` (200 while it publishes
snapshots, else 503); the body is the status as JSON. Kubernetes liveness/readiness probes
point here; the backend may show the same status."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from .status import ServiceStatus

_log = logging.getLogger(__name__)
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


async def serve_health(
    status: Callable[[], ServiceStatus], host: str = "127.0.0.1", port: int = 0
) -> asyncio.Server:
    """Start serving; close the returned server to stop."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            current = status()
            checks = {"/health": current.healthy, "/ready": current.ready}
            if path in checks:
                code, body = (200 if checks[path] else 503), current.to_dict()
            else:
                code, body = 404, {"error": "try /health or /ready"}
            payload = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {code} {_REASONS[code]}\r\nContent-Type: application/json\r\n"
                f"Content-Length: {len(payload)}\r\nConnection: close\r\n\r\n".encode()
                + payload
            )
            await writer.drain()
        except (TimeoutError, ConnectionError) as problem:
            _log.debug("health request dropped: %s", problem)
        finally:
            writer.close()

    server = await asyncio.start_server(answer, host, port)
    _log.info("health on http://%s:%d/health and /ready", host, server.sockets[0].getsockname()[1])
    return server
