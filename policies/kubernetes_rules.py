"""Kubernetes rules over pulumi-kubernetes resource inputs (the manifests' own camelCase).

Workloads are read generically through their pod spec (Pod, Deployment, StatefulSet,
DaemonSet, ReplicaSet, Job, CronJob). A workload without a pod spec or containers cannot be
verified; inside a container, an absent security field is a failure, because Kubernetes'
default for it is the unsafe value (root allowed, writable root filesystem, no limits).
"""

from __future__ import annotations

from collections.abc import Iterator, Mapping, Sequence
from typing import Any

from policies.model import (
    MISSING,
    Absent,
    Finding,
    Level,
    Resource,
    ResourceRule,
    StackRule,
    fail,
    lookup,
    unverifiable,
)

POD = "kubernetes:core/v1:Pod"
NAMESPACE = "kubernetes:core/v1:Namespace"
NETWORK_POLICY = "kubernetes:networking.k8s.io/v1:NetworkPolicy"
REGISTRY = "azure-native:containerregistry:Registry"
LONG_RUNNING = {
    "kubernetes:apps/v1:Deployment": "spec.template",
    "kubernetes:apps/v1:StatefulSet": "spec.template",
    "kubernetes:apps/v1:DaemonSet": "spec.template",
    "kubernetes:apps/v1:ReplicaSet": "spec.template",
}
POD_TEMPLATES = {
    **LONG_RUNNING,
    "kubernetes:batch/v1:Job": "spec.template",
    "kubernetes:batch/v1:CronJob": "spec.jobTemplate.spec.template",
}
"""Workload type -> path of its pod template (metadata + spec)."""
WORKLOADS = frozenset({POD, *POD_TEMPLATES})
HOST_ACCESS_ANNOTATION = "spy-platform.io/host-access-reason"
"""A workload that needs hostPath/hostNetwork/hostPID/hostIPC says why in this annotation."""

MANDATORY = Level.MANDATORY


def pod_spec(resource: Resource) -> tuple[str, Any]:
    """The path and value of the workload's pod spec (`MISSING` when absent)."""
    template = POD_TEMPLATES.get(resource.type_token)
    path = f"{template}.spec" if template else "spec"
    return path, lookup(resource.props, path)


def containers(spec: Mapping[str, Any], init: bool = True) -> list[Mapping[str, Any]]:
    keys = ("initContainers", "containers") if init else ("containers",)
    return [c for key in keys for c in spec.get(key) or ()]


def _each_container(
    resource: Resource, init: bool = True
) -> Iterator[tuple[Mapping[str, Any], Mapping[str, Any]] | Finding]:
    """(pod spec, container) pairs, or one "cannot verify" finding."""
    path, spec = pod_spec(resource)
    if isinstance(spec, Absent):
        yield unverifiable(path, spec)
        return
    found = containers(spec, init)
    if not found:
        yield unverifiable(f"{path}.containers", MISSING)
    for container in found:
        yield spec, container


def _name(container: Mapping[str, Any]) -> str:
    return str(container.get("name", "?"))


