"""The data plane's switches and validation: bad settings and missing secrets are rejected
with a plain message before any resource exists; disabled, nothing on-prem is declared;
costs; the session scaler's calendar decision."""

from __future__ import annotations

import copy
from datetime import date

import pytest

from stacks.cost import estimate
from stacks.offline import PlatformMocks, evaluate, read_stack_file
from stacks.stack_config import StackConfigError
from tests.infra.conftest import evaluated

P = "spy-platform:"
SET = {"secure": "v1:AAAA"}


def _reject(settings, stack="dev", *, fill=True) -> str:
    mocks = PlatformMocks()
    with pytest.raises(StackConfigError) as caught:
        evaluate(stack, settings, fill_missing_secrets=fill, mocks=mocks)
    assert not [r for r in mocks.resources if r.custom], "a resource was declared"
    return str(caught.value)


def test_missing_kubeconfig_names_the_command(dev_settings):
    dev_settings[P + "ibGatewayPassword"] = SET
    dev_settings[P + "logsClientSecret"] = SET
    message = _reject(dev_settings, fill=False)
    assert "spy-platform:kubeconfig" in message
    assert "pulumi config set --secret kubeconfig --stack dev" in message
    assert "logsClientSecret" not in message


def test_ib_gateway_needs_the_ib_login():
    settings = copy.deepcopy(read_stack_file("prod"))
    settings[P + "kubeconfig"] = SET
    settings[P + "logsClientSecret"] = SET
    message = _reject(settings, "prod", fill=False)
    assert "ibGatewayPassword" in message
    assert "pulumi config set --secret ibGatewayPassword --stack prod" in message


@pytest.mark.parametrize(
    ("change", "says"),
    [
        ({"gateway": "tws"}, "dataPlane.gateway"),
        ({"kubernetesVersion": "1.12"}, "dataPlane.kubernetesVersion"),
        ({"logs": None}, "dataPlane.logs is required"),
        ({"storageClass": "Local Path"}, "storage class"),
        ({"alertWebhookUrl": "mailto:x"}, "dataPlane.alertWebhookUrl"),
        ({"scaleUpMinutesBeforeOpen": 5}, "dataPlane.scaleUpMinutesBeforeOpen"),
    ],
)
def test_bad_data_plane_setting_is_rejected(dev_settings, change, says):
    dev_settings[P + "dataPlane"].update(change)
    assert says in _reject(dev_settings)


def test_log_estimate_must_fit_the_workspace_cap(dev_settings):
    dev_settings[P + "dataPlane"]["logs"]["estimatedGbPerDay"] = 0.5
    assert "exceeds observability.dailyCapGb 0.15" in _reject(dev_settings)


def test_disabled_declares_nothing_on_prem(dev_settings):
    dev_settings[P + "dataPlane"]["enabled"] = False
    dev_settings[P + "ibGatewayPassword"] = SET
    result = evaluate("dev", dev_settings, fill_missing_secrets=False)
    tokens = {r.type_token for r in result.resources}
    assert not [t for t in tokens if "kubernetes" in t or t.startswith(("spy:k3s", "spy:logs"))]
    assert "grafanaAdminPassword" not in result.outputs
    assert not [line for line in estimate(result.config) if "k3s" in line.item]


def test_both_stacks_enable_it_dev_simulator_prod_ib():
    assert evaluated("dev").config.data_plane.gateway == "simulator"
    assert evaluated("prod").config.data_plane.gateway == "ib"
    for name in ("dev", "prod"):
        stack = evaluated(name)
        assert stack.config.data_plane.enabled
        assert "grafanaAdminPassword" in stack.secret_outputs
        (provider,) = stack.of_type("pulumi:providers:kubernetes")
        assert provider.inputs["enableServerSideApply"] == "true"


def test_log_ingestion_grants_only_the_publisher_role_on_the_rule(stack):
    from infra.log_ingestion import MONITORING_METRICS_PUBLISHER, STREAM, TABLE

    (rule,) = stack.of_type("azure-native:monitor:DataCollectionRule")
    assert set(rule.inputs["streamDeclarations"]) == {STREAM}
    (flow,) = rule.inputs["dataFlows"]
    assert flow["outputStream"] == STREAM and flow["streams"] == [STREAM]
    (table,) = stack.of_type("azure-native:operationalinsights:Table")
    assert table.inputs["tableName"] == TABLE
    (grant,) = [r for r in stack.resources if r.name == "k3s-logs-publisher"]
    assert grant.inputs["roleDefinitionId"].endswith(MONITORING_METRICS_PUBLISHER)
    assert "DataCollectionRule" in grant.inputs["scope"]
    assert grant.inputs["principalId"] == stack.config.data_plane.logs.principal_object_id


def test_fluent_bit_buffers_on_disk_within_the_bound(stack):
    from tests.infra.k3s_objects import named

    conf = named(stack, "ConfigMap", "fluent-bit")["data"]["fluent-bit.conf"]
    limit = stack.config.data_plane.logs.buffer_limit_mb
    assert f"storage.total_limit_size {limit}M" in conf
    assert "storage.type      filesystem" in conf and "Retry_Limit              no_limits" in conf
    assert "table_name               SpyContainerLogs_CL" in conf


def test_log_ingestion_is_priced_from_the_table():
    from infra import prices

    (line,) = [x for x in estimate(evaluated("prod").config) if "k3s" in x.item]
    assert line.monthly_usd == pytest.approx(0.2 * prices.DAYS_PER_MONTH * 2.99)


@pytest.mark.parametrize(
    ("day", "replicas"),
    [
        (date(2026, 12, 25), 0),  # Christmas
        (date(2026, 11, 28), 0),  # a Saturday
        (date(2026, 11, 26), 0),  # Thanksgiving
        (date(2026, 11, 27), 2),  # the early close after it is a session
        (date(2026, 11, 30), 2),
    ],
)
def test_session_scale_asks_the_exchange_calendar(day, replicas):
    from spy_platform.session_scale_command import Target, plan

    ((_, count),) = plan([Target("deployment", "trader", 2)], day)
    assert count == replicas


def test_session_scale_dry_run(capsys):
    from spy_platform.cli import main

    args = ["session-scale", "--namespace", "spy", "--day", "2026-12-25", "--dry-run"]
    assert main([*args, "deployment/trader=2", "statefulset/gateway=1"]) == 0
    assert "statefulset/gateway -> 0" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["session-scale", "--namespace", "spy", "pod/x=1"])
