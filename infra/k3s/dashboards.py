"""Grafana dashboards as JSON built here (provisioned by the chart's sidecar from ConfigMaps
labelled `grafana_dashboard: "1"`): market data, trader, platform. Queries use the metric names
the composition passes (spy_core.metric_names, the apps' contract)."""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from infra.k3s.metrics import MetricNames
from infra.k3s.workloads import APPS_NAMESPACE

NS = f'namespace="{APPS_NAMESPACE}"'


@dataclass(frozen=True)
class Panel:
    title: str
    exprs: tuple[str, ...]
    unit: str = "short"
    kind: str = "timeseries"


def dashboard(uid: str, title: str, panels: tuple[Panel, ...]) -> dict[str, Any]:
    width, height = 12, 8
    return {
        "uid": uid,
        "title": title,
        "tags": ["spy-platform"],
        "timezone": "America/New_York",
        "schemaVersion": 39,
        "refresh": "10s",
        "time": {"from": "now-6h", "to": "now"},
        "panels": [
            {
                "id": i + 1,
                "type": p.kind,
                "title": p.title,
                "datasource": {"type": "prometheus", "uid": "prometheus"},
                "gridPos": {"x": (i % 2) * width, "y": (i // 2) * height, "w": width, "h": height},
                "fieldConfig": {"defaults": {"unit": p.unit}, "overrides": []},
                "targets": [
                    {"refId": chr(ord("A") + j), "expr": expr} for j, expr in enumerate(p.exprs)
                ],
            }
            for i, p in enumerate(panels)
        ],
    }


def _quantile(q: float, histogram: str) -> str:
    return f"histogram_quantile({q}, sum by (le) (rate({histogram}_bucket[5m])))"


def _marketdata(m: MetricNames) -> tuple[Panel, ...]:
    return (
        Panel("Ticks per second", (f"sum(rate({m.TICKS}_total[1m]))",), "ops"),
        Panel("Snapshots per second", (f"sum(rate({m.SNAPSHOTS}_total[1m]))",), "ops"),
        Panel(
            "Snapshot latency p50 / p99",
            tuple(_quantile(q, m.SNAPSHOT_SECONDS) for q in (0.5, 0.99)),
            "s",
        ),
        Panel("Tick to anomaly p99", (_quantile(0.99, m.TICK_TO_ANOMALY_SECONDS),), "s"),
        Panel("Open anomalies", (f"sum({m.OPEN_ANOMALIES})",), kind="stat"),
        Panel(
            "Gateway connected / market open",
            (f"max({m.GATEWAY_CONNECTED})", f"max({m.MARKET_OPEN})"),
        ),
    )


def _trader(m: MetricNames) -> tuple[Panel, ...]:
    return (
        Panel("Orders per minute", (f"sum by (action) (rate({m.TRADER_ORDERS}_total[5m])) * 60",)),
        Panel("Fills per minute", (f"sum(rate({m.TRADER_FILLS}_total[5m])) * 60",)),
        Panel("P&L", (f"max by (kind) ({m.TRADER_PNL_DOLLARS})",), "currencyUSD"),
        Panel("Risk limit use", (f"max by (limit) ({m.TRADER_RISK_USE})",), "percentunit"),
        Panel(
            "Order rejections (10 min)",
            (f"sum(increase({m.TRADER_ORDER_REJECTIONS}_total[10m]))",),
        ),
        Panel(
            "State, leader, gateway",
            (
                f'max({m.TRADER_TRADING_STATE}{{state="halted"}})',
                f"sum({m.TRADER_LEADER})",
                f"max({m.TRADER_GATEWAY_CONNECTED})",
            ),
        ),
    )


def _platform(m: MetricNames) -> tuple[Panel, ...]:
    restarts = f"kube_pod_container_status_restarts_total{{{NS}}}"
    cpu = f'container_cpu_usage_seconds_total{{{NS},container!=""}}'
    memory = f'container_memory_working_set_bytes{{{NS},container!=""}}'
    used = f"kubelet_volume_stats_used_bytes{{{NS}}}"
    capacity = f"kubelet_volume_stats_capacity_bytes{{{NS}}}"
    return (
        Panel("Pods ready", (f'sum by (pod) (kube_pod_status_ready{{{NS},condition="true"}})',)),
        Panel("Restarts (1 h)", (f"sum by (pod) (increase({restarts}[1h]))",)),
        Panel("CPU (cores)", (f"sum by (pod) (rate({cpu}[5m]))",)),
        Panel("Memory (working set)", (f"sum by (pod) ({memory})",), "bytes"),
        Panel("Spool (unacknowledged)", (f"sum by (pod) ({m.SPOOL_BYTES})",), "bytes"),
        Panel(
            "Volume use",
            (f"max by (persistentvolumeclaim) ({used} / {capacity})",),
            "percentunit",
        ),
    )


def dashboards(m: MetricNames) -> dict[str, dict[str, Any]]:
    """The three dashboards over the apps' metric names `m`, by uid."""
    return {
        "spy-marketdata": dashboard("spy-marketdata", "SPY market data", _marketdata(m)),
        "spy-trader": dashboard("spy-trader", "SPY trader", _trader(m)),
        "spy-platform": dashboard("spy-platform", "SPY platform (k3s)", _platform(m)),
    }


def dashboard_json(board: dict[str, Any]) -> str:
    return json.dumps(board, indent=1, sort_keys=True)


def queries(m: MetricNames) -> list[str]:
    boards = dashboards(m).values()
    return [t["expr"] for d in boards for p in d["panels"] for t in p["targets"]]
