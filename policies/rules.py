"""Every rule of the pack, in one place: Azure, Kubernetes and the stack-wide ones."""

from __future__ import annotations

from policies import azure_rules, cost_rules, kubernetes_rules
from policies.model import ResourceRule, StackRule

RESOURCE_RULES: tuple[ResourceRule, ...] = (*azure_rules.RULES, *kubernetes_rules.RULES)
STACK_RULES: tuple[StackRule, ...] = (*cost_rules.RULES, *kubernetes_rules.STACK_RULES)
