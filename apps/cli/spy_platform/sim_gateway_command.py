"""`spy-platform sim-gateway`: run the IB Gateway simulator until Ctrl-C.

The parser is defined here so cli.py only wires it in; heavy imports wait until the command
actually runs.
"""

from __future__ import annotations

import argparse
import asyncio
import logging
import signal
from datetime import datetime


def add_parser(commands: argparse._SubParsersAction) -> None:
    sim = commands.add_parser(
        "sim-gateway",
        help="run the IB Gateway simulator (TWS API protocol over a simulated SPY market)",
    )
    sim.add_argument("--port", type=int, default=4002, help="API port (default 4002, paper)")
    sim.add_argument("--host", default="127.0.0.1", help="listen address (default 127.0.0.1)")
    sim.add_argument("--seed", type=int, default=7, help="market random seed (default 7)")
    sim.add_argument(
        "--speed", type=_non_negative, default=1.0, help="simulated seconds per second (default 1)"
    )
    sim.add_argument(
        "--date",
        type=datetime.fromisoformat,
        metavar="YYYY-MM-DD",
        help="trading day to play (default: today's session, or the latest one)",
    )
    sim.add_argument(
        "--real-clock", action="store_true", help="follow the real clock and NYSE calendar"
    )
    sim.add_argument(
        "--mispricing-rate",
        type=_non_negative,
        default=0.5,
        metavar="PER_MIN",
        help="new mispriced quotes per simulated minute (default 0.5)",
    )
    sim.add_argument(
        "--mispricing-lifetime",
        type=_non_negative,
        default=120.0,
        metavar="SECONDS",
        help="how long a mispricing lasts, simulated seconds (default 120)",
    )
    faults = sim.add_argument_group("faults")
    faults.add_argument("--refuse-live-data", action="store_true", help="10197 on live reqMktData")
    faults.add_argument("--partial-fills", action="store_true", help="fill at most half at once")
    faults.add_argument("--latency", type=_non_negative, default=0.0, help="seconds per message")
    faults.add_argument(
        "--roll-back-order-ids", action="store_true", help="nextValidId 1 (as after a restart)"
    )
    faults.add_argument(
        "--drop-every", type=_positive, metavar="SECONDS", help="drop all connections every N s"
    )
    faults.add_argument(
        "--connectivity-loss-every",
        type=_positive,
        metavar="SECONDS",
        help="send 1100, then 1102 two seconds later, every N s",
    )
    faults.add_argument(
        "--control-port", type=int, metavar="PORT", help="line-based fault/inspection port"
    )


def run_sim_gateway(args: argparse.Namespace) -> int:
    from spy_core.market_hours import session
    from spy_gateway_sim import Faults, GatewaySimulator, MarketConfig, SimulatorConfig

    logging.basicConfig(
        level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s"
    )
    start = None
    if args.date is not None:
        found = session(args.date.date())
        if found is None:
            logging.error("%s is not an NYSE trading day", args.date.date())
            return 2
        start = found.open
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


def _non_negative(text: str) -> float:
    value = float(text)
    if not 0 <= value < float("inf"):
        raise argparse.ArgumentTypeError("must be a finite number ≥ 0")
    return value


def _positive(text: str) -> float:
    value = _non_negative(text)
    if value == 0:
        raise argparse.ArgumentTypeError("must be > 0")
    return value
