"""Operations: who gets paged (an action group), an outside-in availability test of the
backend, the alert rules (metric alerts and scheduled log queries) and the Portal workbook.

The component is generic: the rules, their queries and the workbook's JSON are data built by
the composition (`stacks/operations.py`), which also prices them (`stacks/cost.py`). Every
rule routes to the one action group and carries its runbook line as its description.
"""

from __future__ import annotations

import math
import uuid
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, monitor

from infra.azure_args import AzureComponentArgs

WEBTEST_CRITERIA = "Microsoft.Azure.Monitor.WebtestLocationAvailabilityCriteria"
SINGLE_RESOURCE_CRITERIA = "Microsoft.Azure.Monitor.SingleResourceMultipleMetricCriteria"


@dataclass(frozen=True)
class Receivers:
    emails: tuple[str, ...]
    webhooks: tuple[tuple[str, str], ...]
    """(name, https URI) pairs."""


@dataclass(frozen=True)
class AvailabilityTest:
    url: pulumi.Input[str]
    locations: tuple[str, ...]
    frequency_seconds: int
    failed_locations: int
    enabled: bool
    runbook: str


@dataclass(frozen=True)
class MetricRule:
    """A static-threshold metric alert on one resource; `dimensions` are (name, values)
    filters, each value one monitored time series (what Azure bills)."""

    key: str
    runbook: str
    scope: pulumi.Input[str]
    namespace: str
    metric: str
    aggregation: str
    operator: str
    threshold: float
    window: str
    frequency: str
    severity: int
    dimensions: tuple[tuple[str, tuple[str, ...]], ...] = ()

    @property
    def series(self) -> int:
        """Monitored time series: one per combination of the filtered dimension values."""
        return math.prod(len(values) for _, values in self.dimensions)


@dataclass(frozen=True)
class LogRule:
    """A scheduled KQL query over Application Insights; fires when its `value` column,
    aggregated, crosses the threshold."""

    key: str
    runbook: str
    query: str
    operator: str
    threshold: float
    window_minutes: int
    frequency_minutes: int
    severity: int
    aggregation: str = "Maximum"


@dataclass(frozen=True)
class OperationsArgs(AzureComponentArgs):
    app_insights_id: pulumi.Input[str]
    receivers: Receivers
    availability: AvailabilityTest
    metric_rules: tuple[MetricRule, ...]
    log_rules: tuple[LogRule, ...]
    workbook_name: str
    workbook_json: pulumi.Input[str]


def _minutes(value: int) -> str:
    return f"PT{value}M" if value < 60 else f"PT{value // 60}H"


