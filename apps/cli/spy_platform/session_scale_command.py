"""`spy-platform session-scale`: run by the k3s CronJob (infra/k3s/session_scaler.py) before
the open. On an NYSE session day (spy_core.market_hours: weekends and holidays from
exchange_calendars) it scales each target to its replicas, on a closed day to zero, through the
`scale` subresource with the pod's ServiceAccount token (in-cluster, standard library only)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from dataclasses import dataclass
from datetime import UTC, date, datetime
from pathlib import Path

SERVICE_ACCOUNT = Path("/var/run/secrets/kubernetes.io/serviceaccount")
_KINDS = {"deployment": "deployments", "statefulset": "statefulsets"}


@dataclass(frozen=True)
class Target:
    kind: str
    name: str
    replicas: int


def parse_target(text: str) -> Target:
    try:
        workload, replicas = text.split("=")
        kind, name = workload.split("/")
        count = int(replicas)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected KIND/NAME=REPLICAS, got {text!r}") from None
    if kind not in _KINDS or count < 0:
        raise argparse.ArgumentTypeError(
            f"KIND is deployment or statefulset, REPLICAS ≥ 0: {text!r}"
        )
    return Target(kind, name, count)


def add_parser(commands: argparse._SubParsersAction) -> None:
    parser = commands.add_parser(
        "session-scale",
        help="scale workloads up on NYSE session days and to zero on closed days (k3s CronJob)",
    )
    parser.add_argument("targets", nargs="+", type=parse_target, metavar="KIND/NAME=REPLICAS")
    parser.add_argument("--namespace", required=True)
    parser.add_argument(
        "--day", type=date.fromisoformat, help="decide for DAY (default: today, ET)"
    )
    parser.add_argument("--dry-run", action="store_true", help="print the plan, change nothing")


def plan(targets: list[Target], day: date) -> list[tuple[Target, int]]:
    from spy_core.market_hours import is_session

    open_today = is_session(day)
    return [(t, t.replicas if open_today else 0) for t in targets]


def _patch_scale(namespace: str, target: Target, replicas: int) -> None:
    import ssl  # here, not at the top: every other command would pay for it at start
    import urllib.request

    host = os.environ["KUBERNETES_SERVICE_HOST"]
    port = os.environ.get("KUBERNETES_SERVICE_PORT", "443")
    url = (
        f"https://{host}:{port}/apis/apps/v1/namespaces/{namespace}/"
        f"{_KINDS[target.kind]}/{target.name}/scale"
    )
    token = (SERVICE_ACCOUNT / "token").read_text().strip()
    request = urllib.request.Request(
        url,
        data=json.dumps({"spec": {"replicas": replicas}}).encode(),
        method="PATCH",
        headers={
            "Authorization": f"Bearer {token}",
            "Content-Type": "application/merge-patch+json",
        },
    )
    context = ssl.create_default_context(cafile=str(SERVICE_ACCOUNT / "ca.crt"))
    with urllib.request.urlopen(request, context=context, timeout=30) as response:
        response.read()


def run_session_scale(args: argparse.Namespace) -> int:
    from spy_core.market_hours import NEW_YORK

    day = args.day or datetime.now(UTC).astimezone(NEW_YORK).date()
    for target, replicas in plan(args.targets, day):
        print(f"{day}: {target.kind}/{target.name} -> {replicas}", file=sys.stderr)
        if not args.dry_run:
            _patch_scale(args.namespace, target, replicas)
    return 0
