"""The official @microsoft/signalr client (Node) against the local hub served by a real
uvicorn process: negotiate, text-frame handshake, broadcasts, and automatic reconnection
after the server restarts; and the hub's client timeout, seen by a raw WebSocket client."""

from __future__ import annotations

import asyncio
import json
import subprocess

import httpx
import websockets

from .conftest import anomaly_event, event_record
from .servers import NODE_CLIENT_DIR, BackendProcess, node_package, read_json_line


def test_node_client_receives_broadcasts_and_reconnects_after_restart(tmp_path) -> None:
    node_package(NODE_CLIENT_DIR, "@microsoft/signalr")
    backend = BackendProcess(tmp_path / "data")
    backend.start()
    client = subprocess.Popen(
        ["node", "client.mjs", f"{backend.url}/hub"],
        cwd=NODE_CLIENT_DIR,
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        assert client.stdout is not None
        read_json_line(client.stdout, 15, "connected")
        first = anomaly_event(1)
        assert backend.post([event_record(first)]).status_code == 200
        message = read_json_line(client.stdout, 5, "anomalies")
        assert [e["id"] for e in message["data"]["events"]] == [first.id]
        assert message["data"]["dropped"] == 0

        backend.stop()  # the hub sends close with allowReconnect before going away
        read_json_line(client.stdout, 5, "reconnecting")
        backend.start()
        read_json_line(client.stdout, 20, "reconnected")
        second = anomaly_event(2)
        assert backend.post([event_record(second)]).status_code == 200
        message = read_json_line(client.stdout, 5, "anomalies")
        assert [e["id"] for e in message["data"]["events"]] == [second.id]
    finally:
        client.terminate()
        client.wait(10)
        backend.stop()


def test_a_silent_hub_client_is_closed_with_the_reason(tmp_path) -> None:
    """A client that never pings is closed after the client timeout, and the close message
    says why (a benchmark client without keep-alive once lost its stream silently)."""

    async def silent_client(base: str) -> dict:
        answer = httpx.post(f"{base}/hub/negotiate?negotiateVersion=1").json()
        url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
        async with websockets.connect(url) as ws:
            await ws.send(json.dumps({"protocol": "json", "version": 1}) + "\x1e")
            assert await ws.recv() == "{}\x1e"
            while True:  # pings until the close message
                for part in (await asyncio.wait_for(ws.recv(), 10)).split("\x1e"):
                    if part and json.loads(part)["type"] == 7:
                        return json.loads(part)

    with BackendProcess(
        tmp_path / "data", SPY_CLIENT_TIMEOUT_SECONDS="1", SPY_PING_SECONDS="0.3"
    ) as backend:
        close = asyncio.run(silent_client(backend.url))
    assert close["error"] == "client timeout: nothing received for 1 s"
    assert close["allowReconnect"] is True
