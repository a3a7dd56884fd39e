"""`spy-platform` as a user runs it: the installed console script, in a subprocess."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

CLI = Path(sys.executable).with_name("spy-platform")


def run(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [str(CLI), *args], check=False, capture_output=True, text=True, timeout=120
    )


def test_detect_prints_one_json_line_per_file_in_order_and_reports_bad_files(tmp_path):
    good = tmp_path / "good.json"
    demo = run("demo", "--seed", "3", "--save", str(good))
    assert demo.returncode == 0, demo.stderr
    bad = tmp_path / "bad.json"
    quote = {"expiry": "2026-03-09", "strike": 1, "right": "C", "bid": 0.1, "ask": 0.2}
    bad.write_text(
        json.dumps(
            {"underlying": "SPY", "timestamp": "2026-03-09T14:30:00", "spot": 1, "quotes": [quote]}
        )
    )
    missing = tmp_path / "missing.csv"
    result = run("detect", "--chain", str(good), str(bad), str(missing), str(good))
    assert result.returncode == 1
    assert "Traceback" not in result.stderr
    lines = [json.loads(line) for line in result.stdout.splitlines()]
    assert [line["source"] for line in lines] == [str(good), str(bad), str(missing), str(good)]
    assert "anomalies" in lines[0] and "expiries" in lines[0] and "gex" in lines[0]
    assert lines[0] == lines[3]
    assert "timestamp" in lines[1]["error"] and "offset" in lines[1]["error"]
    assert str(missing) in lines[2]["error"]
    for anomaly in lines[0]["anomalies"]:
        assert set(anomaly) >= {
            "expiry",
            "strike",
            "right",
            "side",
            "kind",
            "bid",
            "ask",
            "fair",
            "edge",
            "score",
            "severity",
        }


def test_detect_succeeds_with_exit_zero_and_honours_min_edge(tmp_path):
    chain = tmp_path / "chain.json"
    assert run("demo", "--seed", "5", "--mispricings", "4", "--save", str(chain)).returncode == 0
    loose = json.loads(run("detect", "--chain", str(chain)).stdout)
    strict = run("detect", "--chain", str(chain), "--min-edge", "5")
    assert strict.returncode == 0
    assert json.loads(strict.stdout)["anomalies"] == []
    assert len(loose["anomalies"]) >= 1


def test_table_format_is_readable(tmp_path):
    result = run("demo", "--seed", "7")
    assert result.returncode == 0
    assert "planted mispricings" in result.stdout
    assert "expiry" in result.stdout and "severity" in result.stdout


def test_bad_options_are_refused_with_a_message():
    result = run("detect", "--chain", "x.json", "--min-edge", "-1")
    assert result.returncode == 2
    assert "min-edge" in result.stderr


def test_preview_runs_from_any_directory(tmp_path):
    """The Pulumi program (`infra`, `stacks`) is an installed package: the preview needs no
    sys.path edit and no particular working directory."""
    result = subprocess.run(
        [str(CLI), "preview", "--stack", "dev"],
        check=False,
        capture_output=True,
        text=True,
        timeout=120,
        cwd=tmp_path,
    )
    assert result.returncode == 0, result.stderr
    assert "52.76  total" in result.stdout
