"""Backend test helpers: an app on a temporary data dir, driven in-process over httpx's ASGI
transport (lifespan included), and sample records built from the real models."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator, Iterator
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest

from spy_backend.app import create_app
from spy_backend.settings import Settings
from spy_core.models import (
    Anomaly,
    AnomalyEvent,
    AnomalyEventType,
    AnomalyKind,
    Right,
    Severity,
    Side,
)

T0 = datetime(2026, 3, 9, 15, 0, tzinfo=UTC)


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


@pytest.fixture(scope="package", autouse=True)
def _leave_a_current_event_loop() -> Iterator[None]:
    """anyio's runner ends by unsetting the main thread's event loop; later suites (Pulumi's
    mocks in tests/infra) still call asyncio.get_event_loop(), so give them one back."""
    yield
    asyncio.set_event_loop(asyncio.new_event_loop())


@pytest.fixture
def settings(tmp_path: Path) -> Settings:
    return Settings(data_dir=tmp_path / "data", log_json=False)


def changed(settings: Settings, **changes: Any) -> Settings:
    """The same settings with some changed, validated again (model_copy would not)."""
    return Settings(data_dir=settings.data_dir, log_json=False, **changes)


@contextlib.asynccontextmanager
async def client_for(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    app = create_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://test") as client:
            client.app = app  # type: ignore[attr-defined]
            yield client


@pytest.fixture
async def client(settings: Settings) -> AsyncIterator[httpx.AsyncClient]:
    async with client_for(settings) as c:
        yield c


def token_of(client: httpx.AsyncClient) -> str:
    return client.app.state.services.token  # type: ignore[attr-defined]


def auth(client: httpx.AsyncClient) -> dict[str, str]:
    return {"Authorization": f"Bearer {token_of(client)}"}


def anomaly_event(
    n: int = 0,
    *,
    at: datetime | None = None,
    side: Side = Side.BUY,
    severity: Severity = Severity.HIGH,
    expiry: date = date(2026, 3, 9),
    kind: AnomalyEventType = AnomalyEventType.OPENED,
) -> AnomalyEvent:
    when = at or T0 + timedelta(seconds=n)
    return AnomalyEvent(
        id=f"SPY-20260309-{580 + n % 20:g}C-{side.value}-{1773068400000 + n}",
        event=kind,
        underlying="SPY",
        at=when,
        first_seen=when,
        anomaly=Anomaly(
            expiry=expiry,
            strike=580 + n % 20,
            right=Right.CALL,
            side=side,
            kind=AnomalyKind.SMILE,
            bid=1.10,
            ask=1.20,
            fair=1.35,
            edge=0.15,
            score=12.0,
            severity=severity,
        ),
        peak_edge=0.15,
    )


def event_record(event: AnomalyEvent) -> dict[str, Any]:
    return {"type": "event", **event.model_dump(mode="json")}


FLOW = {
    "call_buy": 1000.0,
    "call_sell": 200.0,
    "put_buy": 300.0,
    "put_sell": 50.0,
    "unclassified": 0.0,
    "net_call": 800.0,
    "net_put": 250.0,
    "net": 550.0,
}


def analysis_record(at: datetime = T0, spot: float = 580.5) -> dict[str, Any]:
    return {
        "type": "analysis",
        "underlying": "SPY",
        "timestamp": at.isoformat(),
        "spot": spot,
        "open_anomalies": 1,
        "expiries": [],
        "gex": {
            "convention": "long_calls_short_puts",
            "spot": spot,
            "total": 2.4e6,
            "zero_gamma": 579.0,
            "call_wall": 585.0,
            "put_wall": 575.0,
            "by_strike": [{"strike": 580.0, "call": 1.0e6, "put": -2.0e5, "net": 8.0e5}],
        },
        "flow": {"increment": FLOW, "session": FLOW},
        "excluded": {},
    }


def snapshot_record(at: datetime = T0, spot: float = 580.5) -> dict[str, Any]:
    return {
        "type": "snapshot",
        "underlying": "SPY",
        "timestamp": at.isoformat(),
        "spot": spot,
        "quotes": 42,
        "expiries": ["2026-03-09"],
    }
