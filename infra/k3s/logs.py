"""Fluent Bit on every node: container logs of the platform's namespaces to Log Analytics
through the Logs Ingestion API (the Azure end: infra/log_ingestion.py).

Delivery survives a VPN or Azure outage within a bound: every chunk is buffered on disk
(`storage.type filesystem`) and retried without limit until the output's queue reaches
`storage.total_limit_size`; only beyond that are the oldest chunks dropped. The buffer and the
tail offsets are on an emptyDir sized for that bound: they survive container restarts, not the
deletion of the pod.

It runs as a non-root user in group 0: container log files on the node are root:root 0640, so
the group reads them; the node's /var/log is mounted read-only (the one host path, annotated).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi

from infra.k3s.pods import Resources, labels, selector
from infra.k3s.workloads import APPS_NAMESPACE, MONITORING_NAMESPACE, Manifest, meta
from infra.log_ingestion import COLUMNS, TABLE

NAME = "fluent-bit"
IMAGE = "docker.io/fluent/fluent-bit:4.0.3"
"""Fluent Bit 4.0 (out_azure_logs_ingestion exists since 2.0); a full version tag (not checked
against the registry from here). The cluster pulls the registry's copy (infra/k3s/mirror.py)."""
BUFFER = "/var/lib/fluent-bit"
HOST_ACCESS = {
    "spy-platform.io/host-access-reason": "reads container logs from the node's /var/log "
    "(read-only)"
}
HEALTH_PORT = 2020


@dataclass(frozen=True)
class LogShippingSpec:
    image: pulumi.Input[str]  # the registry's copy of IMAGE
    tenant_id: pulumi.Input[str]
    client_id: str
    client_secret: pulumi.Input[str]
    endpoint: pulumi.Input[str]
    rule_immutable_id: pulumi.Input[str]
    buffer_limit_mb: int


def fluent_bit_config(buffer_limit_mb: int) -> str:
    namespaces = (APPS_NAMESPACE, MONITORING_NAMESPACE)
    paths = ", ".join(f"/var/log/containers/*_{ns}_*.log" for ns in namespaces)
    keys = "\n".join(f"    Allowlist_key {name}" for name, _ in COLUMNS if name != "TimeGenerated")
    return f"""[SERVICE]
    Flush                     5
    Log_Level                 info
    HTTP_Server               On
    HTTP_Listen               0.0.0.0
    HTTP_Port                 {HEALTH_PORT}
    Health_Check              On
    storage.path              {BUFFER}/buffer
    storage.sync              normal
    storage.backlog.mem_limit 16M

[INPUT]
    Name              tail
    Path              {paths}
    Tag               kube.*
    multiline.parser  cri
    DB                {BUFFER}/tail.db
    Mem_Buf_Limit     16MB
    Skip_Long_Lines   On
    storage.type      filesystem

[FILTER]
    Name                kubernetes
    Match               kube.*
    Merge_Log           Off
    Labels              Off
    Annotations         Off

[FILTER]
    Name          nest
    Match         kube.*
    Operation     lift
    Nested_under  kubernetes
    Add_prefix    k8s_

[FILTER]
    Name          record_modifier
    Match         kube.*
{keys}

[OUTPUT]
    Name                     azure_logs_ingestion
    Match                    kube.*
    tenant_id                ${{AZURE_TENANT_ID}}
    client_id                ${{AZURE_CLIENT_ID}}
    client_secret            ${{AZURE_CLIENT_SECRET}}
    dce_url                  ${{DCE_URL}}
    dcr_id                   ${{DCR_ID}}
    table_name               {TABLE}
    time_generated           true
    time_key                 TimeGenerated
    compress                 true
    Retry_Limit              no_limits
    storage.total_limit_size {buffer_limit_mb}M
"""


