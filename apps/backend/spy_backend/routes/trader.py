"""The trader's live state and the operator's kill switch, for the dashboard.

The browser never talks to the trader: in the cloud the trader is on-prem behind the VPN,
and its `/kill-switch` takes the service bearer token. The backend relays instead:
`GET /api/trader` reads the trader's `/ready` (state, reason, limits), and
`POST /api/trader/kill-switch` — behind the same service token as every write, which the
operator types into the page (kept in that tab's sessionStorage only) — forwards the command
with the backend's own token, logs who-did-what without the token, and tells viewers on the
hub's `trading` target so every open page re-reads the state."""

from __future__ import annotations

import logging
from datetime import UTC, datetime

import httpx
from fastapi import APIRouter, HTTPException
from pydantic import BaseModel, ConfigDict, Field

from ..deps import ServicesDep
from ..services import Services
from ..wire import WRITE_ERRORS

_log = logging.getLogger(__name__)
reads = APIRouter(prefix="/api", tags=["trader"])
writes = APIRouter(prefix="/api", tags=["trader"])
_TIMEOUT = httpx.Timeout(2.0)


class Limits(BaseModel):
    """The trader's hard limits the dashboard sets its risk use against."""

    model_config = ConfigDict(extra="ignore")
    max_open_positions: int
    max_premium_at_risk: float
    max_net_delta: float
    max_daily_loss: float


class TraderStatus(BaseModel):
    configured: bool = Field(description="the backend knows where the trader is")
    reachable: bool
    state: str | None = None
    reason: str = ""
    ready: bool = False
    limits: Limits | None = None


_COMMAND_ANSWERS: dict[int | str, dict] = {
    **WRITE_ERRORS,
    404: {"description": "no trader configured here (SPY_TRADER_URL)"},
    502: {"description": "the trader refused the command"},
    503: {"description": "the trader does not answer"},
}


class KillSwitchCommand(BaseModel):
    model_config = ConfigDict(extra="forbid")
    on: bool
    reason: str = Field(default="operator", min_length=1, max_length=200)


async def _call(services: Services, method: str, path: str, body: dict | None = None) -> dict:
    url = services.settings.trader_url
    if url is None:
        raise LookupError("no trader configured (SPY_TRADER_URL)")
    headers = {"authorization": f"Bearer {services.token}"}
    async with httpx.AsyncClient(timeout=_TIMEOUT) as client:
        response = await client.request(
            method, f"{url.rstrip('/')}{path}", json=body, headers=headers
        )
    if response.status_code >= 400 and response.status_code != 503:  # /ready: 503 = not ready
        raise httpx.HTTPStatusError(
            f"trader answered {response.status_code}", request=response.request, response=response
        )
    return response.json()


@reads.get("/trader", response_model=TraderStatus)
async def trader(services: ServicesDep) -> TraderStatus:
    """The trader's state as it reports it now (`reachable: false` when it does not answer)."""
    if services.settings.trader_url is None:
        return TraderStatus(configured=False, reachable=False)
    try:
        ready = await _call(services, "GET", "/ready")
    except (httpx.HTTPError, ValueError):
        return TraderStatus(configured=True, reachable=False)
    limits = ready.get("limits")
    return TraderStatus(
        configured=True,
        reachable=True,
        state=ready.get("state"),
        reason=ready.get("reason") or "",
        ready=bool(ready.get("ready")),
        limits=None if limits is None else Limits.model_validate(limits),
    )


@writes.post("/trader/kill-switch", response_model=TraderStatus, responses=_COMMAND_ANSWERS)
async def kill_switch(command: KillSwitchCommand, services: ServicesDep) -> TraderStatus:
    """Halt the trader (`on: true`: cancel working orders, flatten, open nothing) or put it
    back to ACTIVE (`on: false`)."""
    _log.warning("operator kill switch %s: %s", "ON" if command.on else "OFF", command.reason)
    try:
        answer = await _call(services, "POST", "/kill-switch", command.model_dump())
    except LookupError as missing:
        raise HTTPException(404, str(missing)) from None
    except httpx.HTTPStatusError as refused:
        raise HTTPException(502, str(refused)) from None
    except (httpx.HTTPError, ValueError):
        raise HTTPException(503, "the trader does not answer") from None
    services.broadcaster.trading(
        [{"type": "control", "at": datetime.now(UTC).isoformat(), "state": answer.get("state")}]
    )
    return await trader(services)