class Operations(pulumi.ComponentResource):
    action_group: monitor.ActionGroup

    def __init__(self, name: str, args: OperationsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:operations:Operations", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        naming, group = args.naming, args.resource_group_name
        self.action_group = monitor.ActionGroup(
            naming.name("ag"),
            resource_group_name=group,
            location="global",
            group_short_name=f"spy{naming.environment}"[:12],
            enabled=True,
            email_receivers=[
                monitor.MicrosoftCommonEmailReceiverArgs(
                    name=f"email-{i}", email_address=address, use_common_alert_schema=True
                )
                for i, address in enumerate(args.receivers.emails)
            ],
            webhook_receivers=[
                monitor.WebhookReceiverArgs(
                    name=hook, service_uri=uri, use_common_alert_schema=True
                )
                for hook, uri in args.receivers.webhooks
            ],
            opts=child,
        )
        route = [monitor.MetricAlertActionArgs(action_group_id=self.action_group.id)]

        test = args.availability
        self.web_test = applicationinsights.WebTest(
            naming.name("health-test"),
            kind=applicationinsights.WebTestKind.STANDARD,
            web_test_kind=applicationinsights.WebTestKind.STANDARD,
            synthetic_monitor_id=naming.name("health-test"),
            web_test_name=naming.name("health-test"),
            description="GET /health of the backend from several regions",
            enabled=test.enabled,
            frequency=test.frequency_seconds,
            timeout=30,
            retry_enabled=True,
            locations=[
                applicationinsights.WebTestGeolocationArgs(location=loc) for loc in test.locations
            ],
            request=applicationinsights.WebTestPropertiesRequestArgs(
                request_url=test.url, http_verb="GET", follow_redirects=False
            ),
            validation_rules=applicationinsights.WebTestPropertiesValidationRulesArgs(
                expected_http_status_code=200, s_sl_check=True, s_sl_cert_remaining_lifetime_check=7
            ),
            # The Portal lists a test under its Application Insights only with this tag.
            tags=pulumi.Output.from_input(args.app_insights_id).apply(
                lambda component: {f"hidden-link:{component}": "Resource"}
            ),
            opts=child,
            **args.placement(),
        )
        monitor.MetricAlert(
            naming.name("alert-availability"),
            resource_group_name=group,
            location="global",
            description=test.runbook,
            severity=1,
            enabled=test.enabled,
            scopes=[self.web_test.id, args.app_insights_id],
            evaluation_frequency="PT1M",
            # Each location reports once per test period: the window must span one.
            window_size="PT5M" if test.frequency_seconds <= 300 else "PT15M",
            criteria=monitor.WebtestLocationAvailabilityCriteriaArgs(
                odata_type=WEBTEST_CRITERIA,
                web_test_id=self.web_test.id,
                component_id=args.app_insights_id,
                failed_location_count=test.failed_locations,
            ),
            actions=route,
            opts=child,
        )
        for rule in args.metric_rules:
            monitor.MetricAlert(
                naming.name(f"alert-{rule.key}"),
                resource_group_name=group,
                location="global",
                description=rule.runbook,
                severity=rule.severity,
                enabled=True,
                auto_mitigate=True,
                scopes=[rule.scope],
                evaluation_frequency=rule.frequency,
                window_size=rule.window,
                criteria=monitor.MetricAlertSingleResourceMultipleMetricCriteriaArgs(
                    odata_type=SINGLE_RESOURCE_CRITERIA,
                    all_of=[
                        monitor.MetricCriteriaArgs(
                            criterion_type="StaticThresholdCriterion",
                            name=rule.key,
                            metric_namespace=rule.namespace,
                            metric_name=rule.metric,
                            time_aggregation=rule.aggregation,
                            operator=rule.operator,
                            threshold=rule.threshold,
                            dimensions=[
                                monitor.MetricDimensionArgs(
                                    name=dim, operator="Include", values=list(values)
                                )
                                for dim, values in rule.dimensions
                            ],
                        )
                    ],
                ),
                actions=route,
                opts=child,
            )
        for rule in args.log_rules:
            monitor.ScheduledQueryRule(
                naming.name(f"alert-{rule.key}"),
                kind=monitor.Kind.LOG_ALERT,
                description=rule.runbook,
                display_name=naming.name(f"alert-{rule.key}"),
                severity=rule.severity,
                enabled=True,
                auto_mitigate=True,
                scopes=[args.app_insights_id],
                evaluation_frequency=_minutes(rule.frequency_minutes),
                window_size=_minutes(rule.window_minutes),
                criteria=monitor.ScheduledQueryRuleCriteriaArgs(
                    all_of=[
                        monitor.ConditionArgs(
                            query=rule.query,
                            time_aggregation=rule.aggregation,
                            metric_measure_column="value",
                            operator=rule.operator,
                            threshold=rule.threshold,
                            failing_periods=monitor.ConditionFailingPeriodsArgs(
                                number_of_evaluation_periods=1, min_failing_periods_to_alert=1
                            ),
                        )
                    ]
                ),
                actions=monitor.ActionsArgs(action_groups=[self.action_group.id]),
                opts=child,
                **args.placement(),
            )
        self.workbook = applicationinsights.Workbook(
            naming.name("workbook"),
            # A workbook's resource name must be a GUID: a stable one per stack.
            resource_name_=str(uuid.uuid5(uuid.NAMESPACE_URL, naming.name("workbook"))),
            kind="shared",
            category="workbook",
            display_name=args.workbook_name,
            serialized_data=args.workbook_json,
            source_id=args.app_insights_id,
            version="Notebook/1.0",
            opts=child,
            **args.placement(),
        )
        self.register_outputs(
            {"action_group_id": self.action_group.id, "web_test_id": self.web_test.id}
        )
