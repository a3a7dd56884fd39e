"""Each rule of the pack on a resource that breaks it and one that passes, and "cannot
verify" (advisory, never a pass) when the property it reads is missing."""

from __future__ import annotations

import copy
from typing import Any

import pytest

from policies.model import Level, Resource
from policies.rules import RESOURCE_RULES, STACK_RULES

RULES = {rule.name: rule for rule in (*RESOURCE_RULES, *STACK_RULES)}
TAGS = {"project": "p", "environment": "prod", "owner": "o", "cost-center": "c"}

STORAGE = {
    "minimumTlsVersion": "TLS1_2",
    "enableHttpsTrafficOnly": True,
    "allowBlobPublicAccess": False,
    "allowSharedKeyAccess": False,
    "location": "eastus2",
    "tags": TAGS,
}
VAULT = {
    "properties": {
        "enableRbacAuthorization": True,
        "enableSoftDelete": True,
        "enablePurgeProtection": True,
    },
    "location": "eastus2",
    "tags": TAGS,
}
KV_REF = "@Microsoft.KeyVault(SecretUri=https://v.vault.azure.net/secrets/x/)"
WEB_APP = {
    "httpsOnly": True,
    "identity": {"type": "SystemAssigned"},
    "siteConfig": {
        "minTlsVersion": "1.2",
        "ftpsState": "Disabled",
        "appSettings": [
            {"name": "SPY_SERVICE_TOKEN", "value": KV_REF},
            {"name": "SPY_ENVIRONMENT", "value": "prod"},
        ],
    },
}
SIGNALR = {"disableLocalAuth": True, "cors": {"allowedOrigins": ["https://dash.example"]}}
NSG = {
    "securityRules": [
        {
            "name": "ike",
            "direction": "Inbound",
            "access": "Allow",
            "protocol": "Udp",
            "sourceAddressPrefix": "Internet",
            "destinationPortRanges": ["500", "4500"],
        },
        {
            "name": "onprem",
            "direction": "Inbound",
            "access": "Allow",
            "protocol": "Tcp",
            "sourceAddressPrefixes": ["192.168.50.0/24"],
            "destinationPortRange": "443",
        },
    ]
}
CONNECTION = {
    "connectionType": "IPsec",
    "connectionProtocol": "IKEv2",
    "ipsecPolicies": [
        {
            "dhGroup": "ECP384",
            "pfsGroup": "ECP384",
            "ikeIntegrity": "SHA384",
            "ipsecIntegrity": "GCMAES256",
            "ikeEncryption": "GCMAES256",
            "ipsecEncryption": "GCMAES256",
        }
    ],
}
CONTAINER = {
    "name": "app",
    "image": "spyprodacr.azurecr.io/backend:1.2.3",
    "securityContext": {"runAsNonRoot": True, "readOnlyRootFilesystem": True},
    "resources": {"requests": {"cpu": "100m", "memory": "64Mi"}, "limits": {"memory": "128Mi"}},
    "readinessProbe": {"httpGet": {"path": "/health", "port": 8000}},
    "livenessProbe": {"httpGet": {"path": "/health", "port": 8000}},
}
DEPLOYMENT = {
    "metadata": {"namespace": "spy"},
    "spec": {"template": {"metadata": {}, "spec": {"containers": [CONTAINER]}}},
}

T = {
    "storage": "azure-native:storage:StorageAccount",
    "vault": "azure-native:keyvault:Vault",
    "web": "azure-native:web:WebApp",
    "acr": "azure-native:containerregistry:Registry",
    "signalr": "azure-native:signalrservice:SignalR",
    "nsg": "azure-native:network:NetworkSecurityGroup",
    "conn": "azure-native:network:VirtualNetworkGatewayConnection",
    "deploy": "kubernetes:apps/v1:Deployment",
}


def changed(props: dict, path: str, value: Any) -> dict:
    """A deep copy with the value at a dotted path replaced (`...` deletes it)."""
    out = copy.deepcopy(props)
    *parents, last = path.split(".")
    node = out
    for key in parents:
        node = node[int(key)] if isinstance(node, list) else node[key]
    if value is ...:
        del node[last]
    elif isinstance(node, list):
        node[int(last)] = value
    else:
        node[last] = value
    return out


