"""`spy-platform backtest` on a recorded stretch of a simulated session."""

from __future__ import annotations

import subprocess
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path

from spy_gateway_sim import MarketConfig
from spy_gateway_sim.day import session_snapshots
from spy_marketdata.recording import SnapshotRecorder
from spy_trader.backtest import backtest
from spy_trader.settings import TraderSettings

OPEN = datetime(2025, 10, 30, 13, 30, tzinfo=UTC)


def record(path: Path, minutes: int = 25) -> Path:
    recorder = SnapshotRecorder(path, "SPY")
    config = MarketConfig(seed=7, mispricing_rate=4.0)
    for snapshot in session_snapshots(config, OPEN, OPEN + timedelta(minutes=minutes), every=5):
        recorder.publish_snapshot(snapshot)
    recorder.close()
    return path


def test_backtest_trades_within_limits_and_reports(tmp_path):
    day = record(tmp_path / "day.jsonl.gz")
    report = backtest([day], TraderSettings())
    [result] = report.days
    assert result.snapshots > 250 and result.signals > 0 and report.trades
    assert max(len({f.order_ref for f in result.fills}), 0) <= result.signals * 2
    assert all(t.commissions >= 1.0 for t in report.trades)
    text = report.text()
    assert "hit rate" in text and "max drawdown" in text and "spread paid" in text

    png = tmp_path / "equity.png"
    cli = Path(sys.executable).parent / "spy-platform"
    done = subprocess.run(
        [cli, "backtest", str(day), "--png", str(png)],
        check=False,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert done.returncode == 0, done.stderr
    assert "trades" in done.stdout and png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"


def test_backtest_of_a_file_that_is_not_a_recording_fails_with_a_message(tmp_path):
    bad = tmp_path / "bad.jsonl.gz"
    bad.write_bytes(b"not gzip")
    cli = Path(sys.executable).parent / "spy-platform"
    done = subprocess.run(
        [cli, "backtest", str(bad)], check=False, capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 1 and "not a recording" in done.stderr
