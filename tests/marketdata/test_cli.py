"""`spy-platform marketdata | record | replay | watch` as a user runs them: the installed
console script in subprocesses, against `spy-platform sim-gateway` on a loopback port."""

from __future__ import annotations

import contextlib
import json
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path

CLI = Path(sys.executable).with_name("spy-platform")
DAY = "2025-10-30"


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], check=False, capture_output=True, text=True, timeout=120
    )


@contextlib.contextmanager
def sim_gateway(port: int) -> Iterator[None]:
    process = subprocess.Popen(
        [
            str(CLI),
            "sim-gateway",
            "--port",
            str(port),
            "--speed",
            "60",
            "--date",
            DAY,
            "--mispricing-rate",
            "3",
        ],
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 60
        while True:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 1):
                break
            assert time.monotonic() < deadline and process.poll() is None, "simulator down"
            time.sleep(0.1)
        yield
    finally:
        process.terminate()
        process.wait(30)


def test_marketdata_records_and_replay_prints_the_same_events(tmp_path):
    port, recording, live = free_port(), tmp_path / "day.jsonl.gz", tmp_path / "live.jsonl"
    with sim_gateway(port):
        result = run(
            "marketdata",
            *("--port", str(port), "--duration", "10", "--interval", "0.5"),
            *("--out", str(live), "--record", str(recording), "--snapshots"),
        )
    assert result.returncode == 0, result.stderr
    lines = [json.loads(line) for line in live.read_text().splitlines()]
    snapshots = [r for r in lines if r["type"] == "snapshot"]
    events = [r for r in lines if r["type"] == "event"]
    assert snapshots and all(r["underlying"] == "SPY" for r in snapshots)
    assert events, "three mispricings a simulated minute: some must be found"
    replayed = run("replay", str(recording))
    assert replayed.returncode == 0, replayed.stderr
    assert [json.loads(line) for line in replayed.stdout.splitlines()] == events
    text = run("replay", str(recording), "--format", "text")
    assert text.stdout.count("\n") == len(events) and " ET  opened " in text.stdout


def test_replay_of_a_file_that_is_not_a_recording_fails_with_a_message(tmp_path):
    bogus = tmp_path / "bogus.jsonl.gz"
    bogus.write_text("not gzip")
    result = run("replay", str(bogus))
    assert result.returncode == 1 and "not a recording" in result.stderr


def test_watch_runs_simulator_and_service_and_stops_after_its_duration():
    result = run(
        "watch", "--speed", "60", "--date", DAY, "--mispricing-rate", "3", "--duration", "6"
    )
    assert result.returncode == 0, result.stderr
    assert " ET  opened " in result.stdout
    assert "stopped:" in result.stderr
