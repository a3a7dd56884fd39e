"""NetworkPolicies: deny everything per namespace, then allow exactly the paths the platform
uses. The IB API is unauthenticated raw TCP (whoever reaches it controls the account), so its
port admits only market data and the trader.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from infra.k3s.pods import API_SERVER_CLIENT, labels, selector
from infra.k3s.workloads import (
    APPS_NAMESPACE,
    GATEWAY,
    MARKETDATA,
    MARKETDATA_PORT,
    MONITORING_NAMESPACE,
    TRADER,
    TRADER_PORT,
    Manifest,
)

K3S_API_PORT = 6443
KUBELET_PORT = 10250
NODE_EXPORTER_PORT = 9100
PRIVATE_RANGES = ("10.0.0.0/8", "172.16.0.0/12", "192.168.0.0/16")


@dataclass(frozen=True)
class NetworkSpec:
    azure_vnet_cidr: str  # the backend is reached through the VPN
    node_cidrs: tuple[str, ...]  # the on-prem LAN: k3s API server and kubelets
    gateway_port: int
    ib_gateway: bool  # the real gateway also needs IB's servers on the internet


def _policy(name: str, namespace: str, pod_selector: dict[str, Any], **spec: Any) -> Manifest:
    return {
        "apiVersion": "networking.k8s.io/v1",
        "kind": "NetworkPolicy",
        "metadata": {
            "name": name,
            "namespace": namespace,
            "labels": labels("spy-platform", "network-policy"),
        },
        "spec": {"podSelector": pod_selector, **spec},
    }


def _tcp(*ports: int) -> list[dict[str, Any]]:
    return [{"protocol": "TCP", "port": p} for p in ports]


def _pods(app: str) -> dict[str, Any]:
    return {"podSelector": {"matchLabels": selector(app)}}


def _cidrs(cidrs: tuple[str, ...] | list[str], *ports: int) -> dict[str, Any]:
    return {"to": [{"ipBlock": {"cidr": c}} for c in cidrs], "ports": _tcp(*ports)}


DNS_EGRESS = {
    "to": [
        {
            "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": "kube-system"}},
            "podSelector": {"matchLabels": {"k8s-app": "kube-dns"}},
        }
    ],
    "ports": [{"protocol": "UDP", "port": 53}, {"protocol": "TCP", "port": 53}],
}
INTERNET = {"ipBlock": {"cidr": "0.0.0.0/0", "except": list(PRIVATE_RANGES)}}


def policies(spec: NetworkSpec) -> list[Manifest]:
    ns = APPS_NAMESPACE
    monitoring_ns = {
        "namespaceSelector": {"matchLabels": {"kubernetes.io/metadata.name": MONITORING_NAMESPACE}}
    }
    gateway_egress = (
        # IB's login and data servers (ports 4000/4001 and 443), outside any private range.
        [{"to": [INTERNET], "ports": _tcp(443, 4000, 4001)}] if spec.ib_gateway else []
    )
    apps = [
        _policy("default-deny", ns, {}, policyTypes=["Ingress", "Egress"]),
        _policy("dns", ns, {}, policyTypes=["Egress"], egress=[DNS_EGRESS]),
        _policy(
            "gateway-api",
            ns,
            {"matchLabels": selector(GATEWAY)},
            policyTypes=["Ingress", "Egress"],
            ingress=[
                {"from": [_pods(MARKETDATA), _pods(TRADER)], "ports": _tcp(spec.gateway_port)}
            ],
            egress=gateway_egress,
        ),
        *(
            _policy(
                f"{app}-egress",
                ns,
                {"matchLabels": selector(app)},
                policyTypes=["Egress"],
                egress=[
                    {"to": [_pods(GATEWAY)], "ports": _tcp(spec.gateway_port)},
                    _cidrs((spec.azure_vnet_cidr,), 443),
                ],
            )
            for app in (MARKETDATA, TRADER)
        ),
        *(
            _policy(
                f"{app}-metrics",
                ns,
                {"matchLabels": selector(app)},
                policyTypes=["Ingress"],
                ingress=[{"from": [monitoring_ns], "ports": _tcp(port)}],
            )
            for app, port in ((MARKETDATA, MARKETDATA_PORT), (TRADER, TRADER_PORT))
        ),
        _policy(
            "api-server",
            ns,
            {"matchLabels": API_SERVER_CLIENT},
            policyTypes=["Egress"],
            egress=[_cidrs(spec.node_cidrs, K3S_API_PORT, 443)],
        ),
    ]
    mon = MONITORING_NAMESPACE
    same_namespace = {"podSelector": {}}
    monitoring = [
        _policy("default-deny", mon, {}, policyTypes=["Ingress", "Egress"]),
        _policy(
            "monitoring",
            mon,
            {},
            policyTypes=["Ingress", "Egress"],
            ingress=[{"from": [same_namespace]}],
            egress=[
                DNS_EGRESS,
                {"to": [same_namespace]},
                # Scrapes of the apps, the API server, kubelets and node-exporter (host net).
                {
                    "to": [
                        {
                            "namespaceSelector": {
                                "matchLabels": {"kubernetes.io/metadata.name": APPS_NAMESPACE}
                            }
                        }
                    ],
                    "ports": _tcp(MARKETDATA_PORT, TRADER_PORT),
                },
                _cidrs(spec.node_cidrs, K3S_API_PORT, 443, KUBELET_PORT, NODE_EXPORTER_PORT),
                # Logs Ingestion API, Entra token endpoint and the alert webhook over HTTPS;
                # the backend's /metrics through the VPN.
                {"to": [INTERNET], "ports": _tcp(443)},
                _cidrs((spec.azure_vnet_cidr,), 443),
            ],
        ),
    ]
    return apps + monitoring
