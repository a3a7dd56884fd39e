"""Manifests of the data plane's workloads (pure functions of `WorkloadSpec`): namespaces,
the gateway (IB Gateway StatefulSet or the simulator), market data, the trader with its
Lease and RBAC, disruption budgets and priority. Network policies: infra/k3s/network.py.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

import pulumi

from infra.k3s.pods import (
    API_SERVER_CLIENT,
    TMP_MOUNT,
    Resources,
    container_security,
    empty_dir,
    http_probes,
    labels,
    pod_security,
    selector,
)

Manifest = dict[str, Any]

APPS_NAMESPACE = "spy"
MONITORING_NAMESPACE = "spy-monitoring"

IB_GATEWAY_IMAGE = "ghcr.io/gnzsnz/ib-gateway:10.45.1j"
"""gnzsnz/ib-gateway-docker, `stable` channel: IB Gateway 10.45.1j with IBC 3.24.1. A full
version tag, never `stable`/`latest`; no digest is pinned because none could be verified
from here (add `@sha256:` once `docker buildx imagetools inspect` has been run on it). The
cluster pulls the copy in the stack's registry (infra/k3s/mirror.py)."""
IB_USER_UID = 1000  # the image's `ibgateway` user (USER 1000:1000)
IB_HOME = "/home/ibgateway"
IB_SETTINGS = f"{IB_HOME}/tws_settings"
# IB Gateway listens on 127.0.0.1:4002 (paper) inside the pod; the image's socat republishes
# it on 0.0.0.0:4004. Only 4004 is reachable from other pods.
IB_PAPER_LOOPBACK_PORT = 4002
IB_PAPER_SOCAT_PORT = 4004

GATEWAY = "gateway"
MARKETDATA = "marketdata"
TRADER = "trader"
TRADER_LEASE = "spy-trader"
MARKETDATA_PORT = 8080  # apps/Dockerfile marketdata: --health-port 8080 (/health /ready)
TRADER_PORT = 9108  # spy-platform trade --http-port: /health /ready /metrics /kill-switch
PRIORITY_CLASS = "spy-trading-critical"
DATA_DIR = "/var/lib/spy"
MARKETDATA_CLIENT_ID = 11
TRADER_CLIENT_ID = 21

GatewayKind = Literal["ib", "simulator"]


@dataclass(frozen=True)
class IbGatewaySettings:
    auto_restart_time: str
    time_zone: str
    twofa_timeout_action: str
    java_heap_mb: int


@dataclass(frozen=True)
class WorkloadSpec:
    """What the workload manifests need from the stack (images are registry references)."""

    gateway: GatewayKind
    marketdata_image: pulumi.Input[str]
    trader_image: pulumi.Input[str]
    simulator_image: pulumi.Input[str]
    ib_gateway_image: pulumi.Input[str]  # the registry's copy of IB_GATEWAY_IMAGE
    storage_class: str
    backend_url: pulumi.Input[str]
    ib: IbGatewaySettings
    simulator_port: int  # spy_core.default_ports.GATEWAY_PORT, passed in by the composition
    data_gb: int = 10
    trader_replicas: int = 2

    @property
    def gateway_port(self) -> int:
        return IB_PAPER_SOCAT_PORT if self.gateway == "ib" else self.simulator_port

    @property
    def gateway_host(self) -> str:
        return f"{GATEWAY}.{APPS_NAMESPACE}.svc.cluster.local"


def meta(name: str, app: str, component: str, namespace: str = APPS_NAMESPACE) -> Manifest:
    return {"name": name, "namespace": namespace, "labels": labels(app, component)}


def namespaces() -> list[Manifest]:
    """The apps namespace enforces Pod Security "restricted". The monitoring namespace holds
    node-exporter and Fluent Bit, which read the node (hostPath, hostNetwork): it enforces
    "privileged" and audits/warns at "restricted", so every exception is reported."""

    def ns(name: str, enforce: str) -> Manifest:
        return {
            "apiVersion": "v1",
            "kind": "Namespace",
            "metadata": {
                "name": name,
                "labels": {
                    "pod-security.kubernetes.io/enforce": enforce,
                    "pod-security.kubernetes.io/enforce-version": "latest",
                    "pod-security.kubernetes.io/audit": "restricted",
                    "pod-security.kubernetes.io/warn": "restricted",
                    "app.kubernetes.io/part-of": "spy-platform",
                },
            },
        }

    return [ns(APPS_NAMESPACE, "restricted"), ns(MONITORING_NAMESPACE, "privileged")]


