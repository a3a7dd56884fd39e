"""The Azure SignalR publisher against a local stand-in that checks what the service checks:
the data-plane REST contract (2022-11-01: `:send` and `:generateToken`, api-version, the body)
and the bearer token: a Microsoft Entra token for the audience `https://signalr.azure.com`
(deployed: the managed identity, through App Service's identity endpoint stand-in), or, for
local stand-ins only, an HS256 JWT signed with the AccessKey whose audience is the exact URL;
plus the broadcaster's budget and size rules."""

from __future__ import annotations

import asyncio
import json
import threading
import time
import urllib.parse
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest

from spy_backend.metrics import Metrics
from spy_backend.realtime.azure import (
    API_VERSION,
    AccessKeyAuth,
    AzureSignalR,
    EntraAuth,
    SignalRConnection,
)
from spy_backend.realtime.broadcaster import MAX_MESSAGE_BYTES, Broadcaster
from spy_backend.realtime.budget import MessageBudget
from spy_backend.realtime.protocol import invocation
from spy_backend.realtime.targets import ANOMALIES, MARKET, Target

from .conftest import anomaly_event, auth, changed, client_for, event_record
from .servers import AppServiceIdentityEndpoint

KEY = "local-test-access-key-" + "k" * 20
ENTRA_AUDIENCE = "https://signalr.azure.com"
ISSUED_CLIENT_TOKEN = "client-token-from-the-service"


class FakeSignalR(ThreadingHTTPServer):
    """`entra`: accept only Entra tokens (local auth off); else only AccessKey tokens."""

    def __init__(self, entra: bool = False) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.entra = entra
        self.received: list[dict] = []
        self.tokens_issued: list[dict] = []
        self.rejected: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeSignalR

    def _check_token(self, url: str) -> None:
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        if self.server.entra:
            # An Entra token's signature is Entra's; the stand-in identity endpoint cannot sign
            # like it, so this checks the claims the service routes on: audience and expiry.
            claims = jwt.decode(
                token,
                options={
                    "verify_signature": False,
                    "verify_aud": True,
                    "verify_exp": True,
                    "require": ["exp"],
                },
                audience=ENTRA_AUDIENCE,
            )
            assert claims["exp"] > time.time()
        else:
            claims = jwt.decode(
                token, KEY, algorithms=["HS256"], audience=url, options={"require": ["exp"]}
            )
            assert claims["exp"] - time.time() <= 3600

    def do_POST(self) -> None:
        path, _, raw_query = self.path.partition("?")
        query = urllib.parse.parse_qs(raw_query)
        try:
            self._check_token(f"{self.server.endpoint}{path}")
            assert query.pop("api-version") == [API_VERSION]
            hub, _, action = path.removeprefix("/api/hubs/").partition("/:")
            assert hub.isidentifier() and action in ("send", "generateToken")
            if action == "send":
                assert not query
                body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
                assert set(body) == {"target", "arguments"}
                assert isinstance(body["arguments"], list)
            else:
                assert set(query) <= {"userId", "minutesToExpire"}
                assert int(query.get("minutesToExpire", ["60"])[0]) >= 1
        except (jwt.PyJWTError, AssertionError, ValueError, KeyError) as problem:
            self.server.rejected.append(type(problem).__name__)
            self.send_response(401)
            self.end_headers()
            return
        if action == "send":
            self.server.received.append({"path": path, **body})
            self.send_response(202)
            self.end_headers()
            return
        self.server.tokens_issued.append({"hub": hub, **{k: v[0] for k, v in query.items()}})
        answer = json.dumps({"token": ISSUED_CLIENT_TOKEN}).encode()
        self.send_response(200)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args: object) -> None:
        pass


def _serve(server: FakeSignalR) -> Iterator[FakeSignalR]:
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture
def fake() -> Iterator[FakeSignalR]:
    yield from _serve(FakeSignalR())


@pytest.fixture
def entra_fake() -> Iterator[FakeSignalR]:
    yield from _serve(FakeSignalR(entra=True))


@pytest.fixture
def identity(monkeypatch) -> Iterator[AppServiceIdentityEndpoint]:
    """App Service's managed-identity endpoint stand-in, where DefaultAzureCredential looks."""
    endpoint = AppServiceIdentityEndpoint()
    monkeypatch.setenv("IDENTITY_ENDPOINT", endpoint.url)
    monkeypatch.setenv("IDENTITY_HEADER", endpoint.secret)
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    yield endpoint
    endpoint.stop()


