"""`spy-platform up`: simulator, market data and backend in one process; the API serves what
the service posts, and Ctrl-C stops everything cleanly with the spool drained."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import httpx

from .servers import free_port


def test_up_serves_live_state_and_stops_cleanly_on_ctrl_c(tmp_path) -> None:
    port = free_port()
    command = shutil.which("spy-platform", path=str(Path(sys.executable).parent))
    assert command is not None
    process = subprocess.Popen(
        [
            command,
            "up",
            "--port",
            str(port),
            "--data-dir",
            str(tmp_path),
            "--speed",
            "30",
            "--trader-port",
            "0",
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        cwd=tmp_path,  # no frontend/ here
        env=os.environ | {"SPY_LOG_LEVEL": "WARNING"},
    )
    try:
        deadline = time.monotonic() + 60
        market = None
        while time.monotonic() < deadline and process.poll() is None:
            try:
                market = httpx.get(f"http://127.0.0.1:{port}/api/market", timeout=2).json()
            except httpx.HTTPError:
                market = None
            if market and market["analysis"] is not None:
                break
            time.sleep(0.2)
        assert market and market["analysis"]["underlying"] == "SPY", market
        pnl: list = []
        while time.monotonic() < deadline and not pnl:  # the trader reports via its HttpSink
            pnl = httpx.get(f"http://127.0.0.1:{port}/api/pnl", timeout=2).json()
            time.sleep(0.2)
        assert pnl and pnl[0]["state"] == "active", pnl
        assert httpx.get(f"http://127.0.0.1:{port}/ready", timeout=2).json()["ready"]
        process.send_signal(signal.SIGINT)
        out, err = process.communicate(timeout=30)
    finally:
        if process.poll() is None:
            process.kill()
            process.communicate()
    assert process.returncode == 0, err
    assert out.startswith("SPY platform up: API http://127.0.0.1:")
    assert "trader http://127.0.0.1:" in out.splitlines()[0]
    stopped = out.strip().splitlines()[-1]
    assert stopped.startswith("stopped:") and stopped.endswith("0 left in the spool"), out
    assert (tmp_path / "service-token").stat().st_mode & 0o077 == 0
