"""`spy-platform trade` (the trader against IB Gateway) and `spy-platform kill-switch on|off`
(the authenticated call that halts or resets it). Parsers here; heavy imports (asyncio too:
`spy-platform detect` should not pay for it) wait until a command runs. The service token is
the backend's (spy_platform.backend_access: SPY_SERVICE_TOKEN, else the dev token file in the
data directory), never printed."""

from __future__ import annotations

import argparse
import json
import logging
import signal
import sys
from pathlib import Path

from .backend_access import add_data_dir_option, data_dir, service_token


def add_parsers(commands: argparse._SubParsersAction) -> None:
    trade = commands.add_parser(
        "trade", help="run the trader against IB Gateway (paper unless live is set twice)"
    )
    trade.add_argument("--host", default="127.0.0.1", help="gateway host (default 127.0.0.1)")
    trade.add_argument("--port", type=int, default=4002, help="gateway API port (default 4002)")
    trade.add_argument("--client-id", type=int, default=21, help="order client id (default 21)")
    trade.add_argument(
        "--config", type=Path, metavar="FILE", help="trader settings as JSON (TraderSettings)"
    )
    trade.add_argument("--backend", metavar="URL", help="report to this backend (spooled)")
    add_data_dir_option(trade, "token, journal, spool")
    trade.add_argument(
        "--http-port", type=int, default=9108, help="/health /ready /metrics /kill-switch (9108)"
    )
    trade.add_argument("--verbose", action="store_true", help="debug logging")
    kill = commands.add_parser("kill-switch", help="halt (on) or reset (off) the trader")
    kill.add_argument("state", choices=("on", "off"))
    kill.add_argument("--url", default="http://127.0.0.1:9108", help="the trader's HTTP address")
    kill.add_argument("--reason", default="operator", help="recorded with the halt")
    add_data_dir_option(kill, "where the dev token is")


def trader_settings(args: argparse.Namespace, **overrides):
    """Settings from --config and flags; invalid ones exit naming the field."""
    from pydantic import ValidationError

    from spy_trader.settings import TraderSettings

    values = json.loads(args.config.read_text()) if getattr(args, "config", None) else {}
    values |= overrides
    try:
        return TraderSettings(**values)
    except ValidationError as problem:
        raise SystemExit(f"invalid trader settings:\n{problem}") from None


def run_trade_command(args: argparse.Namespace) -> int:
    import asyncio

    if args.command == "kill-switch":
        return _kill_switch(args)
    logging.basicConfig(
        level=logging.DEBUG if args.verbose else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    folder = data_dir(args)
    settings = trader_settings(
        args, host=args.host, port=args.port, client_id=args.client_id, data_dir=folder / "trader"
    )
    try:
        return asyncio.run(_trade(settings, args, service_token(folder)))
    except KeyboardInterrupt:
        return 130


async def _trade(settings, args: argparse.Namespace, token: str) -> int:
    import asyncio

    from spy_backend.client import HttpSink
    from spy_backend.serve import BackendServer
    from spy_trader.http import create_app
    from spy_trader.reporting import FanOutReporter, TextReporter
    from spy_trader.service import TraderService
    from spy_trader.settings import ConfigurationError

    reporters: list = [TextReporter(sys.stdout)]
    sink = None
    if args.backend:
        spool = settings.data_dir.expanduser() / "spool" / "trading.jsonl"
        sink = HttpSink(args.backend, token, spool, path="/api/trading")
        reporters.append(sink)
    try:
        service = TraderService(settings, FanOutReporter(*reporters))
    except ConfigurationError as problem:
        print(f"refusing to start: {problem}", file=sys.stderr)
        return 2
    if sink is not None:
        service.engine.metrics.spool_bytes.set_function(lambda: sink.spooled_bytes)
    http = BackendServer(create_app(service, token), "127.0.0.1", args.http_port, own_signals=False)
    serving = asyncio.create_task(http.serve())
    loop = asyncio.get_running_loop()
    for number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(number, service.stop)
    try:
        await service.run()
    except ConfigurationError as problem:
        print(f"refusing to trade: {problem}", file=sys.stderr)
        return 2
    finally:
        http.should_exit = True
        await serving
        if sink is not None:
            await sink.aclose()
    return 0


def _kill_switch(args: argparse.Namespace) -> int:
    import httpx

    token = service_token(data_dir(args))
    try:
        response = httpx.post(
            args.url.rstrip("/") + "/kill-switch",
            json={"on": args.state == "on", "reason": args.reason},
            headers={"Authorization": f"Bearer {token}"},
            timeout=10.0,
        )
    except httpx.HTTPError as problem:
        print(f"trader unreachable at {args.url}: {problem}", file=sys.stderr)
        return 1
    if response.status_code != 200:
        print(f"refused ({response.status_code}): {response.text}", file=sys.stderr)
        return 1
    body = response.json()
    print(f"trading state: {body['state']} ({body['reason']})")
    return 0
