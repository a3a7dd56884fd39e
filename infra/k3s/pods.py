"""Pod building blocks every data-plane workload shares: the restricted security context,
probes, resources and the writable emptyDirs a read-only root filesystem needs.

Pod Security "restricted" in full: runAsNonRoot, no privilege escalation, every capability
dropped, seccomp RuntimeDefault; plus a read-only root filesystem, so the only writable paths
are the volumes a pod declares.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class Resources:
    cpu_request: str
    memory_request: str
    cpu_limit: str
    memory_limit: str

    def to_k8s(self) -> dict[str, Any]:
        return {
            "requests": {"cpu": self.cpu_request, "memory": self.memory_request},
            "limits": {"cpu": self.cpu_limit, "memory": self.memory_limit},
        }


def container_security(user: int = 10001, group: int = 10001) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": group,
        "allowPrivilegeEscalation": False,
        "readOnlyRootFilesystem": True,
        "capabilities": {"drop": ["ALL"]},
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def pod_security(user: int = 10001, group: int = 10001) -> dict[str, Any]:
    return {
        "runAsNonRoot": True,
        "runAsUser": user,
        "runAsGroup": group,
        "fsGroup": group,
        "seccompProfile": {"type": "RuntimeDefault"},
    }


def http_probes(port: int | str) -> dict[str, Any]:
    """Liveness on /health (the process can recover by itself), readiness on /ready."""
    return {
        "livenessProbe": {
            "httpGet": {"path": "/health", "port": port},
            "initialDelaySeconds": 10,
            "periodSeconds": 10,
            "timeoutSeconds": 3,
            "failureThreshold": 6,
        },
        "readinessProbe": {
            "httpGet": {"path": "/ready", "port": port},
            "periodSeconds": 5,
            "timeoutSeconds": 3,
            "failureThreshold": 3,
        },
    }


def empty_dir(name: str, size: str = "64Mi") -> dict[str, Any]:
    return {"name": name, "emptyDir": {"sizeLimit": size}}


TMP_MOUNT = {"name": "tmp", "mountPath": "/tmp"}


API_SERVER_CLIENT = {"spy-platform/api-server-client": "true"}
"""Pod label of those that talk to the Kubernetes API (the trader's Lease, the session scaler):
the network policy `api-server` lets exactly them reach it."""


def labels(app: str, component: str) -> dict[str, str]:
    return {
        "app.kubernetes.io/name": app,
        "app.kubernetes.io/component": component,
        "app.kubernetes.io/part-of": "spy-platform",
        "app.kubernetes.io/managed-by": "pulumi",
    }


def selector(app: str) -> dict[str, str]:
    return {"app.kubernetes.io/name": app}
