"""Subnets computed from the address space; NSGs allow only what the platform uses."""

from __future__ import annotations

import ipaddress

from infra.network import DENY_ALL_PRIORITY, plan_subnets


def nsg_rules(stack, kind):
    (nsg,) = [
        r
        for r in stack.of_type("azure-native:network:NetworkSecurityGroup")
        if r.name == f"spy-{stack.stack}-{kind}"
    ]
    return nsg.inputs["securityRules"]


def subnets(stack):
    return {r.name: r.inputs for r in stack.of_type("azure-native:network:Subnet")}


def test_subnets_inside_the_vnet_and_disjoint(stack):
    vnet = ipaddress.IPv4Network(stack.config.network.address_space)
    nets = [ipaddress.IPv4Network(s["addressPrefix"]) for s in subnets(stack).values()]
    assert all(n.subnet_of(vnet) for n in nets)
    assert all(not a.overlaps(b) for i, a in enumerate(nets) for b in nets[i + 1 :])


def test_gateway_subnet_has_no_nsg_and_app_subnet_is_delegated(stack):
    by_name = subnets(stack)
    gateway = by_name["GatewaySubnet"]
    assert gateway["subnetName"] == "GatewaySubnet"
    assert "networkSecurityGroup" not in gateway
    app = by_name[f"spy-{stack.stack}-app-subnet"]
    assert app["delegations"][0]["serviceName"] == "Microsoft.Web/serverFarms"
    assert "networkSecurityGroup" in by_name[f"spy-{stack.stack}-container-subnet"]


def test_app_subnet_nsg_is_outbound_https_only(stack):
    rules = nsg_rules(stack, "app-nsg")
    allows = [r for r in rules if r["access"] == "Allow"]
    assert {r["direction"] for r in allows} == {"Outbound"}
    assert {r["destinationPortRange"] for r in allows} == {"443"}
    destinations = {d for r in allows for d in r["destinationAddressPrefixes"]}
    assert destinations == {"AzureCloud", *stack.config.on_prem.lan_cidrs}
    _ends_with_deny_all(rules)


def test_container_subnet_nsg_admits_on_prem_https_only(stack):
    rules = nsg_rules(stack, "container-nsg")
    inbound = [r for r in rules if r["direction"] == "Inbound" and r["access"] == "Allow"]
    assert len(inbound) == 1
    assert inbound[0]["sourceAddressPrefixes"] == stack.config.on_prem.lan_cidrs
    assert inbound[0]["destinationPortRange"] == "443"
    assert inbound[0]["protocol"] == "Tcp"
    _ends_with_deny_all(rules)


def _ends_with_deny_all(rules):
    """Explicit deny-alls override Azure's defaults (AllowVnetInBound covers the VPN's LAN)."""
    denies = {r["direction"]: r for r in rules if r["access"] == "Deny"}
    assert set(denies) == {"Inbound", "Outbound"}
    for rule in denies.values():
        assert rule["priority"] == DENY_ALL_PRIORITY
        assert rule["sourceAddressPrefixes"] == ["*"] and rule["destinationPortRange"] == "*"
    assert all(r["priority"] < DENY_ALL_PRIORITY for r in rules if r["access"] == "Allow")


def test_plan_from_a_slash_24():
    plan = plan_subnets("10.9.8.0/24")
    assert (plan.gateway, plan.app, plan.container) == (
        "10.9.8.0/27",
        "10.9.8.64/26",
        "10.9.8.128/26",
    )
