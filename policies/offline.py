"""Run the pack's pulumi-policy policies on a mock-evaluated stack, without the Pulumi CLI.

Each resource the program registered under mocks (type, name, camelCase inputs) is given to
every policy as the engine's analyzer would: inputs deserialized like the engine's (secrets
unwrapped) behind pulumi-policy's unknown-checking proxy, in `ResourceValidationArgs`, then
all of them at once in `StackValidationArgs`. What the real engine adds and this does not:
unknown values during preview, provider and resource options, and parent URNs.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from inspect import isawaitable
from typing import Any

from pulumi_policy import (
    PolicyCustomTimeouts,
    PolicyResource,
    PolicyResourceOptions,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
)
from pulumi_policy.deserialize import deserialize_properties
from pulumi_policy.policy import Policy
from pulumi_policy.proxy import unknown_checking_proxy

from policies.model import Level, Violation
from policies.pack import CANNOT_VERIFY, CANNOT_VERIFY_STACK, policies

_RULE_PREFIX = re.compile(r"^\[(?P<rule>[\w-]+)\] (?P<rest>.*)$", re.DOTALL)
_OPTIONS = PolicyResourceOptions(False, [], None, [], PolicyCustomTimeouts(0, 0, 0), [])


def urn(stack: str, project: str, type_token: str, name: str) -> str:
    return f"urn:pulumi:{stack}::{project}::{type_token}::{name}"


def check(
    stack: str,
    project: str,
    resources: list[tuple[str, str, Mapping[str, Any]]],
    config: Mapping[str, Mapping[str, Any]] | None = None,
) -> list[Violation]:
    """Violations of the pack over (type token, name, engine inputs) triples."""
    config = config or {}
    found: list[Violation] = []
    views = []
    for type_token, name, inputs in resources:
        props = unknown_checking_proxy(deserialize_properties(dict(inputs)))
        views.append((type_token, name, props, urn(stack, project, type_token, name)))
    for policy in policies():
        policy_config = config.get(policy.name)
        if isinstance(policy, ResourceValidationPolicy):
            for type_token, name, props, resource_urn in views:
                args = ResourceValidationArgs(
                    type_token, props, resource_urn, name, _OPTIONS, None, policy_config
                )
                _await(policy.validate(args, _collector(policy, found, f"{type_token}::{name}")))
        else:
            stack_resources = [
                PolicyResource(t, p, u, n, _OPTIONS, None, None, [], {}) for t, n, p, u in views
            ]
            args = StackValidationArgs(stack_resources, policy_config)
            _await(policy.validate(args, _collector(policy, found, "")))
    return found


def _collector(policy: Policy, found: list[Violation], label: str) -> ReportViolation:
    """A `report_violation` turning the pack's messages back into violations: "cannot verify"
    messages name their rule first, stack policies' messages name the resource first."""
    unverified = policy.name in (CANNOT_VERIFY, CANNOT_VERIFY_STACK)

    def report(message: str, _urn: str | None = None) -> None:
        rule, resource, text = policy.name, label, message
        if unverified and (match := _RULE_PREFIX.match(message)):
            rule, text = match["rule"], match["rest"]
        if not resource:
            resource, _, text = text.partition(": ")
        level = Level(policy.enforcement_level.value)
        found.append(Violation(rule, level, resource, text, not unverified))

    return report


def _await(result: Any) -> None:
    if isawaitable(result):
        raise TypeError("the pack's validators are synchronous")
