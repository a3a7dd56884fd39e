"""The rules as pulumi-policy policies: what `pulumi preview --policy-pack policies` runs
(`policies/__main__.py` serves them) and what `spy-platform policy` runs offline.

Each rule is one policy at the rule's enforcement level and reports only real failures;
"cannot verify" findings of every rule go to two advisory policies of their own
(`cannot-verify`, `cannot-verify-stack`), because a policy has one level and an unverifiable
property must never block a deployment nor pass silently.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping, Sequence
from typing import Any

from pulumi_policy import (
    EnforcementLevel,
    PolicyConfigSchema,
    ReportViolation,
    ResourceValidationArgs,
    ResourceValidationPolicy,
    StackValidationArgs,
    StackValidationPolicy,
)
from pulumi_policy.proxy import UnknownValueError

from policies.model import UNKNOWN, Level, Resource, RuleInfo, Violation
from policies.rules import RESOURCE_RULES, STACK_RULES

PACK_NAME = "spy-platform-policies"
CANNOT_VERIFY = "cannot-verify"
CANNOT_VERIFY_STACK = "cannot-verify-stack"
LEVELS = {Level.MANDATORY: EnforcementLevel.MANDATORY, Level.ADVISORY: EnforcementLevel.ADVISORY}
CONFIG_SCHEMAS: dict[str, dict[str, dict[str, Any]]] = {
    "allowed-regions": {"allowedRegions": {"type": "array", "items": {"type": "string"}}},
    "k8s-image-origin": {"allowedRegistries": {"type": "array", "items": {"type": "string"}}},
    "budget-covers-cost": {"estimatedMonthlyUsd": {"type": "number"}},
}


def plain(value: Any) -> Any:
    """The engine's props (a proxy raising on unknowns) as plain data, unknowns as UNKNOWN."""
    if isinstance(value, Mapping):
        out = {}
        for key in value:
            try:
                out[key] = plain(value[key])
            except UnknownValueError:
                out[key] = UNKNOWN
        return out
    if isinstance(value, Sequence) and not isinstance(value, (str, bytes)):
        items = []
        for index in range(len(value)):
            try:
                items.append(plain(value[index]))
            except UnknownValueError:
                items.append(UNKNOWN)
        return items
    return value


def stack_of(urn: str) -> str:
    """`urn:pulumi:<stack>::<project>::<type>::<name>` -> stack."""
    return urn.removeprefix("urn:pulumi:").split("::", 1)[0] if urn.startswith("urn:") else ""


def as_resource(type_token: str, name: str, props: Any, urn: str) -> Resource:
    return Resource(type_token, name, plain(props), stack_of(urn))


def _report(
    violations: Iterable[Violation],
    report: ReportViolation,
    verified: bool,
    urns: Mapping[str, str] | None = None,
) -> None:
    """Resource policies report the message (the engine names the resource); stack policies
    name the resource first; "cannot verify" reports name their rule first."""
    for v in violations:
        if v.verified != verified:
            continue
        message = f"{v.resource}: {v.message}" if urns is not None else v.message
        report(message if verified else f"[{v.rule}] {message}", (urns or {}).get(v.resource))


def _resource_validator(rules: Sequence, verified: bool) -> Callable:
    def validate(args: ResourceValidationArgs, report: ReportViolation) -> None:
        resource = as_resource(args.resource_type, args.name, args.props, args.urn)
        config = args.get_config() or {}
        for rule in rules:
            _report(rule.evaluate(resource, config), report, verified)

    return validate


def _stack_validator(rules: Sequence, verified: bool) -> Callable:
    def validate(args: StackValidationArgs, report: ReportViolation) -> None:
        resources = [as_resource(r.resource_type, r.name, r.props, r.urn) for r in args.resources]
        urns = {f"{r.resource_type}::{r.name}": r.urn for r in args.resources}
        config = args.get_config() or {}
        for rule in rules:
            _report(rule.evaluate(resources, config), report, verified, urns)

    return validate


def _text(rule: RuleInfo) -> dict[str, Any]:
    schema = CONFIG_SCHEMAS.get(rule.name)
    return {
        "description": f"{rule.description}. Why: {rule.reason}.",
        "enforcement_level": LEVELS[rule.level],
        "remediation_steps": rule.fix,
        "config_schema": PolicyConfigSchema(schema) if schema else None,
    }


def policies() -> list[ResourceValidationPolicy | StackValidationPolicy]:
    """The pack's policies; constructing the PolicyPack itself starts a server, so the pack's
    `__main__` does that and everything else uses this list."""
    found: list[ResourceValidationPolicy | StackValidationPolicy] = []
    for rule in RESOURCE_RULES:
        found.append(
            ResourceValidationPolicy(
                rule.name, validate=_resource_validator([rule], True), **_text(rule)
            )
        )
    for rule in STACK_RULES:
        found.append(
            StackValidationPolicy(rule.name, validate=_stack_validator([rule], True), **_text(rule))
        )
    unverified = (
        "A rule could not read a property it checks (missing or unknown until apply): "
        "review by hand; never taken as a pass"
    )
    found.append(
        ResourceValidationPolicy(
            CANNOT_VERIFY,
            unverified,
            _resource_validator(RESOURCE_RULES, False),
            EnforcementLevel.ADVISORY,
        )
    )
    found.append(
        StackValidationPolicy(
            CANNOT_VERIFY_STACK,
            unverified,
            _stack_validator(STACK_RULES, False),
            EnforcementLevel.ADVISORY,
        )
    )
    return found
