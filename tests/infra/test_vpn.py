"""Both ends of the tunnel agree: the Azure connection and the rendered swanctl.conf."""

from __future__ import annotations

import pytest

from infra.ipsec import (
    AZURE_DEFAULT_ESP,
    AZURE_DEFAULT_IKE,
    AZURE_IKE_SA_LIFETIME_SECONDS,
    STRONGSWAN_DH,
    STRONGSWAN_ENCRYPTION,
    STRONGSWAN_INTEGRITY,
)
from stacks.offline import MOCK_GATEWAY_IP
from tests.infra.conftest import evaluated, parse_swanctl


def one(stack, token):
    (resource,) = stack.of_type(token)
    return resource.inputs


def strongswan(stack):
    conf = parse_swanctl(stack.outputs["onPremVpnConfig"])
    (name,) = conf["connections"]
    return conf["connections"][name], conf["secrets"][f"ike-{name}"]


def expected_proposals(policy: dict) -> tuple[str, str]:
    """strongSwan proposals derived independently from the Azure policy's values."""
    enc, hash_ = STRONGSWAN_ENCRYPTION[policy["ikeEncryption"]], policy["ikeIntegrity"]
    middle = ("prf" if "GCM" in policy["ikeEncryption"] else "") + STRONGSWAN_INTEGRITY[hash_]
    ike = f"{enc}-{middle}-{STRONGSWAN_DH[policy['dhGroup']]}"
    esp = [STRONGSWAN_ENCRYPTION[policy["ipsecEncryption"]]]
    if "GCM" not in policy["ipsecIntegrity"]:
        esp.append(STRONGSWAN_INTEGRITY[policy["ipsecIntegrity"]])
    if policy["pfsGroup"] != "None":
        esp.append(STRONGSWAN_DH[policy["pfsGroup"]])
    return ike, "-".join(esp)


def azure_policy(stack) -> dict:
    """The policy Azure negotiates: the explicit one, or (Basic) the stack's pinned default."""
    connection = one(stack, "azure-native:network:VirtualNetworkGatewayConnection")
    if "ipsecPolicies" in connection:
        (policy,) = connection["ipsecPolicies"]
        return policy
    assert stack.config.vpn.sku == "Basic"
    return stack.config.vpn.ipsec_policy.model_dump(by_alias=True) | {
        "saLifeTimeSeconds": stack.config.vpn.ipsec_policy.sa_lifetime_seconds
    }


def test_connection_is_ikev2_route_based_with_dpd(stack):
    connection = one(stack, "azure-native:network:VirtualNetworkGatewayConnection")
    assert connection["connectionType"] == "IPsec"
    assert connection["connectionProtocol"] == "IKEv2"
    assert connection["dpdTimeoutSeconds"] == stack.config.vpn.dpd_timeout_seconds
    assert connection["usePolicyBasedTrafficSelectors"] is False
    gateway = one(stack, "azure-native:network:VirtualNetworkGateway")
    assert gateway["vpnType"] == "RouteBased" and gateway["gatewayType"] == "Vpn"
    ip = one(stack, "azure-native:network:PublicIPAddress")
    assert ip["sku"]["name"] == "Standard" and ip["publicIPAllocationMethod"] == "Static"


def test_explicit_policy_on_prod_and_azure_defaults_on_basic():
    prod = one(evaluated("prod"), "azure-native:network:VirtualNetworkGatewayConnection")
    assert prod["ipsecPolicies"][0]["ipsecEncryption"] == "GCMAES256"
    dev = evaluated("dev")
    assert "ipsecPolicies" not in one(dev, "azure-native:network:VirtualNetworkGatewayConnection")
    policy = azure_policy(dev)
    assert (policy["ikeEncryption"], policy["ikeIntegrity"], policy["dhGroup"]) in AZURE_DEFAULT_IKE
    assert (policy["ipsecEncryption"], policy["ipsecIntegrity"]) in AZURE_DEFAULT_ESP


def test_both_ends_agree(stack):
    policy = azure_policy(stack)
    conn, _ = strongswan(stack)
    child = conn["children"]["azure"]
    ike, esp = expected_proposals(policy)
    assert conn["proposals"] == ike
    assert child["esp_proposals"] == esp
    assert conn["version"] == "2"
    lifetime = int(policy.get("saLifeTimeSeconds") or policy["saLifetimeSeconds"])
    assert child["life_time"] == f"{lifetime}s"
    assert int(child["rekey_time"].rstrip("s")) < lifetime
    assert int(child["life_bytes"]) == policy["saDataSizeKilobytes"] * 1024
    ike_rekey, ike_over = (int(conn[k].rstrip("s")) for k in ("rekey_time", "over_time"))
    assert ike_rekey + ike_over == AZURE_IKE_SA_LIFETIME_SECONDS
    dpd = one(stack, "azure-native:network:VirtualNetworkGatewayConnection")["dpdTimeoutSeconds"]
    assert 3 * int(conn["dpd_delay"].rstrip("s")) <= dpd


def test_traffic_selectors_peers_and_key_match(stack):
    conn, secret = strongswan(stack)
    child = conn["children"]["azure"]
    local_gw = one(stack, "azure-native:network:LocalNetworkGateway")
    vnet = one(stack, "azure-native:network:VirtualNetwork")
    assert child["local_ts"].split(", ") == local_gw["localNetworkAddressSpace"]["addressPrefixes"]
    assert child["remote_ts"].split(", ") == vnet["addressSpace"]["addressPrefixes"]
    assert conn["local"]["id"] == local_gw["gatewayIpAddress"] == secret["id-onprem"]
    assert conn["remote_addrs"] == conn["remote"]["id"] == MOCK_GATEWAY_IP
    shared_key = one(stack, "azure-native:network:VirtualNetworkGatewayConnection")["sharedKey"]
    assert secret["secret"] == shared_key["value"]


@pytest.mark.parametrize("stack_name", ["dev", "prod"])
def test_vpn_config_command_writes_the_same_file(tmp_path, stack_name):
    from spy_platform.cli import main

    psk = tmp_path / "psk"
    psk.write_text("m" * 64 + "\n")
    out = tmp_path / "swanctl.conf"
    code = main(
        [
            "vpn-config",
            "--stack",
            stack_name,
            "--out",
            str(out),
            "--gateway-ip",
            MOCK_GATEWAY_IP,
            "--psk-file",
            str(psk),
        ]
    )
    assert code == 0
    assert out.read_text() == evaluated(stack_name).outputs["onPremVpnConfig"]
    assert out.stat().st_mode & 0o077 == 0


def test_the_key_vault_holds_the_tunnels_pre_shared_key(stack):
    """The VPN component exposes its key; the composition stores that same value."""
    (secret,) = [
        s
        for s in stack.of_type("azure-native:keyvault:Secret")
        if s.inputs["secretName"] == "vpn-psk"
    ]
    shared_key = one(stack, "azure-native:network:VirtualNetworkGatewayConnection")["sharedKey"]
    assert secret.inputs["properties"]["value"]["value"] == shared_key["value"]
