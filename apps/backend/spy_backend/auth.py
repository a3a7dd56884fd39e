"""The bearer-token dependency: writes always need the service token; reads only when the
settings protect them (`create_app` adds it to the read routers then, so OpenAPI tells the
truth either way). Compared in constant time; never logged or echoed."""

from __future__ import annotations

from typing import Annotated

from fastapi import Depends, HTTPException, Request, status
from fastapi.security import HTTPAuthorizationCredentials, HTTPBearer

from .token import matches

# Declares the scheme in OpenAPI; the check itself is `check_bearer`.
_bearer = HTTPBearer(auto_error=False, description="the service token")
Credentials = Annotated[HTTPAuthorizationCredentials | None, Depends(_bearer)]


def check_bearer(request: Request) -> None:
    """401 unless the Authorization header carries the service token."""
    scheme, _, presented = request.headers.get("authorization", "").partition(" ")
    expected = request.app.state.services.token
    if scheme.lower() != "bearer" or not matches(presented.strip(), expected):
        raise HTTPException(
            status.HTTP_401_UNAUTHORIZED,
            "missing or wrong bearer token",
            headers={"WWW-Authenticate": "Bearer"},
        )


def require_token(request: Request, _: Credentials) -> None:
    check_bearer(request)
