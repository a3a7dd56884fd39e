"""DataPlane (`spy:k3s:DataPlane`): the whole on-prem k3s side from one typed args object:
its provider (the cluster's kubeconfig, a stack secret), namespaces, gateway, market data,
trader, session scaler, network policies, monitoring and log shipping."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_kubernetes as k8s
import pulumi_random as random

from infra.k3s import components as c
from infra.k3s.logs import LogShippingSpec
from infra.k3s.monitoring import MonitoringSpec
from infra.k3s.network import NetworkSpec
from infra.k3s.session_scaler import ScaleTarget
from infra.k3s.workloads import GATEWAY, MARKETDATA, TRADER, WorkloadSpec

GRAFANA_PASSWORD_LENGTH = 32


@dataclass(frozen=True)
class DataPlaneArgs:
    kubeconfig: pulumi.Input[str]
    workloads: WorkloadSpec
    network: NetworkSpec
    monitoring: MonitoringSpec
    service_token: pulumi.Input[str]
    ib_user: str | None
    ib_password: pulumi.Input[str] | None
    scale_up_minutes_before_open: int
    logs: LogShippingSpec | None


class DataPlane(pulumi.ComponentResource):
    provider: k8s.Provider
    grafana_password: pulumi.Output[str]

    def __init__(self, name: str, args: DataPlaneArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:k3s:DataPlane", name, None, opts)
        self.provider = k8s.Provider(
            f"{name}-k3s",
            kubeconfig=args.kubeconfig,
            enable_server_side_apply=True,
            opts=pulumi.ResourceOptions(parent=self),
        )
        # Children inherit the provider: every Kubernetes object goes to the k3s cluster.
        child = pulumi.ResourceOptions(parent=self, providers=[self.provider])
        namespaces = c.Namespaces(f"{name}-namespaces", child)
        after = (namespaces,)
        spec = args.workloads
        secrets = c.SharedSecrets(
            f"{name}-secrets", c.SharedSecretsArgs(args.service_token, after), child
        )
        gateway = c.Gateway(
            f"{name}-gateway", c.GatewayArgs(spec, args.ib_user, args.ib_password, after), child
        )
        apps_after = (namespaces, secrets)
        c.MarketData(f"{name}-marketdata", c.AppArgs(spec, apps_after), child)
        c.Trader(f"{name}-trader", c.AppArgs(spec, apps_after), child)
        gateway_kind = "statefulset" if spec.gateway == "ib" else "deployment"
        c.SessionScaler(
            f"{name}-session-scaler",
            c.SessionScalerArgs(
                image=spec.marketdata_image,
                targets=(
                    ScaleTarget(gateway_kind, GATEWAY, 1),
                    ScaleTarget("deployment", MARKETDATA, 1),
                    ScaleTarget("deployment", TRADER, spec.trader_replicas),
                ),
                minutes_before_open=args.scale_up_minutes_before_open,
                after=(namespaces, gateway),
            ),
            child,
        )
        c.NetworkPolicies(f"{name}-network", c.NetworkPoliciesArgs(args.network, after), child)
        password = random.RandomPassword(
            f"{name}-grafana-admin",
            length=GRAFANA_PASSWORD_LENGTH,
            special=False,
            opts=pulumi.ResourceOptions(parent=self),
        )
        self.grafana_password = pulumi.Output.secret(password.result)
        c.Monitoring(
            f"{name}-monitoring",
            c.MonitoringArgs(args.monitoring, self.grafana_password, after),
            child,
        )
        if args.logs is not None:
            c.LogShipper(f"{name}-logs", c.LogShipperArgs(args.logs, after), child)
        self.register_outputs({"grafana_password": self.grafana_password})
