"""A small HTTP endpoint for probes and scrapes: `GET /health` (200 while the service can
recover by itself, 503 once it stopped or failed), `GET /ready` (200 while it publishes
snapshots, else 503), both with the status as JSON, and `GET /metrics` (Prometheus: the
service's registry, metrics.py). Kubernetes probes and the ServiceMonitor (infra/k3s) point
here."""

from __future__ import annotations

import asyncio
import json
import logging
from collections.abc import Callable

from prometheus_client import CONTENT_TYPE_LATEST, CollectorRegistry, generate_latest

from .status import ServiceStatus

_log = logging.getLogger(__name__)
_REASONS = {200: "OK", 404: "Not Found", 503: "Service Unavailable"}


async def serve_health(
    status: Callable[[], ServiceStatus],
    metrics: CollectorRegistry,
    host: str = "127.0.0.1",
    port: int = 0,
) -> asyncio.Server:
    """Start serving; close the returned server to stop."""

    async def answer(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            request = await asyncio.wait_for(reader.readline(), 5.0)
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) >= 2 else ""
            current = status()
            checks = {"/health": current.healthy, "/ready": current.ready}
            content_type = "application/json"
            if path == "/metrics":
                code, payload = 200, generate_latest(metrics)
                content_type = CONTENT_TYPE_LATEST
            elif path in checks:
                code = 200 if checks[path] else 503
                payload = json.dumps(current.to_dict()).encode()
            else:
                code, payload = (
                    404,
                    json.dumps({"error": "try /health, /ready or /metrics"}).encode(),
                )
            writer.write(
                f"HTTP/1.1 {code} {_REASONS[code]}\r\nContent-Type: {content_type}\r\n"
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
