"""Realtime clients: the hub lives at /hub, so `new HubConnectionBuilder().withUrl(base +
"/hub")` negotiates at /hub/negotiate. With Azure SignalR configured negotiate answers with
the redirect form (service URL + client token); otherwise with the local hub's direct answer
and the WebSocket is served here."""

from __future__ import annotations

from fastapi import APIRouter, Query, WebSocket

from ..deps import ServicesDep

router = APIRouter(tags=["realtime"])


@router.post("/hub/negotiate")
async def negotiate(
    services: ServicesDep, negotiate_version: int = Query(0, alias="negotiateVersion")
) -> dict:
    """SignalR negotiate (v1 direct answer, or the Azure redirect form)."""
    if services.azure is not None:
        return await services.azure.negotiate()
    return services.hub.negotiate()


@router.websocket("/hub")
async def hub(ws: WebSocket, services: ServicesDep) -> None:
    await services.hub.serve(ws)
