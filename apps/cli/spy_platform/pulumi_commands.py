"""`spy-platform preview`, `policy` and `vpn-config`: the Pulumi program, offline.

Both read the real stack file of the Pulumi project (this checkout by default) and need no
credentials and no Pulumi CLI. The program's packages (`infra`, `stacks`: the `spy-infra`
workspace package, the `pulumi` extra of this one) are imported when a command runs, so the
other commands start without Pulumi.
"""

from __future__ import annotations

import argparse
import os
import sys
from collections import Counter
from pathlib import Path
from typing import TextIO


def add_parsers(commands: argparse._SubParsersAction) -> None:
    preview = commands.add_parser(
        "preview",
        help="evaluate the Pulumi program offline: resources, monthly cost, budget check",
    )
    vpn = commands.add_parser(
        "vpn-config", help="write the on-prem strongSwan swanctl.conf for a stack's VPN"
    )
    policy = commands.add_parser(
        "policy",
        help="run the policy pack (policies/) offline on a stack; non-zero on a mandatory failure",
    )
    for parser in (preview, vpn, policy):
        parser.add_argument("--stack", required=True, choices=("dev", "prod"), help="stack name")
        parser.add_argument(
            "--project-dir",
            type=Path,
            metavar="DIR",
            help="directory of Pulumi.yaml (default: this checkout)",
        )
    vpn.add_argument("--out", required=True, type=Path, metavar="FILE", help="file to write")
    vpn.add_argument(
        "--gateway-ip", metavar="IP", help="Azure gateway public IP (stack output vpnGatewayIp)"
    )
    vpn.add_argument(
        "--psk-file",
        type=Path,
        metavar="FILE",
        help="file holding the pre-shared key (Key Vault secret vpn-psk); else a placeholder",
    )


def run_pulumi_command(args: argparse.Namespace, out: TextIO | None = None) -> int:
    from stacks.offline import PROJECT_DIR
    from stacks.stack_config import StackConfigError

    # Looked up per call, not bound as a default: tests swap sys.stdout between runs.
    out = out or sys.stdout
    project_dir = args.project_dir or PROJECT_DIR
    try:
        if args.command == "preview":
            return _preview(args.stack, project_dir, out)
        if args.command == "policy":
            return _policy(args.stack, project_dir, out)
        return _vpn_config(args, project_dir)
    except (StackConfigError, FileNotFoundError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2


def _preview(stack: str, project_dir: Path, out: TextIO) -> int:
    from infra.prices import (
        FREE_TYPES,
        ON_PREM_NOTE,
        ON_PREM_PREFIXES,
        PRICE_TABLE_DATE,
        PRICE_TABLE_SOURCE,
    )
    from stacks.cost import estimate, total
    from stacks.offline import evaluate

    result = evaluate(stack, project_dir=project_dir)
    counts = Counter(r.type_token for r in result.resources)
    print(f"stack {stack}: {len(result.resources)} resources (offline, mocked engine)", file=out)
    for token, count in sorted(counts.items()):
        note = f"  ({FREE_TYPES[token]})" if token in FREE_TYPES else ""
        if token.startswith(ON_PREM_PREFIXES):
            note = f"  ({ON_PREM_NOTE})"
        print(f"  {count:3d}  {token}{note}", file=out)
    lines = estimate(result.config)
    print(
        f"\nestimated monthly cost (USD, price table {PRICE_TABLE_DATE}, {PRICE_TABLE_SOURCE})",
        file=out,
    )
    for line in lines:
        print(f"  {line.monthly_usd:8.2f}  {line.item:<46} {line.basis}", file=out)
    cost, budget = total(lines), result.config.budget.monthly_usd
    print(f"  {cost:8.2f}  total", file=out)
    holds = cost <= budget
    verdict = "holds" if holds else "EXCEEDED"
    print(f"budget ${budget:g}/month: {verdict} (headroom ${budget - cost:.2f})", file=out)
    for note in result.notes:
        print(f"note: {note}", file=out)
    return 0 if holds else 1


def _policy(stack: str, project_dir: Path, out: TextIO) -> int:
    from policies.model import Level
    from policies.offline import check
    from stacks.cost import estimate, total
    from stacks.offline import evaluate
    from stacks.stack_config import PROJECT

    result = evaluate(stack, project_dir=project_dir)
    cost = {"budget-covers-cost": {"estimatedMonthlyUsd": total(estimate(result.config))}}
    resources = [(r.type_token, r.name, r.inputs) for r in result.resources]
    violations = check(stack, PROJECT, resources, cost)
    print(
        f"stack {stack}: policy pack on {len(resources)} resources (offline, mocked engine)",
        file=out,
    )
    for violation in sorted(violations, key=lambda v: (v.level != Level.MANDATORY, v.rule)):
        print(f"  {violation.line()}", file=out)
    mandatory = sum(v.level is Level.MANDATORY for v in violations)
    print(
        f"{mandatory} mandatory, {len(violations) - mandatory} advisory: "
        + ("FAILED (mandatory rules stop `pulumi up`)" if mandatory else "passed"),
        file=out,
    )
    return 1 if mandatory else 0


def _vpn_config(args: argparse.Namespace, project_dir: Path) -> int:
    from infra.swanctl import render_swanctl
    from stacks.offline import read_stack_config
    from stacks.platform import tunnel_spec

    settings = read_stack_config(args.stack, project_dir)
    psk = args.psk_file.read_text().strip() if args.psk_file else None
    text = render_swanctl(tunnel_spec(settings), args.gateway_ip, psk)
    fd = os.open(args.out, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    with os.fdopen(fd, "w") as handle:
        handle.write(text)
    missing = [
        name
        for name, value in (("--gateway-ip", args.gateway_ip), ("--psk-file", psk))
        if not value
    ]
    if missing:
        print(f"wrote {args.out} with placeholders for {', '.join(missing)}", file=sys.stderr)
    return 0
