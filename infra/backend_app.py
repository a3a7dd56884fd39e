"""The backend API on App Service: a Linux plan and a web app running the backend image.

The app pulls from ACR and reads Key Vault, Table Storage and SignalR with its system-assigned
identity; secrets reach it only as Key Vault references, never as values in app settings.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import authorization, web

from infra import roles
from infra.azure_args import AzureComponentArgs

HEALTH_CHECK_PATH = "/health"

AppServiceSku = Literal["B1", "B2", "B3"]
"""Linux App Service plan SKUs of the Basic tier."""


@dataclass(frozen=True)
class BackendAppArgs(AzureComponentArgs):
    environment: str
    sku: AppServiceSku
    subnet_id: pulumi.Input[str]
    image: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    registry_id: pulumi.Input[str]
    storage_account_id: pulumi.Input[str]
    table_endpoint: pulumi.Input[str]
    signalr_id: pulumi.Input[str]
    signalr_endpoint: pulumi.Input[str]
    """Reached with the app's identity (SignalR REST API Owner below): no key."""
    dashboard_url: pulumi.Input[str]
    port: int  # the port the backend's container listens on (spy_core.default_ports)
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
        self.plan = web.AppServicePlan(
            args.naming.name("plan"),
            kind="linux",
            reserved=True,
            sku=web.SkuDescriptionArgs(name=args.sku, tier="Basic"),
            opts=child,
            **args.placement(),
        )
        settings: dict[str, pulumi.Input[str]] = {
            "WEBSITES_PORT": str(args.port),
            "WEBSITES_ENABLE_APP_SERVICE_STORAGE": "false",
            # Names of spy_backend.settings.Settings fields (tests/infra checks each one).
            "SPY_ENVIRONMENT": args.environment,
            "SPY_STORAGE": "azure-tables",
            # Reached with the app's identity (the role below): no key in any setting.
            "SPY_AZURE_TABLES_ENDPOINT": args.table_endpoint,
            "SPY_SIGNALR_ENDPOINT": args.signalr_endpoint,
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
            identity=web.ManagedServiceIdentityArgs(
                type=web.ManagedServiceIdentityType.SYSTEM_ASSIGNED
            ),
            key_vault_reference_identity="SystemAssigned",
            virtual_network_subnet_id=args.subnet_id,
            site_config=web.SiteConfigArgs(
                linux_fx_version=pulumi.Output.concat("DOCKER|", args.image),
                acr_use_managed_identity_creds=True,
                health_check_path=HEALTH_CHECK_PATH,
                min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                scm_min_tls_version=web.SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2,
                ftps_state=web.FtpsState.DISABLED,
                http20_enabled=True,
                always_on=True,
                vnet_route_all_enabled=True,
                app_settings=[
                    web.NameValuePairArgs(name=key, value=value)
                    for key, value in sorted(settings.items())
                ],
            ),
            opts=child,
            **args.placement(),
        )
        self.principal_id = self.app.identity.apply(lambda i: i.principal_id)
        for role, scope, label in (
            (roles.ACR_PULL, args.registry_id, "acr-pull"),
            (roles.STORAGE_TABLE_DATA_CONTRIBUTOR, args.storage_account_id, "tables"),
            (roles.SIGNALR_REST_API_OWNER, args.signalr_id, "signalr"),
        ):
            roles.grant(
                f"{name}-{label}",
                role=role,
                scope=scope,
                principal_id=self.principal_id,
                subscription_id=args.subscription_id,
                principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
                parent=self,
            )
        self.url = self.app.default_host_name.apply(lambda host: f"https://{host}")
        self.register_outputs({"url": self.url, "principal_id": self.principal_id})
