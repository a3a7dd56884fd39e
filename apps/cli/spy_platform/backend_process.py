"""The backend as a child process of `spy-platform up`, as it runs apart from the on-prem
apps when deployed: the hub's fan-out and the API then get a CPU and an interpreter of their
own instead of sharing one event loop (and one GIL) with the simulator, the detector and
the trader. Settings reach it as SPY_* variables; the service token through the 0600 file
in the data directory that both sides read (`spy_backend.token`), never on a command line.
The child dies with its parent (PR_SET_PDEATHSIG on Linux), so a killed `up` leaves no
orphan holding the port."""

from __future__ import annotations

import asyncio
import contextlib
import ctypes
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping

import httpx

_PR_SET_PDEATHSIG = 1


def _die_with_parent() -> None:  # pragma: no cover - runs in the child before exec
    # Where libc has no prctl the parent still stops the child on every path it controls.
    with contextlib.suppress(OSError, AttributeError):
        ctypes.CDLL("libc.so.6", use_errno=True).prctl(_PR_SET_PDEATHSIG, signal.SIGTERM)


class BackendProcess:
    """`python -m spy_backend` on host:port with `env` (SPY_* settings) added."""

    def __init__(self, host: str, port: int, env: Mapping[str, str]) -> None:
        self.base = f"http://{host}:{port}"
        self._command = [sys.executable, "-m", "spy_backend", "--host", host, "--port", str(port)]
        self._env = os.environ | dict(env)
        self._process: subprocess.Popen | None = None

    async def start(self, timeout: float = 60.0) -> bool:
        """Start it and wait until /health answers; False when it exited first (it logged
        why: the port in use, bad settings) or did not answer in `timeout` seconds."""
        self._process = subprocess.Popen(
            self._command,
            env=self._env,
            # A session of its own: the terminal's Ctrl-C reaches `up` alone, which drains its
            # spool into the backend before stopping it (the documented order).
            start_new_session=True,
            preexec_fn=_die_with_parent if sys.platform == "linux" else None,  # noqa: PLW1509
        )
        deadline = time.monotonic() + timeout
        async with httpx.AsyncClient(timeout=2.0) as client:
            while time.monotonic() < deadline:
                if self._process.poll() is not None:
                    return False
                try:
                    if (await client.get(f"{self.base}/health")).status_code == 200:
                        return True
                except httpx.HTTPError:
                    pass
                await asyncio.sleep(0.05)
        return False

    async def stop(self, grace: float = 10.0) -> None:
        """SIGTERM (uvicorn drains its connections), then SIGKILL after `grace` seconds."""
        process = self._process
        if process is None or process.poll() is not None:
            return
        process.terminate()
        deadline = time.monotonic() + grace
        while process.poll() is None and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        if process.poll() is None:
            process.kill()
            process.wait()
