"""`spy-platform up`: the whole local platform — the IB Gateway simulator, the
market-data/detector service and the trader (paper, on the simulator's DU account; its own
/health /ready /metrics /kill-switch on --trader-port) in this process's event loop, and the
backend (API, local SignalR hub, SQLite history, dashboard files) on http://127.0.0.1:8000
in a child process of its own (`backend_process`), as it runs apart when deployed. Live
anomalies, the trader's decisions, fills and P&L are printed to stdout;
Ctrl-C (or --duration) stops the service, drains its backend spool, then the backend,
then the simulator. The service reaches the backend over HTTP with the service token, exactly
as the on-prem deployment does, so the local run exercises the same path. asyncio is imported
by the functions that run (`spy-platform detect` should not pay for it)."""

from __future__ import annotations

import argparse
import logging
import signal
import sys
import time
from pathlib import Path
from typing import TYPE_CHECKING

from spy_core.default_ports import BACKEND_PORT

from .backend_access import MARKETDATA_SPOOL

if TYPE_CHECKING:
    import asyncio


def add_parser(commands: argparse._SubParsersAction) -> None:
    up = commands.add_parser(
        "up",
        help="the local platform: simulator + market data + backend on "
        f"http://127.0.0.1:{BACKEND_PORT}",
    )
    up.add_argument("--host", default="127.0.0.1", help="backend address (default 127.0.0.1)")
    up.add_argument(
        "--port", type=int, default=BACKEND_PORT, help="backend port (default %(default)s)"
    )
    up.add_argument("--seed", type=int, default=7, help="market random seed (default 7)")
    up.add_argument(
        "--speed", type=_finite_at_least(0), default=10.0, help="simulated seconds per second (10)"
    )
    up.add_argument(
        "--mispricing-rate",
        type=_finite_at_least(0),
        default=2.0,
        metavar="PER_MIN",
        help="new mispriced quotes per simulated minute (default 2: a first anomaly in ~15 s)",
    )
    up.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help="token, SQLite history and spool (default $SPY_DATA_DIR or ~/.config/spy-platform)",
    )
    up.add_argument(
        "--duration",
        type=_finite_at_least(0.1),
        metavar="SECONDS",
        help="stop after SECONDS (default: Ctrl-C)",
    )
    up.add_argument(
        "--trader-port",
        type=int,
        default=9108,
        help="the trader's /health /ready /metrics /kill-switch (default 9108; 0: any free)",
    )
    up.add_argument("--no-trader", action="store_true", help="market data and backend only")
    up.add_argument(
        "--status-every",
        type=_finite_at_least(0),
        default=5.0,
        metavar="SECONDS",
        help="print a status line this often (0: never; default 5)",
    )
    up.add_argument("--verbose", action="store_true", help="debug logging")


def _finite_at_least(minimum: float):
    def parse(text: str) -> float:
        try:
            value = float(text)
        except ValueError:
            raise argparse.ArgumentTypeError(f"not a number: {text!r}") from None
        if not minimum <= value < float("inf"):
            raise argparse.ArgumentTypeError(f"must be a finite number ≥ {minimum:g}")
        return value

    return parse


async def _status_lines(service, every: float) -> None:
    """A line every `every` seconds: market time (ET), spot, snapshots/s, open anomalies."""
    import asyncio

    from spy_core.market_hours import NEW_YORK

    status = service.status
    last, last_count = time.monotonic(), status.snapshots
    while True:
        await asyncio.sleep(every)
        now = time.monotonic()
        rate = (status.snapshots - last_count) / (now - last)
        last, last_count = now, status.snapshots
        when = (
            "--:--:--"
            if status.last_snapshot is None
            else status.last_snapshot.astimezone(NEW_YORK).strftime("%H:%M:%S")
        )
        spot = "-" if status.spot is None else f"{status.spot:.2f}"
        opened = len(service.pipeline.detector.open_anomalies)
        print(
            f"status {when} ET  {status.state.value}  SPY {spot}  {rate:.1f} snapshots/s  "
            f"{opened} open anomalies  {status.events} events",
            flush=True,
        )


def _free_port() -> int:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def run_up(args: argparse.Namespace) -> int:
    import asyncio

    return asyncio.run(_up(args))