C = "spec.template.spec.containers.0"
# rule -> (type, passing props, path broken, bad value, path the rule reads when missing)
CASES: dict[str, tuple[str, dict, str, Any, str]] = {
    "storage-min-tls-1-2": ("storage", STORAGE, "minimumTlsVersion", "TLS1_0", "minimumTlsVersion"),
    "storage-https-only": (
        "storage",
        STORAGE,
        "enableHttpsTrafficOnly",
        False,
        "enableHttpsTrafficOnly",
    ),
    "storage-no-public-blob": (
        "storage",
        STORAGE,
        "allowBlobPublicAccess",
        True,
        "allowBlobPublicAccess",
    ),
    "storage-no-shared-key": (
        "storage",
        STORAGE,
        "allowSharedKeyAccess",
        True,
        "allowSharedKeyAccess",
    ),
    "keyvault-rbac": (
        "vault",
        VAULT,
        "properties.enableRbacAuthorization",
        False,
        "properties.enableRbacAuthorization",
    ),
    "keyvault-soft-delete": (
        "vault",
        VAULT,
        "properties.enableSoftDelete",
        False,
        "properties.enableSoftDelete",
    ),
    "keyvault-purge-protection-prod": (
        "vault",
        VAULT,
        "properties.enablePurgeProtection",
        False,
        "properties.enablePurgeProtection",
    ),
    "appservice-https-only": ("web", WEB_APP, "httpsOnly", False, "httpsOnly"),
    "appservice-min-tls-1-2": (
        "web",
        WEB_APP,
        "siteConfig.minTlsVersion",
        "1.0",
        "siteConfig.minTlsVersion",
    ),
    "appservice-ftps-off": (
        "web",
        WEB_APP,
        "siteConfig.ftpsState",
        "AllAllowed",
        "siteConfig.ftpsState",
    ),
    "appservice-managed-identity": ("web", WEB_APP, "identity.type", "None", "identity.type"),
    "appservice-no-plain-secrets": (
        "web",
        WEB_APP,
        "siteConfig.appSettings.0.value",
        "hunter2",
        "siteConfig.appSettings",
    ),
    "acr-admin-user-off": (
        "acr",
        {"adminUserEnabled": False},
        "adminUserEnabled",
        True,
        "adminUserEnabled",
    ),
    "signalr-local-auth-off": ("signalr", SIGNALR, "disableLocalAuth", False, "disableLocalAuth"),
    "signalr-cors-explicit": (
        "signalr",
        SIGNALR,
        "cors.allowedOrigins",
        ["*"],
        "cors.allowedOrigins",
    ),
    "nsg-no-internet-inbound": (
        "nsg",
        NSG,
        "securityRules.1.sourceAddressPrefixes",
        ["*"],
        "securityRules",
    ),
    "vpn-ikev2": ("conn", CONNECTION, "connectionProtocol", "IKEv1", "connectionProtocol"),
    "vpn-ipsec-crypto": (
        "conn",
        CONNECTION,
        "ipsecPolicies.0.dhGroup",
        "DHGroup2",
        "ipsecPolicies",
    ),
    "required-tags": ("storage", STORAGE, "tags", {"project": "p"}, "tags"),
    "allowed-regions": ("storage", STORAGE, "location", "westeurope", "location"),
    "k8s-non-root": (
        "deploy",
        DEPLOYMENT,
        f"{C}.securityContext.runAsNonRoot",
        False,
        "spec.template.spec",
    ),
    "k8s-read-only-root-fs": (
        "deploy",
        DEPLOYMENT,
        f"{C}.securityContext.readOnlyRootFilesystem",
        ...,
        "spec.template.spec",
    ),
    "k8s-resources": ("deploy", DEPLOYMENT, f"{C}.resources.limits", ..., "spec.template.spec"),
    "k8s-probes": ("deploy", DEPLOYMENT, f"{C}.livenessProbe", ..., "spec.template.spec"),
    "k8s-no-latest": (
        "deploy",
        DEPLOYMENT,
        f"{C}.image",
        "ghcr.io/x/y:latest",
        "spec.template.spec",
    ),
    "k8s-host-access": (
        "deploy",
        DEPLOYMENT,
        "spec.template.spec.hostNetwork",
        True,
        "spec.template.spec",
    ),
}