def connection_string(endpoint: str, key: str = KEY) -> str:
    return f"Endpoint={endpoint};AccessKey={key};Version=1.0;"


def keyed(endpoint: str, key: str = KEY) -> AzureSignalR:
    return AzureSignalR(endpoint, "spy", 3, AccessKeyAuth(key))


@pytest.mark.anyio
async def test_entra_publisher_and_client_tokens(entra_fake, identity) -> None:
    """The deployed way: the managed identity's token for SignalR, no key anywhere; client
    tokens come from the service's generateToken API."""
    azure = AzureSignalR(entra_fake.endpoint, "spy", 3, EntraAuth())
    await azure.send(ANOMALIES, [{"events": [], "dropped": 0}])
    await azure.send(MARKET, [{"spot": 600}])
    answer = await azure.negotiate(user="viewer-1")
    await azure.close()
    assert entra_fake.rejected == []
    assert [m["path"] for m in entra_fake.received] == ["/api/hubs/spy/:send"] * 2
    assert answer == {
        "url": f"{entra_fake.endpoint}/client/?hub=spy",
        "accessToken": ISSUED_CLIENT_TOKEN,
    }
    assert entra_fake.tokens_issued == [
        {"hub": "spy", "userId": "viewer-1", "minutesToExpire": "60"}
    ]
    # One token from the identity endpoint, for SignalR, reused across the three calls.
    assert identity.requests == [ENTRA_AUDIENCE]


@pytest.mark.anyio
async def test_a_service_with_local_auth_off_refuses_the_key(entra_fake) -> None:
    azure = keyed(entra_fake.endpoint)
    with pytest.raises(httpx.HTTPStatusError):
        await azure.send(MARKET, [{}])
    await azure.close()
    assert entra_fake.rejected == ["InvalidAudienceError"]


@pytest.mark.anyio
async def test_key_publisher_signs_for_the_exact_url(fake: FakeSignalR) -> None:
    azure = keyed(fake.endpoint)
    await azure.send(ANOMALIES, [{"events": [], "dropped": 0}])
    await azure.close()
    assert fake.received == [
        {
            "path": "/api/hubs/spy/:send",
            "target": "anomalies",
            "arguments": [{"events": [], "dropped": 0}],
        }
    ]


@pytest.mark.anyio
async def test_wrong_key_is_refused(fake: FakeSignalR) -> None:
    azure = keyed(fake.endpoint, "wrong-key-" + "w" * 30)
    with pytest.raises(httpx.HTTPStatusError):
        await azure.send(MARKET, [{}])
    await azure.close()
    assert fake.rejected == ["InvalidSignatureError"]


@pytest.mark.anyio
async def test_key_negotiate_redirect_form() -> None:
    azure = keyed("https://x.service.signalr.net")
    answer = await azure.negotiate()
    await azure.close()
    assert answer["url"] == "https://x.service.signalr.net/client/?hub=spy"
    claims = jwt.decode(answer["accessToken"], KEY, algorithms=["HS256"], audience=answer["url"])
    assert claims["exp"] > time.time()


def test_connection_string_needs_endpoint_and_key() -> None:
    with pytest.raises(ValueError, match="Endpoint and AccessKey"):
        SignalRConnection.parse("Endpoint=https://x.service.signalr.net;Version=1.0;")


def test_settings_take_one_way_to_signalr(settings) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="one of SPY_SIGNALR_ENDPOINT"):
        changed(
            settings,
            signalr_endpoint="https://x.service.signalr.net",
            signalr_connection_string=connection_string("https://x.service.signalr.net"),
        )
    with pytest.raises(ValidationError, match="signalr_endpoint"):
        changed(settings, signalr_endpoint="http://x.service.signalr.net")


