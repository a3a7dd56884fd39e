"""The dashboard: a Static Web App, and what its deployment needs from the stack.

The files themselves (`frontend/dist`, one build for every stack) are uploaded by the
deploy workflow after `pulumi up` (.github/workflows/deploy-stack.yml) with two stack
outputs made here: the site's deployment token (`listStaticSiteSecrets`, an invoke, not a
resource; kept a Pulumi secret, masked by the workflow) and the stack's `config.json`, which
the page reads at start-up to find its backend and hub (docs/dashboard.md)."""

from __future__ import annotations

import json
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
        secrets = web.list_static_site_secrets_output(
            name=self.site.name,
            resource_group_name=args.resource_group_name,
            opts=pulumi.InvokeOutputOptions(parent=self),
        )
        self.deployment_token: pulumi.Output[str] = pulumi.Output.secret(
            secrets.properties.apply(lambda properties: (properties or {})["apiKey"])
        )
        self.register_outputs({"url": self.url, "deployment_token": self.deployment_token})


def runtime_config(backend_url: pulumi.Input[str]) -> pulumi.Output[str]:
    """The stack's `config.json` for the page: the backend's API and hub (the same origin
    serves both; the hub's negotiate redirects to Azure SignalR)."""
    return pulumi.Output.from_input(backend_url).apply(
        lambda url: json.dumps(
            {"apiBase": url.rstrip("/"), "hubUrl": f"{url.rstrip('/')}/hub"}, sort_keys=True
        )
    )