def run(rule: str, type_key: str, props: dict, stack: str = "prod"):
    return RULES[rule].evaluate(Resource(T[type_key], "r", props, stack))


def test_every_resource_rule_has_a_case() -> None:
    assert set(CASES) == {rule.name for rule in RESOURCE_RULES}


@pytest.mark.parametrize("rule", sorted(CASES))
def test_rule_passes_fails_and_cannot_verify(rule: str) -> None:
    type_key, good, path, bad, read = CASES[rule]
    assert run(rule, type_key, good) == []
    [broken] = run(rule, type_key, changed(good, path, bad))
    assert (broken.rule, broken.level, broken.verified) == (rule, Level.MANDATORY, True)
    assert broken.resource == f"{T[type_key]}::r"
    unverified = run(rule, type_key, changed(good, read, ...))
    assert unverified, "a missing property must not pass"
    assert all(v.level is Level.ADVISORY and not v.verified for v in unverified)
    assert all(v.message.startswith(f"cannot verify: {read}") for v in unverified)


def test_purge_protection_is_required_in_prod_only() -> None:
    without = changed(VAULT, "properties.enablePurgeProtection", False)
    assert run("keyvault-purge-protection-prod", "vault", without, stack="dev") == []


@pytest.mark.parametrize(
    ("name", "value"),
    [
        ("SPY_SIGNALR_CONNECTION_STRING", "Endpoint=https://x;AccessKey=abc;Version=1.0;"),
        ("SOMETHING", "DefaultEndpointsProtocol=https;AccountName=a;AccountKey=abc=="),
        ("DB_PASSWORD", "hunter2"),
        ("API_KEY", "abc"),
        ("X", "eyJhbGciOiJIUzI1NiJ9.eyJzdWIiOiIxMjM0NTY3ODkwIn0.sig"),
    ],
)
def test_plain_secrets_are_found_by_name_or_value(name: str, value: str) -> None:
    props = changed(WEB_APP, "siteConfig.appSettings", [{"name": name, "value": value}])
    assert [v.rule for v in run("appservice-no-plain-secrets", "web", props)] == [
        "appservice-no-plain-secrets"
    ]


def test_vpn_ports_from_the_internet_are_allowed_but_nothing_else() -> None:
    esp = changed(NSG, "securityRules.0", {**NSG["securityRules"][0], "protocol": "Esp"})
    assert run("nsg-no-internet-inbound", "nsg", esp) == []
    ssh = changed(NSG, "securityRules.0.destinationPortRanges", ["22"])
    [v] = run("nsg-no-internet-inbound", "nsg", ssh)
    assert "rule ike" in v.message


def test_images_pinned_by_digest_or_a_version() -> None:
    for image in ("ghcr.io/x/y@sha256:" + "a" * 64, "ghcr.io/x/y:10.37"):
        assert run("k8s-no-latest", "deploy", changed(DEPLOYMENT, f"{C}.image", image)) == []
    [v] = run("k8s-no-latest", "deploy", changed(DEPLOYMENT, f"{C}.image", "ghcr.io/x/y"))
    assert "no tag" in v.message


def test_host_access_with_a_stated_reason_passes() -> None:
    props = changed(DEPLOYMENT, "spec.template.spec.hostNetwork", True)
    props["metadata"]["annotations"] = {"spy-platform.io/host-access-reason": "IB API on host"}
    assert run("k8s-host-access", "deploy", props) == []


