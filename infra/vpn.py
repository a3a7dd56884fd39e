"""The site-to-site VPN, both ends: Azure VPN gateway + connection, and strongSwan's config."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
import pulumi_random as random
from pulumi_azure_native import network

from infra.azure_args import AzureComponentArgs
from infra.ipsec import IpsecPolicy
from infra.swanctl import TunnelSpec, render_swanctl

VpnSku = Literal["Basic", "VpnGw1", "VpnGw2", "VpnGw1AZ", "VpnGw2AZ"]
"""The VPN gateway SKUs the platform prices and deploys (a subset of
`network.VirtualNetworkGatewaySkuName`)."""

GATEWAY_TIMEOUTS = pulumi.CustomTimeouts(create="75m", update="75m", delete="60m")
"""A VPN gateway takes 30-45 minutes to create; the default timeouts are too short."""

PSK_LENGTH = 64


def custom_policy_supported(sku: VpnSku) -> bool:
    """Azure applies a custom IPsec/IKE policy on VpnGw1+ only; Basic uses its defaults."""
    return sku != "Basic"


def azure_ipsec_policy(policy: IpsecPolicy) -> network.IpsecPolicyArgs:
    """The Azure rendering of the tunnel's policy (swanctl.py renders the strongSwan one)."""
    return network.IpsecPolicyArgs(
        ike_encryption=network.IkeEncryption(policy.ike_encryption),
        ike_integrity=network.IkeIntegrity(policy.ike_integrity),
        dh_group=network.DhGroup(policy.dh_group),
        ipsec_encryption=network.IpsecEncryption(policy.ipsec_encryption),
        ipsec_integrity=network.IpsecIntegrity(policy.ipsec_integrity),
        pfs_group=network.PfsGroup(policy.pfs_group),
        sa_life_time_seconds=policy.sa_lifetime_seconds,
        sa_data_size_kilobytes=policy.sa_data_size_kilobytes,
    )


@dataclass(frozen=True)
class SiteToSiteVpnArgs(AzureComponentArgs):
    gateway_subnet_id: pulumi.Input[str]
    sku: VpnSku
    tunnel: TunnelSpec


def _zones(sku: VpnSku) -> list[str] | None:
    """AZ gateway SKUs need a zone-redundant public IP."""
    return ["1", "2", "3"] if sku.endswith("AZ") else None


class SiteToSiteVpn(pulumi.ComponentResource):
    """Route-based IKEv2 tunnel to the on-prem strongSwan, with a generated pre-shared key.

    `pre_shared_key` is that key (a secret Output, for the composition to keep in Key Vault);
    `on_prem_config` is the rendered `swanctl.conf` for the other end, a secret Output too (it
    holds the key).
    """

    public_ip: network.PublicIPAddress
    gateway: network.VirtualNetworkGateway
    local_gateway: network.LocalNetworkGateway
    connection: network.VirtualNetworkGatewayConnection
    gateway_ip: pulumi.Output[str]
    pre_shared_key: pulumi.Output[str]
    on_prem_config: pulumi.Output[str]

    def __init__(
        self, name: str, args: SiteToSiteVpnArgs, opts: pulumi.ResourceOptions | None = None
    ):
        super().__init__("spy:vpn:SiteToSiteVpn", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        gateway_opts = child.merge(pulumi.ResourceOptions(custom_timeouts=GATEWAY_TIMEOUTS))
        tunnel = args.tunnel
        self.public_ip = network.PublicIPAddress(
            args.naming.name("vpngw-pip"),
            sku=network.PublicIPAddressSkuArgs(
                name=network.PublicIPAddressSkuName.STANDARD,
                tier=network.PublicIPAddressSkuTier.REGIONAL,
            ),
            public_ip_allocation_method=network.IPAllocationMethod.STATIC,
            zones=_zones(args.sku),
            opts=child,
            **args.placement(),
        )
        self.gateway = network.VirtualNetworkGateway(
            args.naming.name("vpngw"),
            gateway_type=network.VirtualNetworkGatewayType.VPN,
            vpn_type=network.VpnType.ROUTE_BASED,
            enable_bgp=False,
            active_active=False,
            sku=network.VirtualNetworkGatewaySkuArgs(
                name=network.VirtualNetworkGatewaySkuName(args.sku),
                tier=network.VirtualNetworkGatewaySkuTier(args.sku),
            ),
            ip_configurations=[
                network.VirtualNetworkGatewayIPConfigurationArgs(
                    name="default",
                    private_ip_allocation_method=network.IPAllocationMethod.DYNAMIC,
                    public_ip_address=network.SubResourceArgs(id=self.public_ip.id),
                    subnet=network.SubResourceArgs(id=args.gateway_subnet_id),
                )
            ],
            opts=gateway_opts,
            **args.placement(),
        )
        self.local_gateway = network.LocalNetworkGateway(
            args.naming.name("onprem-lgw"),
            gateway_ip_address=tunnel.on_prem_public_ip,
            local_network_address_space=network.AddressSpaceArgs(
                address_prefixes=list(tunnel.on_prem_cidrs)
            ),
            opts=child,
            **args.placement(),
        )
        psk = random.RandomPassword(
            args.naming.name("vpn-psk"),
            length=PSK_LENGTH,
            special=False,  # strongSwan and Azure both accept it without quoting rules
            opts=child,
        )
        # Secret in the program itself: the engine marks `result` secret, but mocks do not.
        self.pre_shared_key = pulumi.Output.secret(psk.result)
        policies = (
            [azure_ipsec_policy(tunnel.policy)] if custom_policy_supported(args.sku) else None
        )
        self.connection = network.VirtualNetworkGatewayConnection(
            args.naming.name("vpn-onprem"),
            connection_type=network.VirtualNetworkGatewayConnectionType.IPSEC,
            connection_protocol=network.VirtualNetworkGatewayConnectionProtocol.IK_EV2,
            virtual_network_gateway1=network.VirtualNetworkGatewayArgs(id=self.gateway.id),
            local_network_gateway2=network.LocalNetworkGatewayArgs(id=self.local_gateway.id),
            shared_key=self.pre_shared_key,
            dpd_timeout_seconds=tunnel.dpd_timeout_seconds,
            ipsec_policies=policies,
            use_policy_based_traffic_selectors=False,
            enable_bgp=False,
            opts=gateway_opts,
            **args.placement(),
        )
        self.gateway_ip = self.public_ip.ip_address.apply(lambda ip: ip or "")
        self.on_prem_config = pulumi.Output.secret(
            pulumi.Output.all(self.gateway_ip, self.pre_shared_key).apply(
                lambda values: render_swanctl(tunnel, values[0] or None, values[1])
            )
        )
        self.register_outputs(
            {
                "gateway_ip": self.gateway_ip,
                "connection_id": self.connection.id,
                "pre_shared_key": self.pre_shared_key,
                "on_prem_config": self.on_prem_config,
            }
        )