@pytest.mark.anyio
@pytest.mark.parametrize("way", ["entra", "key"])
async def test_app_with_azure_signalr_redirects_and_publishes(settings, request, way) -> None:
    if way == "entra":
        server = request.getfixturevalue("entra_fake")
        request.getfixturevalue("identity")
        cloud = changed(settings, signalr_endpoint=server.endpoint)
    else:
        server = request.getfixturevalue("fake")
        cloud = changed(settings, signalr_connection_string=connection_string(server.endpoint))
    async with client_for(cloud) as client:
        answer = (await client.post("/hub/negotiate?negotiateVersion=1")).json()
        assert answer["url"].endswith("/client/?hub=spy") and answer["accessToken"]
        event = anomaly_event(3)
        body = {"records": [event_record(event)]}
        assert (await client.post("/api/events", json=body, headers=auth(client))).is_success
        for _ in range(100):
            if server.received:
                break
            await asyncio.sleep(0.02)
    [message] = server.received
    assert message["target"] == "anomalies"
    assert message["arguments"][0]["events"][0]["id"] == event.id
    assert client.app.state.services.token not in json.dumps(message)  # type: ignore[attr-defined]


def test_budget_refills_at_the_daily_rate() -> None:
    now = [0.0]
    budget = MessageBudget(per_day=86_400, burst=10, clock=lambda: now[0])  # 1 a second
    assert budget.wait_for(10) == 0
    budget.spend(10)
    assert budget.wait_for(3) == pytest.approx(3.0)
    now[0] = 3.0
    assert budget.wait_for(3) == 0
    assert MessageBudget(per_day=0).wait_for(10**6) == 0  # unlimited


class _Recorder:
    def __init__(self, viewers: int) -> None:
        self.sent: list[tuple[str, list]] = []
        self._viewers = viewers

    def viewers(self) -> int:
        return self._viewers

    async def send(self, target: Target, arguments: list) -> None:
        self.sent.append((target.name, arguments))


@pytest.mark.anyio
async def test_broadcaster_packs_small_messages_and_coalesces_state() -> None:
    recorder = _Recorder(viewers=3)
    metrics = Metrics()
    broadcaster = Broadcaster(recorder, MessageBudget(0), metrics, state_interval=0.2)
    broadcaster.start()
    events = [event_record(anomaly_event(i)) | {"detail": "x" * 100} for i in range(40)]
    broadcaster.anomaly_events(events)
    for spot in range(10):
        broadcaster.market_state({"spot": 600 + spot})
    await asyncio.sleep(0.5)
    await broadcaster.stop()
    anomaly_messages = [args for target, args in recorder.sent if target == "anomalies"]
    assert sum(len(a[0]["events"]) for a in anomaly_messages) == 40
    assert all(len(invocation("anomalies", a)) <= MAX_MESSAGE_BYTES for a in anomaly_messages)
    assert len(anomaly_messages) > 1
    states = [args[0] for target, args in recorder.sent if target == "market"]
    assert states == [{"spot": 609}]  # only the latest state went out
    delivered = metrics.delivered._value.get()
    assert delivered == 3 * len(recorder.sent)  # each copy to each viewer counts


@pytest.mark.anyio
async def test_broadcaster_drops_oldest_when_budget_is_exhausted() -> None:
    recorder = _Recorder(viewers=5)
    broadcaster = Broadcaster(recorder, MessageBudget(20_000, burst=5), Metrics())
    broadcaster.start()
    broadcaster.anomaly_events([event_record(anomaly_event(i)) for i in range(600)])
    await asyncio.sleep(0.3)
    await broadcaster.stop()
    assert len(recorder.sent) == 1  # the burst paid for one message to five viewers
    assert recorder.sent[0][1][0]["dropped"] == 100  # beyond the 500 pending, oldest first


@pytest.mark.anyio
async def test_broadcaster_packs_trading_records_on_their_own_target() -> None:
    from .trading_records import day_of_trading

    recorder = _Recorder(viewers=2)
    broadcaster = Broadcaster(recorder, MessageBudget(0), Metrics())
    broadcaster.start()
    records = [r.model_dump(mode="json") for r in day_of_trading(datetime.now(UTC))] * 3
    broadcaster.trading(records)
    await asyncio.sleep(0.3)
    await broadcaster.stop()
    messages = [args for target, args in recorder.sent if target == "trading"]
    assert sum(len(a[0]["records"]) for a in messages) == len(records)
    assert all(len(invocation("trading", a)) <= MAX_MESSAGE_BYTES for a in messages)
    assert {r["type"] for a in messages for r in a[0]["records"]} == {
        "signal",
        "decision",
        "order",
        "fill",
        "position",
        "pnl",
    }
