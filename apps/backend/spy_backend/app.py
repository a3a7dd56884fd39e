"""The app factory: `create_app(settings)` wires storage, auth, realtime and telemetry into
one FastAPI app. Everything stateful is built in the lifespan, so an app object can be made
(and its OpenAPI read) without touching storage or the network."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator

from fastapi import FastAPI
from fastapi.exceptions import RequestValidationError
from fastapi.staticfiles import StaticFiles

from .deps import ServiceToken
from .limits import BodyLimit
from .market_clock import MarketClock
from .metrics import Metrics
from .observe import RequestMetrics
from .realtime.azure import AzureSignalR
from .realtime.broadcaster import Broadcaster
from .realtime.budget import MessageBudget
from .realtime.hub import HubPublisher, LocalHub
from .retention import run_retention
from .routes import desk, events, health, metrics, reads, realtime, trader, trading
from .services import Services
from .settings import Environment, Settings
from .storage import open_storage
from .telemetry import instrument_app
from .token import service_token
from .web import Cors, SecurityHeaders
from .wire import validation_failed


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
    # Auth, decided here and only here: writes always need the service token; reads when
    # the settings protect them; the Prometheus scrape in prod (metrics reveal traffic).
    token = [ServiceToken]
    readers = token if settings.protect_reads else []
    scrapers = token if settings.environment is Environment.PROD else []
    app.add_exception_handler(RequestValidationError, validation_failed)
    app.include_router(health.router)
    app.include_router(reads.router, dependencies=readers)
    app.include_router(realtime.router, dependencies=readers)
    app.include_router(events.router, dependencies=token)
    app.include_router(trading.router, dependencies=token)
    app.include_router(trading.reads, dependencies=readers)
    app.include_router(metrics.router, dependencies=scrapers)
    app.include_router(desk.writes, dependencies=token)
    app.include_router(trader.writes, dependencies=token)
    app.include_router(trader.reads, dependencies=readers)
    app.include_router(desk.router, dependencies=readers)
    app.include_router(desk.public)
    if settings.frontend_dir is not None and settings.frontend_dir.is_dir():
        app.mount("/", StaticFiles(directory=settings.frontend_dir, html=True), name="frontend")
    app.add_middleware(Cors, origins=settings.cors_origins)
    app.add_middleware(BodyLimit, max_bytes=settings.max_body_bytes)
    app.add_middleware(RequestMetrics, metrics=app_metrics)
    app.add_middleware(SecurityHeaders, docs_path="/docs" if docs else None)  # on every answer
    instrument_app(app)
    return app


def _build_services(settings: Settings, app_metrics: Metrics) -> Services:
    hub = LocalHub(
        ping_seconds=settings.ping_seconds, client_timeout=settings.client_timeout_seconds
    )
    azure = AzureSignalR.from_settings(settings)
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
        market_clock=MarketClock(settings.market_clock),
        azure=azure,
    )
