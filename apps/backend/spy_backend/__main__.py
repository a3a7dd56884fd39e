"""`spy-backend` / `python -m spy_backend`: the backend alone (settings from SPY_* env)."""

from __future__ import annotations

import argparse
import asyncio
import sys
from collections.abc import Sequence

from spy_core.default_ports import BACKEND_PORT

from .app import create_app
from .serve import BackendServer
from .settings import Settings
from .telemetry import configure_logging, configure_telemetry


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(prog="spy-backend", description=__doc__)
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=BACKEND_PORT)
    args = parser.parse_args(argv)
    settings = Settings()
    configure_logging(settings)
    # Application Insights in the cloud, OTLP or the console when configured: without this
    # call the deployed backend (this entry point) exported no telemetry at all.
    configure_telemetry(settings)
    server = BackendServer(create_app(settings), args.host, args.port, settings.log_level.lower())
    asyncio.run(server.serve())
    return 0


if __name__ == "__main__":
    sys.exit(main())
