"""The arguments every Azure component takes: where its resources go and how they are named."""

from __future__ import annotations

from dataclasses import dataclass, replace
from typing import Any

import pulumi

from infra.naming import Naming


@dataclass(frozen=True)
class AzurePlacement:
    """A resource group, a region and the naming helper: built once by the composition."""

    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming

    def in_region(self, location: str) -> AzurePlacement:
        """The same group and names in another region (a service offered in a few only)."""
        return replace(self, location=location)


@dataclass(frozen=True)
class AzureComponentArgs:
    """Base of each Azure component's args: its placement first, then its own fields."""

    where: AzurePlacement

    @property
    def resource_group_name(self) -> pulumi.Input[str]:
        return self.where.resource_group_name

    @property
    def location(self) -> str:
        return self.where.location

    @property
    def naming(self) -> Naming:
        return self.where.naming

    def placement(self) -> dict[str, Any]:
        """`resource_group_name` and `location` keyword arguments of an azure-native resource."""
        return {"resource_group_name": self.resource_group_name, "location": self.location}
