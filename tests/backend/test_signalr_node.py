"""The official @microsoft/signalr client (Node) against the local hub served by a real
uvicorn process: negotiate, text-frame handshake, broadcasts, and automatic reconnection
after the server restarts."""

from __future__ import annotations

import subprocess

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
