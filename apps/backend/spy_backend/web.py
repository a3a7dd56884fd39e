"""What every HTTP answer carries: CORS for the configured (or derived) origins, and the
usual security headers, as pure ASGI middleware."""

from __future__ import annotations

from starlette.middleware.cors import CORSMiddleware
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The dashboard is self-hosted static files with no inline script or style: everything from
# this origin, WebSockets to it (the hub), images also as data: URLs, never framed.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "font-src 'self'; connect-src 'self' ws: wss:; object-src 'none'; base-uri 'none'; "
    "form-action 'self'; frame-ancestors 'none'"
)
# FastAPI's /docs page loads Swagger UI from a CDN and starts it with an inline script
# (dev only: docs are off in prod).
DOCS_CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self' 'unsafe-inline' https://cdn.jsdelivr.net; "
    "style-src 'self' https://cdn.jsdelivr.net; img-src 'self' data: https://fastapi.tiangolo.com; "
    "object-src 'none'; base-uri 'none'; frame-ancestors 'none'"
)
_COMMON = [
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"no-referrer"),
    (b"x-frame-options", b"DENY"),
]
_MAX_PORTS = 8  # derived CORS policies kept (one per listening port; normally one)


class SecurityHeaders:
    def __init__(self, app: ASGIApp, docs_path: str | None = "/docs") -> None:
        self.app = app
        self.docs_path = docs_path

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        policy = CONTENT_SECURITY_POLICY
        if self.docs_path is not None and scope["path"] == self.docs_path:
            policy = DOCS_CONTENT_SECURITY_POLICY
        extra = [*_COMMON, (b"content-security-policy", policy.encode())]

        async def with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                names = {name.lower() for name, _ in message.get("headers", [])}
                message["headers"] = [
                    *message.get("headers", []),
                    *((name, value) for name, value in extra if name not in names),
                ]
            await send(message)

        await self.app(scope, receive, with_headers)


def loopback_origins(port: int | None) -> list[str]:
    """The origins a page served by this backend on `port` has."""
    suffix = "" if port in (None, 80) else f":{port}"
    return [f"http://127.0.0.1{suffix}", f"http://localhost{suffix}"]


class Cors:
    """CORS with explicit origins; when none are configured, the loopback origins of the
    port the request arrived on (so `--port 8123` allows http://127.0.0.1:8123, not :8000)."""

    def __init__(self, app: ASGIApp, origins: list[str] | None) -> None:
        self.app = app
        self._origins = origins
        self._by_port: dict[int | None, CORSMiddleware] = {}

    def _policy(self, port: int | None) -> CORSMiddleware:
        key = None if self._origins is not None else port
        policy = self._by_port.get(key)
        if policy is None:
            if len(self._by_port) >= _MAX_PORTS:
                self._by_port.clear()
            policy = self._by_port[key] = CORSMiddleware(
                self.app,
                allow_origins=self._origins
                if self._origins is not None
                else loopback_origins(port),
                allow_credentials=True,
                allow_methods=["GET", "POST"],
                allow_headers=[
                    "Authorization",
                    "Content-Type",
                    "X-SignalR-User-Agent",
                    "X-Requested-With",
                ],
            )
        return policy

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        server = scope.get("server") or (None, None)
        await self._policy(server[1])(scope, receive, send)
