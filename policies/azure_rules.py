"""Azure rules over azure-native resource inputs (camelCase, as the engine gives a policy)."""

from __future__ import annotations

import importlib
import inspect
import re
from collections.abc import Iterable, Iterator, Mapping
from functools import cache
from typing import Any

from policies.model import (
    MISSING,
    UNKNOWN,
    Absent,
    Finding,
    Level,
    Resource,
    ResourceRule,
    expect,
    fail,
    lookup,
    unverifiable,
)

STORAGE = "azure-native:storage:StorageAccount"
VAULT = "azure-native:keyvault:Vault"
WEB_APP = "azure-native:web:WebApp"
WEB_APP_SETTINGS = "azure-native:web:WebAppApplicationSettings"
REGISTRY = "azure-native:containerregistry:Registry"
SIGNALR = "azure-native:signalrservice:SignalR"
NSG = "azure-native:network:NetworkSecurityGroup"
NSG_RULE = "azure-native:network:SecurityRule"
VPN_CONNECTION = "azure-native:network:VirtualNetworkGatewayConnection"

REQUIRED_TAGS = ("project", "environment", "owner", "cost-center")
"""The keys of infra.tags.TagKey (the program's tag policy applies them everywhere)."""
DEFAULT_ALLOWED_REGIONS = ("eastus2", "centralus", "global")
"""Where the platform runs (policy config `allowedRegions` replaces it)."""
PROD_STACK = "prod"

MANDATORY, ADVISORY = Level.MANDATORY, Level.ADVISORY


def property_rule(
    name: str,
    type_token: str,
    path: str,
    allowed: Iterable[Any],
    *,
    description: str,
    reason: str,
    fix: str,
    level: Level = MANDATORY,
) -> ResourceRule:
    """A rule that one property holds one of `allowed` values."""
    values = tuple(allowed)
    return ResourceRule(
        name,
        level,
        description,
        reason,
        fix,
        frozenset({type_token}),
        lambda resource, _config: expect(resource, path, values, description),
    )


def _is_true(value: Any) -> bool:
    return value is True or (isinstance(value, str) and value.lower() == "true")


# --- Key Vault purge protection: prod only ------------------------------------------------


def _environment(resource: Resource) -> str:
    tagged = lookup(resource.props, "tags.environment")
    return resource.stack or (tagged if isinstance(tagged, str) else "")


