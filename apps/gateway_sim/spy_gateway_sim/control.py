"""A tiny line-based control port (`--control-port`): faults and inspection from another
process (`nc 127.0.0.1 4010`, then e.g. `drop`, `latency 0.05`, `mispricings`).

One command per line, one reply line each: "ok ...", "error ...", or JSON for queries.
"""

from __future__ import annotations

import asyncio
import json
import logging

from .server import GatewaySimulator

_log = logging.getLogger(__name__)
HELP = (
    "commands: drop | restart | lost | restored | restored-data-lost | refuse-live on|off | "
    "partial on|off | latency SECONDS | rollback on|off | time | mispricings | help"
)


def execute(sim: GatewaySimulator, line: str) -> str:
    """Run one control command against the simulator; return the reply line."""
    words = line.split()
    if not words:
        return "error empty command"
    command, args = words[0].lower(), words[1:]
    switches = {
        "refuse-live": "refuse_live_data",
        "partial": "partial_fills",
        "rollback": "roll_back_order_ids",
    }
    actions = {
        "drop": sim.drop_connections,
        "restart": sim.restart,
        "lost": sim.lose_connectivity,
        "restored": sim.restore_connectivity,
        "restored-data-lost": lambda: sim.restore_connectivity(data_lost=True),
    }
    if command in actions and not args:
        actions[command]()
        return f"ok {command}"
    if command in switches and args in (["on"], ["off"]):
        setattr(sim.faults, switches[command], args == ["on"])
        return f"ok {command} {args[0]}"
    if command == "latency" and len(args) == 1:
        try:
            seconds = float(args[0])
        except ValueError:
            return f"error not a number: {args[0]!r}"
        if not 0 <= seconds <= 60:
            return "error latency must be within 0-60 seconds"
        sim.faults.latency = seconds
        return f"ok latency {seconds:g}"
    if command == "time":
        return json.dumps({"now": sim.now().isoformat(), "spot": round(sim.view().spot, 2)})
    if command == "mispricings":
        return json.dumps(
            [
                {
                    "expiry": m.expiry.isoformat(),
                    "strike": m.strike,
                    "right": m.right.value,
                    "side": m.side.value,
                    "size": m.size,
                    "edge": round(m.edge, 4),
                    "fair": round(m.fair, 4),
                }
                for m in sim.live_mispricings()
            ]
        )
    if command == "help":
        return HELP
    return f"error unknown command {line.strip()!r}; {HELP}"


async def serve_control(sim: GatewaySimulator, host: str, port: int) -> asyncio.Server:
    """Listen for control connections; the caller closes the returned server."""

    async def client(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            while line := await reader.readline():
                reply = execute(sim, line.decode("utf-8", errors="replace"))
                _log.info("control: %s -> %s", line.decode(errors="replace").strip(), reply[:80])
                writer.write(reply.encode() + b"\n")
                await writer.drain()
        except ConnectionError:
            pass
        finally:
            writer.close()

    server = await asyncio.start_server(client, host, port)
    _log.info("control port on %s:%d", host, server.sockets[0].getsockname()[1])
    return server
