"""build_platform: the whole Azure control plane, the VPN and the images from one config."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import authorization, resources

from infra.azure_args import AzurePlacement
from infra.backend_app import BackendApp, BackendAppArgs
from infra.budget import CostAlerts, CostAlertsArgs
from infra.dashboard import DashboardSite, DashboardSiteArgs, runtime_config
from infra.images import Images, ImagesArgs
from infra.key_vault import KeyVault, KeyVaultArgs, key_vault_reference
from infra.naming import Naming
from infra.network import Network, NetworkArgs
from infra.observability import Observability, ObservabilityArgs
from infra.operations import Operations, OperationsArgs
from infra.realtime import Realtime, RealtimeArgs
from infra.registry import ContainerRegistry, ContainerRegistryArgs
from infra.storage import Storage, StorageArgs
from infra.swanctl import TunnelSpec
from infra.tags import apply_tag_policy, policy_tags
from infra.vpn import SiteToSiteVpn, SiteToSiteVpnArgs
from spy_backend.storage.azure_tables import history_table_name
from spy_core.default_ports import BACKEND_PORT
from stacks import operations as ops
from stacks.data_plane import AzureSide, build_data_plane
from stacks.pulumi_config import UserSecrets
from stacks.stack_config import StackConfig

PROJECT_TAG = "spy-options-platform"
SERVICE_TOKEN_LENGTH = 48
BACKEND_TABLES = (history_table_name(),)
"""Tables of the backend's history store, named by the backend's own adapter."""


@dataclass(frozen=True)
class Platform:
    """The validated config it was built from and the stack outputs, by exported name."""

    config: StackConfig
    exports: dict[str, pulumi.Output]


def build_platform(config: StackConfig, secrets: UserSecrets) -> Platform:
    naming = Naming("spy", config.environment)
    apply_tag_policy(
        policy_tags(PROJECT_TAG, config.environment, config.tags.owner, config.tags.cost_center)
    )
    client = authorization.get_client_config_output()
    group = resources.ResourceGroup(naming.name("rg"), location=config.location)
    where = AzurePlacement(group.name, config.location, naming)

    observability = Observability(
        "observability",
        ObservabilityArgs(
            where=where,
            retention_days=config.observability.retention_days,
            daily_cap_gb=config.observability.daily_cap_gb,
        ),
    )
    vault = KeyVault(
        "secrets",
        KeyVaultArgs(
            where=where,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            deployer_object_id=client.object_id,
            purge_protection=config.key_vault.purge_protection,
            soft_delete_retention_days=config.key_vault.soft_delete_retention_days,
        ),
    )
    net = Network(
        "network",
        NetworkArgs(
            where=where,
            address_space=config.network.address_space,
            on_prem_cidrs=tuple(config.on_prem.lan_cidrs),
        ),
    )
    registry = ContainerRegistry(
        "registry",
        ContainerRegistryArgs(where=where, sku=config.registry.sku),
    )
    storage = Storage(
        "storage",
        StorageArgs(
            where=where,
            sku=config.storage.sku,
            tables=BACKEND_TABLES,
        ),
    )
    dashboard = DashboardSite(
        "dashboard",
        DashboardSiteArgs(
            where=where.in_region(config.dashboard.location),
            sku=config.dashboard.sku,
            custom_domain=config.dashboard.custom_domain,
        ),
    )
    realtime = Realtime(
        "realtime",
        RealtimeArgs(
            where=where,
            sku=config.signalr.sku,
            units=config.signalr.units,
            allowed_origins=dashboard.origins,
        ),
    )
    images = Images(
        "images",
        ImagesArgs(
            login_server=registry.login_server,
            channel=config.images.channel,
            platform=config.images.platform,
        ),
    )
    token = random.RandomPassword(
        naming.name("service-token"), length=SERVICE_TOKEN_LENGTH, special=False
    )
    stored = {
        "SPY_SERVICE_TOKEN": vault.store("backend-service-token", token.result),
        "APPLICATIONINSIGHTS_CONNECTION_STRING": vault.store(
            "appinsights-connection-string", observability.connection_string
        ),
    }
    vault.store("ib-gateway-password", secrets.ib_gateway_password)
    backend = BackendApp(
        "backend",
        BackendAppArgs(
            where=where,
            environment=config.environment,
            sku=config.app_service.sku,
            subnet_id=net.app_subnet.id,
            image=images.refs["backend"],
            subscription_id=client.subscription_id,
            registry_id=registry.registry.id,
            storage_account_id=storage.account.id,
            table_endpoint=storage.table_endpoint,
            signalr_id=realtime.signalr.id,
            signalr_endpoint=realtime.endpoint,
            dashboard_url=dashboard.url,
            port=BACKEND_PORT,
            secret_settings={k: key_vault_reference(s) for k, s in stored.items()},
        ),
        opts=pulumi.ResourceOptions(depends_on=[images]),
    )
    vault.grant_reader("backend-kv-reader", backend.principal_id)
    vpn = SiteToSiteVpn(
        "vpn",
        SiteToSiteVpnArgs(
            where=where,
            gateway_subnet_id=net.gateway_subnet.id,
            sku=config.vpn.sku,
            tunnel=tunnel_spec(config),
        ),
    )
    vault.store("vpn-psk", vpn.pre_shared_key)
    # -- operations (issue 16): paging, availability, alert rules, workbook ------------------
    operations = Operations(
        "operations",
        OperationsArgs(
            where=where,
            app_insights_id=observability.app_insights.id,
            receivers=ops.receivers(config),
            availability=ops.availability(config, backend.url),
            metric_rules=ops.metric_rules(
                config,
                ops.Scopes(
                    signalr=realtime.signalr.id,
                    storage_account=storage.account.id,
                    key_vault=vault.vault.id,
                ),
            ),
            log_rules=ops.log_rules(config),
            workbook_name=f"SPY Options Platform ({config.environment})",
            workbook_json=ops.workbook_json(config, observability.app_insights.id),
        ),
    )
    CostAlerts(
        "cost",
        CostAlertsArgs(
            naming=naming,
            scope=group.id,
            monthly_usd=config.budget.monthly_usd,
            alert_emails=tuple(config.budget.alert_emails),
            start_date=config.budget.start_date,
            action_group_id=operations.action_group.id,
        ),
    )
    # The on-prem k3s data plane (issue 13): stacks/data_plane.py.
    data_plane_exports = build_data_plane(
        config,
        secrets.data_plane,
        AzureSide(
            where=where,
            tenant_id=client.tenant_id,
            subscription_id=client.subscription_id,
            observability=observability,
            images=images,
            login_server=registry.login_server,
            backend=backend,
            service_token=token.result,
        ),
    )
    return Platform(
        config=config,
        exports={
            "resourceGroupName": group.name,
            "backendUrl": backend.url,
            "signalrEndpoint": realtime.endpoint,
            "dashboardUrl": dashboard.url,
            # What the deploy workflow uploads frontend/dist with: frontend/dist/config.json
            # and the site's deployment token (a secret, masked in the workflow's log).
            "dashboardConfig": runtime_config(backend.url),
            "dashboardDeploymentToken": dashboard.deployment_token,
            "registryLoginServer": registry.login_server,
            "keyVaultUri": vault.vault_uri,
            "vpnGatewayIp": vpn.gateway_ip,
            "onPremVpnConfig": vpn.on_prem_config,
            "images": pulumi.Output.all(**images.refs),
            **data_plane_exports,
        },
    )


def tunnel_spec(config: StackConfig) -> TunnelSpec:
    """Both ends of the tunnel from the stack config (also used by `spy-platform vpn-config`)."""
    return TunnelSpec(
        name=f"azure-spy-{config.environment}",
        on_prem_public_ip=config.on_prem.public_ip,
        on_prem_cidrs=tuple(config.on_prem.lan_cidrs),
        azure_cidrs=(config.network.address_space,),
        policy=config.vpn.ipsec_policy,
        dpd_timeout_seconds=config.vpn.dpd_timeout_seconds,
    )
