"""The session scaler: a CronJob that, every morning before the open, asks the exchange
calendar (spy_core.market_hours, from exchange_calendars: weekends and holidays) whether today
is a session, and scales the gateway, market data and the trader up if so, to zero if not.

It runs `spy-platform session-scale` in the marketdata image, as a ServiceAccount whose Role
allows only get/patch of the `scale` subresource of those three workloads, by name.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.k3s.pods import (
    API_SERVER_CLIENT,
    TMP_MOUNT,
    Resources,
    container_security,
    empty_dir,
    labels,
    pod_security,
)
from infra.k3s.workloads import APPS_NAMESPACE, Manifest, meta

NAME = "session-scaler"


@dataclass(frozen=True)
class ScaleTarget:
    kind: str  # "deployment" | "statefulset"
    name: str
    replicas: int

    @property
    def resource(self) -> str:
        return f"{self.kind}s"

    def arg(self) -> str:
        return f"{self.kind}/{self.name}={self.replicas}"


def cron_before_open(minutes_before: int) -> str:
    """The cron line (in America/New_York) that many minutes before the 09:30 open."""
    start = 9 * 60 + 30 - minutes_before
    return f"{start % 60} {start // 60} * * *"


def manifests(
    image: pulumi.Input[str], targets: tuple[ScaleTarget, ...], minutes_before: int
) -> list[Manifest]:
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(NAME, NAME, "identity"),
        "automountServiceAccountToken": True,
    }
    rules = [
        {
            "apiGroups": ["apps"],
            "resources": [f"{kind}/scale"],
            "resourceNames": sorted(t.name for t in targets if t.resource == kind),
            "verbs": ["get", "patch"],
        }
        for kind in sorted({t.resource for t in targets})
    ]
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta(NAME, NAME, "identity"),
        "rules": rules,
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta(NAME, NAME, "identity"),
        "roleRef": {"apiGroup": "rbac.authorization.k8s.io", "kind": "Role", "name": NAME},
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": APPS_NAMESPACE}],
    }
    job_labels = {**labels(NAME, "scheduling"), **API_SERVER_CLIENT}
    cron = {
        "apiVersion": "batch/v1",
        "kind": "CronJob",
        "metadata": meta(NAME, NAME, "scheduling"),
        "spec": {
            "schedule": cron_before_open(minutes_before),
            "timeZone": "America/New_York",
            "concurrencyPolicy": "Forbid",
            "startingDeadlineSeconds": 3600,
            "successfulJobsHistoryLimit": 3,
            "failedJobsHistoryLimit": 3,
            "jobTemplate": {
                "spec": {
                    "backoffLimit": 3,
                    "activeDeadlineSeconds": 600,
                    "template": {
                        "metadata": {"labels": job_labels},
                        "spec": {
                            "serviceAccountName": NAME,
                            "restartPolicy": "OnFailure",
                            "securityContext": pod_security(),
                            "containers": [
                                {
                                    "name": NAME,
                                    "image": image,
                                    "command": ["spy-platform", "session-scale"],
                                    "args": [
                                        "--namespace",
                                        APPS_NAMESPACE,
                                        *[t.arg() for t in targets],
                                    ],
                                    "resources": Resources(
                                        "50m", "128Mi", "500m", "256Mi"
                                    ).to_k8s(),
                                    "securityContext": container_security(),
                                    "volumeMounts": [TMP_MOUNT],
                                }
                            ],
                            "volumes": [empty_dir("tmp")],
                        },
                    },
                }
            },
        },
    }
    return [sa, role, binding, cron]
