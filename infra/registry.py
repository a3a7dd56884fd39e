"""Container images live in ACR; pulls use managed identities, so the admin user stays off."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import containerregistry

from infra.azure_args import AzureComponentArgs

RegistrySku = Literal["Basic", "Standard"]


@dataclass(frozen=True)
class ContainerRegistryArgs(AzureComponentArgs):
    sku: RegistrySku


class ContainerRegistry(pulumi.ComponentResource):
    registry: containerregistry.Registry
    login_server: pulumi.Output[str]

    def __init__(
        self, name: str, args: ContainerRegistryArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:registry:ContainerRegistry", name, None, opts)
        self.registry = containerregistry.Registry(
            args.naming.compact("acr"),
            sku=containerregistry.SkuArgs(name=containerregistry.SkuName(args.sku)),
            admin_user_enabled=False,
            anonymous_pull_enabled=False,
            opts=pulumi.ResourceOptions(parent=self),
            **args.placement(),
        )
        self.login_server = self.registry.login_server
        self.register_outputs({"registry_id": self.registry.id, "login_server": self.login_server})