def priority_class() -> Manifest:
    return {
        "apiVersion": "scheduling.k8s.io/v1",
        "kind": "PriorityClass",
        "metadata": {"name": PRIORITY_CLASS, "labels": labels("spy-platform", "scheduling")},
        "value": 100_000,
        "globalDefault": False,
        "preemptionPolicy": "PreemptLowerPriority",
        "description": "IB Gateway and the trader: evicted last, scheduled first.",
    }


def pdb(app: str, min_available: int) -> Manifest:
    """Singletons (gateway, market data) keep minAvailable 1: a drain waits for the session
    scaler (or an operator) to scale them to zero outside market hours."""
    return {
        "apiVersion": "policy/v1",
        "kind": "PodDisruptionBudget",
        "metadata": meta(app, app, "availability"),
        "spec": {"minAvailable": min_available, "selector": {"matchLabels": selector(app)}},
    }


def service(app: str, port: int, port_name: str) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Service",
        "metadata": meta(app, app, "service"),
        "spec": {
            "type": "ClusterIP",
            "selector": selector(app),
            "ports": [{"name": port_name, "port": port, "targetPort": port, "protocol": "TCP"}],
        },
    }


def ib_credentials(user: pulumi.Input[str], password: pulumi.Input[str]) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta("ib-gateway-credentials", GATEWAY, "credentials"),
        "type": "Opaque",
        "stringData": {"userid": user, "password": password},
    }