def manifests(spec: LogShippingSpec) -> list[Manifest]:
    ns = MONITORING_NAMESPACE
    secret = {
        "apiVersion": "v1",
        "kind": "Secret",
        "metadata": meta("fluent-bit-azure", NAME, "credentials", ns),
        "type": "Opaque",
        "stringData": {"client-secret": spec.client_secret},
    }
    config = {
        "apiVersion": "v1",
        "kind": "ConfigMap",
        "metadata": meta(NAME, NAME, "config", ns),
        "data": {"fluent-bit.conf": fluent_bit_config(spec.buffer_limit_mb)},
    }
    sa = {
        "apiVersion": "v1",
        "kind": "ServiceAccount",
        "metadata": meta(NAME, NAME, "identity", ns),
    }
    # The kubernetes filter reads pod metadata (namespace, pod, container names).
    cluster_role = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRole",
        "metadata": {"name": "spy-fluent-bit", "labels": labels(NAME, "identity")},
        "rules": [
            {
                "apiGroups": [""],
                "resources": ["pods", "namespaces"],
                "verbs": ["get", "list", "watch"],
            }
        ],
    }
    binding = {
        "apiVersion": "rbac.authorization.k8s.io/v1",
        "kind": "ClusterRoleBinding",
        "metadata": {"name": "spy-fluent-bit", "labels": labels(NAME, "identity")},
        "roleRef": {
            "apiGroup": "rbac.authorization.k8s.io",
            "kind": "ClusterRole",
            "name": "spy-fluent-bit",
        },
        "subjects": [{"kind": "ServiceAccount", "name": NAME, "namespace": ns}],
    }
    env = [
        {"name": "AZURE_TENANT_ID", "value": spec.tenant_id},
        {"name": "AZURE_CLIENT_ID", "value": spec.client_id},
        {
            "name": "AZURE_CLIENT_SECRET",
            "valueFrom": {"secretKeyRef": {"name": "fluent-bit-azure", "key": "client-secret"}},
        },
        {"name": "DCE_URL", "value": spec.endpoint},
        {"name": "DCR_ID", "value": spec.rule_immutable_id},
    ]
    health = {"httpGet": {"path": "/api/v1/health", "port": HEALTH_PORT}}
    daemonset = {
        "apiVersion": "apps/v1",
        "kind": "DaemonSet",
        "metadata": {**meta(NAME, NAME, "logs", ns), "annotations": HOST_ACCESS},
        "spec": {
            "selector": {"matchLabels": selector(NAME)},
            "template": {
                "metadata": {"labels": labels(NAME, "logs"), "annotations": HOST_ACCESS},
                "spec": {
                    "serviceAccountName": NAME,
                    "tolerations": [{"operator": "Exists"}],
                    "securityContext": {
                        "runAsNonRoot": True,
                        "runAsUser": 10001,
                        "runAsGroup": 0,
                        "seccompProfile": {"type": "RuntimeDefault"},
                    },
                    "containers": [
                        {
                            "name": NAME,
                            "image": spec.image,
                            "args": ["--config=/fluent-bit/etc/spy/fluent-bit.conf"],
                            "env": env,
                            "ports": [{"name": "http", "containerPort": HEALTH_PORT}],
                            "resources": Resources("50m", "64Mi", "500m", "256Mi").to_k8s(),
                            "livenessProbe": {**health, "periodSeconds": 30},
                            "readinessProbe": {**health, "periodSeconds": 10},
                            "securityContext": {
                                "runAsUser": 10001,
                                "runAsGroup": 0,
                                "runAsNonRoot": True,
                                "allowPrivilegeEscalation": False,
                                "readOnlyRootFilesystem": True,
                                "capabilities": {"drop": ["ALL"]},
                                "seccompProfile": {"type": "RuntimeDefault"},
                            },
                            "volumeMounts": [
                                {"name": "config", "mountPath": "/fluent-bit/etc/spy"},
                                {"name": "varlog", "mountPath": "/var/log", "readOnly": True},
                                {"name": "buffer", "mountPath": BUFFER},
                            ],
                        }
                    ],
                    "volumes": [
                        {"name": "config", "configMap": {"name": NAME}},
                        {"name": "varlog", "hostPath": {"path": "/var/log", "type": "Directory"}},
                        {
                            "name": "buffer",
                            "emptyDir": {"sizeLimit": f"{spec.buffer_limit_mb + 256}Mi"},
                        },
                    ],
                },
            },
        },
    }
    return [secret, config, sa, cluster_role, binding, daemonset]
