"""The Pulumi program: read the stack's settings, build the platform, export its outputs."""

from __future__ import annotations

import pulumi

from stacks.platform import Platform, build_platform
from stacks.pulumi_config import read_pulumi_config
from stacks.stack_config import PROJECT


def main() -> Platform:
    settings, secrets = read_pulumi_config(pulumi.Config(PROJECT), pulumi.get_stack())
    platform = build_platform(settings, secrets)
    for name, value in platform.exports.items():
        pulumi.export(name, value)
    return platform
