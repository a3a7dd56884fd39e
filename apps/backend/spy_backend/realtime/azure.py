"""Azure SignalR Service in serverless mode: the REST publisher and client negotiate.

There is no official Python data-plane SDK; the protocol is small (data-plane REST API
2022-11-01): `POST {endpoint}/api/hubs/{hub}/:send` with `{"target", "arguments"}`, and
`POST {endpoint}/api/hubs/{hub}/:generateToken` answering `{"token"}` for a client, which
negotiate hands over with the service's client URL (the redirect form the JS client follows).

Deployed, every call carries a Microsoft Entra token of the app's managed identity (scope
`https://signalr.azure.com/.default`, role SignalR REST API Owner) and the service has local
auth off: no access key exists anywhere. A connection string with an AccessKey is still
accepted for local use against a stand-in (HS256 tokens signed with the key, audience = the
URL called, as the service checks them).
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol
from urllib.parse import urlencode

import httpx
import jwt

from .targets import Target

if TYPE_CHECKING:
    from azure.core.credentials import AccessToken, TokenCredential

    from ..settings import Settings

_log = logging.getLogger(__name__)

API_VERSION = "2022-11-01"
ENTRA_SCOPE = "https://signalr.azure.com/.default"
_SERVER_TOKEN_SECONDS = 300
_CLIENT_TOKEN_MINUTES = 60
_REFRESH_MARGIN_SECONDS = 300


@dataclass(frozen=True)
class SignalRConnection:
    endpoint: str  # https://<name>.service.signalr.net (no trailing slash)
    access_key: str

    @classmethod
    def parse(cls, connection_string: str) -> SignalRConnection:
        """`Endpoint=https://x.service.signalr.net;AccessKey=...;Version=1.0;` (Port optional)."""
        parts: dict[str, str] = {}
        for item in connection_string.split(";"):
            name, sep, value = item.strip().partition("=")
            if sep:
                parts[name.strip().lower()] = value.strip()
        try:
            endpoint, key = parts["endpoint"].rstrip("/"), parts["accesskey"]
        except KeyError:
            raise ValueError("SignalR connection string needs Endpoint and AccessKey") from None
        if "port" in parts:
            endpoint = f"{endpoint}:{int(parts['port'])}"
        return cls(endpoint, key)


class ServerAuth(Protocol):
    async def bearer(self, url: str) -> str:
        """The bearer token for one REST call to `url`."""
        ...


class AccessKeyAuth:
    """Local use only: HS256 tokens signed with the AccessKey, audience = URL without query."""

    def __init__(self, access_key: str) -> None:
        self._key = access_key

    def sign(self, audience: str, seconds: int, user: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"aud": audience, "iat": now, "exp": now + seconds}
        if user:
            claims["nameid"] = user
        return jwt.encode(claims, self._key, algorithm="HS256")

    async def bearer(self, url: str) -> str:
        return self.sign(url.split("?", 1)[0], _SERVER_TOKEN_SECONDS)


class EntraAuth:
    """Microsoft Entra tokens of the process's identity (the web app's managed identity, or a
    developer's `az login`), cached until five minutes before they expire."""

    def __init__(self, credential: TokenCredential | None = None) -> None:
        self._credential = credential
        self._token: AccessToken | None = None
        self._lock = asyncio.Lock()

    async def bearer(self, url: str) -> str:
        async with self._lock:
            fresh = self._token and self._token.expires_on - time.time() > _REFRESH_MARGIN_SECONDS
            if not fresh:
                if self._credential is None:
                    from azure.identity import DefaultAzureCredential

                    self._credential = DefaultAzureCredential()
                self._token = await asyncio.to_thread(self._credential.get_token, ENTRA_SCOPE)
            return self._token.token  # type: ignore[union-attr]


class AzureSignalR:
    def __init__(
        self,
        endpoint: str,
        hub: str,
        viewers: int,
        auth: ServerAuth,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._endpoint = endpoint.rstrip("/")
        self._hub = hub
        self._viewers = viewers
        self._auth = auth
        self._client = client or httpx.AsyncClient(timeout=5.0)

    @classmethod
    def from_settings(cls, settings: Settings) -> AzureSignalR | None:
        """Entra with `SPY_SIGNALR_ENDPOINT` (deployed), the key with a connection string
        (local stand-ins), or None: the app's own hub serves realtime clients."""
        hub, viewers = settings.hub_name, settings.expected_viewers
        if settings.signalr_endpoint is not None:
            return cls(settings.signalr_endpoint, hub, viewers, EntraAuth())
        if settings.signalr_connection_string is not None:
            parsed = SignalRConnection.parse(settings.signalr_connection_string.get_secret_value())
            return cls(parsed.endpoint, hub, viewers, AccessKeyAuth(parsed.access_key))
        return None

    def _api(self, action: str, **query: Any) -> str:
        query["api-version"] = API_VERSION
        return f"{self._endpoint}/api/hubs/{self._hub}/:{action}?{urlencode(query)}"

    @property
    def client_url(self) -> str:
        return f"{self._endpoint}/client/?hub={self._hub}"

    async def _post(self, url: str, **kwargs: Any) -> httpx.Response:
        headers = {"Authorization": f"Bearer {await self._auth.bearer(url)}"}
        return await self._client.post(url, headers=headers, **kwargs)

    async def client_token(self, user: str | None = None) -> str:
        """A token for one client to connect at `client_url`."""
        if isinstance(self._auth, AccessKeyAuth):
            return self._auth.sign(self.client_url, _CLIENT_TOKEN_MINUTES * 60, user)
        query: dict[str, Any] = {"minutesToExpire": _CLIENT_TOKEN_MINUTES}
        if user:
            query["userId"] = user
        response = await self._post(self._api("generateToken", **query))
        response.raise_for_status()
        return response.json()["token"]

    async def negotiate(self, user: str | None = None) -> dict:
        """The redirect answer: the client negotiates again at `url` with `accessToken`."""
        return {"url": self.client_url, "accessToken": await self.client_token(user)}

    def viewers(self) -> int:
        """Serverless mode does not tell us who is connected: budget for the configured
        number of viewers."""
        return self._viewers

    async def send(self, target: Target, arguments: list[Any]) -> None:
        response = await self._post(
            self._api("send"), json={"target": target.name, "arguments": arguments}
        )
        if response.status_code != 202:
            _log.warning("Azure SignalR answered %d to a broadcast", response.status_code)
            response.raise_for_status()

    async def ping(self) -> None:
        """Service health (`GET /api/v1/health`, no auth)."""
        response = await self._client.get(f"{self._endpoint}/api/v1/health")
        response.raise_for_status()

    async def close(self) -> None:
        await self._client.aclose()
