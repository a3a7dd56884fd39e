"""The cost model: the monthly estimate of what `build_platform(config)` declares.

Unit prices come from the table in `infra.prices` (source and date there). Usage-based rows
are priced at an assumed usage, stated beside each; Log Analytics ingestion is priced at the
stack's daily cap, i.e. the worst case.

The estimate is computed from the validated stack config alone, so a budget below it is
rejected before any resource is declared (`check_budget`); the tests check that the priced
resource types are exactly those the program declares.
"""

from __future__ import annotations

from dataclasses import dataclass

from infra import prices
from stacks import operations as ops
from stacks.stack_config import PROJECT, StackConfig, StackConfigError

ASSUMED_VPN_EGRESS_GB = 5.0
ASSUMED_KEY_VAULT_OPERATIONS = 100_000


@dataclass(frozen=True)
class CostLine:
    type_token: str
    item: str
    monthly_usd: float
    basis: str


def estimate(config: StackConfig) -> list[CostLine]:
    """Monthly cost of the resources `build_platform(config)` declares."""
    hours = prices.HOURS_PER_MONTH
    obs = config.observability
    ingested_gb = obs.daily_cap_gb * prices.DAYS_PER_MONTH
    billable_gb = max(ingested_gb - prices.LOG_ANALYTICS_FREE_GB, 0.0)
    retained_extra = (
        ingested_gb
        * max(obs.retention_days - prices.LOG_RETENTION_FREE_DAYS, 0)
        / prices.DAYS_PER_MONTH
    )
    signalr = config.signalr
    return [
        CostLine(
            "azure-native:network:VirtualNetworkGateway",
            f"VPN gateway {config.vpn.sku}",
            prices.VPN_GATEWAY[config.vpn.sku] + ASSUMED_VPN_EGRESS_GB * prices.VPN_EGRESS_PER_GB,
            f"{hours} h + {ASSUMED_VPN_EGRESS_GB:g} GB egress",
        ),
        CostLine(
            "azure-native:network:PublicIPAddress",
            "VPN public IP (Standard, static)",
            prices.STANDARD_PUBLIC_IP,
            f"{hours} h",
        ),
        CostLine(
            "azure-native:web:AppServicePlan",
            f"App Service plan {config.app_service.sku} Linux",
            prices.APP_SERVICE_LINUX[config.app_service.sku],
            f"{hours} h, 1 instance",
        ),
        CostLine(
            "azure-native:containerregistry:Registry",
            f"Container registry {config.registry.sku}",
            prices.REGISTRY[config.registry.sku],
            "storage included",
        ),
        CostLine(
            "azure-native:signalrservice:SignalR",
            f"SignalR {signalr.sku} x{signalr.units}",
            prices.SIGNALR_PER_UNIT[signalr.sku] * signalr.units,
            "per unit",
        ),
        CostLine(
            "azure-native:web:StaticSite",
            f"Static Web App {config.dashboard.sku}",
            prices.STATIC_WEB_APP[config.dashboard.sku],
            "per app",
        ),
        CostLine(
            "azure-native:operationalinsights:Workspace",
            f"Log Analytics (cap {obs.daily_cap_gb:g} GB/day, {obs.retention_days} d)",
            billable_gb * prices.LOG_ANALYTICS_PER_GB
            + retained_extra * prices.LOG_RETENTION_PER_GB_MONTH,
            f"{ingested_gb:.1f} GB at the cap, first {prices.LOG_ANALYTICS_FREE_GB:g} GB free",
        ),
        CostLine(
            "azure-native:storage:StorageAccount",
            f"Storage {config.storage.sku}",
            config.storage.expected_gb * prices.STORAGE_PER_GB[config.storage.sku],
            f"{config.storage.expected_gb:g} GB",
        ),
        CostLine(
            "azure-native:keyvault:Vault",
            "Key Vault standard",
            ASSUMED_KEY_VAULT_OPERATIONS / 10_000 * prices.KEY_VAULT_PER_10K_OPERATIONS,
            f"{ASSUMED_KEY_VAULT_OPERATIONS:,} operations",
        ),
        *operations_lines(config),
        *data_plane_cost(config),
    ]


def operations_lines(config: StackConfig) -> list[CostLine]:
    """The availability test and one line per alert rule (`stacks.operations` catalogue)."""
    test = config.operations.availability
    runs = len(test.locations) * prices.DAYS_PER_MONTH * 86_400 / test.frequency_seconds
    every = config.operations.log_alert_frequency_minutes
    metric_rules = [("availability", 1)] + [
        (
            rule.key,
            max(1, *(len(values) for _, values in rule.dimensions)) if rule.dimensions else 1,
        )
        for rule in ops.metric_rules(config, ops.Scopes.placeholder())
    ]
    return [
        CostLine(
            "azure-native:applicationinsights:WebTest",
            f"Availability test /health ({len(test.locations)} regions)",
            runs * prices.AVAILABILITY_TEST_PER_RUN if test.enabled else 0.0,
            f"{runs:,.0f} runs (every {test.frequency_seconds} s)"
            if test.enabled
            else "declared, disabled",
        ),
        *(
            CostLine(
                "azure-native:monitor:MetricAlert",
                f"Metric alert {key}",
                series * prices.METRIC_ALERT_PER_SERIES,
                f"{series} time series",
            )
            for key, series in metric_rules
        ),
        *(
            CostLine(
                "azure-native:monitor:ScheduledQueryRule",
                f"Log alert {rule.key}",
                prices.LOG_ALERT_BY_FREQUENCY_MINUTES[every],
                f"every {every} min",
            )
            for rule in ops.log_rules(config)
        ),
    ]


def data_plane_cost(config: StackConfig) -> list[CostLine]:
    """The k3s data plane: its on-prem objects cost Azure nothing; its container logs are
    priced per GB at the stack's estimate (within the workspace's daily cap)."""
    plane = config.data_plane
    if not plane.ships_logs:
        return []
    gb_per_day = plane.logs.estimated_gb_per_day
    return [
        CostLine(
            "azure-native:monitor:DataCollectionRule",
            "k3s container logs (Logs Ingestion API)",
            gb_per_day * prices.DAYS_PER_MONTH * prices.LOGS_INGESTION_API_PER_GB,
            f"{gb_per_day:g} GB/day estimated",
        )
    ]


def total(lines: list[CostLine]) -> float:
    return round(sum(line.monthly_usd for line in lines), 2)


def check_budget(config: StackConfig, source: str) -> None:
    """The stack's budget must cover the estimate, or its alerts would fire every month."""
    cost = total(estimate(config))
    if config.budget.monthly_usd < cost:
        raise StackConfigError(
            f"{source}: {PROJECT}:budget.monthlyUsd {config.budget.monthly_usd:g} is below the "
            f"estimated monthly cost ${cost:.2f} (spy-platform preview shows the lines)"
        )
