"""The cost model: a documented price table and a monthly estimate per priced resource.

Prices: USD per month, pay-as-you-go, 730 hours, East US 2, taken on 2026-11-25 from the
Azure pricing pages as recorded in docs/deploy.md ("Price reference"); the rows marked (*)
are not in that table and come from the same public price pages (Log Analytics retention,
ACR Standard, App Service B2/B3 at 2x/4x B1, ZRS storage).
Usage-based rows are priced at an assumed usage, stated beside each; Log Analytics ingestion
is priced at the stack's daily cap, i.e. the worst case.

The estimate is computed from the validated stack config alone, so a budget below it is
rejected before any resource is declared; the tests check that the priced resource types are
exactly those the program declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from stacks.config import StackConfig

PRICE_TABLE_DATE = "2026-11-25"
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24

VPN_GATEWAY = {
    "Basic": 26.28,
    "VpnGw1": 138.70,
    "VpnGw2": 357.70,
    "VpnGw1AZ": 263.53,
    "VpnGw2AZ": 482.53,
}  # VpnGw2 / VpnGw2AZ (*)
VPN_EGRESS_PER_GB = 0.035
STANDARD_PUBLIC_IP = 3.65
APP_SERVICE_LINUX = {"B1": 12.41, "B2": 24.82, "B3": 49.64}
REGISTRY = {"Basic": 5.00, "Standard": 20.00}
SIGNALR_PER_UNIT = {"Free_F1": 0.0, "Standard_S1": 48.97}
STATIC_WEB_APP = {"Free": 0.0, "Standard": 9.00}
STORAGE_PER_GB = {"Standard_LRS": 0.0208, "Standard_ZRS": 0.026}
LOG_ANALYTICS_PER_GB = 2.99
LOG_ANALYTICS_FREE_GB = 5.0  # per billing account and month
LOG_RETENTION_FREE_DAYS = 31
LOG_RETENTION_PER_GB_MONTH = 0.10  # (*)
KEY_VAULT_PER_10K_OPERATIONS = 0.03

ASSUMED_VPN_EGRESS_GB = 5.0
ASSUMED_KEY_VAULT_OPERATIONS = 100_000

FREE_TYPES = {
    "azure-native:resources:ResourceGroup": "no charge",
    "azure-native:network:VirtualNetwork": "no charge (peering not used)",
    "azure-native:network:Subnet": "no charge",
    "azure-native:network:NetworkSecurityGroup": "no charge",
    "azure-native:network:LocalNetworkGateway": "no charge",
    "azure-native:network:VirtualNetworkGatewayConnection": "S2S tunnels included in the SKU",
    "azure-native:web:WebApp": "billed through its App Service plan",
    "azure-native:applicationinsights:Component": "ingestion billed by its Log Analytics workspace",
    "azure-native:storage:Table": "billed through its storage account",
    "azure-native:keyvault:Secret": "billed as Key Vault operations",
    "azure-native:authorization:RoleAssignment": "no charge",
    "azure-native:consumption:Budget": "no charge",
}
"""Declared azure-native types that cost nothing by themselves, with the reason."""


@dataclass(frozen=True)
class CostLine:
    type_token: str
    item: str
    monthly_usd: float
    basis: str


def estimate(config: StackConfig) -> list[CostLine]:
    """Monthly cost of the resources `build_platform(config)` declares."""
    obs = config.observability
    ingested_gb = obs.daily_cap_gb * DAYS_PER_MONTH
    billable_gb = max(ingested_gb - LOG_ANALYTICS_FREE_GB, 0.0)
    retained_extra = (
        ingested_gb * max(obs.retention_days - LOG_RETENTION_FREE_DAYS, 0) / DAYS_PER_MONTH
    )
    signalr = config.signalr
    return [
        CostLine(
            "azure-native:network:VirtualNetworkGateway",
            f"VPN gateway {config.vpn.sku}",
            VPN_GATEWAY[config.vpn.sku] + ASSUMED_VPN_EGRESS_GB * VPN_EGRESS_PER_GB,
            f"{HOURS_PER_MONTH} h + {ASSUMED_VPN_EGRESS_GB:g} GB egress",
        ),
        CostLine(
            "azure-native:network:PublicIPAddress",
            "VPN public IP (Standard, static)",
            STANDARD_PUBLIC_IP,
            f"{HOURS_PER_MONTH} h",
        ),
        CostLine(
            "azure-native:web:AppServicePlan",
            f"App Service plan {config.app_service.sku} Linux",
            APP_SERVICE_LINUX[config.app_service.sku],
            f"{HOURS_PER_MONTH} h, 1 instance",
        ),
        CostLine(
            "azure-native:containerregistry:Registry",
            f"Container registry {config.registry.sku}",
            REGISTRY[config.registry.sku],
            "storage included",
        ),
        CostLine(
            "azure-native:signalrservice:SignalR",
            f"SignalR {signalr.sku} x{signalr.units}",
            SIGNALR_PER_UNIT[signalr.sku] * signalr.units,
            "per unit",
        ),
        CostLine(
            "azure-native:web:StaticSite",
            f"Static Web App {config.dashboard.sku}",
            STATIC_WEB_APP[config.dashboard.sku],
            "per app",
        ),
        CostLine(
            "azure-native:operationalinsights:Workspace",
            f"Log Analytics (cap {obs.daily_cap_gb:g} GB/day, {obs.retention_days} d)",
            billable_gb * LOG_ANALYTICS_PER_GB + retained_extra * LOG_RETENTION_PER_GB_MONTH,
            f"{ingested_gb:.1f} GB at the cap, first {LOG_ANALYTICS_FREE_GB:g} GB free",
        ),
        CostLine(
            "azure-native:storage:StorageAccount",
            f"Storage {config.storage.sku}",
            config.storage.expected_gb * STORAGE_PER_GB[config.storage.sku],
            f"{config.storage.expected_gb:g} GB",
        ),
        CostLine(
            "azure-native:keyvault:Vault",
            "Key Vault standard",
            ASSUMED_KEY_VAULT_OPERATIONS / 10_000 * KEY_VAULT_PER_10K_OPERATIONS,
            f"{ASSUMED_KEY_VAULT_OPERATIONS:,} operations",
        ),
    ]


def total(lines: list[CostLine]) -> float:
    return round(sum(line.monthly_usd for line in lines), 2)
