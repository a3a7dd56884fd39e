"""How a command run on-prem reaches the backend: its data directory and the service token.

One definition for `trade`, `kill-switch` and `marketdata`. The token never comes from the
command line (arguments show in `ps` and in the pod spec): it is SPY_SERVICE_TOKEN (in k3s, from
the Secret `backend-service-token`, which Pulumi creates from the token it also stores in Key
Vault), else the dev token file `<data dir>/service-token` that `spy-platform up` and a local
backend create (0600, outside the repository).
"""

from __future__ import annotations

import argparse
import os
from pathlib import Path

DEFAULT_DATA_DIR = Path("~/.config/spy-platform")
MARKETDATA_SPOOL = Path("spool") / "backend.jsonl"
"""The market-data service's backend spool, under the data directory (`up` and `marketdata`)."""


def add_data_dir_option(parser: argparse.ArgumentParser, holds: str) -> None:
    """--data-dir; `holds` says what the command keeps there."""
    parser.add_argument(
        "--data-dir",
        type=Path,
        metavar="DIR",
        help=f"{holds} (default $SPY_DATA_DIR, else {DEFAULT_DATA_DIR})",
    )


def data_dir(args: argparse.Namespace) -> Path:
    chosen = args.data_dir or os.environ.get("SPY_DATA_DIR") or DEFAULT_DATA_DIR
    return Path(chosen).expanduser()


def service_token(folder: Path) -> str:
    from spy_backend.token import TOKEN_FILE, load_or_create

    return os.environ.get("SPY_SERVICE_TOKEN") or load_or_create(folder / TOKEN_FILE)