def ib_gateway(spec: WorkloadSpec) -> Manifest:
    """gnzsnz/ib-gateway in paper mode. Its home directory holds the gateway install and the
    files IBC renders at start, so an initContainer copies it into an emptyDir (the root FS
    stays read-only); settings (and the autorestart file that spares a 2FA on the daily
    restart) persist on a volume at TWS_SETTINGS_PATH."""
    ib = spec.ib
    security = container_security(IB_USER_UID, IB_USER_UID)
    env = [
        {
            "name": "TWS_USERID",
            "valueFrom": {"secretKeyRef": {"name": "ib-gateway-credentials", "key": "userid"}},
        },
        {"name": "TWS_PASSWORD_FILE", "value": "/run/secrets/ib/password"},
        {"name": "TRADING_MODE", "value": "paper"},
        {"name": "READ_ONLY_API", "value": "no"},
        {"name": "TWOFA_TIMEOUT_ACTION", "value": ib.twofa_timeout_action},
        {"name": "RELOGIN_AFTER_TWOFA_TIMEOUT", "value": "yes"},
        {"name": "AUTO_RESTART_TIME", "value": ib.auto_restart_time},
        {"name": "TIME_ZONE", "value": ib.time_zone},
        {"name": "TZ", "value": ib.time_zone},
        {"name": "JAVA_HEAP_SIZE", "value": str(ib.java_heap_mb)},
        {"name": "TWS_SETTINGS_PATH", "value": IB_SETTINGS},
        {"name": "EXISTING_SESSION_DETECTED_ACTION", "value": "primary"},
        {"name": "ALLOW_BLIND_TRADING", "value": "no"},
    ]
    memory_mb = ib.java_heap_mb * 2
    api_check = ["bash", "-c", f"exec 3<>/dev/tcp/127.0.0.1/{IB_PAPER_LOOPBACK_PORT}"]
    return {
        "apiVersion": "apps/v1",
        "kind": "StatefulSet",
        "metadata": meta(GATEWAY, GATEWAY, "ib-gateway"),
        "spec": {
            "serviceName": GATEWAY,
            "replicas": 1,
            "selector": {"matchLabels": selector(GATEWAY)},
            "template": {
                "metadata": {"labels": labels(GATEWAY, "ib-gateway")},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "automountServiceAccountToken": False,
                    "terminationGracePeriodSeconds": 60,
                    "securityContext": pod_security(IB_USER_UID, IB_USER_UID),
                    "initContainers": [
                        {
                            "name": "home",
                            "image": spec.ib_gateway_image,
                            "command": ["sh", "-c", f"cp -a {IB_HOME}/. /seed/"],
                            "resources": Resources("100m", "128Mi", "1", "256Mi").to_k8s(),
                            "securityContext": security,
                            "volumeMounts": [{"name": "home", "mountPath": "/seed"}],
                        }
                    ],
                    "containers": [
                        {
                            "name": "ib-gateway",
                            "image": spec.ib_gateway_image,
                            "env": env,
                            "ports": [
                                {
                                    "name": "api",
                                    "containerPort": IB_PAPER_SOCAT_PORT,
                                    "protocol": "TCP",
                                }
                            ],
                            "resources": Resources(
                                "250m", f"{memory_mb}Mi", "2", f"{memory_mb + 512}Mi"
                            ).to_k8s(),
                            # socat on 4004 accepts even while the gateway behind it is down:
                            # readiness probes the gateway's own API port on loopback instead.
                            "startupProbe": {
                                "tcpSocket": {"port": "api"},
                                "periodSeconds": 10,
                                "failureThreshold": 30,
                            },
                            "readinessProbe": {
                                "exec": {"command": api_check},
                                "periodSeconds": 10,
                                "timeoutSeconds": 3,
                                "failureThreshold": 3,
                            },
                            "livenessProbe": {
                                "tcpSocket": {"port": "api"},
                                "periodSeconds": 20,
                                "failureThreshold": 6,
                            },
                            "securityContext": security,
                            "volumeMounts": [
                                {"name": "home", "mountPath": IB_HOME},
                                {"name": "settings", "mountPath": IB_SETTINGS},
                                {"name": "password", "mountPath": "/run/secrets/ib"},
                                TMP_MOUNT,
                            ],
                        }
                    ],
                    "volumes": [
                        empty_dir("home", "2Gi"),
                        empty_dir("tmp", "256Mi"),
                        {
                            "name": "password",
                            "secret": {
                                "secretName": "ib-gateway-credentials",
                                "items": [{"key": "password", "path": "password"}],
                                "defaultMode": 0o400,
                            },
                        },
                    ],
                },
            },
            "volumeClaimTemplates": [
                {
                    "metadata": {"name": "settings"},
                    "spec": {
                        "accessModes": ["ReadWriteOnce"],
                        "storageClassName": spec.storage_class,
                        "resources": {"requests": {"storage": "1Gi"}},
                    },
                }
            ],
        },
    }


def simulator(spec: WorkloadSpec) -> Manifest:
    """The project's TWS-protocol simulator in the gateway's place (`gateway: simulator`)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(GATEWAY, GATEWAY, "simulator"),
        "spec": {
            "replicas": 1,
            "selector": {"matchLabels": selector(GATEWAY)},
            "strategy": {"type": "Recreate"},
            "template": {
                "metadata": {"labels": labels(GATEWAY, "simulator")},
                "spec": {
                    "priorityClassName": PRIORITY_CLASS,
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(),
                    "containers": [
                        {
                            "name": "simulator",
                            "image": spec.simulator_image,
                            "args": ["--host", "0.0.0.0", "--port", str(spec.simulator_port)],
                            "ports": [
                                {
                                    "name": "api",
                                    "containerPort": spec.simulator_port,
                                    "protocol": "TCP",
                                }
                            ],
                            "resources": Resources("100m", "128Mi", "1", "512Mi").to_k8s(),
                            # The simulator speaks only the TWS protocol (no HTTP health).
                            "readinessProbe": {"tcpSocket": {"port": "api"}, "periodSeconds": 5},
                            "livenessProbe": {"tcpSocket": {"port": "api"}, "periodSeconds": 20},
                            "securityContext": container_security(),
                            "volumeMounts": [TMP_MOUNT],
                        }
                    ],
                    "volumes": [empty_dir("tmp")],
                },
            },
        },
    }


def data_claim(spec: WorkloadSpec) -> Manifest:
    return {
        "apiVersion": "v1",
        "kind": "PersistentVolumeClaim",
        "metadata": meta("marketdata-data", MARKETDATA, "storage"),
        "spec": {
            "accessModes": ["ReadWriteOnce"],
            "storageClassName": spec.storage_class,
            "resources": {"requests": {"storage": f"{spec.data_gb}Gi"}},
        },
    }


def service_token_secret(token: pulumi.Input[str]) -> Manifest:
    """The backend's service token, with which the on-prem apps post their events."""
    return {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta("backend-service-token", "spy-platform", "credentials"),
        "type": "Opaque",
        "stringData": {"token": token},
    }


