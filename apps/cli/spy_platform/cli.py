"""The `spy-platform` command: one entry point for every part of the platform."""

from __future__ import annotations

import argparse
import gc
import sys
from collections.abc import Sequence
from typing import NoReturn

from spy_detector import DetectorConfig

from .backtest_command import add_parser as add_backtest_parser
from .backtest_command import run_backtest
from .marketdata_command import add_parsers as add_marketdata_parsers
from .marketdata_command import run_marketdata_command
from .pulumi_commands import add_parsers as add_pulumi_parsers
from .pulumi_commands import run_pulumi_command
from .session_scale_command import add_parser as add_session_scale_parser
from .session_scale_command import run_session_scale
from .sim_gateway_command import add_parser as add_sim_gateway_parser
from .sim_gateway_command import run_sim_gateway
from .trade_command import add_parsers as add_trade_parsers
from .trade_command import run_trade_command
from .up_command import add_parser as add_up_parser
from .up_command import run_up


def _detector_config(args: argparse.Namespace) -> DetectorConfig:
    return DetectorConfig(
        max_expiries=args.expiries, min_edge=args.min_edge, min_score=args.min_score
    )


def _detector_options(parser: argparse.ArgumentParser) -> None:
    defaults = DetectorConfig()
    parser.add_argument(
        "--expiries",
        type=_positive_int,
        default=None,
        metavar="N",
        help="analyse only the nearest N live expiries (default: all)",
    )
    parser.add_argument(
        "--min-edge",
        type=_non_negative,
        default=defaults.min_edge,
        metavar="DOLLARS",
        help=f"smallest edge per share to report (default {defaults.min_edge})",
    )
    parser.add_argument(
        "--min-score",
        type=_non_negative,
        default=defaults.min_score,
        metavar="Z",
        help=f"smallest edge in standard errors to report (default {defaults.min_score})",
    )
    parser.add_argument(
        "--format",
        choices=("json", "table"),
        default="json",
        help="json: one object per file per line (default); table: for people",
    )


def _build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(
        prog="spy-platform", description="SPY 0DTE options: detector, data and platform tools."
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")
    detect = commands.add_parser(
        "detect", help="find mispriced quotes in chain files (JSON snapshot or Cboe CSV)"
    )
    detect.add_argument(
        "--chain",
        nargs="+",
        required=True,
        metavar="FILE",
        help="chain snapshot files: .json (platform schema) or .csv (Cboe)",
    )
    _detector_options(detect)
    demo = commands.add_parser(
        "demo", help="generate a realistic 0DTE chain with planted mispricings and detect them"
    )
    demo.add_argument("--seed", type=int, default=7, help="random seed (default 7)")
    demo.add_argument(
        "--mispricings", type=_non_negative_int, default=3, help="quotes to misprice (default 3)"
    )
    demo.add_argument("--save", metavar="FILE", help="also write the generated chain as JSON")
    _detector_options(demo)
    demo.set_defaults(format="table")
    add_sim_gateway_parser(commands)
    add_marketdata_parsers(commands)
    add_pulumi_parsers(commands)
    add_up_parser(commands)
    add_trade_parsers(commands)
    add_backtest_parser(commands)
    add_session_scale_parser(commands)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Run one command; the exit code. (Tests call this in-process.)"""
    return _run(_build_parser().parse_args(argv))


def entry() -> NoReturn:
    """The installed `spy-platform` script: run the command, then exit.

    After `detect`, the objects left (numpy's, pydantic's, the snapshot's) are frozen out of the
    garbage collector: the collections the interpreter runs while tearing its modules down
    cost ~25 ms of a ~0.4 s run and can only free memory the process is about to return
    anyway. Only for `detect`, which has written and flushed all it writes by then; the
    services keep the full teardown (a spool file left in a reference cycle is flushed by it).
    """
    args = _build_parser().parse_args()
    code = _run(args)
    if args.command == "detect":
        gc.freeze()
    sys.exit(code)


def _run(args: argparse.Namespace) -> int:
    if args.command == "sim-gateway":
        return run_sim_gateway(args)
    if args.command == "up":
        return run_up(args)
    if args.command == "session-scale":
        return run_session_scale(args)
    if args.command in ("marketdata", "record", "replay", "watch"):
        return run_marketdata_command(args)
    if args.command in ("trade", "kill-switch"):
        return run_trade_command(args)
    if args.command == "backtest":
        return run_backtest(args)
    if args.command in ("preview", "policy", "vpn-config"):
        return run_pulumi_command(args)
    config = _detector_config(args)
    if args.command == "detect":
        from .detect_command import run_detect

        return run_detect(args.chain, config, args.format, sys.stdout)
    from .demo_command import run_demo

    return run_demo(args.seed, args.mispricings, args.save, config, args.format, sys.stdout)


def _positive_int(text: str) -> int:
    value = int(text)
    if value < 1:
        raise argparse.ArgumentTypeError("must be at least 1")
    return value


def _non_negative_int(text: str) -> int:
    value = int(text)
    if value < 0:
        raise argparse.ArgumentTypeError("must not be negative")
    return value


def _non_negative(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
    if not value >= 0 or value == float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number ≥ 0")
    return value


if __name__ == "__main__":
    entry()
