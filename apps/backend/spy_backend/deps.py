"""FastAPI dependencies: the app's services (storage, broadcaster, settings) and the service
token check. Routes take what they need from here; which routers need the token is decided
in one place, `create_app`, so OpenAPI tells the truth and auth is applied one way."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer
from starlette.requests import HTTPConnection

from .realtime.broadcaster import Broadcaster
from .services import Services
from .settings import Settings
from .storage import Storage
from .token import matches


def get_services(connection: HTTPConnection) -> Services:
    """The services built in the app's lifespan (HTTP requests and WebSockets alike)."""
    return connection.app.state.services


ServicesDep = Annotated[Services, Depends(get_services)]


def get_settings(services: ServicesDep) -> Settings:
    return services.settings


def get_storage(services: ServicesDep) -> Storage:
    return services.storage


def get_broadcaster(services: ServicesDep) -> Broadcaster:
    return services.broadcaster


SettingsDep = Annotated[Settings, Depends(get_settings)]
StorageDep = Annotated[Storage, Depends(get_storage)]
BroadcasterDep = Annotated[Broadcaster, Depends(get_broadcaster)]

# Declares the scheme in OpenAPI; the check itself is `require_token`, which compares in
# constant time and never logs or echoes what was presented.
_bearer = HTTPBearer(auto_error=False, description="the service token")


def require_token(
    services: ServicesDep,
    credentials: Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)],
) -> None:
    """401 unless the Authorization header carries the service token."""
    presented = "" if credentials is None else credentials.credentials.strip()
    if credentials is None or not matches(presented, services.token):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


ServiceToken = Depends(require_token)