def _app_env(spec: WorkloadSpec) -> list[dict[str, Any]]:
    return [
        {"name": "SPY_DATA_DIR", "value": DATA_DIR},
        {"name": "SPY_BACKEND_URL", "value": spec.backend_url},
        {
            "name": "SPY_SERVICE_TOKEN",
            "valueFrom": {"secretKeyRef": {"name": "backend-service-token", "key": "token"}},
        },
    ]


def marketdata(spec: WorkloadSpec) -> Manifest:
    """Market data + detector: one replica (one IB client id, one spool), Recreate so two never
    overlap. It posts to the backend (the stack's App Service, through the VPN) with the
    service token from the Secret (`_app_env`, as the trader); its backend spool, events and
    recordings live on the PVC, so what an outage holds back survives a restart."""
    clock = "real" if spec.gateway == "ib" else "gateway"
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(MARKETDATA, MARKETDATA, "marketdata"),
        "spec": {
            "replicas": 1,
            "strategy": {"type": "Recreate"},
            "selector": {"matchLabels": selector(MARKETDATA)},
            "template": {
                "metadata": {"labels": labels(MARKETDATA, "marketdata")},
                "spec": {
                    "automountServiceAccountToken": False,
                    "securityContext": pod_security(),
                    "containers": [
                        {
                            "name": MARKETDATA,
                            "image": spec.marketdata_image,
                            "args": [
                                "--host",
                                spec.gateway_host,
                                "--port",
                                str(spec.gateway_port),
                                "--client-id",
                                str(MARKETDATA_CLIENT_ID),
                                "--clock",
                                clock,
                                "--health-port",
                                str(MARKETDATA_PORT),
                                "--out",
                                f"{DATA_DIR}/events.jsonl",
                                "--record",
                                f"{DATA_DIR}/recordings/snapshots.jsonl.gz",
                                "--backend-url",
                                spec.backend_url,
                                "--data-dir",
                                DATA_DIR,
                            ],
                            "env": _app_env(spec),
                            "ports": [
                                {
                                    "name": "http",
                                    "containerPort": MARKETDATA_PORT,
                                    "protocol": "TCP",
                                }
                            ],
                            "resources": Resources("250m", "512Mi", "2", "1Gi").to_k8s(),
                            **http_probes("http"),
                            "securityContext": container_security(),
                            "volumeMounts": [
                                {"name": "data", "mountPath": DATA_DIR},
                                TMP_MOUNT,
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "data", "persistentVolumeClaim": {"claimName": "marketdata-data"}},
                        empty_dir("tmp"),
                    ],
                },
            },
        },
    }


def trader_settings() -> Manifest:
    """The trader's TraderSettings (spy_trader.settings): paper, leader election by Lease."""
    import json

    settings = {
        "account_kind": "paper",
        "lease": {"kind": "kubernetes", "name": TRADER_LEASE, "namespace": APPS_NAMESPACE},
    }
    return {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta("trader-settings", TRADER, "settings"),
        "data": {"settings.json": json.dumps(settings, indent=2, sort_keys=True)},
    }


