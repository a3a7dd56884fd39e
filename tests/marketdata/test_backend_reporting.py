"""`spy-platform marketdata --backend-url` as the k3s pod runs it: the installed console script
against `spy-platform sim-gateway`, posting to the backend as its own process (a real peer on a
loopback port), with the service token from the environment or the dev token file, never from
an argument; what an outage holds back waits in the spool on disk and is sent by the next run.
Both on-prem apps (market data and `spy-platform trade`) show that spool on /metrics."""

from __future__ import annotations

import contextlib
import json
import os
import subprocess
import time
from collections.abc import Callable
from pathlib import Path

import httpx
import pytest
from prometheus_client.parser import text_string_to_metric_families

from spy_core import metric_names

from ..backend.servers import TOKEN, BackendProcess, stop_process
from .test_cli import CLI, free_port, sim_gateway


def _marketdata(
    gateway_port: int, backend_url: str, data_dir: Path, out: Path, duration: int, **env: str
) -> subprocess.CompletedProcess[str]:
    environment = {k: v for k, v in os.environ.items() if k != "SPY_SERVICE_TOKEN"} | env
    return subprocess.run(
        [
            str(CLI),
            "marketdata",
            *("--port", str(gateway_port), "--duration", str(duration), "--interval", "0.5"),
            *("--out", str(out), "--backend-url", backend_url, "--data-dir", str(data_dir)),
        ],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        env=environment,
    )


def _events(out: Path) -> set[tuple[str, str]]:
    lines = [json.loads(line) for line in out.read_text().splitlines()]
    return {(r["id"], r["event"]) for r in lines if r["type"] == "event"}


def _stored_events(backend_url: str) -> set[tuple[str, str]]:
    page = httpx.get(f"{backend_url}/api/anomalies", params={"limit": 500}, timeout=10).json()
    assert page["next_cursor"] is None, "more events than one page: raise the limit"
    return {(item["id"], item["event"]) for item in page["items"]}


def test_marketdata_posts_its_findings_to_the_backend(tmp_path):
    port, out, folder = free_port(), tmp_path / "events.jsonl", tmp_path / "marketdata"
    with BackendProcess(tmp_path / "backend") as backend, sim_gateway(port):
        result = _marketdata(port, backend.url, folder, out, 10, SPY_SERVICE_TOKEN=TOKEN)
        stored = _stored_events(backend.url)
        market = httpx.get(f"{backend.url}/api/market", timeout=10).json()
    assert result.returncode == 0, result.stderr
    assert TOKEN not in result.args
    found = _events(out)
    assert found, "three mispricings a simulated minute: some must be found"
    assert stored == found
    assert market["snapshot"]["underlying"] == "SPY" and market["analysis"] is not None
    stopped = result.stderr.strip().splitlines()[-1]
    assert stopped.endswith(" records stored by the backend, 0 left in the spool"), stopped
    assert (folder / "spool" / "backend.jsonl").stat().st_mode & 0o077 == 0


def test_what_an_outage_holds_back_is_sent_by_the_next_run(tmp_path):
    """The dev token file, as `spy-platform up` and a local backend write it; the backend
    is down for the first run and up for the second, which replays the first run's spool."""
    folder = tmp_path / "marketdata"
    folder.mkdir(mode=0o700)
    token_file = folder / "service-token"
    token_file.write_text(TOKEN + "\n")
    token_file.chmod(0o600)
    port, first_out, second_out = free_port(), tmp_path / "first.jsonl", tmp_path / "second.jsonl"
    backend = BackendProcess(tmp_path / "backend")
    with sim_gateway(port):
        first = _marketdata(port, backend.url, folder, first_out, 6)
        with backend:
            second = _marketdata(port, backend.url, folder, second_out, 3)
            stored = _stored_events(backend.url)
    assert first.returncode == 0 and second.returncode == 0, first.stderr + second.stderr
    assert ", 0 records stored by the backend, " in first.stderr
    assert not first.stderr.strip().endswith(" 0 left in the spool"), first.stderr
    assert _events(first_out), "the first run must have found something to hold back"
    assert stored == _events(first_out) | _events(second_out)
    assert second.stderr.strip().endswith(" 0 left in the spool"), second.stderr


def _metric(url: str, name: str, holds: Callable[[float], bool], timeout: float = 60) -> float:
    """Scrape `url` until the sample `name` satisfies `holds`; its value."""
    deadline = time.monotonic() + timeout
    while True:
        with contextlib.suppress(httpx.HTTPError):
            text = httpx.get(url, timeout=5).text
            value = {
                s.name: s.value for f in text_string_to_metric_families(text) for s in f.samples
            }.get(name)
            if value is not None and holds(value):
                return value
        assert time.monotonic() < deadline, f"{name} never held at {url}"
        time.sleep(0.1)


@pytest.mark.parametrize(
    "command",
    [
        (
            "marketdata",
            "--interval",
            "0.5",
            "--backend-url",
            "{backend}",
            "--health-port",
            "{http}",
        ),
        ("trade", "--backend", "{backend}", "--http-port", "{http}"),
    ],
    ids=["marketdata", "trader"],
)
def test_the_spool_gauge_grows_while_the_backend_is_down_and_drains_once_it_is_up(
    tmp_path, command
):
    """What the SpoolGrowing alert reads, from the app as its pod runs it."""
    gateway, http, backend = free_port(), free_port(), BackendProcess(tmp_path / "backend")
    arguments = [a.format(backend=backend.url, http=http) for a in command]
    environment = os.environ | {"SPY_SERVICE_TOKEN": TOKEN}
    metrics, spool = f"http://127.0.0.1:{http}/metrics", metric_names.SPOOL_BYTES
    with sim_gateway(gateway), (tmp_path / "app.log").open("w") as log:
        app = subprocess.Popen(
            [str(CLI), *arguments, "--port", str(gateway), "--data-dir", str(tmp_path / "data")],
            env=environment,
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        try:
            assert _metric(metrics, spool, lambda spooled: spooled > 0) > 0
            with backend:
                _metric(metrics, spool, lambda spooled: spooled == 0)
        finally:
            stop_process(app)