def test_jobs_need_no_probes() -> None:
    job = {
        "spec": {
            "jobTemplate": {
                "spec": {
                    "template": {
                        "spec": {
                            "containers": [
                                {k: v for k, v in CONTAINER.items() if not k.endswith("Probe")}
                            ]
                        }
                    }
                }
            }
        }
    }
    resource = Resource("kubernetes:batch/v1:CronJob", "j", job, "dev")
    assert RULES["k8s-probes"].evaluate(resource) == []
    assert RULES["k8s-non-root"].evaluate(resource) == []


# --- stack rules -----------------------------------------------------------------------------

DENY = {
    "metadata": {"namespace": "spy"},
    "spec": {"podSelector": {}, "policyTypes": ["Ingress", "Egress"]},
}


def stack(*resources: tuple[str, str, dict]) -> list[Resource]:
    return [Resource(t, n, p, "dev") for t, n, p in resources]


def test_budget_must_exist_and_cover_the_estimate() -> None:
    rule, config = RULES["budget-covers-cost"], {"estimatedMonthlyUsd": 47.84}
    budget = ("azure-native:consumption:Budget", "b", {"amount": 53.0})
    assert rule.evaluate(stack(budget), config) == []
    [low] = rule.evaluate(stack((*budget[:2], {"amount": 40.0})), config)
    assert low.level is Level.MANDATORY and "below the estimated" in low.message
    assert low.resource == "azure-native:consumption:Budget::b"
    [none] = rule.evaluate(stack(("azure-native:web:WebApp", "w", {})), config)
    assert none.level is Level.MANDATORY and "no azure-native:consumption:Budget" in none.message
    [unverified] = rule.evaluate(stack((*budget[:2], {})), config)
    assert unverified.level is Level.ADVISORY and "cannot verify: amount" in unverified.message


def test_budget_estimate_comes_from_the_stack_file_without_config() -> None:
    budget = ("azure-native:consumption:Budget", "b", {"amount": 1.0})
    [v] = RULES["budget-covers-cost"].evaluate(stack(budget))
    assert "below the estimated monthly cost $52.76" in v.message  # dev's estimate


def test_every_namespace_needs_a_default_deny_policy() -> None:
    rule = RULES["k8s-default-deny"]
    namespace = ("kubernetes:core/v1:Namespace", "ns", {"metadata": {"name": "spy"}})
    deploy = (T["deploy"], "d", DEPLOYMENT)
    deny = ("kubernetes:networking.k8s.io/v1:NetworkPolicy", "deny", DENY)
    assert rule.evaluate(stack(namespace, deploy, deny)) == []
    [v] = rule.evaluate(stack(namespace, deploy))
    assert v.level is Level.MANDATORY and "namespace spy" in v.message
    allow_all = changed(DENY, "spec.ingress", [{}])
    assert rule.evaluate(stack(namespace, (*deny[:2], allow_all)))
    [unverified] = rule.evaluate(stack(("kubernetes:core/v1:Namespace", "ns", {}), deny))
    assert unverified.level is Level.ADVISORY


def test_images_come_from_the_stack_registry_or_a_digest() -> None:
    rule = RULES["k8s-image-origin"]
    acr = (T["acr"], "spyprodacr", {"adminUserEnabled": False})
    deploy = (T["deploy"], "d", DEPLOYMENT)
    assert rule.evaluate(stack(acr, deploy)) == []
    foreign = changed(DEPLOYMENT, f"{C}.image", "ghcr.io/gnzsnz/ib-gateway:10.37")
    [v] = rule.evaluate(stack(acr, (T["deploy"], "d", foreign)))
    assert v.level is Level.MANDATORY and v.resource == f"{T['deploy']}::d"
    pinned = changed(DEPLOYMENT, f"{C}.image", "ghcr.io/gnzsnz/ib-gateway@sha256:" + "b" * 64)
    assert rule.evaluate(stack(acr, (T["deploy"], "d", pinned))) == []


def test_a_property_of_an_unexpected_shape_cannot_be_verified() -> None:
    props = changed(NSG, "securityRules", ["not-an-object"])
    [v] = run("nsg-no-internet-inbound", "nsg", props)
    assert v.level is Level.ADVISORY and not v.verified
    assert v.message.startswith("cannot verify: a property has an unexpected shape")
