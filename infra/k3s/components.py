"""The data plane's ComponentResources (`spy:k3s:<Name>`): each declares the manifests its pure
builder returns, one pulumi-kubernetes resource per manifest, as children of itself. The
provider (the k3s cluster) is inherited from the parent DataPlane.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s

from infra.k3s import logs, monitoring, network, session_scaler, workloads
from infra.k3s.workloads import Manifest

_CLASSES = {
    ("v1", "Namespace"): k8s.core.v1.Namespace,
    ("v1", "Secret"): k8s.core.v1.Secret,
    ("v1", "ConfigMap"): k8s.core.v1.ConfigMap,
    ("v1", "Service"): k8s.core.v1.Service,
    ("v1", "ServiceAccount"): k8s.core.v1.ServiceAccount,
    ("v1", "PersistentVolumeClaim"): k8s.core.v1.PersistentVolumeClaim,
    ("apps/v1", "Deployment"): k8s.apps.v1.Deployment,
    ("apps/v1", "StatefulSet"): k8s.apps.v1.StatefulSet,
    ("apps/v1", "DaemonSet"): k8s.apps.v1.DaemonSet,
    ("batch/v1", "CronJob"): k8s.batch.v1.CronJob,
    ("policy/v1", "PodDisruptionBudget"): k8s.policy.v1.PodDisruptionBudget,
    ("scheduling.k8s.io/v1", "PriorityClass"): k8s.scheduling.v1.PriorityClass,
    ("networking.k8s.io/v1", "NetworkPolicy"): k8s.networking.v1.NetworkPolicy,
    ("coordination.k8s.io/v1", "Lease"): k8s.coordination.v1.Lease,
    ("rbac.authorization.k8s.io/v1", "Role"): k8s.rbac.v1.Role,
    ("rbac.authorization.k8s.io/v1", "RoleBinding"): k8s.rbac.v1.RoleBinding,
    ("rbac.authorization.k8s.io/v1", "ClusterRole"): k8s.rbac.v1.ClusterRole,
    ("rbac.authorization.k8s.io/v1", "ClusterRoleBinding"): k8s.rbac.v1.ClusterRoleBinding,
}
SCALED = {("apps/v1", "Deployment"), ("apps/v1", "StatefulSet")}
"""Kinds whose replicas the session scaler owns between deployments (`ignore_changes`)."""


def _snake(key: str) -> str:
    return re.sub(r"(?<!^)(?=[A-Z])", "_", key).lower()


def logical_name(manifest: Manifest) -> str:
    meta = manifest["metadata"]
    kind = manifest["kind"].lower()
    namespace = meta.get("namespace")
    return f"{namespace}-{kind}-{meta['name']}" if namespace else f"{kind}-{meta['name']}"


def declare(manifest: Manifest, opts: pulumi.ResourceOptions) -> pulumi.CustomResource:
    """One manifest as its typed pulumi-kubernetes resource (CRs as CustomResource)."""
    api_version, kind = manifest["apiVersion"], manifest["kind"]
    body = {k: v for k, v in manifest.items() if k not in ("apiVersion", "kind")}
    name = logical_name(manifest)
    cls = _CLASSES.get((api_version, kind))
    if cls is None:
        return k8s.apiextensions.CustomResource(
            name, api_version=api_version, kind=kind, opts=opts, **body
        )
    if (api_version, kind) in SCALED:
        opts = pulumi.ResourceOptions.merge(
            opts, pulumi.ResourceOptions(ignore_changes=["spec.replicas"])
        )
    return cls(name, opts=opts, **{_snake(k): v for k, v in body.items()})


class _Manifests(pulumi.ComponentResource):
    """Declares `manifests` as children; `depends_on` orders them after other components."""

    resources: list[pulumi.CustomResource]

    def __init__(
        self,
        name: str,
        manifests: Sequence[Manifest],
        opts: pulumi.ResourceOptions | None,
        depends_on: Sequence[pulumi.Resource] = (),
    ):
        super().__init__(f"spy:k3s:{type(self).__name__}", name, None, opts)
        child = pulumi.ResourceOptions(parent=self, depends_on=list(depends_on))
        self.resources = [declare(m, child) for m in manifests]
        self.register_outputs({"objects": [logical_name(m) for m in manifests]})


class Namespaces(_Manifests):
    def __init__(self, name: str, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, [*workloads.namespaces(), workloads.priority_class()], opts)


@dataclass(frozen=True)
class GatewayArgs:
    spec: workloads.WorkloadSpec
    ib_user: pulumi.Input[str] | None
    ib_password: pulumi.Input[str] | None
    after: Sequence[pulumi.Resource] = ()


class Gateway(_Manifests):
    """IB Gateway (paper) as a StatefulSet, or the simulator, behind the `gateway` Service."""

    def __init__(self, name: str, args: GatewayArgs, opts: pulumi.ResourceOptions | None = None):
        credentials = (
            [workloads.ib_credentials(args.ib_user, args.ib_password)]
            if args.spec.gateway == "ib"
            else []
        )
        super().__init__(
            name, [*credentials, *workloads.gateway_manifests(args.spec)], opts, args.after
        )


@dataclass(frozen=True)
class AppArgs:
    spec: workloads.WorkloadSpec
    after: Sequence[pulumi.Resource] = ()


class MarketData(_Manifests):
    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, workloads.marketdata_manifests(args.spec), opts, args.after)


class Trader(_Manifests):
    def __init__(self, name: str, args: AppArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, workloads.trader_manifests(args.spec), opts, args.after)


@dataclass(frozen=True)
class SharedSecretsArgs:
    service_token: pulumi.Input[str]
    after: Sequence[pulumi.Resource] = ()


class SharedSecrets(_Manifests):
    """The backend's service token, for the apps (posting) and Prometheus (scraping)."""

    def __init__(
        self, name: str, args: SharedSecretsArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            name,
            [
                workloads.service_token_secret(args.service_token),
                monitoring.backend_token(args.service_token),
            ],
            opts,
            args.after,
        )


