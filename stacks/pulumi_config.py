"""The program's reader of `pulumi.Config` (the only module that reads it): the validated stack
config, the user's secrets, and the budget check, before any resource is declared."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from stacks.cost import check_budget
from stacks.data_plane_config import (
    DataPlaneSecrets,
    MissingSecretError,
    read_secrets,
    require_secrets,
)
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
    data_plane: DataPlaneSecrets | None = None


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
    try:
        require_secrets(settings.data_plane, settings.ib_gateway_user, config.get, stack, PROJECT)
    except MissingSecretError as exc:
        raise StackConfigError(f"{source}: {exc}") from None
    check_budget(settings, source)
    password = config.require_secret("ibGatewayPassword")
    data_plane = read_secrets(settings.data_plane, config.require_secret)
    return settings, UserSecrets(ib_gateway_password=password, data_plane=data_plane)
