"""`spy-platform sim-gateway` as a user runs it: a separate process, stopped with Ctrl-C."""

from __future__ import annotations

import json
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

from ib_async import IB

from .conftest import TIMEOUT, run

CLI = Path(sys.executable).with_name("spy-platform")


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, process: subprocess.Popen) -> None:
    deadline = time.monotonic() + TIMEOUT
    while time.monotonic() < deadline:
        assert process.poll() is None, process.stderr.read() if process.stderr else ""
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.1)
    raise TimeoutError(f"nothing listening on {port}")


def test_sim_gateway_serves_ib_async_and_control_then_stops_on_ctrl_c():
    port, control_port = free_port(), free_port()
    process = subprocess.Popen(
        [
            CLI,
            "sim-gateway",
            "--port",
            str(port),
            "--speed",
            "60",
            "--seed",
            "3",
            "--control-port",
            str(control_port),
        ],
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        wait_for_port(port, process)
        wait_for_port(control_port, process)

        async def connect() -> list[str]:
            ib = IB()
            await ib.connectAsync("127.0.0.1", port, clientId=1, timeout=TIMEOUT)
            accounts = ib.managedAccounts()
            ib.disconnect()
            return accounts

        assert run(connect()) == ["DU1234567"]
        with socket.create_connection(("127.0.0.1", control_port), timeout=TIMEOUT) as control:
            lines = control.makefile("rw")
            lines.write("time\nlatency x\n")
            lines.flush()
            assert json.loads(lines.readline())["spot"] > 0
            assert lines.readline().startswith("error")
        process.send_signal(signal.SIGINT)
        _, errors = process.communicate(timeout=TIMEOUT)
        assert process.returncode == 0
        assert "IB Gateway simulator on 127.0.0.1" in errors and "client 1 connected" in errors
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
