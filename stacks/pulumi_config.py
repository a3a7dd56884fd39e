"""The program's reader of `pulumi.Config` (the only module that reads it): the validated stack
config, the user's secrets, and the budget check, before any resource is declared."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.cost import check_budget
from stacks.stack_config import (
    PROJECT,
    USER_SECRETS,
    StackConfig,
    StackConfigError,
    load_stack_config,
)


@dataclass(frozen=True)
class UserSecrets:
    """User-supplied secrets as secret Outputs; never plain values."""

    ib_gateway_password: pulumi.Output[str]


def read_pulumi_config(config: pulumi.Config, stack: str) -> tuple[StackConfig, UserSecrets]:
    """Validate every setting, the required secrets and the budget, before any resource."""
    source = f"Pulumi.{stack}.yaml"
    settings = load_stack_config(config.get, source)
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
