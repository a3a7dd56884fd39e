"""The site-to-site VPN, both ends: Azure VPN gateway + connection, and strongSwan's config."""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
import pulumi_random as random
from pulumi_azure_native import network

from infra.key_vault import KeyVault
from infra.naming import Naming
from infra.swanctl import TunnelSpec, render_swanctl

GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="75m", update="75m", delete="60m")
"""A VPN gateway takes 30-45 minutes to create; the default timeouts are too short."""

PSK_LENGTH = 64


@dataclass(frozen=True)
class SiteToSiteVpnArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming
    gateway_subnet_id: pulumi.Input[str]
    sku: str
    custom_policy_supported: bool
    tunnel: TunnelSpec
    key_vault: KeyVault


def _zones(sku: str) -> list[str] | None:
    """AZ gateway SKUs need a zone-redundant public IP."""
    return ["1", "2", "3"] if sku.endswith("AZ") else None


class SiteToSiteVpn(pulumi.ComponentResource):
    """Route-based IKEv2 tunnel to the on-prem strongSwan, with a generated pre-shared key.

    `on_prem_config` is the rendered `swanctl.conf` for the other end, a secret Output (it
    holds the key).
    """

    public_ip: network.PublicIPAddress
    gateway: network.VirtualNetworkGateway
    local_gateway: network.LocalNetworkGateway
    connection: network.VirtualNetworkGatewayConnection
    on_prem_config: pulumi.Output[str]

    def __init__(
        self, name: str, args: SiteToSiteVpnArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:vpn:SiteToSiteVpn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        common = {"resource_group_name": args.resource_group_name, "location": args.location}
        tunnel = args.tunnel
        self.public_ip = network.PublicIPAddress(
            args.naming.name("vpngw-pip"),
            sku=network.PublicIPAddressSkuArgs(name="Standard", tier="Regional"),
            public_ip_allocation_method="Static",
            zones=_zones(args.sku),
            opts=child,
            **common,
        )
        self.gateway = network.VirtualNetworkGateway(
            args.naming.name("vpngw"),
            gateway_type="Vpn",
            vpn_type="RouteBased",
            enable_bgp=False,
            active_active=False,
            sku=network.VirtualNetworkGatewaySkuArgs(name=args.sku, tier=args.sku),
            ip_configurations=[
                network.VirtualNetworkGatewayIPConfigurationArgs(
                    name="default",
                    private_ip_allocation_method="Dynamic",
                    public_ip_address=network.SubResourceArgs(id=self.public_ip.id),
                    subnet=network.SubResourceArgs(id=args.gateway_subnet_id),
                )
            ],
            opts=child.merge(pulumi.ResourceOptions(custom_timeouts=GATEWAY_TIMEOUTS)),
            **common,
        )
        self.local_gateway = network.LocalNetworkGateway(
            args.naming.name("onprem-lgw"),
            gateway_ip_address=tunnel.on_prem_public_ip,
            local_network_address_space=network.AddressSpaceArgs(
                address_prefixes=list(tunnel.on_prem_cidrs)
            ),
            opts=child,
            **common,
        )
        psk = random.RandomPassword(
            args.naming.name("vpn-psk"),
            length=PSK_LENGTH,
            special=False,  # strongSwan and Azure both accept it without quoting rules
            opts=child,
        )
        # Secret in the program itself: the engine marks `result` secret, but mocks do not.
        key = pulumi.Output.secret(psk.result)
        self.psk_secret = args.key_vault.store("vpn-psk", key)
        policies = (
            [network.IpsecPolicyArgs(**tunnel.policy.azure_policy())]
            if args.custom_policy_supported
            else None
        )
        self.connection = network.VirtualNetworkGatewayConnection(
            args.naming.name("vpn-onprem"),
            connection_type="IPsec",
            connection_protocol="IKEv2",
            virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
            local_network_gateway2=network.LocalNetworkGatewayArgs(id=self.local_gateway.id),
            shared_key=key,
            dpd_timeout_seconds=tunnel.dpd_timeout_seconds,
            ipsec_policies=policies,
            use_policy_based_traffic_selectors=False,
            enable_bgp=False,
            opts=child.merge(pulumi.ResourceOptions(custom_timeouts=GATEWAY_TIMEOUTS)),
            **common,
        )
        self.gateway_ip = self.public_ip.ip_address.apply(lambda ip: ip or "")
        self.on_prem_config = pulumi.Output.secret(
            pulumi.Output.all(self.gateway_ip, key).apply(
                lambda values: render_swanctl(tunnel, values[0] or None, values[1])
            )
        )
        self.register_outputs(
            {
                "gateway_ip": self.gateway_ip,
                "connection_id": self.connection.id,
                "on_prem_config": self.on_prem_config,
            }
        )
