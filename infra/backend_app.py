"""The backend API on App Service: a Linux plan and a web app running the backend image.

The app pulls from ACR and reads Key Vault, Table Storage and SignalR with its system-assigned
identity; secrets reach it only as Key Vault references, never as values in app settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import web

from infra import roles
from infra.naming import Naming
from spy_core.default_ports import BACKEND_PORT

HEALTH_CHECK_PATH = "/health"


@dataclass(frozen=True)
class BackendAppArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming
    environment: str
    sku: str
    subnet_id: pulumi.Input[str]
    image: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    table_endpoint: pulumi.Input[str]
    signalr_id: pulumi.Input[str]
    dashboard_url: pulumi.Input[str]
    secret_settings: dict[str, pulumi.Input[str]]
    """App setting name -> Key Vault reference (`@Microsoft.KeyVault(...)`)."""


class BackendApp(pulumi.ComponentResource):
    plan: web.AppServicePlan
    app: web.WebApp
    url: pulumi.Output[str]
    principal_id: pulumi.Output[str]

    def __init__(self, name: str, args: BackendAppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:backend:BackendApp", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {"resource_group_name": args.resource_group_name, "location": args.location}
        self.plan = web.AppServicePlan(
            args.naming.name("plan"),
            kind="linux",
            reserved=True,
            sku=web.SkuDescriptionArgs(name=args.sku, tier="Basic"),
            opts=child,
            **common,
        )
        settings: dict[str, pulumi.Input[str]] = {
            "WEBSITES_PORT": str(BACKEND_PORT),
            "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false",
            # Names of spy_backend.settings.Settings fields (tests/infra checks each one).
            "SPY_ENVIRONMENT": args.environment,
            "SPY_STORAGE": "azure-tables",
            # Reached with the app's identity (the role below): no key in any setting.
            "SPY_AZURE_TABLES_ENDPOINT": args.table_endpoint,
            "SPY_CORS_ORIGINS": pulumi.Output.from_input(args.dashboard_url).apply(
                lambda url: json.dumps([url])
            ),
            **args.secret_settings,
        }
        self.app = web.WebApp(
            args.naming.name("api"),
            kind="app,linux,container",
            server_farm_id=self.plan.id,
            https_only=True,
            identity=web.ManagedServiceIdentityArgs(type="SystemAssigned"),
            key_vault_reference_identity="SystemAssigned",
            virtual_network_subnet_id=args.subnet_id,
            site_config=web.SiteConfigArgs(
                linux_fx_version=pulumi.Output.concat("DOCKER|", args.image),
                acr_use_managed_identity_creds=True,
                health_check_path=HEALTH_CHECK_PATH,
                min_tls_version="1.2",
                scm_min_tls_version="1.2",
                ftps_state="Disabled",
                http20_enabled=True,
                always_on=True,
                vnet_route_all_enabled=True,
                app_settings=[
                    web.NameValuePairArgs(name=key, value=value)
                    for key, value in sorted(settings.items())
                ],
            ),
            opts=child,
            **common,
        )
        self.principal_id = self.app.identity.apply(lambda i: i.principal_id)
        for role, scope, label in (
            (roles.ACR_PULL, args.registry_id, "acr-pull"),
            (roles.STORAGE_TABLE_DATA_CONTRIBUTOR, args.storage_account_id, "tables"),
            (roles.SIGNALR_APP_SERVER, args.signalr_id, "signalr"),
        ):
            roles.grant(
                f"{name}-{label}",
                role=role,
                scope=scope,
                principal_id=self.principal_id,
                subscription_id=args.subscription_id,
                principal_type="ServicePrincipal",
                parent=self,
            )
        self.url = self.app.default_host_name.apply(lambda host: f"https://{host}")
        self.register_outputs({"url": self.url, "principal_id": self.principal_id})
