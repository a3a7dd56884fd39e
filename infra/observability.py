"""Telemetry: a Log Analytics workspace and a workspace-based Application Insights.

Retention and the daily ingestion cap come from the stack; the cap bounds the bill (the cost
model prices ingestion at the cap, the worst case).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import applicationinsights, operationalinsights

from infra.azure_args import AzureComponentArgs


@dataclass(frozen=True)
class ObservabilityArgs(AzureComponentArgs):
    retention_days: int
    daily_cap_gb: float


class Observability(pulumi.ComponentResource):
    workspace: operationalinsights.Workspace
    app_insights: applicationinsights.Component

    def __init__(
        self, name: str, args: ObservabilityArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:observability:Observability", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.workspace = operationalinsights.Workspace(
            args.naming.name("logs"),
            sku=operationalinsights.WorkspaceSkuArgs(
                name=operationalinsights.WorkspaceSkuNameEnum.PER_GB2018
            ),
            retention_in_days=args.retention_days,
            workspace_capping=operationalinsights.WorkspaceCappingArgs(
                daily_quota_gb=args.daily_cap_gb
            ),
            opts=child,
            **args.placement(),
        )
        self.app_insights = applicationinsights.Component(
            args.naming.name("appi"),
            kind="web",
            application_type=applicationinsights.ApplicationType.WEB,
            ingestion_mode=applicationinsights.IngestionMode.LOG_ANALYTICS,
            workspace_resource_id=self.workspace.id,
            retention_in_days=args.retention_days,
            opts=child,
            **args.placement(),
        )
        self.connection_string = pulumi.Output.secret(self.app_insights.connection_string)
        self.register_outputs(
            {"workspace_id": self.workspace.id, "app_insights_id": self.app_insights.id}
        )
