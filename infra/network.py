"""The Azure network: one VNet, subnets computed from its address space, least-privilege NSGs."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass

import pulumi
from pulumi_azure_native import network

from infra.azure_args import AzureComponentArgs

HTTPS = "443"
GATEWAY_SUBNET = "GatewaySubnet"
"""The one subnet name Azure accepts for a VPN gateway."""
DENY_ALL_PRIORITY = 4096
"""Explicit deny-all rules sit at the lowest custom priority: they override Azure's default
AllowVnetInBound, whose `VirtualNetwork` tag also covers the on-prem LAN behind the VPN."""
INBOUND = network.SecurityRuleDirection.INBOUND
OUTBOUND = network.SecurityRuleDirection.OUTBOUND


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
    direction: network.SecurityRuleDirection
    access: network.SecurityRuleAccess
    protocol: network.SecurityRuleProtocol
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


def _deny_all(direction: network.SecurityRuleDirection) -> NsgRule:
    return NsgRule(
        f"DenyAll{direction.value}",
        DENY_ALL_PRIORITY,
        direction,
        network.SecurityRuleAccess.DENY,
        network.SecurityRuleProtocol.ASTERISK,
        ("*",),
        ("*",),
        "*",
    )


def _allow_https(
    name: str,
    priority: int,
    direction: network.SecurityRuleDirection,
    sources: tuple[str, ...],
    to: tuple[str, ...],
) -> NsgRule:
    """Every allow rule of the platform is TCP 443: nothing else crosses a subnet boundary."""
    access, tcp = network.SecurityRuleAccess.ALLOW, network.SecurityRuleProtocol.TCP
    return NsgRule(name, priority, direction, access, tcp, sources, to, HTTPS)


def app_subnet_rules(on_prem_cidrs: tuple[str, ...]) -> list[NsgRule]:
    """The backend's outbound path: HTTPS to Azure services and to the on-prem ingress only.
    Nothing enters through this subnet (App Service VNet integration is outbound only)."""
    return [
        _allow_https("AllowAzureHttpsOutbound", 100, OUTBOUND, ("*",), ("AzureCloud",)),
        _allow_https("AllowOnPremHttpsOutbound", 110, OUTBOUND, ("*",), on_prem_cidrs),
        _deny_all(OUTBOUND),
        _deny_all(INBOUND),
    ]


def container_subnet_rules(on_prem_cidrs: tuple[str, ...], subnet: str) -> list[NsgRule]:
    """In-Azure containers: reachable over HTTPS from the on-prem LAN only; out to Azure only."""
    return [
        _allow_https("AllowOnPremHttpsInbound", 100, INBOUND, on_prem_cidrs, (subnet,)),
        _allow_https("AllowAzureHttpsOutbound", 100, OUTBOUND, (subnet,), ("AzureCloud",)),
        _deny_all(INBOUND),
        _deny_all(OUTBOUND),
    ]


@dataclass(frozen=True)
class NetworkArgs(AzureComponentArgs):
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
        self.vnet = network.VirtualNetwork(
            args.naming.name("vnet"),
            address_space=network.AddressSpaceArgs(address_prefixes=[args.address_space]),
            opts=child.merge(pulumi.ResourceOptions(ignore_changes=["subnets"])),
            **args.placement(),
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
            GATEWAY_SUBNET,
            subnet_name=GATEWAY_SUBNET,
            address_prefix=plan.gateway,
            # Azure fixes the name, so a replacement cannot be created beside the old one.
            opts=child.merge(pulumi.ResourceOptions(delete_before_replace=True)),
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
            security_rules=[rule.args() for rule in rules],
            opts=pulumi.ResourceOptions(parent=self),
            **args.placement(),
        )
