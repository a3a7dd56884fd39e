"""The platform's Prometheus alert rules (one PrometheusRule), each with a summary and a
runbook line. "During market hours" is the calendar's answer, not a clock: the apps export
`spy_market_open` from spy_core.market_hours (holidays and early closes included), and rules
that only matter in a session are joined with it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.k3s.metrics import MetricNames
from infra.k3s.workloads import APPS_NAMESPACE

RUNBOOK = "docs/onprem.md#runbooks"


def _in_session(expr: str, m: MetricNames) -> str:
    return f"({expr}) and on() (max({m.MARKET_OPEN}) == 1)"


@dataclass(frozen=True)
class Alert:
    name: str
    expr: str
    for_: str
    severity: str
    summary: str
    runbook: str

    def to_rule(self) -> dict[str, Any]:
        rule: dict[str, Any] = {
            "alert": self.name,
            "expr": self.expr,
            "labels": {"severity": self.severity, "platform": "spy"},
            "annotations": {
                "summary": self.summary,
                "runbook": self.runbook,
                "runbook_url": RUNBOOK,
            },
        }
        if self.for_ != "0s":
            rule["for"] = self.for_
        return rule


def alerts(m: MetricNames) -> tuple[Alert, ...]:
    """The platform's alerts over the apps' metric names `m`."""
    return (
        Alert(
            "GatewayDisconnected",
            _in_session(f"max({m.GATEWAY_CONNECTED}) < 1", m),
            "60s",
            "critical",
            "Market data has had no IB Gateway session for over 60 s during market hours.",
            "kubectl -n spy logs sts/gateway: a 2FA prompt (approve it in IBKR Mobile) or a "
            "competing session; then kubectl -n spy rollout restart deploy/marketdata.",
        ),
        Alert(
            "NoSnapshots",
            _in_session(f"sum(rate({m.SNAPSHOTS}_total[30s])) == 0", m),
            "30s",
            "critical",
            "No chain snapshot published for 30 s during market hours.",
            "curl marketdata:8080/ready (state, last_snapshot, last_error); check market data "
            "lines and the gateway; restart deploy/marketdata if it is stuck.",
        ),
        Alert(
            "TickToAnomalyLatencyHigh",
            _in_session(
                "histogram_quantile(0.99, sum by (le) "
                f"(rate({m.TICK_TO_ANOMALY_SECONDS}_bucket[5m]))) > 0.05",
                m,
            ),
            "5m",
            "warning",
            "Tick to anomaly p99 above 50 ms for 5 minutes.",
            "Grafana 'SPY market data': CPU throttling of the marketdata pod (raise its CPU "
            "limit) or too many lines (narrow the strike band).",
        ),
        Alert(
            "KillSwitchEngaged",
            f'max({m.TRADER_TRADING_STATE}{{state="halted"}}) == 1',
            "0s",
            "critical",
            "The trader is halted (kill switch engaged): no new orders are sent.",
            "Find the reason in the trader's log and /ready; reset only after review: "
            "spy-platform kill-switch off --url http://trader.spy:9108.",
        ),
        Alert(
            "DailyLossNearLimit",
            f'max({m.TRADER_RISK_USE}{{limit="max_daily_loss"}}) > 0.8',
            "0s",
            "warning",
            "Daily loss above 80% of its limit; the trader stops at 100%.",
            "Review open positions on the dashboard; consider the kill switch before the limit.",
        ),
        Alert(
            "OrderRejectionsRising",
            f"sum(increase({m.TRADER_ORDER_REJECTIONS}_total[10m])) > 3",
            "0s",
            "warning",
            "IB rejected more than 3 orders in 10 minutes.",
            "Trader log: the rejection codes (201 margin, price bands); halt if it persists.",
        ),
        Alert(
            "SpoolGrowing",
            f"sum by (pod) (deriv({m.SPOOL_BYTES}[10m])) > 0 "
            f"and sum by (pod) ({m.SPOOL_BYTES}) > 1e6",
            "10m",
            "warning",
            "Events spool up on-prem: the backend has not acknowledged them for 10 minutes.",
            "Check the VPN (swanctl --list-sas) and the backend's /health; nothing is lost "
            "while the PVC has room, the spool drains by itself once the backend answers.",
        ),
        Alert(
            "PodRestarting",
            f'increase(kube_pod_container_status_restarts_total{{namespace="{APPS_NAMESPACE}"}}'
            "[15m]) > 2",
            "0s",
            "warning",
            "A data-plane container restarted more than twice in 15 minutes.",
            "kubectl -n spy describe pod (OOMKilled? probe failures?) and logs --previous.",
        ),
        Alert(
            "PersistentVolumeFilling",
            "max by (persistentvolumeclaim) ("
            f'kubelet_volume_stats_used_bytes{{namespace="{APPS_NAMESPACE}"}}'
            f' / kubelet_volume_stats_capacity_bytes{{namespace="{APPS_NAMESPACE}"}}) > 0.8',
            "5m",
            "warning",
            "A data-plane volume is more than 80% full.",
            "Prune old recordings on marketdata-data or grow the PVC (local-path: the node disk).",
        ),
        Alert(
            "NoTraderLeader",
            _in_session(f"max({m.TRADER_LEADER}) < 1", m),
            "60s",
            "critical",
            "No trader replica holds the Lease during market hours: nothing can trade.",
            "kubectl -n spy get lease spy-trader -o yaml; trader pods' /ready and logs.",
        ),
    )


def prometheus_rule_spec(m: MetricNames) -> dict[str, Any]:
    return {
        "groups": [
            {
                "name": "spy-platform",
                "interval": "15s",
                "rules": [alert.to_rule() for alert in alerts(m)],
            }
        ]
    }