async def _up(args: argparse.Namespace) -> int:
    # The imports, the exchange calendar and the compiled kernels take a while on a cold
    # start: say so at once (stderr, so stdout still starts with the "up" line).
    print("starting the local platform (simulator, market data, backend)...", file=sys.stderr)
    import asyncio

    from spy_backend.client import HttpSink
    from spy_backend.settings import Settings
    from spy_backend.telemetry import configure_logging, configure_telemetry
    from spy_backend.token import service_token
    from spy_gateway_sim import GatewaySimulator, MarketConfig, SimulatorConfig
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.settings import MarketDataSettings
    from spy_marketdata.sinks import FanOut, TextSink

    from .backend_process import BackendProcess

    overrides: dict = {
        "log_json": False,
        "log_level": "DEBUG" if args.verbose else "WARNING",
        # The simulator plays its own day: the desk's session header follows its clock.
        "market_clock": "simulated",
    }
    if args.data_dir is not None:
        overrides["data_dir"] = args.data_dir
    if not args.no_trader:
        # The backend relays the dashboard's trader state and kill switch to this address.
        args.trader_port = args.trader_port or _free_port()
        overrides["trader_url"] = f"http://127.0.0.1:{args.trader_port}"
    if Path("frontend/dist/index.html").is_file():
        overrides["frontend_dir"] = Path("frontend/dist").resolve()
    settings = Settings(**overrides)
    configure_logging(settings)
    configure_telemetry(settings)  # this process's spans: the simulator, market data, trader
    token = service_token(settings)  # created (0600) before the backend reads it
    port = args.port or _free_port()
    backend = BackendProcess(
        args.host,
        port,
        {f"SPY_{name.upper()}": str(value) for name, value in overrides.items()}
        | {"SPY_LOG_JSON": "false"},
    )
    if not await backend.start():
        await backend.stop()
        return 1  # the backend logged why (port in use, ...)
    base = backend.base
    simulator = SimulatorConfig(
        port=0,
        market=MarketConfig(seed=args.seed, mispricing_rate=args.mispricing_rate),
        speed=args.speed,
    )
    try:
        async with GatewaySimulator(simulator) as sim:
            gateway_port = sim.port
            backend_sink = HttpSink(base, token, settings.data_dir / MARKETDATA_SPOOL)
            trader = None if args.no_trader else _trader(args, settings, base, token, sim)
            sinks = [TextSink(sys.stdout), backend_sink]
            if trader is not None:
                sinks.append(trader.service.engine)
            service = MarketDataService(MarketDataSettings(port=gateway_port), FanOut(*sinks))

            def stop() -> None:
                service.stop()
                if trader is not None:
                    trader.service.stop()

            loop = asyncio.get_running_loop()
            for signal_number in (signal.SIGINT, signal.SIGTERM):
                loop.add_signal_handler(signal_number, stop)
            if args.duration is not None:
                loop.call_later(args.duration, stop)
            trading = "" if trader is None else await trader.start()
            print(
                f"SPY platform up: API {base}/api  hub {base}/hub  health {base}/health"
                f"{f'  docs {base}/docs' if settings.docs_enabled else ''}"
                f"  (gateway simulator on 127.0.0.1:{gateway_port}){trading}; Ctrl-C stops",
                flush=True,
            )
            if "frontend_dir" in overrides:
                print(f"dashboard: open {base}/", flush=True)
            else:
                print("dashboard not built (make frontend builds frontend/dist)", flush=True)
            ticker = None
            if args.status_every > 0:
                ticker = asyncio.create_task(_status_lines(service, args.status_every))
            try:
                await asyncio.gather(service.run(), *([] if trader is None else [trader.run()]))
            finally:
                if ticker is not None:
                    ticker.cancel()
                await backend_sink.aclose()
                if trader is not None:
                    await trader.close()
            status = service.status
    finally:
        await backend.stop()
    print(
        f"stopped: {status.snapshots} snapshots, {status.events} anomaly events, "
        f"{backend_sink.sent} records stored by the backend, {backend_sink.backlog} left in the "
        "spool",
        flush=True,
    )
    logging.shutdown()
    return 0


class _LocalTrader:
    """The trader inside `up`: fed by the platform's own market-data pipeline, reporting to
    the terminal and (spooled) to the backend, serving its HTTP surface."""

    def __init__(self, service, sink, http) -> None:
        self.service, self.sink, self.http = service, sink, http
        self._serving: asyncio.Task | None = None

    async def start(self) -> str:
        import asyncio

        self._serving = asyncio.create_task(self.http.serve(), name="trader-http")
        await self.http.wait_started()
        return f"  trader http://127.0.0.1:{self.http.bound_port}/ready"

    async def run(self) -> None:
        await self.service.run()

    async def close(self) -> None:
        self.http.should_exit = True
        if self._serving is not None:
            await self._serving
        await self.sink.aclose()


def _trader(args, settings, base: str, token: str, sim) -> _LocalTrader:
    import shutil

    from spy_backend.client import HttpSink
    from spy_backend.serve import BackendServer
    from spy_trader.http import create_app
    from spy_trader.reporting import FanOutReporter, TextReporter
    from spy_trader.service import TraderService
    from spy_trader.settings import RiskSettings, TraderSettings

    folder = settings.data_dir / "trader"
    # The simulator's account starts empty each run: so does the trader's journal.
    shutil.rmtree(folder, ignore_errors=True)
    sink = HttpSink(base, token, settings.data_dir / "spool" / "trading.jsonl", path="/api/trading")
    service = TraderService(
        TraderSettings(
            port=sim.port,
            data_dir=folder,
            # Quote ages are measured on the simulated clock, which runs `speed` times faster.
            risk=RiskSettings(
                max_quote_age_ms=RiskSettings().max_quote_age_ms * max(args.speed, 1)
            ),
        ),
        FanOutReporter(TextReporter(sys.stdout), sink),
        clock=sim.now,  # the gateway's clock, which stamps the snapshots too
    )
    service.engine.metrics.spool_bytes.set_function(lambda: sink.spooled_bytes)
    http = BackendServer(
        create_app(service, token), "127.0.0.1", args.trader_port, own_signals=False
    )
    return _LocalTrader(service, sink, http)
