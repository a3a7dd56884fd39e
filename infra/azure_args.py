"""The arguments every Azure component takes: where its resources go and how they are named."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pulumi

from infra.naming import Naming


@dataclass(frozen=True)
class AzureComponentArgs:
    """Base of each Azure component's args: its resource group, region and naming helper."""

    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming

    def placement(self) -> dict[str, Any]:
        """`resource_group_name` and `location` keyword arguments of an azure-native resource."""
        return {"resource_group_name": self.resource_group_name, "location": self.location}
