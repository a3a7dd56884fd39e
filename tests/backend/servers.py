"""Real peers for the backend tests: the backend as its own process on a free loopback port
(so it can be killed and restarted like a deployment), and Node helpers installed by the
Makefile (`make node-deps`) into tests/backend/node and tests/backend/azurite."""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path
from typing import IO

import httpx
import pytest

HERE = Path(__file__).parent
NODE_CLIENT_DIR = HERE / "node"
AZURITE_DIR = HERE / "azurite"
TOKEN = "test-service-token-" + "t" * 32


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_package(folder: Path, module: str) -> Path:
    """The folder's node_modules entry for `module`; skip without node, fail without npm ci."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed")
    path = folder / "node_modules" / module
    if not path.exists():
        pytest.fail(f"{path} missing: run `make node-deps` (npm ci in {folder})")
    return path


class BackendProcess:
    """`python -m spy_backend` with a known token and its own data dir."""

    def __init__(self, data_dir: Path, port: int | None = None, **env: str) -> None:
        self.port = port or free_port()
        self.data_dir = data_dir
        self.env = env
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def start(self, timeout: float = 20.0) -> None:
        env = (
            os.environ
            | {
                "SPY_DATA_DIR": str(self.data_dir),
                "SPY_SERVICE_TOKEN": TOKEN,
                "SPY_LOG_LEVEL": "WARNING",
            }
            | self.env
        )
        self.process = subprocess.Popen(
            [sys.executable, "-m", "spy_backend", "--port", str(self.port)],
            env=env,
            stdout=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"backend exited with {self.process.returncode}")
            try:
                if httpx.get(f"{self.url}/health", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                time.sleep(0.05)
        raise TimeoutError("backend did not start")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.send_signal(signal.SIGTERM)
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait()
        self.process = None

    def post(self, records: list[dict]) -> httpx.Response:
        return httpx.post(
            f"{self.url}/api/events",
            json={"records": records},
            headers={"Authorization": f"Bearer {TOKEN}"},
            timeout=10,
        )

    def __enter__(self) -> BackendProcess:
        self.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.stop()


def read_json_line(stream: IO[str], timeout: float, want: str) -> dict:
    """The next JSON line whose "event" is `want` (others are skipped), within `timeout`."""
    import selectors

    selector = selectors.DefaultSelector()
    selector.register(stream, selectors.EVENT_READ)
    deadline = time.monotonic() + timeout
    while (left := deadline - time.monotonic()) > 0:
        if not selector.select(left):
            break
        line = stream.readline()
        if not line:
            raise EOFError(f"stream ended while waiting for {want!r}")
        message = json.loads(line)
        if message["event"] == want:
            return message
    raise TimeoutError(f"no {want!r} within {timeout} s")


# Azurite's published, well-known development account key: not a secret.
AZURITE_KEY = (
    "Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="
)


class Azurite:
    """`azurite-table` in memory on a free port: the Table service the adapter talks to."""

    def __init__(self) -> None:
        node_package(AZURITE_DIR, "azurite")
        self.port = free_port()
        self.process = subprocess.Popen(
            [
                str(AZURITE_DIR / "node_modules" / ".bin" / "azurite-table"),
                "--tableHost",
                "127.0.0.1",
                "--tablePort",
                str(self.port),
                "--inMemoryPersistence",
                "--loose",
                "--skipApiVersionCheck",
                "--disableTelemetry",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + 30
        while True:
            try:
                socket.create_connection(("127.0.0.1", self.port), timeout=0.5).close()
                break
            except OSError:
                if self.process.poll() is not None or time.monotonic() > deadline:
                    self.stop()
                    raise RuntimeError("azurite-table did not start") from None
                time.sleep(0.05)

    @property
    def connection_string(self) -> str:
        return (
            "DefaultEndpointsProtocol=http;AccountName=devstoreaccount1;"
            f"AccountKey={AZURITE_KEY};"
            f"TableEndpoint=http://127.0.0.1:{self.port}/devstoreaccount1;"
        )

    def stop(self) -> None:
        if self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(10)
            except subprocess.TimeoutExpired:
                self.process.kill()
