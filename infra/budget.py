"""Cost alerts: a monthly consumption budget on the resource group, e-mailed at 80/90/100%
of actual spend and at 100% of Azure's forecast, and routed to the operations action group
when there is one."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import consumption

from infra.naming import Naming

THRESHOLDS = (80, 90, 100)
FORECAST_THRESHOLDS = (100,)


@dataclass(frozen=True)
class CostAlertsArgs:
    naming: Naming
    scope: pulumi.Input[str]
    monthly_usd: float
    alert_emails: tuple[str, ...]
    start_date: dt.date
    action_group_id: pulumi.Input[str] | None = None


class CostAlerts(pulumi.ComponentResource):
    budget: consumption.Budget

    def __init__(self, name: str, args: CostAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:cost:CostAlerts", name, None, opts)
        groups = [args.action_group_id] if args.action_group_id is not None else None
        notifications = {
            f"{kind.value.lower()}-{pct}": consumption.NotificationArgs(
                enabled=True,
                operator=consumption.OperatorType.GREATER_THAN_OR_EQUAL_TO,
                threshold=pct,
                threshold_type=kind,
                contact_emails=list(args.alert_emails),
                contact_groups=groups,
            )
            for kind, thresholds in (
                (consumption.ThresholdType.ACTUAL, THRESHOLDS),
                (consumption.ThresholdType.FORECASTED, FORECAST_THRESHOLDS),
            )
            for pct in thresholds
        }
        self.budget = consumption.Budget(
            args.naming.name("budget"),
            scope=args.scope,
            amount=args.monthly_usd,
            category=consumption.CategoryType.COST,
            time_grain=consumption.TimeGrainType.MONTHLY,
            time_period=consumption.BudgetTimePeriodArgs(
                start_date=f"{args.start_date.isoformat()}T00:00:00Z"
            ),
            notifications=notifications,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.register_outputs({"budget_id": self.budget.id})