def _purge_protection(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if _environment(resource) != PROD_STACK:
        return
    yield from expect(
        resource,
        "properties.enablePurgeProtection",
        (True,),
        "a prod vault must have purge protection",
    )


# --- App Service: no secret in plain app settings -----------------------------------------

KEY_VAULT_REFERENCE = "@Microsoft.KeyVault("
SECRET_NAME = re.compile(
    r"(^|_)(SECRET|PASSWORD|PASSWD|PWD|TOKEN|KEY|APIKEY|ACCESSKEY|ACCOUNTKEY|PRIVATEKEY|"
    r"CONNECTION_?STRING|CONNSTR|CREDENTIALS?|SAS)(_|$)"
)
SECRET_VALUE = re.compile(
    r"(AccountKey|AccessKey|SharedAccessKey|SharedAccessSignature|Password|Pwd)\s*=\s*[^;\s]"
    r"|-----BEGIN [A-Z ]*PRIVATE KEY-----"
    r"|\beyJ[\w-]{8,}\.eyJ[\w-]{8,}\."  # a JWT
    r"|[?&]sig=[\w%]{20,}",  # a SAS signature
    re.IGNORECASE,
)


def secret_problem(name: str, value: Any) -> str | None:
    """Why one app setting holds a secret in plain text, or None."""
    if isinstance(value, str) and value.strip().startswith(KEY_VAULT_REFERENCE):
        return None
    if isinstance(value, str) and SECRET_VALUE.search(value):
        return f"app setting {name} holds a secret-looking value in plain text"
    if SECRET_NAME.search(name.upper()) and value not in (None, ""):
        return f"app setting {name} looks like a secret and is not a Key Vault reference"
    return None


def _settings(resource: Resource) -> tuple[str, Any]:
    if resource.type_token == WEB_APP_SETTINGS:
        path = "properties"
        value = lookup(resource.props, path)
        pairs = list(value.items()) if isinstance(value, Mapping) else value
        return path, pairs
    path = "siteConfig.appSettings"
    value = lookup(resource.props, path)
    if isinstance(value, Absent):
        return path, value
    return path, [(item.get("name", "?"), item.get("value")) for item in value]


def _no_plain_secrets(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    path, pairs = _settings(resource)
    if isinstance(pairs, Absent):
        yield unverifiable(path, pairs)
        return
    for name, value in pairs:
        if value is UNKNOWN and SECRET_NAME.search(str(name).upper()):
            yield unverifiable(f"{path}[{name}]", value)
        elif problem := secret_problem(str(name), value):
            yield fail(problem)
    strings = lookup(resource.props, "siteConfig.connectionStrings")
    for item in strings if isinstance(strings, list) else ():
        value = item.get("connectionString")
        if not (isinstance(value, str) and value.startswith(KEY_VAULT_REFERENCE)):
            yield fail(f"connection string {item.get('name', '?')} is not a Key Vault reference")


def _managed_identity(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    kind = lookup(resource.props, "identity.type")
    if isinstance(kind, Absent):
        yield unverifiable("identity.type", kind)
    elif "assigned" not in str(kind).lower():
        yield fail(f"identity.type is {kind!r}: the app needs a managed identity")


# --- SignalR CORS --------------------------------------------------------------------------


def _cors_explicit(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    origins = lookup(resource.props, "cors.allowedOrigins")
    if isinstance(origins, Absent):
        yield unverifiable("cors.allowedOrigins", origins)
    elif not origins or any(o == "*" or o is UNKNOWN for o in origins):
        yield fail(f"cors.allowedOrigins is {list(origins)!r}: list the dashboard's origins")


# --- NSGs: no inbound from the Internet beyond the VPN --------------------------------------

INTERNET_SOURCES = frozenset({"*", "internet", "any", "0.0.0.0/0", "::/0"})
VPN_PORTS = frozenset({"500", "4500"})


def _ports(rule: Mapping[str, Any]) -> set[str]:
    ports = list(rule.get("destinationPortRanges") or [])
    if rule.get("destinationPortRange"):
        ports.append(rule["destinationPortRange"])
    return {str(p) for p in ports}


def _vpn_only(rule: Mapping[str, Any]) -> bool:
    """IKE/NAT-T (UDP 500, 4500) or ESP: what a site-to-site tunnel needs from the Internet."""
    protocol = str(rule.get("protocol", "")).lower()
    ports = _ports(rule)
    return protocol == "esp" or (protocol == "udp" and bool(ports) and ports <= VPN_PORTS)


def internet_inbound(rule: Mapping[str, Any]) -> bool:
    if str(rule.get("direction", "")).lower() != "inbound":
        return False
    if str(rule.get("access", "")).lower() != "allow":
        return False
    sources = list(rule.get("sourceAddressPrefixes") or [])
    if rule.get("sourceAddressPrefix"):
        sources.append(rule["sourceAddressPrefix"])
    return any(str(s).lower() in INTERNET_SOURCES for s in sources)


def _nsg_inbound(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if resource.type_token == NSG_RULE:
        rules: Any = [resource.props]
    else:
        rules = lookup(resource.props, "securityRules")
        if isinstance(rules, Absent):
            yield unverifiable("securityRules", rules)
            return
    for rule in rules:
        for key in ("direction", "access", "protocol"):
            if rule.get(key) is None:
                yield unverifiable(f"securityRules[{rule.get('name', '?')}].{key}", MISSING)
        if internet_inbound(rule) and not _vpn_only(rule):
            yield fail(
                f"rule {rule.get('name', '?')} allows inbound {rule.get('protocol')} "
                f"{sorted(_ports(rule))} from the Internet"
            )


# --- VPN crypto ----------------------------------------------------------------------------

WEAK_DH = frozenset({"None", "DHGroup1", "DHGroup2"})
WEAK_PFS = frozenset({"PFS1", "PFS2", "PFSMM"})
WEAK_INTEGRITY = frozenset({"MD5", "SHA1"})
WEAK_ENCRYPTION = frozenset({"DES", "DES3"})
_CRYPTO_CHECKS = (
    ("dhGroup", WEAK_DH, "a DH group below 14"),
    ("pfsGroup", WEAK_PFS, "a PFS group below 14"),
    ("ikeIntegrity", WEAK_INTEGRITY, "a broken hash"),
    ("ipsecIntegrity", WEAK_INTEGRITY, "a broken hash"),
    ("ikeEncryption", WEAK_ENCRYPTION, "DES/3DES"),
    ("ipsecEncryption", WEAK_ENCRYPTION, "DES/3DES"),
)


def _ipsec_connection(resource: Resource) -> bool:
    kind = lookup(resource.props, "connectionType")
    return isinstance(kind, Absent) or str(kind) == "IPsec"


def _ikev2(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if _ipsec_connection(resource):
        yield from expect(resource, "connectionProtocol", ("IKEv2",), "use IKEv2, not IKEv1")


def _ipsec_crypto(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if not _ipsec_connection(resource):
        return
    policies = lookup(resource.props, "ipsecPolicies")
    if isinstance(policies, Absent) or not policies:
        # Basic gateways take no custom policy; Azure's default proposals include SHA1/DH2.
        yield unverifiable("ipsecPolicies", MISSING)
        return
    for index, policy in enumerate(policies):
        for key, weak, what in _CRYPTO_CHECKS:
            value = policy.get(key)
            if value is None:
                yield unverifiable(f"ipsecPolicies[{index}].{key}", MISSING)
            elif str(value) in weak:
                yield fail(f"ipsecPolicies[{index}].{key} is {value!r}: {what}")


# --- Tags and regions (every azure-native type that takes them) -----------------------------


@cache
def takes_input(type_token: str, name: str) -> bool:
    """Whether the azure-native resource class has an input `name` (its SDK signature)."""
    try:
        _, module, cls_name = type_token.split(":")
        cls = getattr(importlib.import_module(f"pulumi_azure_native.{module}"), cls_name)
        return name in inspect.signature(cls._internal_init).parameters
    except (ValueError, ImportError, AttributeError):
        return False


def _azure(resource: Resource) -> bool:
    return resource.type_token.startswith("azure-native:")


def _required_tags(resource: Resource, _config: Mapping[str, Any]) -> Iterator[Finding]:
    if not (_azure(resource) and takes_input(resource.type_token, "tags")):
        return
    tags = lookup(resource.props, "tags")
    if isinstance(tags, Absent):
        yield unverifiable("tags", tags)
        return
    missing = [key for key in REQUIRED_TAGS if not tags.get(key)]
    if missing:
        yield fail(f"tags lack {', '.join(missing)}")


def normalized_region(location: str) -> str:
    return location.replace(" ", "").lower()


def _allowed_region(resource: Resource, config: Mapping[str, Any]) -> Iterator[Finding]:
    if not (_azure(resource) and takes_input(resource.type_token, "location")):
        return
    allowed = {normalized_region(r) for r in config.get("allowedRegions", DEFAULT_ALLOWED_REGIONS)}
    location = lookup(resource.props, "location")
    if isinstance(location, Absent):
        yield unverifiable("location", location)
    elif normalized_region(str(location)) not in allowed:
        yield fail(f"location {location!r} is not one of {sorted(allowed)}")


RULES: tuple[ResourceRule, ...] = (
    property_rule(
        "storage-min-tls-1-2",
        STORAGE,
        "minimumTlsVersion",
        ("TLS1_2", "TLS1_3"),
        description="Storage accounts accept TLS 1.2 or newer only",
        reason="TLS 1.0/1.1 are broken and retired by Azure",
        fix='minimum_tls_version="TLS1_2"',
    ),
    property_rule(
        "storage-https-only",
        STORAGE,
        "enableHttpsTrafficOnly",
        (True,),
        description="Storage accounts refuse plain HTTP",
        reason="HTTP exposes data and bearer tokens on the wire",
        fix="enable_https_traffic_only=True",
    ),
    property_rule(
        "storage-no-public-blob",
        STORAGE,
        "allowBlobPublicAccess",
        (False,),
        description="Storage accounts allow no anonymous blob access",
        reason="a public container is readable by anyone on the Internet",
        fix="allow_blob_public_access=False",
    ),
    property_rule(
        "storage-no-shared-key",
        STORAGE,
        "allowSharedKeyAccess",
        (False,),
        description="Storage accounts refuse shared-key (account key) auth",
        reason="account keys are all-powerful long-lived secrets; Entra tokens are audited",
        fix="allow_shared_key_access=False; use a managed identity with a data role",
    ),
    property_rule(
        "keyvault-rbac",
        VAULT,
        "properties.enableRbacAuthorization",
        (True,),
        description="Key Vaults use Azure RBAC, not access policies",
        reason="RBAC grants are per secret scope, audited, and managed like every other role",
        fix="properties.enable_rbac_authorization=True",
    ),
    property_rule(
        "keyvault-soft-delete",
        VAULT,
        "properties.enableSoftDelete",
        (True,),
        description="Key Vaults keep deleted secrets recoverable",
        reason="a deleted secret (or vault) can be restored within the retention period",
        fix="properties.enable_soft_delete=True",
    ),
    ResourceRule(
        "keyvault-purge-protection-prod",
        MANDATORY,
        "The prod Key Vault has purge protection",
        "without it a compromised deployer can purge secrets for good",
        "keyVault.purgeProtection: true in Pulumi.prod.yaml",
        frozenset({VAULT}),
        _purge_protection,
    ),
    property_rule(
        "appservice-https-only",
        WEB_APP,
        "httpsOnly",
        (True,),
        description="Web apps redirect HTTP to HTTPS",
        reason="the API carries a bearer token",
        fix="https_only=True",
    ),
    property_rule(
        "appservice-min-tls-1-2",
        WEB_APP,
        "siteConfig.minTlsVersion",
        ("1.2", "1.3"),
        description="Web apps accept TLS 1.2 or newer only",
        reason="TLS 1.0/1.1 are broken",
        fix="site_config.min_tls_version=SupportedTlsVersions.SUPPORTED_TLS_VERSIONS_1_2",
    ),
    property_rule(
        "appservice-ftps-off",
        WEB_APP,
        "siteConfig.ftpsState",
        ("Disabled",),
        description="Web apps have FTP/FTPS deployment off",
        reason="images come from ACR; FTP credentials are a needless way in",
        fix="site_config.ftps_state=FtpsState.DISABLED",
    ),
    ResourceRule(
        "appservice-managed-identity",
        MANDATORY,
        "Web apps run with a managed identity",
        "the identity reaches ACR, Key Vault, Storage and SignalR without any stored key",
        "identity=ManagedServiceIdentityArgs(type=SYSTEM_ASSIGNED)",
        frozenset({WEB_APP}),
        _managed_identity,
    ),
    ResourceRule(
        "appservice-no-plain-secrets",
        MANDATORY,
        "App settings hold secrets only as Key Vault references",
        "plain app settings are readable by anyone with Reader-plus on the app and in ARM "
        "exports; Key Vault references resolve at runtime with the app's identity",
        "store the value in Key Vault (vault.store) and set "
        "@Microsoft.KeyVault(SecretUri=...) as the setting",
        frozenset({WEB_APP, WEB_APP_SETTINGS}),
        _no_plain_secrets,
    ),
    property_rule(
        "acr-admin-user-off",
        REGISTRY,
        "adminUserEnabled",
        (False,),
        description="Container registries have the admin user off",
        reason="the admin user is a shared password with push rights",
        fix="admin_user_enabled=False; pull with AcrPull on a managed identity",
    ),
    property_rule(
        "signalr-local-auth-off",
        SIGNALR,
        "disableLocalAuth",
        (True,),
        description="SignalR accepts Microsoft Entra tokens only (access keys off)",
        reason="an access key signs any token for any hub and never expires",
        fix="disable_local_auth=True; grant the backend SignalR REST API Owner",
    ),
    ResourceRule(
        "signalr-cors-explicit",
        MANDATORY,
        "SignalR CORS lists explicit origins, never *",
        "with * any site can open the dashboard's realtime feed from a visitor's browser",
        "cors=SignalRCorsSettingsArgs(allowed_origins=[dashboard url])",
        frozenset({SIGNALR}),
        _cors_explicit,
    ),
    ResourceRule(
        "nsg-no-internet-inbound",
        MANDATORY,
        "NSGs allow no inbound from the Internet except IKE/NAT-T (UDP 500/4500) and ESP",
        "only the VPN faces the Internet; everything else is reached through the tunnel",
        "restrict sourceAddressPrefix to the on-prem CIDRs or a service tag",
        frozenset({NSG, NSG_RULE}),
        _nsg_inbound,
    ),
    ResourceRule(
        "vpn-ikev2",
        MANDATORY,
        "Site-to-site connections use IKEv2",
        "IKEv1 lacks the negotiation and DoS protections of IKEv2",
        'connection_protocol="IKEv2"',
        frozenset({VPN_CONNECTION}),
        _ikev2,
    ),
    ResourceRule(
        "vpn-ipsec-crypto",
        MANDATORY,
        "Custom IPsec/IKE policies use DH group 14 or above, no SHA1/MD5, no DES/3DES",
        "weak groups and hashes let a recorded tunnel be broken",
        "vpn.ipsecPolicy in the stack file (e.g. GCMAES256, SHA384, ECP384); "
        "Basic gateways take no custom policy: use VpnGw1AZ+ where it matters",
        frozenset({VPN_CONNECTION}),
        _ipsec_crypto,
    ),
    ResourceRule(
        "required-tags",
        MANDATORY,
        f"Every taggable Azure resource carries the tags {', '.join(REQUIRED_TAGS)}",
        "cost reports and ownership are read from the tags",
        "declare resources after apply_tag_policy (infra.tags) in the program",
        frozenset(),
        _required_tags,
    ),
    ResourceRule(
        "allowed-regions",
        MANDATORY,
        "Azure resources live in an allowed region",
        "data residency and the cost model assume these regions",
        f"location in {', '.join(DEFAULT_ALLOWED_REGIONS)} (policy config allowedRegions)",
        frozenset(),
        _allowed_region,
    ),
)
