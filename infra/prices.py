"""Unit prices of the Azure resources the platform declares: data, with its source and date.

USD per month, pay-as-you-go, 730 hours, East US 2, taken on 2026-11-25 from the Azure pricing
pages as recorded in docs/deploy.md ("Price reference"); the rows marked (*) are not in
that table and come from the same public price pages (Log
Analytics retention, ACR Standard, App Service B2/B3 at 2x/4x B1, ZRS storage, VpnGw2/2AZ).
The cost model that applies them to a stack is `stacks.cost`.
"""

from __future__ import annotations

from infra.backend_app import AppServiceSku
from infra.dashboard import StaticSiteSku
from infra.realtime import SignalRSku
from infra.registry import RegistrySku
from infra.storage import StorageSku
from infra.vpn import VpnSku

PRICE_TABLE_DATE = "2026-11-25"
PRICE_TABLE_SOURCE = "infra/prices.py"
HOURS_PER_MONTH = 730
DAYS_PER_MONTH = HOURS_PER_MONTH / 24

VPN_GATEWAY: dict[VpnSku, float] = {
    "Basic": 26.28,
    "VpnGw1": 138.70,
    "VpnGw2": 357.70,  # (*)
    "VpnGw1AZ": 263.53,
    "VpnGw2AZ": 482.53,  # (*)
}
VPN_EGRESS_PER_GB = 0.035
STANDARD_PUBLIC_IP = 3.65
APP_SERVICE_LINUX: dict[AppServiceSku, float] = {"B1": 12.41, "B2": 24.82, "B3": 49.64}
REGISTRY: dict[RegistrySku, float] = {"Basic": 5.00, "Standard": 20.00}
SIGNALR_PER_UNIT: dict[SignalRSku, float] = {"Free_F1": 0.0, "Standard_S1": 48.97}
STATIC_WEB_APP: dict[StaticSiteSku, float] = {"Free": 0.0, "Standard": 9.00}
STORAGE_PER_GB: dict[StorageSku, float] = {"Standard_LRS": 0.0208, "Standard_ZRS": 0.026}
LOG_ANALYTICS_PER_GB = 2.99
LOG_ANALYTICS_FREE_GB = 5.0  # per billing account and month
LOG_RETENTION_FREE_DAYS = 31
LOG_RETENTION_PER_GB_MONTH = 0.10  # (*)
KEY_VAULT_PER_10K_OPERATIONS = 0.03

# Azure Monitor (azure.microsoft.com/pricing/details/monitor, pay-as-you-go, read 2026-11-29;
# from that page as remembered, not re-fetched in this session: check before relying on it).
# Notifications are free within the monthly grants (1,000 e-mails, 100,000 webhooks).
AVAILABILITY_TEST_PER_RUN = 0.0012  # standard test, per test execution (each location)
METRIC_ALERT_PER_SERIES = 0.10  # per monitored time series per month
LOG_ALERT_BY_FREQUENCY_MINUTES: dict[int, float] = {5: 1.50, 10: 1.00, 15: 0.50}
"""Scheduled log-query rule, per rule per month, by how often it runs."""
# The k3s data plane's container logs (issue 13). The Logs Ingestion API has no meter of its
# own for a table on the Analytics plan: what a Data Collection Rule delivers is billed as
# Log Analytics data ingestion of the workspace ("This calculation includes any custom
# columns added by the logs ingestion API", learn.microsoft.com azure-monitor/logs/cost-logs,
# read 2026-11-29), at the PerGB2018 pay-as-you-go rate of the row above (notes, 2026-11-25).
LOGS_INGESTION_API_PER_GB = LOG_ANALYTICS_PER_GB

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
    "azure-native:monitor:ActionGroup": "notifications within the free monthly grants",
    "azure-native:applicationinsights:Workbook": "no charge; its queries read ingested data",
    "azure-native:monitor:DataCollectionEndpoint": "no charge (ingestion billed per GB)",
    "azure-native:operationalinsights:Table": "ingestion priced on its data collection rule",
}
"""Declared azure-native types that cost nothing by themselves, with the reason."""

ON_PREM_PREFIXES = ("kubernetes:", "pulumi:providers:kubernetes")
"""Resources on the on-prem k3s cluster: $0 to Azure (the hardware is the user's)."""
ON_PREM_NOTE = "on-prem k3s: $0"
