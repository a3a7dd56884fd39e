"""The k3s data plane's settings (`spy-platform:dataPlane`) and its secrets.

One sub-model of the stack config (stacks.stack_config.StackConfig.data_plane), validated with
it; the secrets it needs depend on it (a kubeconfig whenever it is enabled, the IB login for
the real gateway, the log shipper's client secret) and are checked by `require_secrets`
before any resource exists, each missing one with its `pulumi config set --secret` line.
"""

from __future__ import annotations

import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import Annotated, Literal

import pulumi
from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator
from pydantic.alias_generators import to_camel

KUBECONFIG = "kubeconfig"
LOGS_CLIENT_SECRET = "logsClientSecret"
IB_PASSWORD = "ibGatewayPassword"

SECRETS = {
    KUBECONFIG: "kubeconfig of the on-prem k3s cluster (reached on-prem or over the VPN): "
    "pulumi config set --secret kubeconfig --stack {stack} < ~/.kube/k3s.yaml",
    LOGS_CLIENT_SECRET: "client secret of the service principal Fluent Bit publishes logs "
    "with (dataPlane.logs.clientId)",
    IB_PASSWORD: "password of the IB paper account the IB Gateway logs in with",
}
"""Secrets the data plane may need, with what they are (the hint the error shows)."""

_UUID = r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"


class _Model(BaseModel):
    model_config = ConfigDict(
        alias_generator=to_camel, populate_by_name=True, extra="forbid", frozen=True
    )


class IbGatewayConfig(_Model):
    """IB Gateway (gnzsnz/ib-gateway) behaviour: the daily restart that avoids a daily 2FA."""

    # IBC AutoRestartTime, "hh:mm AM/PM" in time_zone: a soft restart that keeps the session.
    auto_restart_time: Annotated[str, Field(pattern=r"^(0?[1-9]|1[0-2]):[0-5]\d (AM|PM)$")] = (
        "11:45 PM"
    )
    time_zone: str = "America/New_York"
    # What to do when the 2FA prompt is not answered: restart (retry) fits AUTO_RESTART_TIME.
    twofa_timeout_action: Literal["restart", "exit"] = "restart"
    java_heap_mb: Annotated[int, Field(ge=256, le=4096)] = 768


class LogsConfig(_Model):
    """Container logs to Log Analytics through the Logs Ingestion API (Fluent Bit)."""

    enabled: bool = True
    # The Entra application (service principal) Fluent Bit authenticates as; created by the
    # user (docs/onprem.md), granted only Monitoring Metrics Publisher on the DCR here.
    client_id: Annotated[str, Field(pattern=_UUID)]
    principal_object_id: Annotated[str, Field(pattern=_UUID)]
    estimated_gb_per_day: Annotated[float, Field(gt=0, le=100)]
    # Fluent Bit's on-node buffer: what a VPN or Azure outage can hold back without loss.
    buffer_limit_mb: Annotated[int, Field(ge=64, le=20_480)] = 1024


class DataPlaneConfig(_Model):
    """The on-prem k3s workloads, their monitoring and log shipping."""

    enabled: bool = False
    gateway: Literal["ib", "simulator"] = "simulator"
    # Kubernetes version of the cluster: manifests are validated against its schema.
    kubernetes_version: Annotated[str, Field(pattern=r"^1\.(2[5-9]|3[0-7])$")] = "1.33"
    storage_class: str = "local-path"  # k3s's bundled provisioner
    alert_webhook_url: Annotated[str, Field(pattern=r"^https?://\S+$")] | None = None
    ib_gateway: IbGatewayConfig = IbGatewayConfig()
    logs: LogsConfig | None = None
    # Minutes before the 09:30 ET open the session scaler brings the workloads back.
    scale_up_minutes_before_open: Annotated[int, Field(ge=15, le=180)] = 60

    @field_validator("storage_class")
    @classmethod
    def _dns_label(cls, value: str) -> str:
        if not re.fullmatch(r"[a-z0-9]([-a-z0-9.]{0,251}[a-z0-9])?", value):
            raise ValueError(f"not a Kubernetes storage class name: {value!r}")
        return value

    @model_validator(mode="after")
    def _logs_when_enabled(self) -> DataPlaneConfig:
        if self.enabled and self.logs is None:
            raise ValueError(
                "dataPlane.logs is required when the data plane is enabled (clientId, "
                "principalObjectId, estimatedGbPerDay; or logs.enabled: false)"
            )
        return self

    @property
    def ships_logs(self) -> bool:
        return self.enabled and self.logs is not None and self.logs.enabled

    def required_secrets(self) -> tuple[str, ...]:
        if not self.enabled:
            return ()
        return (
            KUBECONFIG,
            *((LOGS_CLIENT_SECRET,) if self.ships_logs else ()),
            *((IB_PASSWORD,) if self.gateway == "ib" else ()),
        )


@dataclass(frozen=True)
class DataPlaneSecrets:
    """The data plane's secrets as secret Outputs (never plain values)."""

    kubeconfig: pulumi.Output[str]
    ib_gateway_password: pulumi.Output[str] | None
    logs_client_secret: pulumi.Output[str] | None


class MissingSecretError(ValueError):
    pass


def require_secrets(
    data_plane: DataPlaneConfig,
    ib_user: str | None,
    get: Callable[[str], str | None],
    stack: str,
    project: str,
) -> None:
    """Every secret the settings need is set, or one message with a line per missing one."""
    lines = [
        f"{project}:{key} ({SECRETS[key].format(stack=stack)}): "
        f"pulumi config set --secret {key} --stack {stack}"
        for key in data_plane.required_secrets()
        if not get(key)
    ]
    if data_plane.enabled and data_plane.gateway == "ib" and not ib_user:
        lines.append(f"{project}:ibGatewayUser (the IB paper login) is needed with gateway: ib")
    if lines:
        raise MissingSecretError(
            "dataPlane needs these secrets before any resource is declared:\n  "
            + "\n  ".join(lines)
        )


def read_secrets(
    data_plane: DataPlaneConfig, require_secret: Callable[[str], pulumi.Output[str]]
) -> DataPlaneSecrets | None:
    if not data_plane.enabled:
        return None
    needed = data_plane.required_secrets()
    return DataPlaneSecrets(
        kubeconfig=require_secret(KUBECONFIG),
        ib_gateway_password=require_secret(IB_PASSWORD) if IB_PASSWORD in needed else None,
        logs_client_secret=(
            require_secret(LOGS_CLIENT_SECRET) if LOGS_CLIENT_SECRET in needed else None
        ),
    )
