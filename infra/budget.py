"""Cost alerts: a monthly consumption budget on the resource group, e-mailed at 80/90/100%."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import consumption

from infra.naming import Naming

THRESHOLDS = (80, 90, 100)


@dataclass(frozen=True)
class CostAlertsArgs:
    naming: Naming
    scope: pulumi.Input[str]
    monthly_usd: float
    alert_emails: tuple[str, ...]
    start_date: dt.date


class CostAlerts(pulumi.ComponentResource):
    budget: consumption.Budget

    def __init__(self, name: str, args: CostAlertsArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:cost:CostAlerts", name, None, opts)
        notifications = {
            f"actual-{pct}": consumption.NotificationArgs(
                enabled=True,
                operator=consumption.OperatorType.GREATER_THAN_OR_EQUAL_TO,
                threshold=pct,
                threshold_type=consumption.ThresholdType.ACTUAL,
                contact_emails=list(args.alert_emails),
            )
            for pct in THRESHOLDS
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