@dataclass(frozen=True)
class SessionScalerArgs:
    image: pulumi.Input[str]
    targets: tuple[session_scaler.ScaleTarget, ...]
    minutes_before_open: int
    after: Sequence[pulumi.Resource] = ()


class SessionScaler(_Manifests):
    def __init__(
        self, name: str, args: SessionScalerArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(
            name,
            session_scaler.manifests(args.image, args.targets, args.minutes_before_open),
            opts,
            args.after,
        )


@dataclass(frozen=True)
class NetworkPoliciesArgs:
    spec: network.NetworkSpec
    after: Sequence[pulumi.Resource] = ()


class NetworkPolicies(_Manifests):
    def __init__(
        self, name: str, args: NetworkPoliciesArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__(name, network.policies(args.spec), opts, args.after)


@dataclass(frozen=True)
class LogShipperArgs:
    spec: logs.LogShippingSpec
    after: Sequence[pulumi.Resource] = ()


class LogShipper(_Manifests):
    def __init__(self, name: str, args: LogShipperArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__(name, logs.manifests(args.spec), opts, args.after)


@dataclass(frozen=True)
class MonitoringArgs:
    spec: monitoring.MonitoringSpec
    grafana_password: pulumi.Input[str]
    after: Sequence[pulumi.Resource] = ()


class Monitoring(pulumi.ComponentResource):
    """kube-prometheus-stack as one Helm release (hooks and CRDs handled by Helm itself), then
    the platform's monitoring objects, which need its CRDs."""

    release: k8s.helm.v3.Release

    def __init__(self, name: str, args: MonitoringArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:k3s:Monitoring", name, None, opts)
        after = pulumi.ResourceOptions(parent=self, depends_on=list(args.after))
        admin = declare(monitoring.grafana_admin(args.grafana_password), after)
        dashboards = [
            declare(m, after) for m in monitoring.dashboard_config_maps(args.spec.metrics)
        ]
        self.release = k8s.helm.v3.Release(
            "kube-prometheus-stack",
            name=monitoring.RELEASE,
            chart=monitoring.CHART,
            version=monitoring.CHART_VERSION,
            repository_opts=k8s.helm.v3.RepositoryOptsArgs(repo=monitoring.CHART_REPO),
            namespace=workloads.MONITORING_NAMESPACE,
            values=monitoring.helm_values(args.spec),
            atomic=True,
            timeout=900,
            opts=pulumi.ResourceOptions(parent=self, depends_on=[*args.after, admin]),
        )
        crs = pulumi.ResourceOptions(parent=self, depends_on=[self.release])
        custom = [declare(m, crs) for m in monitoring.custom_resources(args.spec)]
        self.register_outputs(
            {
                "release": self.release.name,
                "objects": [r.urn for r in (admin, *dashboards, *custom)],
            }
        )
