"""The dashboard: a Static Web App (the files are deployed by the frontend's own pipeline)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import web

from infra.azure_args import AzureComponentArgs

StaticSiteSku = Literal["Free", "Standard"]
StaticSiteLocation = Literal["westus2", "centralus", "eastus2", "westeurope", "eastasia"]
"""Static Web Apps exist in these regions only."""


@dataclass(frozen=True)
class DashboardSiteArgs(AzureComponentArgs):
    sku: StaticSiteSku
    custom_domain: str | None


class DashboardSite(pulumi.ComponentResource):
    site: web.StaticSite

    def __init__(
        self, name: str, args: DashboardSiteArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:dashboard:DashboardSite", name, None, opts)
        self.site = web.StaticSite(
            args.naming.name("dashboard"),
            sku=web.SkuDescriptionArgs(name=args.sku, tier=args.sku),
            allow_config_file_updates=True,
            opts=pulumi.ResourceOptions(parent=self),
            **args.placement(),
        )
        self.url = self.site.default_hostname.apply(lambda host: f"https://{host}")
        origins = [self.url]
        if args.custom_domain:
            origins.append(pulumi.Output.from_input(f"https://{args.custom_domain}"))
        self.origins: pulumi.Output[list[str]] = pulumi.Output.all(*origins)
        self.register_outputs({"url": self.url})
