"""Azure SignalR Service in serverless mode: the REST publisher and client negotiate.

There is no official Python data-plane SDK; the protocol is small: an HS256 JWT signed with
the connection string's AccessKey whose audience is the exact URL being called (no query),
and a JSON body `{"target", "arguments"}`. Clients get a token whose audience is the
service's client URL; negotiate hands them both (the redirect form the JS client follows).
"""

from __future__ import annotations

import logging
import time
from dataclasses import dataclass
from typing import Any

import httpx
import jwt

from .targets import Target

_log = logging.getLogger(__name__)

_SERVER_TOKEN_SECONDS = 300
_CLIENT_TOKEN_SECONDS = 3600


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


class AzureSignalR:
    def __init__(
        self,
        connection: SignalRConnection,
        hub: str,
        viewers: int,
        client: httpx.AsyncClient | None = None,
    ) -> None:
        self._connection = connection
        self._hub = hub
        self._viewers = viewers
        self._client = client or httpx.AsyncClient(timeout=5.0)

    @property
    def broadcast_url(self) -> str:
        return f"{self._connection.endpoint}/api/v1/hubs/{self._hub}"

    @property
    def client_url(self) -> str:
        return f"{self._connection.endpoint}/client/?hub={self._hub}"

    def token(self, audience: str, seconds: int, user: str | None = None) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {"aud": audience, "iat": now, "exp": now + seconds}
        if user:
            claims["nameid"] = user
        return jwt.encode(claims, self._connection.access_key, algorithm="HS256")

    def negotiate(self, user: str | None = None) -> dict:
        """The redirect answer: the client negotiates again at `url` with `accessToken`."""
        return {
            "url": self.client_url,
            "accessToken": self.token(self.client_url, _CLIENT_TOKEN_SECONDS, user),
        }

    def viewers(self) -> int:
        """Serverless mode does not tell us who is connected: budget for the configured
        number of viewers."""
        return self._viewers

    async def send(self, target: Target, arguments: list[Any]) -> None:
        url = self.broadcast_url
        response = await self._client.post(
            url,
            json={"target": target.name, "arguments": arguments},
            headers={"Authorization": f"Bearer {self.token(url, _SERVER_TOKEN_SECONDS)}"},
        )
        if response.status_code != 202:
            _log.warning("Azure SignalR answered %d to a broadcast", response.status_code)
            response.raise_for_status()

    async def ping(self) -> None:
        """Service health (`GET /api/v1/health`, no auth)."""
        response = await self._client.get(f"{self._connection.endpoint}/api/v1/health")
        response.raise_for_status()

    async def close(self) -> None:
        await self._client.aclose()
