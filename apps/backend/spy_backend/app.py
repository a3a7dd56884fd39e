"""The app factory: `create_app(settings)` wires storage, auth, realtime and telemetry into
one FastAPI app. Everything stateful is built in the lifespan, so an app object can be made
(and its OpenAPI read) without touching storage or the network."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import Depends, FastAPI
from fastapi.middleware.cors import CORSMiddleware
from fastapi.staticfiles import StaticFiles

from .auth import require_token
from .limits import BodyLimit
from .metrics import Metrics
from .observe import RequestMetrics
from .realtime.azure import AzureSignalR, SignalRConnection
from .realtime.broadcaster import Broadcaster
from .realtime.budget import MessageBudget
from .realtime.hub import HubPublisher, LocalHub
from .retention import run_retention
from .routes import desk, events, health, metrics, reads, realtime
from .services import Services
from .settings import Settings
from .storage import open_storage
from .telemetry import instrument_app
from .token import service_token


def create_app(settings: Settings) -> FastAPI:
    app_metrics = Metrics()

    @contextlib.asynccontextmanager
    async def lifespan(app: FastAPI) -> AsyncIterator[None]:
        services = _build_services(settings, app_metrics)
        app.state.services = services
        services.broadcaster.start()
        retention = asyncio.create_task(run_retention(services), name="retention")
        try:
            yield
        finally:
            await services.hub.close_all()
            retention.cancel()
            await services.broadcaster.stop()
            if services.azure is not None:
                await services.azure.close()
            services.storage.close()

    docs = settings.docs_enabled
    app = FastAPI(
        title="SPY Options Platform backend",
        version="0.1.0",
        lifespan=lifespan,
        docs_url="/docs" if docs else None,
        redoc_url=None,
        openapi_url="/openapi.json" if docs else None,
    )
    readers = [Depends(require_token)] if settings.protect_reads else []
    app.include_router(health.router)
    app.include_router(reads.router, dependencies=readers)
    app.include_router(realtime.router, dependencies=readers)
    app.include_router(events.router)
    app.include_router(metrics.router)
    app.include_router(desk.router, dependencies=readers)
    app.include_router(desk.public)
    if settings.frontend_dir is not None and settings.frontend_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    app.add_middleware(
        CORSMiddleware,
        allow_origins=settings.cors_origins,
        allow_credentials=True,
        allow_methods=["GET", "POST"],
        allow_headers=["Authorization", "Content-Type", "X-SignalR-User-Agent", "X-Requested-With"],
    )
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app_metrics)
    instrument_app(app)
    return app


def _build_services(settings: Settings, app_metrics: Metrics) -> Services:
    hub = LocalHub(
        ping_seconds=settings.ping_seconds, client_timeout=settings.client_timeout_seconds
    )
    azure = None
    if settings.signalr_connection_string is not None:
        azure = AzureSignalR(
            SignalRConnection.parse(settings.signalr_connection_string.get_secret_value()),
            settings.hub_name,
            settings.expected_viewers,
        )
    broadcaster = Broadcaster(
        azure or HubPublisher(hub),
        MessageBudget(settings.message_budget_per_day),
        app_metrics,
        settings.state_interval_seconds,
    )
    return Services(
        settings=settings,
        token=service_token(settings),
        metrics=app_metrics,
        storage=open_storage(settings),
        hub=hub,
        broadcaster=broadcaster,
        azure=azure,
    )
