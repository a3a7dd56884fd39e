"""`spy-platform marketdata | record | replay | watch`: the market-data service from the
command line. Parsers here, so cli.py only wires them in; heavy imports (asyncio too:
`spy-platform detect` should not pay for it) wait until a command runs. Logs go to stderr,
results to stdout (or --out), so output can be piped. `marketdata --backend-url` also posts to
the backend as the on-prem deployment does (spooled under the data directory; the token as in
spy_platform.backend_access, never an argument)."""

from __future__ import annotations

import argparse
import contextlib
import logging
import signal
import sys
from collections.abc import Callable
from typing import TYPE_CHECKING

from spy_core.default_ports import GATEWAY_PORT

from .backend_access import MARKETDATA_SPOOL, add_data_dir_option, data_dir, service_token
from .sim_gateway_command import add_market_options, non_negative, positive, session_start

if TYPE_CHECKING:
    from spy_backend.client import HttpSink

_log = logging.getLogger("spy_platform.marketdata")


def add_parsers(commands: argparse._SubParsersAction) -> None:
    marketdata = commands.add_parser(
        "marketdata",
        help="run the market-data service against IB Gateway: anomaly events as JSON lines",
    )
    _connection_options(marketdata)
    marketdata.add_argument(
        "--out", default="-", metavar="FILE|-", help="JSON lines to FILE (appended) or - stdout"
    )
    marketdata.add_argument("--record", metavar="FILE", help="also record snapshots to FILE")
    marketdata.add_argument("--snapshots", action="store_true", help="also write snapshots")
    marketdata.add_argument(
        "--analysis",
        action="store_true",
        help="also write each analysis (open anomalies, GEX, flow)",
    )
    marketdata.add_argument(
        "--health-port",
        type=int,
        metavar="PORT",
        help="serve GET /health, /ready and /metrics on PORT",
    )
    marketdata.add_argument(
        "--backend-url",
        metavar="URL",
        help="also post events, analyses and snapshots to this backend, spooled on disk "
        "(token: $SPY_SERVICE_TOKEN, else the dev token file in the data directory)",
    )
    add_data_dir_option(marketdata, "the backend spool and the dev token")
    record = commands.add_parser(
        "record", help="record the snapshots the market-data service assembles to a file"
    )
    record.add_argument("--out", required=True, metavar="FILE", help="recording (.jsonl.gz)")
    _connection_options(record)
    replay = commands.add_parser(
        "replay", help="run a recording back through the detector: anomaly events"
    )
    replay.add_argument("file", metavar="FILE", help="a recording made by record/--record")
    replay.add_argument(
        "--speed",
        type=non_negative,
        default=0.0,
        help="recorded pace × SPEED; 0 (default) as fast as possible",
    )
    replay.add_argument(
        "--format", choices=("json", "text"), default="json", help="JSON lines or readable"
    )
    replay.add_argument("--snapshots", action="store_true", help="also write snapshots (json)")
    replay.add_argument("--analysis", action="store_true", help="also write analyses (json)")
    watch = commands.add_parser(
        "watch",
        help="the gateway simulator and the market-data service in one process: live anomalies",
    )
    add_market_options(watch, default_speed=10.0)
    watch.add_argument("--record", metavar="FILE", help="also record snapshots to FILE")
    _run_options(watch)


def _connection_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--host", default="127.0.0.1", help="gateway host (default 127.0.0.1)")
    parser.add_argument(
        "--port", type=int, default=GATEWAY_PORT, help="gateway API port (default %(default)s)"
    )
    parser.add_argument("--client-id", type=int, default=11, help="API client id (default 11)")
    parser.add_argument(
        "--band", type=positive, default=0.01, help="strikes within spot ±BAND (default 0.01)"
    )
    parser.add_argument(
        "--interval", type=positive, default=1.0, help="seconds between snapshots (default 1)"
    )
    parser.add_argument(
        "--clock",
        choices=("gateway", "real"),
        default="gateway",
        help="'now' from the gateway's reqCurrentTime (default; simulators) or this machine",
    )
    _run_options(parser)


def _run_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--duration", type=positive, metavar="SECONDS", help="stop after SECONDS (default: Ctrl-C)"
    )
    parser.add_argument("--verbose", action="store_true", help="debug logging")


def run_marketdata_command(args: argparse.Namespace) -> int:
    import asyncio

    logging.basicConfig(
        level=logging.DEBUG if getattr(args, "verbose", False) else logging.INFO,
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
        stream=sys.stderr,
    )
    logging.getLogger("ib_async").setLevel(logging.WARNING)
    if args.command == "replay":
        return _replay(args)
    return asyncio.run(_serve(args))


