"""Logical resource names from one helper, so every stack names things the same way.

azure-native auto-names each resource from its logical name plus a random suffix, which keeps
globally unique names (Key Vault, storage, registry, web app) free of collisions between stacks.
"""

from __future__ import annotations

import re
from dataclasses import dataclass


@dataclass(frozen=True)
class Naming:
    project: str
    environment: str

    def name(self, kind: str) -> str:
        """`spy-dev-vnet`: for resources whose names allow hyphens."""
        return f"{self.project}-{self.environment}-{kind}"

    def compact(self, kind: str) -> str:
        """`spydevacr`: for storage accounts and registries (lowercase letters and digits)."""
        return re.sub(r"[^a-z0-9]", "", f"{self.project}{self.environment}{kind}".lower())
