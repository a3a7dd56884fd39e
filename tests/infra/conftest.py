"""Shared fixtures: the real dev and prod stack files, evaluated once each under mocks."""

from __future__ import annotations

import copy
import importlib
import inspect
import re
from typing import Any

import pytest

from stacks.offline import Evaluation, evaluate, read_stack_file

STACKS = ("dev", "prod")
_EVALUATIONS: dict[str, Evaluation] = {}


def evaluated(stack: str) -> Evaluation:
    if stack not in _EVALUATIONS:
        _EVALUATIONS[stack] = evaluate(stack)
    return _EVALUATIONS[stack]


@pytest.fixture(params=STACKS)
def stack(request) -> Evaluation:
    return evaluated(request.param)


@pytest.fixture
def dev_settings() -> dict[str, Any]:
    """A deep copy of the dev stack file's config map, to break in tests."""
    return copy.deepcopy(read_stack_file("dev"))


def accepts_tags(type_token: str) -> bool:
    """Whether the azure-native resource class takes a `tags` input (from its SDK signature)."""
    _, module, name = type_token.split(":")
    cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), name)
    return "tags" in inspect.signature(cls._internal_init).parameters


SECRET_SENTINEL = "4dabf18193072939515e22adb298388d"


def plain_strings(value: Any):
    """Every string in a mock input tree, skipping values wrapped as secrets."""
    if isinstance(value, dict):
        if SECRET_SENTINEL in value:
            return
        for item in value.values():
            yield from plain_strings(item)
    elif isinstance(value, list):
        for item in value:
            yield from plain_strings(item)
    elif isinstance(value, str):
        yield value


def parse_swanctl(text: str) -> dict[str, Any]:
    """A strict reader of strongSwan's settings syntax (sections `name {}`, `key = value`,
    `#` comments): enough to check the rendered file is well formed and read it back."""
    root: dict[str, Any] = {}
    stack = [root]
    for number, raw in enumerate(text.splitlines(), 1):
        line = raw.split("#", 1)[0].strip() if not raw.strip().startswith("secret") else raw.strip()
        if not line:
            continue
        if match := re.fullmatch(r"([\w.-]+)\s*\{", line):
            section: dict[str, Any] = {}
            stack[-1][match.group(1)] = section
            stack.append(section)
        elif line == "}":
            stack.pop()
            assert stack, f"line {number}: unbalanced }}"
        elif match := re.fullmatch(r"([\w.-]+)\s*=\s*(.*)", line):
            stack[-1][match.group(1)] = match.group(2).strip().strip('"')
        else:
            raise AssertionError(f"line {number}: not strongSwan settings syntax: {raw!r}")
    assert len(stack) == 1, "unclosed section"
    return root
