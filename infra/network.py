"""The Azure network: one VNet, subnets computed from its address space, least-privilege NSGs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from infra.naming import Naming

HTTPS = "443"
DENY_ALL_PRIORITY = 4096
"""Explicit deny-all rules sit at the lowest custom priority: they override Azure's default
AllowVnetInBound, whose `VirtualNetwork` tag also covers the on-prem LAN behind the VPN."""


@dataclass(frozen=True)
class SubnetPlan:
    """GatewaySubnet (/27), the App Service integration subnet (/26), the container subnet (/26)."""

    gateway: str
    app: str
    container: str


def plan_subnets(address_space: str) -> SubnetPlan:
    """Carve the subnets from the first three /26 blocks of the VNet (needs /24 or larger)."""
    blocks = list(ipaddress.IPv4Network(address_space).subnets(new_prefix=26))
    gateway = next(blocks[0].subnets(new_prefix=27))
    return SubnetPlan(gateway=str(gateway), app=str(blocks[1]), container=str(blocks[2]))


@dataclass(frozen=True)
class NsgRule:
    name: str
    priority: int
    direction: str
    access: str
    protocol: str
    sources: tuple[str, ...]
    destinations: tuple[str, ...]
    ports: str

    def args(self) -> network.SecurityRuleArgs:
        return network.SecurityRuleArgs(
            name=self.name,
            priority=self.priority,
            direction=self.direction,
            access=self.access,
            protocol=self.protocol,
            source_address_prefixes=list(self.sources),
            source_port_range="*",
            destination_address_prefixes=list(self.destinations),
            destination_port_range=self.ports,
        )


def _deny_all(direction: str) -> NsgRule:
    return NsgRule(
        f"DenyAll{direction}", DENY_ALL_PRIORITY, direction, "Deny", "*", ("*",), ("*",), "*"
    )


def _allow_https(
    name: str, priority: int, direction: str, sources: tuple[str, ...], to: tuple[str, ...]
) -> NsgRule:
    """Every allow rule of the platform is TCP 443: nothing else crosses a subnet boundary."""
    return NsgRule(name, priority, direction, "Allow", "Tcp", sources, to, HTTPS)


def app_subnet_rules(on_prem_cidrs: tuple[str, ...]) -> list[NsgRule]:
    """The backend's outbound path: HTTPS to Azure services and to the on-prem ingress only.
    Nothing enters through this subnet (App Service VNet integration is outbound only)."""
    return [
        _allow_https("AllowAzureHttpsOutbound", 100, "Outbound", ("*",), ("AzureCloud",)),
        _allow_https("AllowOnPremHttpsOutbound", 110, "Outbound", ("*",), on_prem_cidrs),
        _deny_all("Outbound"),
        _deny_all("Inbound"),
    ]


def container_subnet_rules(on_prem_cidrs: tuple[str, ...], subnet: str) -> list[NsgRule]:
    """In-Azure containers: reachable over HTTPS from the on-prem LAN only; out to Azure only."""
    return [
        _allow_https("AllowOnPremHttpsInbound", 100, "Inbound", on_prem_cidrs, (subnet,)),
        _allow_https("AllowAzureHttpsOutbound", 100, "Outbound", (subnet,), ("AzureCloud",)),
        _deny_all("Inbound"),
        _deny_all("Outbound"),
    ]


@dataclass(frozen=True)
class NetworkArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming
    address_space: str
    on_prem_cidrs: tuple[str, ...]


class Network(pulumi.ComponentResource):
    """VNet with GatewaySubnet (no NSG: Azure does not support one there), an app subnet
    delegated to Microsoft.Web/serverFarms and a container subnet, each with its NSG."""

    vnet: network.VirtualNetwork
    gateway_subnet: network.Subnet
    app_subnet: network.Subnet
    container_subnet: network.Subnet

    def __init__(self, name: str, args: NetworkArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:network:Network", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        plan = plan_subnets(args.address_space)
        self.plan = plan
        common = {"resource_group_name": args.resource_group_name, "location": args.location}
        self.vnet = network.VirtualNetwork(
            args.naming.name("vnet"),
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            opts=child.merge(pulumi.ResourceOptions(ignore_changes=["subnets"])),
            **common,
        )
        app_nsg = self._nsg(args, "app-nsg", app_subnet_rules(args.on_prem_cidrs))
        container_nsg = self._nsg(
            args, "container-nsg", container_subnet_rules(args.on_prem_cidrs, plan.container)
        )
        subnet_common = {
            "resource_group_name": args.resource_group_name,
            "virtual_network_name": self.vnet.name,
        }
        # Azure serialises subnet operations on one VNet: declare them one after another.
        self.gateway_subnet = network.Subnet(
            "GatewaySubnet",
            subnet_name="GatewaySubnet",
            address_prefix=plan.gateway,
            opts=child,
            **subnet_common,
        )
        self.app_subnet = network.Subnet(
            args.naming.name("app-subnet"),
            address_prefix=plan.app,
            network_security_group=network.NetworkSecurityGroupArgs(id=app_nsg.id),
            delegations=[
                network.DelegationArgs(name="appservice", service_name="Microsoft.Web/serverFarms")
            ],
            opts=child.merge(pulumi.ResourceOptions(depends_on=[self.gateway_subnet])),
            **subnet_common,
        )
        self.container_subnet = network.Subnet(
            args.naming.name("container-subnet"),
            address_prefix=plan.container,
            network_security_group=network.NetworkSecurityGroupArgs(id=container_nsg.id),
            opts=child.merge(pulumi.ResourceOptions(depends_on=[self.app_subnet])),
            **subnet_common,
        )
        self.register_outputs(
            {
                "vnet_id": self.vnet.id,
                "app_subnet_id": self.app_subnet.id,
                "container_subnet_id": self.container_subnet.id,
                "gateway_subnet_id": self.gateway_subnet.id,
            }
        )

    def _nsg(
        self, args: NetworkArgs, kind: str, rules: list[NsgRule]
    ) -> network.NetworkSecurityGroup:
        return network.NetworkSecurityGroup(
            args.naming.name(kind),
            resource_group_name=args.resource_group_name,
            location=args.location,
            security_rules=[rule.args() for rule in rules],
            opts=pulumi.ResourceOptions(parent=self),
        )
