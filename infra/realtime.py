"""Realtime fan-out: Azure SignalR in serverless mode, CORS for the dashboard origin only.

Microsoft Entra only: local auth (access keys) is off, so no key is ever read or stored. The
backend's managed identity holds SignalR REST API Owner on the service (infra.backend_app)
and calls the REST API (`:send`, and `:generateToken` for its negotiate) with Entra tokens.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import signalrservice

from infra.azure_args import AzureComponentArgs

SignalRSku = Literal["Free_F1", "Standard_S1"]


@dataclass(frozen=True)
class RealtimeArgs(AzureComponentArgs):
    sku: SignalRSku
    units: int
    allowed_origins: pulumi.Input[list[str]]


class Realtime(pulumi.ComponentResource):
    signalr: signalrservice.SignalR

    def __init__(self, name: str, args: RealtimeArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:realtime:Realtime", name, None, opts)
        self.signalr = signalrservice.SignalR(
            args.naming.name("signalr"),
            kind=signalrservice.ServiceKind.SIGNAL_R,
            sku=signalrservice.ResourceSkuArgs(
                name=args.sku,
                tier=signalrservice.SignalRSkuTier(args.sku.split("_")[0]),
                capacity=args.units,
            ),
            features=[
                signalrservice.SignalRFeatureArgs(
                    flag=signalrservice.FeatureFlags.SERVICE_MODE, value="Serverless"
                ),
                signalrservice.SignalRFeatureArgs(
                    flag=signalrservice.FeatureFlags.ENABLE_CONNECTIVITY_LOGS, value="True"
                ),
            ],
            cors=signalrservice.SignalRCorsSettingsArgs(allowed_origins=args.allowed_origins),
            disable_local_auth=True,
            tls=signalrservice.SignalRTlsSettingsArgs(client_cert_enabled=False),
            opts=pulumi.ResourceOptions(parent=self),
            **args.placement(),
        )
        self.endpoint = self.signalr.host_name.apply(lambda host: f"https://{host}")
        self.register_outputs({"signalr_id": self.signalr.id, "endpoint": self.endpoint})
