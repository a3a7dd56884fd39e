"""The operations catalogue of a stack: its alert rules (each with a runbook line), the
availability test and the workbook, built from the stack config and the telemetry names the
apps emit (`spy_core.telemetry_names`). `stacks.platform` declares them through
`infra.operations`; `stacks.cost` prices the very same catalogue.

Metric alert or log query, per signal:
- availability, SignalR messages, storage throttling, Key Vault 403s are platform metrics of
  one resource: metric alerts (cheap, per monitored time series).
- the 5xx *rate*, the p95 latency and the ingestion silence need a ratio, a percentile or an
  app metric: scheduled log queries over Application Insights.

Calendar-aware ingestion alert: the backend observes `spy.ingest.idle` (seconds since the last
anomaly or market-state record, counted from the session open at the earliest) only while
`spy_core.market_hours.is_market_open` says the NYSE is open — the one calendar, with its
holidays and early closes. Outside the session the metric has no rows, so the rule is quiet
at night, at weekends and on holidays without a calendar copied into KQL; a backend that is
down altogether is the availability test's alarm.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

import pulumi

from infra.operations import AvailabilityTest, LogRule, MetricRule, Receivers
from spy_core.telemetry_names import Attr, MetricName, SpanName
from stacks.stack_config import StackConfig

SIGNALR_DAILY_MESSAGES = {"Free_F1": 20_000, "Standard_S1": 1_000_000}
"""Messages a SignalR unit delivers per UTC day (shared/notes/realtime-and-storage.md)."""
STORAGE_THROTTLING = (
    "ServerBusyError",
    "ClientThrottlingError",
    "ClientAccountRequestThrottlingError",
    "ClientAccountBandwidthThrottlingError",
)
"""`ResponseType` values of the storage `Transactions` metric that mean throttling."""
LOG_WINDOW_MINUTES = 15
HUB_ROUTES = '"/hub"'  # WebSocket requests last as long as a viewer stays: not latency


@dataclass(frozen=True)
class Scopes:
    """Resource ids the metric alerts watch."""

    signalr: pulumi.Input[str]
    storage_account: pulumi.Input[str]
    key_vault: pulumi.Input[str]

    @classmethod
    def placeholder(cls) -> Scopes:
        """For pricing: the catalogue without resources."""
        return cls(*(f"<{name}>" for name in ("signalr", "storage", "kv")))


def receivers(config: StackConfig) -> Receivers:
    r = config.operations.receivers
    return Receivers(
        emails=tuple(r.emails), webhooks=tuple((hook.name, hook.uri) for hook in r.webhooks)
    )


def availability(config: StackConfig, backend_url: pulumi.Input[str]) -> AvailabilityTest:
    a = config.operations.availability
    return AvailabilityTest(
        url=pulumi.Output.from_input(backend_url).apply(lambda url: f"{url}/health"),
        locations=tuple(a.locations),
        frequency_seconds=a.frequency_seconds,
        failed_locations=a.failed_locations,
        enabled=a.enabled,
        runbook=(
            f"Backend /health failed from {a.failed_locations}+ of {len(a.locations)} regions. "
            "Runbook: App Service > Diagnose (container logs, restarts); "
            "`az webapp log tail`; if the image is bad, redeploy the previous image tag."
        ),
    )


def signalr_daily_quota(config: StackConfig) -> int:
    return SIGNALR_DAILY_MESSAGES[config.signalr.sku] * config.signalr.units


def metric_rules(config: StackConfig, scopes: Scopes) -> tuple[MetricRule, ...]:
    t = config.operations.thresholds
    quota = signalr_daily_quota(config)
    return (
        MetricRule(
            key="signalr-quota",
            runbook=(
                f"SignalR delivered over {t.signalr_quota_percent:g}% of the daily quota "
                f"({quota:,} messages) in 24 h. Runbook: workbook 'hub' panel; lower "
                "SPY_MESSAGE_BUDGET_PER_DAY / raise SPY_STATE_INTERVAL_SECONDS, or add a unit."
            ),
            scope=scopes.signalr,
            namespace="Microsoft.SignalRService/SignalR",
            metric="MessageCount",
            aggregation="Total",
            operator="GreaterThan",
            threshold=round(quota * t.signalr_quota_percent / 100),
            window="P1D",
            frequency="PT1H",
            severity=2,
        ),
        MetricRule(
            key="storage-throttling",
            runbook=(
                f"Storage throttled over {t.storage_throttled_requests} requests in 15 min. "
                "Runbook: workbook 'latency' panel; check spy_storage_seconds and the ingest "
                "batch size; the account's scalability targets may need a second account."
            ),
            scope=scopes.storage_account,
            namespace="Microsoft.Storage/storageAccounts",
            metric="Transactions",
            aggregation="Total",
            operator="GreaterThan",
            threshold=t.storage_throttled_requests,
            window="PT15M",
            frequency="PT5M",
            severity=2,
            dimensions=(("ResponseType", STORAGE_THROTTLING),),
        ),
        MetricRule(
            key="keyvault-denied",
            runbook=(
                "Key Vault answered 403 (access denied). Runbook: the backend's identity lost "
                "'Key Vault Secrets User' or a firewall rule changed; App Service Key Vault "
                "references show the failing secret; re-run `pulumi up`."
            ),
            scope=scopes.key_vault,
            namespace="Microsoft.KeyVault/vaults",
            metric="ServiceApiResult",
            aggregation="Count",
            operator="GreaterThanOrEqual",
            threshold=t.key_vault_denied_requests,
            window="PT15M",
            frequency="PT5M",
            severity=2,
            dimensions=(("StatusCode", ("403",)),),
        ),
    )


def log_rules(config: StackConfig) -> tuple[LogRule, ...]:
    t = config.operations.thresholds
    every = config.operations.log_alert_frequency_minutes
    window = max(LOG_WINDOW_MINUTES, every)
    return (
        LogRule(
            key="http-5xx",
            runbook=(
                f"Over {t.error_rate_percent:g}% of backend requests answered 5xx in "
                f"{window} min. Runbook: workbook 'requests' panel, then the failing "
                "operation's end-to-end transaction; storage or SignalR errors show as "
                "dependencies."
            ),
            query=(
                "requests\n"
                "| summarize total = count(), failed = countif(toint(resultCode) >= 500)\n"
                "| extend value = iff(total == 0, 0.0, 100.0 * failed / total)"
            ),
            operator="GreaterThan",
            threshold=t.error_rate_percent,
            window_minutes=window,
            frequency_minutes=every,
            severity=1,
        ),
        LogRule(
            key="p95-latency",
            runbook=(
                f"Backend p95 request latency over {t.p95_latency_ms} ms in {window} min. "
                "Runbook: workbook 'requests' panel; compare spy.backend.store durations; "
                "scale the plan up if CPU is saturated."
            ),
            query=(
                "requests\n"
                f"| where url !contains {HUB_ROUTES}\n"
                "| summarize value = percentile(duration, 95)"
            ),
            operator="GreaterThan",
            threshold=t.p95_latency_ms,
            window_minutes=window,
            frequency_minutes=every,
            severity=2,
        ),
        LogRule(
            key="ingest-silence",
            runbook=(
                f"No anomaly or market-state record reached the backend for "
                f"{t.ingest_silence_minutes} min during the NYSE session. Runbook: on-prem "
                "`spy-marketdata status` (IB Gateway connected? spool backlog?), the VPN "
                "tunnel, then the backend's POST /api/events requests."
            ),
            query=(
                "customMetrics\n"
                f'| where name == "{MetricName.INGEST_IDLE}"\n'
                "| summarize arg_max(timestamp, value)\n"
                "| project value"
            ),
            operator="GreaterThan",
            threshold=t.ingest_silence_minutes * 60,
            window_minutes=window,
            frequency_minutes=every,
            severity=1,
        ),
    )


def _dim(attr: Attr) -> str:
    return f'tostring(customDimensions["{attr}"])'


def workbook_queries(config: StackConfig) -> dict[str, tuple[str, str, str]]:
    """Panel key -> (title, KQL over Application Insights, visualization)."""
    quota = signalr_daily_quota(config)
    stages = ", ".join(f'"{span}"' for span in SpanName)
    return {
        "anomalies": (
            "Anomaly events per hour, by severity",
            "customMetrics\n"
            f'| where name == "{MetricName.ANOMALY_EVENTS}"\n'
            f"| summarize events = sum(valueSum) by bin(timestamp, 1h), "
            f"severity = {_dim(Attr.SEVERITY)}",
            "barchart",
        ),
        "ingest-lag": (
            "Ingest lag on-prem -> cloud (s), by record kind",
            "customMetrics\n"
            f'| where name == "{MetricName.INGEST_LAG}"\n'
            "| summarize mean_s = sum(valueSum) / sum(valueCount), max_s = max(valueMax) "
            f"by bin(timestamp, 5m), kind = {_dim(Attr.RECORD_KIND)}",
            "timechart",
        ),
        "hub": (
            f"Hub clients and messages per day against the quota ({quota:,})",
            f"let quota = {quota};\n"
            "customMetrics\n"
            f'| where name in ("{MetricName.HUB_MESSAGES}", "{MetricName.HUB_CLIENTS}")\n'
            f'| summarize messages = sumif(valueSum, name == "{MetricName.HUB_MESSAGES}"), '
            f'clients = maxif(valueMax, name == "{MetricName.HUB_CLIENTS}") '
            "by bin(timestamp, 1d)\n"
            "| extend quota, used_percent = round(100.0 * messages / quota, 1)",
            "table",
        ),
        "requests": (
            "Request latency (ms) and errors",
            "requests\n"
            f"| where url !contains {HUB_ROUTES}\n"
            "| summarize p50 = percentile(duration, 50), p95 = percentile(duration, 95), "
            "errors_5xx = countif(toint(resultCode) >= 500), requests = count() "
            "by bin(timestamp, 5m)",
            "timechart",
        ),
        "traces": (
            "Latest end-to-end operations: tick -> detect -> POST -> store -> broadcast",
            "dependencies\n"
            f"| where name in ({stages})\n"
            "| summarize stages = make_set(name), start = min(timestamp), "
            "ms = datetime_diff('millisecond', max(timestamp + totimespan(duration * 10000)), "
            "min(timestamp)) by operation_Id\n"
            "| top 20 by start desc",
            "table",
        ),
        "trading": (
            "Trades and P&L (the trader's fills and P&L as the backend stores them)",
            "customMetrics\n"
            f'| where name in ("{MetricName.TRADES}", "{MetricName.PNL}")\n'
            f'| summarize trades = sumif(valueSum, name == "{MetricName.TRADES}"), '
            f'pnl_usd = maxif(valueMax, name == "{MetricName.PNL}") '
            f"by bin(timestamp, 1h), side = {_dim(Attr.SIDE)}",
            "timechart",
        ),
    }


def workbook(config: StackConfig) -> dict[str, Any]:
    """The workbook (Notebook/1.0 JSON) without its resource ids (the component adds them)."""
    items: list[dict[str, Any]] = [
        {
            "type": 1,
            "name": "intro",
            "content": {
                "json": f"## SPY Options Platform — {config.environment}\n"
                "Panels read the telemetry the apps emit (spy_core/telemetry_names.py); "
                "see docs/operations.md."
            },
        }
    ]
    for key, (title, query, chart) in workbook_queries(config).items():
        items.append(
            {
                "type": 3,
                "name": key,
                "content": {
                    "version": "KqlItem/1.0",
                    "title": title,
                    "query": query,
                    "size": 0,
                    "queryType": 0,
                    "resourceType": "microsoft.insights/components",
                    "timeContext": {"durationMs": 86_400_000},
                    "visualization": chart,
                },
            }
        )
    return {
        "version": "Notebook/1.0",
        "items": items,
        "$schema": "https://github.com/Microsoft/Application-Insights-Workbooks/blob/master/"
        "schema/workbook.json",
    }


def workbook_json(config: StackConfig, app_insights_id: pulumi.Input[str]) -> pulumi.Output[str]:
    return pulumi.Output.from_input(app_insights_id).apply(
        lambda component: json.dumps({**workbook(config), "fallbackResourceIds": [component]})
    )
