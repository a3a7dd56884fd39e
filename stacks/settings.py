"""Read a stack's settings from `pulumi.Config` (the only place that does) and validate them."""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi

from infra.pricing import estimate, total
from stacks.config import (
    PROJECT,
    SETTING_KEYS,
    USER_SECRETS,
    StackConfig,
    StackConfigError,
    parse_settings,
)


@dataclass(frozen=True)
class UserSecrets:
    """User-supplied secrets as secret Outputs; never plain values."""

    ib_gateway_password: pulumi.Output[str]


def _value(raw: str) -> object:
    """Structured settings arrive as JSON text, plain ones as text."""
    try:
        return json.loads(raw)
    except ValueError:
        return raw


def read_settings(config: pulumi.Config, stack: str) -> tuple[StackConfig, UserSecrets]:
    """Validate every setting, the required secrets and the budget, before any resource."""
    source = f"Pulumi.{stack}.yaml"
    values = {key: _value(raw) for key in SETTING_KEYS if (raw := config.get(key)) is not None}
    settings = parse_settings(values, source)
    missing = [key for key in USER_SECRETS if config.get(key) is None]
    if missing:
        lines = [
            f"{PROJECT}:{key} ({USER_SECRETS[key]}): "
            f"pulumi config set --secret {key} --stack {stack}"
            for key in missing
        ]
        raise StackConfigError(f"{source}: required secret not set:\n  " + "\n  ".join(lines))
    check_budget(settings, source)
    password = config.require_secret("ibGatewayPassword")
    return settings, UserSecrets(ib_gateway_password=password)


def check_budget(settings: StackConfig, source: str) -> None:
    """The stack's budget must cover the estimate, or its alerts would fire every month."""
    cost = total(estimate(settings))
    if settings.budget.monthly_usd < cost:
        raise StackConfigError(
            f"{source}: {PROJECT}:budget.monthlyUsd {settings.budget.monthly_usd:g} is below the "
            f"estimated monthly cost ${cost:.2f} (spy-platform preview shows the lines)"
        )