def _non_root(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    for item in _each_container(resource):
        if isinstance(item, Finding):
            yield item
            continue
        spec, container = item
        pod, own = spec.get("securityContext") or {}, container.get("securityContext") or {}
        non_root = own.get("runAsNonRoot", pod.get("runAsNonRoot"))
        user = own.get("runAsUser", pod.get("runAsUser"))
        if user is not None and int(user) == 0:
            yield fail(f"container {_name(container)} sets runAsUser 0 (root)")
        elif non_root is not True and user is None:
            yield fail(f"container {_name(container)} may run as root (runAsNonRoot not true)")


def _read_only_root(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    for item in _each_container(resource):
        if isinstance(item, Finding):
            yield item
        elif (item[1].get("securityContext") or {}).get("readOnlyRootFilesystem") is not True:
            yield fail(f"container {_name(item[1])} has a writable root filesystem")


REQUIRED_RESOURCES = ("requests.cpu", "requests.memory", "limits.memory")


def _resources(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    for item in _each_container(resource):
        if isinstance(item, Finding):
            yield item
            continue
        container = item[1]
        absent = [
            p for p in REQUIRED_RESOURCES if isinstance(lookup(container, f"resources.{p}"), Absent)
        ]
        if absent:
            yield fail(
                f"container {_name(container)} sets no resources.{', resources.'.join(absent)}"
            )


def _probes(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type_token not in LONG_RUNNING and resource.type_token != POD:
        return  # Jobs run to completion: no probes
    for item in _each_container(resource, init=False):
        if isinstance(item, Finding):
            yield item
            continue
        absent = [p for p in ("readinessProbe", "livenessProbe") if not item[1].get(p)]
        if absent:
            yield fail(f"container {_name(item[1])} has no {' or '.join(absent)}")


def image_problem(image: str) -> str | None:
    """Why an image reference is not pinned to a fixed version, or None."""
    if "@sha256:" in image:
        return None
    last = image.rsplit("/", 1)[-1]
    if ":" not in last:
        return f"image {image} has no tag (means :latest)"
    if last.rsplit(":", 1)[1] == "latest":
        return f"image {image} uses :latest"
    return None


def _no_latest(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    for item in _each_container(resource):
        if isinstance(item, Finding):
            yield item
            continue
        image = item[1].get("image")
        if not isinstance(image, str):
            yield unverifiable(f"container {_name(item[1])} image", MISSING)
        elif problem := image_problem(image):
            yield fail(problem)


def _annotations(resource: Resource) -> dict[str, Any]:
    found: dict[str, Any] = {}
    template = POD_TEMPLATES.get(resource.type_token)
    for path in ("metadata.annotations", f"{template}.metadata.annotations" if template else ""):
        value = lookup(resource.props, path) if path else MISSING
        if isinstance(value, Mapping):
            found.update(value)
    return found


def _host_access(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    path, spec = pod_spec(resource)
    if isinstance(spec, Absent):
        yield unverifiable(path, spec)
        return
    uses = [key for key in ("hostNetwork", "hostPID", "hostIPC") if spec.get(key) is True]
    uses += [
        f"hostPath volume {v.get('name', '?')}"
        for v in spec.get("volumes") or ()
        if v.get("hostPath")
    ]
    reason = _annotations(resource).get(HOST_ACCESS_ANNOTATION)
    if uses and not (isinstance(reason, str) and reason.strip()):
        yield fail(f"uses {', '.join(uses)} without a {HOST_ACCESS_ANNOTATION} annotation")


# --- stack rules ---------------------------------------------------------------------------


def namespace_of(resource: Resource) -> str:
    value = lookup(resource.props, "metadata.namespace")
    return value if isinstance(value, str) else "default"


def default_deny(policy: Mapping[str, Any]) -> bool:
    """An empty pod selector, Ingress among its types, and no ingress rule: denies all in."""
    selector = policy.get("podSelector")
    if selector is None or any(
        (selector or {}).get(k) for k in ("matchLabels", "matchExpressions")
    ):
        return False
    return "Ingress" in (policy.get("policyTypes") or ()) and not policy.get("ingress")


def _default_deny_per_namespace(
    resources: Sequence[Resource], _config: Mapping[str, Any]
) -> Iterator[Finding]:
    namespaces: dict[str, Resource] = {}
    for r in resources:
        if r.type_token == NAMESPACE:
            name = lookup(r.props, "metadata.name")
            if not isinstance(name, str):
                yield unverifiable("metadata.name", name, r)
                continue
            namespaces.setdefault(name, r)
        elif r.type_token in WORKLOADS:
            namespaces.setdefault(namespace_of(r), r)
    denied = {
        namespace_of(r)
        for r in resources
        if r.type_token == NETWORK_POLICY and default_deny(lookup(r.props, "spec") or {})
    }
    for name, r in sorted(namespaces.items()):
        if name not in denied:
            yield fail(f"namespace {name} has no default-deny NetworkPolicy", r)


def stack_registries(resources: Sequence[Resource], config: Mapping[str, Any]) -> set[str]:
    """Login servers of the stack's registries (`<name>.azurecr.io`) and configured ones."""
    hosts = {str(h).lower() for h in config.get("allowedRegistries", ())}
    for r in resources:
        if r.type_token == REGISTRY:
            name = lookup(r.props, "registryName")
            hosts.add(f"{(name if isinstance(name, str) else r.name).lower()}.azurecr.io")
    return hosts


def _image_origin(resources: Sequence[Resource], config: Mapping[str, Any]) -> Iterator[Finding]:
    hosts = stack_registries(resources, config)
    for r in resources:
        if r.type_token not in WORKLOADS:
            continue
        for item in _each_container(r):
            if isinstance(item, Finding):
                yield Finding(item.message, False, r.label)
                continue
            image = item[1].get("image")
            if not isinstance(image, str) or "@sha256:" in image:
                continue
            host = image.split("/", 1)[0].lower() if "/" in image else "docker.io"
            if host not in hosts:
                yield fail(
                    f"image {image} is neither from {sorted(hosts) or 'the stack registry'} "
                    "nor pinned by digest",
                    r,
                )


RULES: tuple[ResourceRule, ...] = (
    ResourceRule(
        "k8s-non-root",
        MANDATORY,
        "Containers run as a non-root user",
        "root in a container is root on the node after one kernel or runtime escape",
        "securityContext.runAsNonRoot: true (pod or container) and a non-zero runAsUser",
        WORKLOADS,
        _non_root,
    ),
    ResourceRule(
        "k8s-read-only-root-fs",
        MANDATORY,
        "Containers have a read-only root filesystem",
        "an attacker cannot drop tools into the image; writes go to declared volumes",
        "securityContext.readOnlyRootFilesystem: true; mount an emptyDir where it writes",
        WORKLOADS,
        _read_only_root,
    ),
    ResourceRule(
        "k8s-resources",
        MANDATORY,
        "Containers declare cpu/memory requests and a memory limit",
        "one runaway pod must not starve the gateway or the detector on a small node",
        "resources: {requests: {cpu, memory}, limits: {memory}}",
        WORKLOADS,
        _resources,
    ),
    ResourceRule(
        "k8s-probes",
        MANDATORY,
        "Long-running containers have readiness and liveness probes",
        "without them a hung process keeps receiving traffic and is never restarted",
        "readinessProbe and livenessProbe on each container",
        WORKLOADS,
        _probes,
    ),
    ResourceRule(
        "k8s-no-latest",
        MANDATORY,
        "Images carry a fixed tag or digest, never :latest",
        "a moving tag makes a rollout unreproducible and un-auditable",
        "image: <registry>/<name>:<version> or @sha256:<digest>",
        WORKLOADS,
        _no_latest,
    ),
    ResourceRule(
        "k8s-host-access",
        MANDATORY,
        f"hostPath/hostNetwork/hostPID/hostIPC only with a {HOST_ACCESS_ANNOTATION} annotation",
        "host access bypasses the container boundary; each use must be a stated exception",
        f"drop it, or annotate the workload {HOST_ACCESS_ANNOTATION}: <why>",
        WORKLOADS,
        _host_access,
    ),
)

STACK_RULES: tuple[StackRule, ...] = (
    StackRule(
        "k8s-default-deny",
        MANDATORY,
        "Every namespace in use has a default-deny (ingress) NetworkPolicy",
        "pods are reachable only through the policies that allow it",
        "a NetworkPolicy with podSelector: {} and policyTypes [Ingress] (no ingress rules)",
        _default_deny_per_namespace,
    ),
    StackRule(
        "k8s-image-origin",
        MANDATORY,
        "Images come from the stack's registry or are pinned by digest",
        "a third-party tag can be re-pushed; a digest or our own registry cannot change",
        "push the image to the stack's ACR, or reference it as name@sha256:<digest>",
        _image_origin,
    ),
)
