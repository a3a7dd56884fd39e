"""What a rule is: plain Python over a resource's type and inputs, no Pulumi engine needed.

A resource rule maps one `Resource` (type token, name, camelCase inputs as the engine passes
them to a policy pack) to findings; a stack rule maps all of a stack's resources to findings.
A finding either fails the rule (reported at the rule's level) or says the rule cannot verify
the resource because a property it reads is missing or unknown until apply: that is always
reported, at advisory level, never taken as a pass. `policies.pack` turns the same rules into
pulumi-policy policies; `policies.offline` runs those on the mock-evaluated stack.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any


class Level(StrEnum):
    MANDATORY = "mandatory"
    ADVISORY = "advisory"


class Absent:
    """A property the resource does not give: missing, or unknown until apply."""

    def __init__(self, why: str) -> None:
        self.why = why

    def __repr__(self) -> str:
        return self.why


MISSING = Absent("missing")
UNKNOWN = Absent("unknown until apply")


@dataclass(frozen=True)
class Resource:
    type_token: str
    name: str
    props: Mapping[str, Any]
    stack: str = ""

    @property
    def label(self) -> str:
        return f"{self.type_token}::{self.name}"


@dataclass(frozen=True)
class Finding:
    message: str
    verified: bool = True
    resource: str = ""
    """The resource a stack rule's finding is about (type::name); empty for resource rules."""


def fail(message: str, resource: Resource | None = None) -> Finding:
    return Finding(message, True, resource.label if resource else "")


def unverifiable(path: str, value: Any, resource: Resource | None = None) -> Finding:
    why = value.why if isinstance(value, Absent) else f"not readable ({value!r})"
    return Finding(f"cannot verify: {path} is {why}", False, resource.label if resource else "")


@dataclass(frozen=True)
class Violation:
    rule: str
    level: Level
    resource: str
    message: str
    verified: bool = True
    """False: a "cannot verify" report (always advisory)."""

    def line(self) -> str:
        return f"{self.level.upper():9} {self.rule:<28} {self.resource}: {self.message}"


@dataclass(frozen=True)
class RuleInfo:
    name: str
    level: Level
    description: str
    reason: str
    fix: str

    def violation(self, finding: Finding, resource: str) -> Violation:
        """A failure at the rule's level; "cannot verify" at advisory level."""
        level = self.level if finding.verified else Level.ADVISORY
        return Violation(
            self.name, level, finding.resource or resource, finding.message, finding.verified
        )


@dataclass(frozen=True)
class ResourceRule(RuleInfo):
    types: frozenset[str] = field(default_factory=frozenset)
    """Type tokens the rule reads; empty: every type (the rule decides what applies)."""
    check: Callable[[Resource, Mapping[str, Any]], Iterable[Finding]] = lambda _r, _c: ()
    """Findings for one resource; `config` is the policy's configuration (may be empty)."""

    def applies_to(self, type_token: str) -> bool:
        return not self.types or type_token in self.types

    def evaluate(
        self, resource: Resource, config: Mapping[str, Any] | None = None
    ) -> list[Violation]:
        if not self.applies_to(resource.type_token):
            return []
        findings = _guarded(lambda: list(self.check(resource, config or {})))
        return [self.violation(f, resource.label) for f in findings]


@dataclass(frozen=True)
class StackRule(RuleInfo):
    check: Callable[[Sequence[Resource], Mapping[str, Any]], Iterable[Finding]] = (
        lambda _resources, _config: ()
    )

    def evaluate(
        self, resources: Sequence[Resource], config: Mapping[str, Any] | None = None
    ) -> list[Violation]:
        stack = resources[0].stack if resources else ""
        findings = _guarded(lambda: list(self.check(resources, config or {})))
        return [self.violation(f, f"stack {stack}") for f in findings]


def _guarded(run: Callable[[], list[Finding]]) -> list[Finding]:
    """A property of an unexpected shape (an unknown list item, a string where an object
    belongs) makes the rule unable to verify, not crash the analyzer nor pass."""
    try:
        return run()
    except (AttributeError, TypeError, ValueError, KeyError, IndexError) as exc:
        return [Finding(f"cannot verify: a property has an unexpected shape ({exc!r})", False)]


def lookup(props: Any, path: str) -> Any:
    """The value at a dotted camelCase path, `MISSING` if any step is absent or None."""
    value = props
    for key in path.split("."):
        if value is UNKNOWN:
            return UNKNOWN
        if not isinstance(value, Mapping) or value.get(key) is None:
            return MISSING
        value = value[key]
    return value


def expect(resource: Resource, path: str, allowed: Iterable[Any], why: str) -> Iterator[Finding]:
    """One property must hold one of `allowed`; absent: cannot verify."""
    value = lookup(resource.props, path)
    if isinstance(value, Absent):
        yield unverifiable(path, value)
    elif value not in set(allowed):
        yield fail(f"{path} is {value!r} (required: {why})")