def trader_rbac() -> list[Manifest]:
    """The trader may read and renew exactly its one Lease. The Lease is declared here, so the
    trader never needs `create` (which RBAC cannot restrict by name)."""
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(TRADER, TRADER, "identity"),
        "automountServiceAccountToken": True,
    }
    lease = {
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": meta(TRADER_LEASE, TRADER, "leader-election"),
        "spec": {"leaseDurationSeconds": 15},
    }
    role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "Role",
        "metadata": meta("trader-lease", TRADER, "identity"),
        "rules": [
            {
                "apiGroups": ["coordination.k8s.io"],
                "resources": ["leases"],
                "resourceNames": [TRADER_LEASE],
                "verbs": ["get", "update", "patch"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "RoleBinding",
        "metadata": meta("trader-lease", TRADER, "identity"),
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "Role",
            "name": "trader-lease",
        },
        "subjects": [{"kind": "ServiceAccount", "name": TRADER, "namespace": APPS_NAMESPACE}],
    }
    return [sa, lease, role, binding]


def trader(spec: WorkloadSpec) -> Manifest:
    """Two replicas; only the Lease holder sends orders (spy_trader.lease). The image is the
    `trader` target of apps/Dockerfile (to be added with apps/trader)."""
    return {
        "apiVersion": "apps/v1",
        "kind": "Deployment",
        "metadata": meta(TRADER, TRADER, "trader"),
        "spec": {
            "replicas": spec.trader_replicas,
            "selector": {"matchLabels": selector(TRADER)},
            "strategy": {"type": "RollingUpdate", "rollingUpdate": {"maxUnavailable": 1}},
            "template": {
                "metadata": {"labels": {**labels(TRADER, "trader"), **API_SERVER_CLIENT}},
                "spec": {
                    "serviceAccountName": TRADER,
                    "priorityClassName": PRIORITY_CLASS,
                    "securityContext": pod_security(),
                    "topologySpreadConstraints": [
                        {
                            "maxSkew": 1,
                            "topologyKey": "kubernetes.io/hostname",
                            "whenUnsatisfiable": "ScheduleAnyway",
                            "labelSelector": {"matchLabels": selector(TRADER)},
                        }
                    ],
                    "containers": [
                        {
                            "name": TRADER,
                            "image": spec.trader_image,
                            "command": ["spy-platform", "trade"],
                            "args": [
                                "--host",
                                spec.gateway_host,
                                "--port",
                                str(spec.gateway_port),
                                "--client-id",
                                str(TRADER_CLIENT_ID),
                                "--config",
                                "/etc/spy-trader/settings.json",
                                "--backend",
                                spec.backend_url,
                                "--data-dir",
                                DATA_DIR,
                                "--http-port",
                                str(TRADER_PORT),
                            ],
                            "env": _app_env(spec),
                            "ports": [
                                {"name": "http", "containerPort": TRADER_PORT, "protocol": "TCP"}
                            ],
                            "resources": Resources("250m", "384Mi", "2", "768Mi").to_k8s(),
                            **http_probes("http"),
                            "securityContext": container_security(),
                            "volumeMounts": [
                                {"name": "settings", "mountPath": "/etc/spy-trader"},
                                {"name": "data", "mountPath": DATA_DIR},
                                TMP_MOUNT,
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "settings", "configMap": {"name": "trader-settings"}},
                        # Journal and spool per pod; positions are reconciled from IB at
                        # every connect, so a new pod starts from the broker's truth.
                        empty_dir("data", "1Gi"),
                        empty_dir("tmp"),
                    ],
                },
            },
        },
    }


def gateway_manifests(spec: WorkloadSpec) -> list[Manifest]:
    workload = ib_gateway(spec) if spec.gateway == "ib" else simulator(spec)
    return [workload, service(GATEWAY, spec.gateway_port, "api"), pdb(GATEWAY, 1)]


def marketdata_manifests(spec: WorkloadSpec) -> list[Manifest]:
    return [
        data_claim(spec),
        marketdata(spec),
        service(MARKETDATA, MARKETDATA_PORT, "http"),
        pdb(MARKETDATA, 1),
    ]


def trader_manifests(spec: WorkloadSpec) -> list[Manifest]:
    return [
        trader_settings(),
        *trader_rbac(),
        trader(spec),
        service(TRADER, TRADER_PORT, "http"),
        pdb(TRADER, 1),
    ]
