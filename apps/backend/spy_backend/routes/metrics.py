"""Prometheus scrape endpoint: open in dev; in prod it needs the service token (Prometheus
sends it with `authorization: credentials_file`; `create_app` applies it), since metrics
reveal traffic."""

from __future__ import annotations

from fastapi import APIRouter, Response
from prometheus_client import CONTENT_TYPE_LATEST, generate_latest

from ..deps import ServicesDep

router = APIRouter(tags=["metrics"])


@router.get("/metrics", include_in_schema=False)
async def metrics(services: ServicesDep) -> Response:
    services.metrics.viewers.set(services.hub.connections)
    return Response(generate_latest(services.metrics.registry), media_type=CONTENT_TYPE_LATEST)
