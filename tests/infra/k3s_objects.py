"""The Kubernetes objects a stack renders, as plain manifests (from the mock's inputs), and
helpers to walk their pod specs. Shared by the tests/infra/test_k3s_*.py files."""

from __future__ import annotations

from typing import Any

from stacks.offline import Evaluation
from tests.infra.conftest import SECRET_SENTINEL

NOT_OBJECTS = ("kubernetes:helm.sh/v3:Release",)
"""Registered kubernetes types that are not one API object (the Helm release)."""
POD_TEMPLATES = {
    "Deployment": ("spec", "template"),
    "StatefulSet": ("spec", "template"),
    "DaemonSet": ("spec", "template"),
    "CronJob": ("spec", "jobTemplate", "spec", "template"),
}


def plain(value: Any) -> Any:
    """Secrets unwrapped, integral floats (the engine's numbers) back to ints."""
    if isinstance(value, dict):
        if SECRET_SENTINEL in value:
            return plain(value["value"])
        return {k: plain(v) for k, v in value.items()}
    if isinstance(value, list):
        return [plain(v) for v in value]
    if isinstance(value, float) and value.is_integer():
        return int(value)
    return value


def objects(stack: Evaluation) -> list[dict[str, Any]]:
    return [
        plain(r.inputs)
        for r in stack.resources
        if r.type_token.startswith("kubernetes:") and r.type_token not in NOT_OBJECTS
    ]


def release(stack: Evaluation) -> dict[str, Any]:
    (found,) = [plain(r.inputs) for r in stack.resources if r.type_token in NOT_OBJECTS]
    return found


def of_kind(stack: Evaluation, kind: str) -> list[dict[str, Any]]:
    return [o for o in objects(stack) if o["kind"] == kind]


def named(stack: Evaluation, kind: str, name: str) -> dict[str, Any]:
    (found,) = [o for o in of_kind(stack, kind) if o["metadata"]["name"] == name]
    return found


def pod_template(obj: dict[str, Any]) -> dict[str, Any]:
    node = obj
    for key in POD_TEMPLATES[obj["kind"]]:
        node = node[key]
    return node


def workloads(stack: Evaluation) -> list[dict[str, Any]]:
    return [o for o in objects(stack) if o["kind"] in POD_TEMPLATES]


def containers(pod_spec: dict[str, Any]) -> list[dict[str, Any]]:
    return [*pod_spec.get("initContainers", []), *pod_spec["containers"]]
