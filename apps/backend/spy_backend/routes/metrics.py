"""Prometheus scrape endpoint: open in dev; in prod it needs the service token (Prometheus
sends it with `authorization: credentials_file`), since metrics reveal traffic."""

from __future__ import annotations

from fastapi import APIRouter, Request, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..auth import check_bearer
from ..settings import Environment

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(request: Request) -> Response:
    services = request.app.state.services
    if services.settings.environment is Environment.PROD:
        check_bearer(request)
    services.metrics.viewers.set(services.hub.connections)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
