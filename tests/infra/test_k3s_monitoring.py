"""Monitoring: the Helm release's pins and values, the alert rules and dashboards (every
expression parses as PromQL and reads only metrics that an app a scrape job targets really
serves), ServiceMonitors that select real Services, the Alertmanager route."""

from __future__ import annotations

import json
import re
from pathlib import Path

import promql_parser
import pytest
from prometheus_client import CollectorRegistry

from infra.k3s import alerts, dashboards, monitoring
from spy_backend.metrics import Metrics as BackendMetrics
from spy_core import metric_names
from spy_marketdata.metrics import MarketDataMetrics
from spy_marketdata.status import ServiceStatus
from spy_trader.metrics import TraderMetrics
from tests.infra.conftest import evaluated
from tests.infra.k3s_objects import named, of_kind, release

SUFFIXES = {
    "counter": ("_total", "_created"),
    "gauge": ("",),
    "histogram": ("_bucket", "_sum", "_count", "_created"),
    "summary": ("", "_sum", "_count", "_created"),
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


def app_registries() -> dict[str, CollectorRegistry]:
    """The registry each app serves at /metrics, built by the app's own class (the key is
    the app as `metric_names.EXPORTED_BY` and the k3s labels name it)."""
    return {
        "marketdata": MarketDataMetrics(ServiceStatus).registry,
        "trader": TraderMetrics().registry,
        "backend": BackendMetrics().registry,
    }


def served() -> dict[str, dict[str, str]]:
    """app -> {family name: type} of what its registry serves."""
    return {
        app: {family.name: family.type for family in registry.collect()}
        for app, registry in app_registries().items()
    }


def series(families: dict[str, str]) -> set[str]:
    return {name + suffix for name, kind in families.items() for suffix in SUFFIXES[kind]}


def contract_kinds() -> dict[str, str]:
    """Types of the contract's names, from the comment after each in spy_core.metric_names."""
    text = Path(metric_names.__file__).read_text()
    kinds = {}
    for constant, kind in re.findall(r"^(\w+) = \"\w+\"\s+# (Counter|Gauge|Histogram)", text, re.M):
        kinds[getattr(metric_names, constant)] = kind.lower()
    return kinds


def scraped_apps(stack) -> set[str]:
    """The apps the stack's scrape jobs target: ServiceMonitors by the app label they
    select, the backend's ScrapeConfig by its job."""
    apps = {
        sm["spec"]["selector"]["matchLabels"]["app.kubernetes.io/name"]
        for sm in of_kind(stack, "ServiceMonitor")
    }
    for scrape in of_kind(stack, "ScrapeConfig"):
        apps |= {static["labels"]["job"] for static in scrape["spec"]["staticConfigs"]}
    return apps


def rendered_queries(stack) -> list[str]:
    """Every expression the stack gives Prometheus and Grafana: the PrometheusRule's alerts
    and the dashboard ConfigMaps' targets."""
    rule = named(stack, "PrometheusRule", "spy-platform")
    exprs = [r["expr"] for group in rule["spec"]["groups"] for r in group["rules"]]
    for cm in of_kind(stack, "ConfigMap"):
        if cm["metadata"]["name"].startswith("dashboard-"):
            (text,) = cm["data"].values()
            exprs += [t["expr"] for p in json.loads(text)["panels"] for t in p["targets"]]
    return exprs


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


def test_each_app_serves_its_contract_names_with_their_types():
    """The contract holds: every name in EXPORTED_BY is in that app's registry with the
    contract's type, unless pending; a pending name is not served yet (else it is stale)."""
    families, kinds = served(), contract_kinds()
    assert set(kinds) == {n for names in metric_names.EXPORTED_BY.values() for n in names}
    for app, names in metric_names.EXPORTED_BY.items():
        for name in names:
            if name in metric_names.PENDING:
                assert name not in families[app], f"{name} is served by {app}: not pending"
            else:
                assert families[app].get(name) == kinds[name], (app, name)


@pytest.mark.parametrize("expr", all_queries())
def test_every_query_parses_and_names_metrics(expr):
    assert metric_names_in(expr), expr


def test_every_alert_and_dashboard_metric_is_served_by_a_scraped_app(stack):
    """What the rendered rules and dashboards read is served by an app one of the stack's
    scrape jobs targets (or a chart exporter, or a contract name still pending)."""
    apps = scraped_apps(stack)
    assert apps == set(metric_names.EXPORTED_BY)
    families = served()
    pending = {n: k for n, k in contract_kinds().items() if n in metric_names.PENDING}
    allowed = set().union(*(series(families[app]) for app in apps)) | series(pending) | EXPORTERS
    queries = rendered_queries(stack)
    assert len(queries) == len(all_queries())
    for expr in queries:
        unknown = metric_names_in(expr) - allowed
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
