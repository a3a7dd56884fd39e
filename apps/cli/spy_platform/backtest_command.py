"""`spy-platform backtest FILE...`: recorded days (from `spy-platform record`) through the
detector, the trader's strategy and risk and a fill model; a report on stdout and a PNG
equity curve with the trades marked."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path


def add_parser(commands: argparse._SubParsersAction) -> None:
    backtest = commands.add_parser(
        "backtest", help="replay recorded days through detector, strategy, risk and a fill model"
    )
    backtest.add_argument("files", nargs="+", metavar="FILE", help="recordings, one per day")
    backtest.add_argument(
        "--config", type=Path, metavar="FILE", help="trader settings as JSON (TraderSettings)"
    )
    backtest.add_argument(
        "--latency-ms", type=float, default=50.0, help="decision to market, ms (default 50)"
    )
    backtest.add_argument(
        "--png", type=Path, default=Path("backtest.png"), help="equity curve (backtest.png)"
    )


def run_backtest(args: argparse.Namespace) -> int:
    from spy_marketdata.recording import RecordingError
    from spy_trader.backtest import FillModel, backtest, plot

    from .trade_command import trader_settings

    if not args.latency_ms >= 0:
        raise SystemExit("--latency-ms must be ≥ 0")
    settings = trader_settings(args)
    try:
        report = backtest(args.files, settings, FillModel(latency_ms=args.latency_ms))
    except (RecordingError, OSError) as problem:
        print(f"backtest: {problem}", file=sys.stderr)
        return 1
    print(report.text())
    print(f"equity curve: {plot(report, args.png)}")
    return 0
