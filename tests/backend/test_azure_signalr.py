"""The Azure SignalR publisher against a local HTTP server that checks what the service
checks: HS256 signature with the AccessKey, audience = the exact URL, expiry, and the body;
plus the broadcaster's budget and size rules."""

from __future__ import annotations

import asyncio
import json
import threading
import time
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import httpx
import jwt
import pytest

from spy_backend.metrics import Metrics
from spy_backend.realtime.azure import AzureSignalR, SignalRConnection
from spy_backend.realtime.broadcaster import MAX_MESSAGE_BYTES, Broadcaster
from spy_backend.realtime.budget import MessageBudget
from spy_backend.realtime.protocol import invocation
from spy_backend.realtime.targets import ANOMALIES, MARKET, Target

from .conftest import anomaly_event, auth, changed, client_for, event_record

KEY = "local-test-access-key-" + "k" * 20


class FakeSignalR(ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _Handler)
        self.received: list[dict] = []
        self.rejected: list[str] = []

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _Handler(BaseHTTPRequestHandler):
    server: FakeSignalR

    def do_POST(self) -> None:
        url = f"{self.server.endpoint}{self.path.split('?')[0]}"
        token = self.headers.get("Authorization", "").removeprefix("Bearer ")
        try:
            claims = jwt.decode(
                token, KEY, algorithms=["HS256"], audience=url, options={"require": ["exp"]}
            )
            assert claims["exp"] - time.time() <= 3600
            body = json.loads(self.rfile.read(int(self.headers["Content-Length"])))
            assert set(body) == {"target", "arguments"}
            assert isinstance(body["arguments"], list)
        except (jwt.PyJWTError, AssertionError, ValueError) as problem:
            self.server.rejected.append(type(problem).__name__)
            self.send_response(401)
            self.end_headers()
            return
        self.server.received.append({"path": self.path, **body})
        self.send_response(202)
        self.end_headers()

    def log_message(self, *args: object) -> None:
        pass


@pytest.fixture
def fake() -> Iterator[FakeSignalR]:
    server = FakeSignalR()
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


def connection_string(endpoint: str, key: str = KEY) -> str:
    return f"Endpoint={endpoint};AccessKey={key};Version=1.0;"


@pytest.mark.anyio
async def test_publisher_signs_for_the_exact_url(fake: FakeSignalR) -> None:
    azure = AzureSignalR(SignalRConnection.parse(connection_string(fake.endpoint)), "spy", 3)
    await azure.send(ANOMALIES, [{"events": [], "dropped": 0}])
    await azure.close()
    assert fake.received == [
        {
            "path": "/api/v1/hubs/spy",
            "target": "anomalies",
            "arguments": [{"events": [], "dropped": 0}],
        }
    ]


@pytest.mark.anyio
async def test_wrong_key_is_refused(fake: FakeSignalR) -> None:
    azure = AzureSignalR(
        SignalRConnection.parse(connection_string(fake.endpoint, "wrong-key-" + "w" * 30)),
        "spy",
        3,
    )
    with pytest.raises(httpx.HTTPStatusError):
        await azure.send(MARKET, [{}])
    await azure.close()
    assert fake.rejected == ["InvalidSignatureError"]


def test_negotiate_redirect_form() -> None:
    azure = AzureSignalR(
        SignalRConnection.parse(connection_string("https://x.service.signalr.net")), "spy", 3
    )
    answer = azure.negotiate()
    assert answer["url"] == "https://x.service.signalr.net/client/?hub=spy"
    claims = jwt.decode(answer["accessToken"], KEY, algorithms=["HS256"], audience=answer["url"])
    assert claims["exp"] > time.time()


def test_connection_string_needs_endpoint_and_key() -> None:
    with pytest.raises(ValueError, match="Endpoint and AccessKey"):
        SignalRConnection.parse("Endpoint=https://x.service.signalr.net;Version=1.0;")


@pytest.mark.anyio
async def test_app_with_azure_signalr_redirects_and_publishes(settings, fake) -> None:
    cloud = changed(settings, signalr_connection_string=connection_string(fake.endpoint))
    async with client_for(cloud) as client:
        answer = (await client.post("/hub/negotiate?negotiateVersion=1")).json()
        assert answer["url"].endswith("/client/?hub=spy") and "accessToken" in answer
        event = anomaly_event(3)
        body = {"records": [event_record(event)]}
        assert (await client.post("/api/events", json=body, headers=auth(client))).is_success
        for _ in range(100):
            if fake.received:
                break
            await asyncio.sleep(0.02)
    [message] = fake.received
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
