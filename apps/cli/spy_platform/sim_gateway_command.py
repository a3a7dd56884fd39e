"""`spy-platform sim-gateway`: run the IB Gateway simulator until Ctrl-C.

The parser is defined here so cli.py only wires it in; heavy imports wait until the command
actually runs
(asyncio too: `spy-platform detect` should not pay for it).
"""

from __future__ import annotations

import argparse
import logging
import signal
from datetime import datetime

from spy_core.default_ports import GATEWAY_PORT


def add_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "sim-gateway",
        help="run the IB Gateway simulator (TWS API protocol over a simulated SPY market)",
    )
    sim.add_argument(
        "--port", type=int, default=GATEWAY_PORT, help="API port (default %(default)s, paper)"
    )
    sim.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    add_market_options(sim, default_speed=1.0)
    sim.add_argument(
        "--real-clock", action="store_true", help="follow the real clock and NYSE calendar"
    )
    sim.add_argument(
        "--mispricing-lifetime",
        type=non_negative,
        default=120.0,
        metavar="SECONDS",
        help="how long a mispricing lasts, simulated seconds (default 120)",
    )
    faults = sim.add_argument_group("faults")
    faults.add_argument("--refuse-live-data", action="store_true", help="10197 on live reqMktData")
    faults.add_argument("--partial-fills", action="store_true", help="fill at most half at once")
    faults.add_argument("--latency", type=non_negative, default=0.0, help="seconds per message")
    faults.add_argument(
        "--roll-back-order-ids", action="store_true", help="nextValidId 1 (as after a restart)"
    )
    faults.add_argument(
        "--drop-every", type=positive, metavar="SECONDS", help="drop all connections every N s"
    )
    faults.add_argument(
        "--connectivity-loss-every",
        type=positive,
        metavar="SECONDS",
        help="send 1100, then 1102 two seconds later, every N s",
    )
    faults.add_argument(
        "--control-port", type=int, metavar="PORT", help="line-based fault/inspection port"
    )


def add_market_options(parser: argparse.ArgumentParser, default_speed: float) -> None:
    """The simulated market's options, shared by `sim-gateway` and `watch`."""
    parser.add_argument("--seed", type=int, default=7, help="market random seed (default 7)")
    parser.add_argument(
        "--speed",
        type=non_negative,
        default=default_speed,
        help=f"simulated seconds per second (default {default_speed:g})",
    )
    parser.add_argument(
        "--date",
        type=datetime.fromisoformat,
        metavar="YYYY-MM-DD",
        help="trading day to play (default: today's session, or the latest one)",
    )
    parser.add_argument(
        "--mispricing-rate",
        type=non_negative,
        default=0.5,
        metavar="PER_MIN",
        help="new mispriced quotes per simulated minute (default 0.5)",
    )


def session_start(day: datetime | None) -> datetime | None:
    """The open of the session `--date` names (None: the simulator's default); ValueError if
    that day is not a session."""
    from spy_core.market_hours import session

    if day is None:
        return None
    found = session(day.date())
    if found is None:
        raise ValueError(f"{day.date()} is not an NYSE trading day")
    return found.open


def run_sim_gateway(args: argparse.Namespace) -> int:
    import asyncio

    from spy_gateway_sim import Faults, GatewaySimulator, MarketConfig, SimulatorConfig

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    try:
        start = session_start(args.date)
    except ValueError as problem:
        logging.error("%s", problem)
        return 2
    config = SimulatorConfig(
        host=args.host,
        port=args.port,
        market=MarketConfig(
            seed=args.seed,
            mispricing_rate=args.mispricing_rate,
            mispricing_lifetime=args.mispricing_lifetime,
        ),
        speed=args.speed,
        start=start,
        real_clock=args.real_clock,
        faults=Faults(
            refuse_live_data=args.refuse_live_data,
            partial_fills=args.partial_fills,
            latency=args.latency,
            roll_back_order_ids=args.roll_back_order_ids,
            drop_every=args.drop_every,
            connectivity_loss_every=args.connectivity_loss_every,
        ),
    )

    async def serve() -> None:
        from spy_gateway_sim.control import serve_control

        stop = asyncio.Event()
        loop = asyncio.get_running_loop()
        for signal_number in (signal.SIGINT, signal.SIGTERM):
            loop.add_signal_handler(signal_number, stop.set)
        async with GatewaySimulator(config) as sim:
            control = None
            if args.control_port is not None:
                control = await serve_control(sim, args.host, args.control_port)
            await stop.wait()
            if control is not None:
                control.close()

    asyncio.run(serve())
    logging.info("stopped")
    return 0


def non_negative(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number ≥ 0")
    return value


def positive(text: str) -> float:
    value = non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value
