"""The Azure end of the cluster's log shipping: a custom Log Analytics table, a Data Collection
Endpoint and a Data Collection Rule for the Logs Ingestion API, and the one permission the
on-prem Fluent Bit gets: Monitoring Metrics Publisher on that rule only.

Fluent Bit (out_azure_logs_ingestion) posts to
`{dce}/dataCollectionRules/{dcr immutable id}/streams/Custom-{table}`, so the DCR's stream is
named `Custom-<table>` exactly, and its columns are the records Fluent Bit sends.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, monitor, operationalinsights

from infra.azure_args import AzureComponentArgs
from infra.roles import grant

MONITORING_METRICS_PUBLISHER = "3913510d-42f4-4e42-8a64-420c390055eb"
TABLE = "SpyContainerLogs_CL"
STREAM = f"Custom-{TABLE}"
COLUMNS = (
    ("TimeGenerated", "datetime"),
    ("log", "string"),
    ("stream", "string"),
    ("k8s_namespace_name", "string"),
    ("k8s_pod_name", "string"),
    ("k8s_container_name", "string"),
    ("k8s_host", "string"),
)
"""The record Fluent Bit sends (infra/k3s/logs.py shapes it) and the table stores."""
_TABLE_TYPES = {"datetime": "dateTime", "string": "string"}


@dataclass(frozen=True)
class LogIngestionArgs(AzureComponentArgs):
    workspace_id: pulumi.Input[str]
    workspace_name: pulumi.Input[str]
    retention_days: int
    publisher_object_id: str  # the service principal Fluent Bit signs in as
    subscription_id: pulumi.Input[str]


class LogIngestion(pulumi.ComponentResource):
    endpoint: pulumi.Output[str]  # the DCE's logs ingestion URL
    rule_immutable_id: pulumi.Output[str]  # `dcr-…`, what Fluent Bit names the rule by

    def __init__(
        self, name: str, args: LogIngestionArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:logs:LogIngestion", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        table = operationalinsights.Table(
            args.naming.name("container-logs"),
            resource_group_name=args.resource_group_name,
            workspace_name=args.workspace_name,
            table_name=TABLE,
            plan=operationalinsights.TablePlanEnum.ANALYTICS,
            retention_in_days=args.retention_days,
            schema=operationalinsights.SchemaArgs(
                name=TABLE,
                columns=[
                    operationalinsights.ColumnArgs(name=n, type=_TABLE_TYPES[t]) for n, t in COLUMNS
                ],
            ),
            opts=child,
        )
        endpoint = monitor.DataCollectionEndpoint(
            args.naming.name("dce"),
            network_acls=monitor.DataCollectionEndpointNetworkAclsArgs(
                public_network_access="Enabled"
            ),
            opts=child,
            **args.placement(),
        )
        rule = monitor.DataCollectionRule(
            args.naming.name("dcr-k3s-logs"),
            description="k3s container logs from the on-prem Fluent Bit",
            data_collection_endpoint_id=endpoint.id,
            stream_declarations={
                STREAM: monitor.StreamDeclarationArgs(
                    columns=[monitor.ColumnDefinitionArgs(name=n, type=t) for n, t in COLUMNS]
                )
            },
            destinations=monitor.DataCollectionRuleDestinationsArgs(
                log_analytics=[
                    monitor.LogAnalyticsDestinationArgs(
                        name="workspace", workspace_resource_id=args.workspace_id
                    )
                ]
            ),
            data_flows=[
                monitor.DataFlowArgs(
                    streams=[STREAM],
                    destinations=["workspace"],
                    transform_kql="source",
                    output_stream=STREAM,
                )
            ],
            opts=pulumi.ResourceOptions(parent=self, depends_on=[table]),
            **args.placement(),
        )
        grant(
            "k3s-logs-publisher",
            role=MONITORING_METRICS_PUBLISHER,
            scope=rule.id,
            principal_id=args.publisher_object_id,
            subscription_id=args.subscription_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            parent=self,
        )
        self.endpoint = endpoint.logs_ingestion.apply(lambda e: e.endpoint if e else "")
        self.rule_immutable_id = rule.immutable_id
        self.register_outputs(
            {"endpoint": self.endpoint, "rule_immutable_id": self.rule_immutable_id}
        )
