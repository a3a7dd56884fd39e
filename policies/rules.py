"""Every rule of the pack, in one place: Azure, Kubernetes and the stack-wide ones."""

from __future__ import annotations

from policies import azure, cost, kubernetes
from policies.model import ResourceRule, StackRule

RESOURCE_RULES: tuple[ResourceRule, ...] = (*azure.RULES, *kubernetes.RULES)
STACK_RULES: tuple[StackRule, ...] = (*cost.RULES, *kubernetes.STACK_RULES)
