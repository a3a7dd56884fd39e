"""The cost rule: the stack has a budget, and the estimated monthly cost stays within it.

The estimate is the project's cost model (`stacks.cost`) over the stack's validated config,
read from `Pulumi.<stack>.yaml` (the stack's name is in every resource URN), unless the
policy config gives `estimatedMonthlyUsd` (the offline runner passes the evaluated one).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.model import Finding, Level, Resource, StackRule, fail, lookup, unverifiable

BUDGET = "azure-native:consumption:Budget"


def estimated_monthly_usd(stack: str) -> float:
    from stacks.cost import estimate, total
    from stacks.offline import read_stack_config

    return total(estimate(read_stack_config(stack)))


def _budget_covers_cost(
    resources: Sequence[Resource], config: Mapping[str, Any]
) -> Iterator[Finding]:
    budgets = [r for r in resources if r.type_token == BUDGET]
    if not budgets:
        yield fail(f"the stack declares no {BUDGET}")
        return
    stack = resources[0].stack
    try:
        cost = float(config.get("estimatedMonthlyUsd") or estimated_monthly_usd(stack))
    except (OSError, ValueError) as exc:
        yield unverifiable("the stack's cost estimate", f"unavailable: {exc}", budgets[0])
        return
    amounts = []
    for budget in budgets:
        amount = lookup(budget.props, "amount")
        if isinstance(amount, (int, float)) and not isinstance(amount, bool):
            amounts.append((float(amount), budget))
        else:
            yield unverifiable("amount", amount, budget)
    if amounts:
        amount, budget = max(amounts, key=lambda pair: pair[0])
        if amount < cost:
            yield fail(
                f"budget ${amount:g}/month is below the estimated monthly cost ${cost:.2f}",
                budget,
            )


RULES: tuple[StackRule, ...] = (
    StackRule(
        "budget-covers-cost",
        Level.MANDATORY,
        "The stack has a budget and its estimated monthly cost stays within it",
        "an estimate above the budget means the alerts fire every month and are ignored",
        "raise budget.monthlyUsd or choose cheaper SKUs (spy-platform preview shows the lines)",
        _budget_covers_cost,
    ),
)