async def _serve(args: argparse.Namespace) -> int:
    from spy_marketdata.health import serve_health
    from spy_marketdata.recording import SnapshotRecorder
    from spy_marketdata.service import MarketDataService
    from spy_marketdata.sinks import FanOut, JsonLinesSink, Output, TextSink

    async with _gateway(args) as port:
        settings = _settings(args, port)
        sinks = []
        if args.command == "watch":
            sinks.append(TextSink(sys.stdout))
        elif args.command == "marketdata":
            sinks.append(JsonLinesSink.open(args.out, _outputs(args, Output)))
        record = args.out if args.command == "record" else args.record
        recorder = SnapshotRecorder(record, settings.underlying) if record else None
        if recorder is not None:
            sinks.append(recorder)
        backend = _backend_sink(args)
        if backend is not None:
            sinks.append(backend)
        sink = FanOut(*sinks)
        service = MarketDataService(settings, sink)
        if backend is not None:
            service.metrics.spool_bytes.set_function(lambda: backend.spooled_bytes)
        health = None
        if getattr(args, "health_port", None) is not None:
            health = await serve_health(
                lambda: service.status, service.metrics.registry, args.host, args.health_port
            )
        _stop_on_signals(service.stop, args.duration)
        try:
            await service.run()
        finally:
            sink.close()
            if backend is not None:
                await backend.aclose()  # what the backend does not take now stays spooled
            if health is not None:
                health.close()
        status = service.status
        details = f", recorded {recorder.count} snapshots to {record}" if recorder else ""
        if backend is not None:
            details += f", {backend.sent} records stored by the backend, "
            details += f"{backend.backlog} left in the spool"
        _log.info(
            "stopped: %d snapshots, %d events, %d reconnects%s",
            status.snapshots,
            status.events,
            status.reconnects,
            details,
        )
    return 0


def _backend_sink(args: argparse.Namespace) -> HttpSink | None:
    """The spooled HttpSink to --backend-url (None without it). The spool is on disk, so what
    an outage holds back is sent after a restart too; the sink must be made on the running
    loop."""
    if getattr(args, "backend_url", None) is None:
        return None
    from spy_backend.client import HttpSink

    folder = data_dir(args)
    return HttpSink(args.backend_url, service_token(folder), folder / MARKETDATA_SPOOL)


@contextlib.asynccontextmanager
async def _gateway(args: argparse.Namespace):
    """`watch` starts the simulator in-process on a free port; the others use --port."""
    if args.command != "watch":
        yield args.port
        return
    from spy_gateway_sim import GatewaySimulator, MarketConfig, SimulatorConfig

    try:
        start = session_start(args.date)
    except ValueError as problem:
        raise SystemExit(str(problem)) from None
    config = SimulatorConfig(
        port=0,
        market=MarketConfig(seed=args.seed, mispricing_rate=args.mispricing_rate),
        speed=args.speed,
        start=start,
    )
    async with GatewaySimulator(config) as sim:
        yield sim.port


def _settings(args: argparse.Namespace, port: int):
    from spy_marketdata.settings import ClockSource, MarketDataSettings

    if args.command == "watch":
        return MarketDataSettings(port=port)
    return MarketDataSettings(
        host=args.host,
        port=port,
        client_id=args.client_id,
        band=args.band,
        interval=args.interval,
        clock=ClockSource(args.clock),
    )


def _stop_on_signals(stop: Callable[[], None], duration: float | None) -> None:
    import asyncio

    loop = asyncio.get_running_loop()
    for signal_number in (signal.SIGINT, signal.SIGTERM):
        loop.add_signal_handler(signal_number, stop)
    if duration is not None:
        loop.call_later(duration, stop)


def _outputs(args: argparse.Namespace, output) -> frozenset:
    chosen = set()
    if args.snapshots:
        chosen.add(output.SNAPSHOTS)
    if args.analysis:
        chosen.add(output.ANALYSIS)
    return frozenset(chosen)


def _replay(args: argparse.Namespace) -> int:
    import asyncio

    from spy_marketdata.recording import RecordingError, replay
    from spy_marketdata.sinks import JsonLinesSink, Output, TextSink

    if args.format == "text":
        sink = TextSink(sys.stdout)
    else:
        sink = JsonLinesSink(sys.stdout, _outputs(args, Output))
    try:
        counts = asyncio.run(replay(args.file, sink, args.speed))
    except (RecordingError, OSError) as problem:
        _log.error("%s", problem)
        return 1
    except KeyboardInterrupt:
        return 130
    _log.info("replayed %d snapshots: %d events", counts.snapshots, counts.events)
    return 0
