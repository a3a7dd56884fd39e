"""Operations as declared (issue 16): every alert rule has a runbook line and a receiver, the
availability test covers /health from several regions, the workbook parses, dev and prod page
different people, and the budget routes to the same action group."""

from __future__ import annotations

import json

import pytest

from stacks.offline import MOCK_SUBSCRIPTION
from stacks.operations import log_rules, signalr_daily_quota
from tests.infra.conftest import STACKS, evaluated

ALERT_TYPES = ("azure-native:monitor:MetricAlert", "azure-native:monitor:ScheduledQueryRule")


def mock_id(resource) -> str:
    return f"/subscriptions/{MOCK_SUBSCRIPTION}/mock/{resource.type_token}/{resource.name}"


@pytest.mark.parametrize("stack_name", STACKS)
def test_every_alert_has_a_runbook_and_routes_to_the_action_group(stack_name):
    stack = evaluated(stack_name)
    (group,) = stack.of_type("azure-native:monitor:ActionGroup")
    alerts = [r for t in ALERT_TYPES for r in stack.of_type(t)]
    assert len(alerts) == 7
    for alert in alerts:
        assert "Runbook:" in alert.inputs["description"], alert.name
        actions = alert.inputs["actions"]
        routed = (
            [a["actionGroupId"] for a in actions]
            if isinstance(actions, list)
            else actions["actionGroups"]
        )
        assert routed == [mock_id(group)], alert.name


def test_dev_and_prod_page_different_people():
    dev, prod = (evaluated(s).of_type("azure-native:monitor:ActionGroup")[0] for s in STACKS)
    assert not dev.inputs.get("webhookReceivers")
    assert [w["serviceUri"] for w in prod.inputs["webhookReceivers"]] == [
        "https://pager.example.com/hooks/spy-prod"
    ]
    assert {e["emailAddress"] for e in prod.inputs["emailReceivers"]} != {
        e["emailAddress"] for e in dev.inputs["emailReceivers"]
    }


@pytest.mark.parametrize("stack_name", STACKS)
def test_availability_test_and_its_two_location_alert(stack_name):
    stack = evaluated(stack_name)
    (test,) = stack.of_type("azure-native:applicationinsights:WebTest")
    (component,) = stack.of_type("azure-native:applicationinsights:Component")
    assert test.inputs["kind"] == test.inputs["webTestKind"] == "standard"
    assert test.inputs["request"]["requestUrl"].endswith(".azurewebsites.net/health")
    assert len(test.inputs["locations"]) >= 2
    assert test.inputs["tags"][f"hidden-link:{mock_id(component)}"] == "Resource"
    (alert,) = [
        a
        for a in stack.of_type("azure-native:monitor:MetricAlert")
        if a.name.endswith("availability")
    ]
    criteria = alert.inputs["criteria"]
    assert criteria["odataType"] == "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"
    assert criteria["failedLocationCount"] == 2
    assert alert.inputs["enabled"] == test.inputs["enabled"] == (stack_name == "prod")


@pytest.mark.parametrize("stack_name", STACKS)
def test_metric_alerts_use_the_platform_metric_names(stack_name):
    stack = evaluated(stack_name)
    seen = {}
    for alert in stack.of_type("azure-native:monitor:MetricAlert"):
        for criterion in alert.inputs["criteria"].get("allOf", []):
            seen[criterion["metricNamespace"]] = criterion["metricName"]
    assert seen == {
        "Microsoft.SignalRService/SignalR": "MessageCount",
        "Microsoft.Storage/storageAccounts": "Transactions",
        "Microsoft.KeyVault/vaults": "ServiceApiResult",
    }
    (signalr,) = [
        a for a in stack.of_type("azure-native:monitor:MetricAlert") if "signalr" in a.name
    ]
    threshold = signalr.inputs["criteria"]["allOf"][0]["threshold"]
    assert threshold == 0.8 * signalr_daily_quota(stack.config)
    assert signalr.inputs["windowSize"] == "P1D"


@pytest.mark.parametrize("stack_name", STACKS)
def test_log_alerts_query_app_insights_on_the_stacks_schedule(stack_name):
    stack = evaluated(stack_name)
    every = stack.config.operations.log_alert_frequency_minutes
    rules = stack.of_type("azure-native:monitor:ScheduledQueryRule")
    assert {r.name.rsplit("alert-", 1)[1] for r in rules} == {
        r.key for r in log_rules(stack.config)
    }
    for rule in rules:
        assert rule.inputs["evaluationFrequency"] == f"PT{every}M"
        (condition,) = rule.inputs["criteria"]["allOf"]
        assert condition["metricMeasureColumn"] == "value"
        assert "value" in condition["query"]


@pytest.mark.parametrize("stack_name", STACKS)
def test_workbook_is_notebook_json_bound_to_app_insights(stack_name):
    stack = evaluated(stack_name)
    (book,) = stack.of_type("azure-native:applicationinsights:Workbook")
    (component,) = stack.of_type("azure-native:applicationinsights:Component")
    data = json.loads(book.inputs["serializedData"])
    assert data["version"] == "Notebook/1.0"
    assert data["fallbackResourceIds"] == [mock_id(component)] == [book.inputs["sourceId"]]
    panels = {item["name"] for item in data["items"] if item["type"] == 3}
    assert panels == {"anomalies", "ingest-lag", "hub", "requests", "traces", "trading"}
    assert len(book.inputs["resourceName"]) == 36  # a GUID, as Azure requires
