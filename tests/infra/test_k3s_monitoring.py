"""Monitoring: the Helm release's pins and values, the alert rules and dashboards (every
expression parses as PromQL and reads only metric names the apps define), ServiceMonitors
that select real Services, the Alertmanager route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest

from infra.k3s import alerts, dashboards, monitoring
from spy_core import metric_names
from tests.infra.conftest import evaluated
from tests.infra.k3s_objects import named, of_kind, release

APPS = Path(__file__).resolve().parents[2] / "apps"
DEFINITION = re.compile(
    r"\b(Counter|Gauge|Histogram|Summary)(?:MetricFamily)?\(\s*\"([a-zA-Z_:][a-zA-Z0-9_:]*)\"",
    re.S,
)
SUFFIXES = {
    "Counter": ("_total", "_created"),
    "Gauge": ("",),
    "Histogram": ("_bucket", "_sum", "_count", "_created"),
    "Summary": ("", "_sum", "_count", "_created"),
}
EXPORTERS = {
    # kube-state-metrics (a dependency of the chart)
    "kube_pod_container_status_restarts_total",
    "kube_pod_status_ready",
    # kubelet (volume stats) and its cAdvisor endpoint, scraped by the chart
    "kubelet_volume_stats_used_bytes",
    "kubelet_volume_stats_capacity_bytes",
    "container_cpu_usage_seconds_total",
    "container_memory_working_set_bytes",
}
"""Series of the chart's own exporters, not of our apps."""


def defined_in_apps() -> dict[str, str]:
    """Every prometheus_client family defined in apps/ (source scan), name -> type."""
    found = {}
    for path in APPS.rglob("*.py"):
        for kind, name in DEFINITION.findall(path.read_text()):
            found[name] = kind
    return found


def series(families: dict[str, str]) -> set[str]:
    return {name + suffix for name, kind in families.items() for suffix in SUFFIXES[kind]}


def contract_kinds() -> dict[str, str]:
    """Types of the pending names, from the comment after each in spy_core.metric_names."""
    text = Path(metric_names.__file__).read_text()
    kinds = {}
    for constant, kind in re.findall(r"^(\w+) = \"\w+\"\s+# (Counter|Gauge|Histogram)", text, re.M):
        kinds[getattr(metric_names, constant)] = kind
    return kinds


def allowed_series() -> set[str]:
    pending = {n: k for n, k in contract_kinds().items() if n in metric_names.PENDING}
    return series(defined_in_apps()) | series(pending) | EXPORTERS


def metric_names_in(expr: str) -> set[str]:
    names: set[str] = set()

    def visit(node):
        if isinstance(node, promql_parser.VectorSelector) and node.name:
            names.add(node.name)
        for attr in ("expr", "lhs", "rhs", "vector_selector", "param"):
            child = getattr(node, attr, None)
            if child is not None and not isinstance(child, (str, int, float)):
                visit(child)
        for arg in getattr(node, "args", None) or []:
            visit(arg)

    visit(promql_parser.parse(expr))
    return names


ALERTS = alerts.alerts(metric_names)


def all_queries() -> list[str]:
    return [a.expr for a in ALERTS] + dashboards.queries(metric_names)


def test_the_scan_finds_the_apps_real_metrics():
    found = defined_in_apps()
    assert found["spy_http_requests"] == "Counter"
    assert found["spy_marketdata_snapshots"] == "Counter"
    assert set(contract_kinds()) >= metric_names.PENDING


def test_every_contract_name_is_defined_by_an_app_or_pending():
    """The contract holds: a name is either defined with prometheus_client in apps/ (with the
    contract's type) or listed as pending."""
    found, kinds = defined_in_apps(), contract_kinds()
    for names in metric_names.EXPORTED_BY.values():
        for name in names:
            if name not in metric_names.PENDING:
                assert name in found, name
                assert kinds.get(name, found[name]) == found[name], name


@pytest.mark.parametrize("expr", all_queries())
def test_every_query_parses_and_reads_only_known_metrics(expr):
    names = metric_names_in(expr)
    assert names, expr
    unknown = names - allowed_series()
    assert not unknown, f"{expr}: {unknown}"


