"""Liveness and readiness, for App Service / k8s probes: /health says the process answers,
/ready that its storage does too (503 otherwise, so traffic goes elsewhere)."""

from __future__ import annotations

import logging

from fastapi import APIRouter
from fastapi.responses import JSONResponse

from ..deps import ServicesDep
from ..schemas import Health, Readiness

router = APIRouter(tags=["health"])
_log = logging.getLogger(__name__)


@router.get("/health", response_model=Health)
async def health() -> Health:
    return Health()


@router.get("/ready", response_model=Readiness, responses={503: {"model": Readiness}})
async def ready(services: ServicesDep) -> JSONResponse:
    try:
        await services.call_storage("ping", services.storage.ping)
    except Exception as problem:
        _log.warning("storage not reachable: %s", type(problem).__name__)
        return JSONResponse(Readiness(ready=False, storage="unreachable").model_dump(), 503)
    return JSONResponse(Readiness(ready=True, storage="ok").model_dump())
