"""The trader's own small HTTP surface: `/health` (the process is up), `/ready` (connected,
reconciled and holding the lease; with the trading state and the risk limits), Prometheus
`/metrics`, and the authenticated kill switch (`POST /kill-switch` with `{"on": true|false}`
and the service bearer token)."""

from __future__ import annotations

import hmac
from typing import TYPE_CHECKING

from fastapi import FastAPI, HTTPException, Request, Response, status
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest
from pydantic import BaseModel, ConfigDict

if TYPE_CHECKING:
    from .service import TraderService


class KillSwitch(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool
    reason: str = "operator"


def create_app(service: TraderService, token: str) -> FastAPI:
    app = FastAPI(title="SPY trader", docs_url=None, redoc_url=None)

    @app.get("/health")
    def health() -> dict:
        return {"status": "ok"}

    @app.get("/ready")
    def ready(response: Response) -> dict:
        engine = service.engine
        body = {
            "ready": service.ready,
            "connected": service.gateway.connected,
            "reconciled": engine.ready,
            "leader": service.lease.held(),
            "state": engine.state.value,
            "reason": engine.state_reason,
            # What the dashboard sets the book's risk use against (PnlPoint carries the use).
            "limits": service.settings.risk.model_dump(
                include={
                    "max_open_positions",
                    "max_premium_at_risk",
                    "max_net_delta",
                    "max_daily_loss",
                }
            ),
        }
        if not service.ready:
            response.status_code = status.HTTP_503_SERVICE_UNAVAILABLE
        return body

    @app.get("/metrics")
    def metrics() -> Response:
        registry = service.engine.metrics.registry
        return Response(generate_latest(registry), media_type=CONTENT_TYPE_LATEST)

    # async: runs on the engine's event loop (a plain def would run in a worker thread,
    # where the engine's kill cannot schedule its flattening orders).
    @app.post("/kill-switch")
    async def kill_switch(command: KillSwitch, request: Request) -> dict:
        scheme, _, presented = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "bearer" or not hmac.compare_digest(
            presented.strip().encode(), token.encode()
        ):
            raise HTTPException(401, "missing or wrong bearer token")
        engine = service.engine
        if command.on:
            engine.kill(f"kill switch: {command.reason}")
        else:
            engine.reset()
        return {"state": engine.state.value, "reason": engine.state_reason}

    return app