def test_the_name_walk_sees_through_functions_and_operators():
    expr = ALERTS[2].expr  # histogram_quantile(...) and on() max(...)
    assert metric_names_in(expr) == {
        "spy_marketdata_tick_to_anomaly_seconds_bucket",
        "spy_market_open",
    }
    with pytest.raises(ValueError):
        promql_parser.parse("sum(rate(x_total[5m])")


def test_rules_have_summary_runbook_and_market_hours():
    names = {a.name for a in ALERTS}
    assert {
        "GatewayDisconnected",
        "NoSnapshots",
        "TickToAnomalyLatencyHigh",
        "KillSwitchEngaged",
        "DailyLossNearLimit",
        "OrderRejectionsRising",
        "SpoolGrowing",
        "PodRestarting",
        "PersistentVolumeFilling",
    } <= names
    for alert in ALERTS:
        rule = alert.to_rule()
        assert rule["annotations"]["summary"] and rule["annotations"]["runbook"]
    for name in ("GatewayDisconnected", "NoSnapshots", "TickToAnomalyLatencyHigh"):
        (alert,) = [a for a in ALERTS if a.name == name]
        assert metric_names.MARKET_OPEN in alert.expr
    by_name = {a.name: a for a in ALERTS}
    assert by_name["GatewayDisconnected"].for_ == "60s"
    assert by_name["TickToAnomalyLatencyHigh"].for_ == "5m" and "0.05" in (
        by_name["TickToAnomalyLatencyHigh"].expr
    )
    assert "0.8" in by_name["DailyLossNearLimit"].expr


def test_helm_release_is_pinned_and_holds_no_password(stack):
    rel = release(stack)
    assert rel["chart"] == "kube-prometheus-stack" and rel["version"] == "88.5.3"
    assert rel["repositoryOpts"]["repo"] == monitoring.CHART_REPO
    assert rel["namespace"] == "spy-monitoring"
    values = rel["values"]
    text = json.dumps(values)
    assert "adminPassword" not in text and "offline-placeholder" not in text
    admin = values["grafana"]["admin"]
    secret = named(stack, "Secret", admin["existingSecret"])
    assert set(secret["stringData"]) == {admin["userKey"], admin["passwordKey"]}
    for component in ("kubeEtcd", "kubeControllerManager", "kubeScheduler", "kubeProxy"):
        assert values[component]["enabled"] is False
    spec = values["prometheus"]["prometheusSpec"]
    assert spec["retention"] and spec["resources"]["limits"]["memory"]


def test_alertmanager_routes_to_the_configured_webhook():
    prod = release(evaluated("prod"))["values"]["alertmanager"]["config"]
    (receiver,) = [r for r in prod["receivers"] if r["name"] == prod["route"]["receiver"]]
    assert (
        receiver["webhook_configs"][0]["url"]
        == evaluated("prod").config.data_plane.alert_webhook_url
    )
    dev = release(evaluated("dev"))["values"]["alertmanager"]["config"]
    assert all("webhook_configs" not in r for r in dev["receivers"])


def test_service_monitors_select_real_services(stack):
    for sm in of_kind(stack, "ServiceMonitor"):
        (ns,) = sm["spec"]["namespaceSelector"]["matchNames"]
        (service,) = [
            s
            for s in of_kind(stack, "Service")
            if s["metadata"]["namespace"] == ns
            and all(
                s["metadata"]["labels"].get(k) == v
                for k, v in sm["spec"]["selector"]["matchLabels"].items()
            )
        ]
        port_names = {p["name"] for p in service["spec"]["ports"]}
        assert {e["port"] for e in sm["spec"]["endpoints"]} <= port_names
        assert sm["metadata"]["labels"]["release"] == monitoring.RELEASE


def test_dashboards_are_sidecar_config_maps(stack):
    maps = [
        m for m in of_kind(stack, "ConfigMap") if m["metadata"]["name"].startswith("dashboard-")
    ]
    assert len(maps) == 3
    for cm in maps:
        assert cm["metadata"]["labels"]["grafana_dashboard"] == "1"
        (text,) = cm["data"].values()
        board = json.loads(text)
        assert board["panels"] and all(p["targets"] for p in board["panels"])
    rule = named(stack, "PrometheusRule", "spy-platform")
    assert len(rule["spec"]["groups"][0]["rules"]) == len(ALERTS)
