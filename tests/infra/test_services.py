"""Settings of the individual services: registry, Key Vault, web app, storage, SignalR, logs."""

from __future__ import annotations

from infra.backend_app import HEALTH_CHECK_PATH
from infra.budget import THRESHOLDS
from stacks.platform import BACKEND_TABLES


def one(stack, token):
    (resource,) = stack.of_type(token)
    return resource.inputs


def test_registry_admin_user_off(stack):
    registry = one(stack, "azure-native:containerregistry:Registry")
    assert registry["adminUserEnabled"] is False
    assert registry["anonymousPullEnabled"] is False


def test_key_vault_per_stack(stack):
    props = one(stack, "azure-native:keyvault:Vault")["properties"]
    assert props["enableRbacAuthorization"] is True
    assert props["enableSoftDelete"] is True
    kv = stack.config.key_vault
    assert props["softDeleteRetentionInDays"] == kv.soft_delete_retention_days
    assert props.get("enablePurgeProtection") is (True if kv.purge_protection else None)
    assert (stack.stack == "prod") == kv.purge_protection


def test_backend_web_app(stack):
    app = one(stack, "azure-native:web:WebApp")
    site = app["siteConfig"]
    assert app["httpsOnly"] is True
    assert app["identity"]["type"] == "SystemAssigned"
    assert app["virtualNetworkSubnetId"].endswith("spy-" + stack.stack + "-app-subnet")
    assert site["minTlsVersion"] == "1.2"
    assert site["healthCheckPath"] == HEALTH_CHECK_PATH
    assert site["acrUseManagedIdentityCreds"] is True
    assert site["linuxFxVersion"].startswith(f"DOCKER|spy{stack.stack}acr.azurecr.io/backend:")
    plan = one(stack, "azure-native:web:AppServicePlan")
    assert plan["kind"] == "linux" and plan["reserved"] is True
    roles = {r["roleDefinitionId"].rsplit("/", 1)[1] for r in _assignments(stack)}
    assert "7f951dda-4ed3-4680-a7ca-43fe172d538d" in roles  # AcrPull


def _assignments(stack):
    return [r.inputs for r in stack.of_type("azure-native:authorization:RoleAssignment")]


def test_storage_and_tables(stack):
    account = one(stack, "azure-native:storage:StorageAccount")
    assert account["minimumTlsVersion"] == "TLS1_2"
    assert account["allowBlobPublicAccess"] is False
    tables = {t.inputs["tableName"] for t in stack.of_type("azure-native:storage:Table")}
    assert tables == set(BACKEND_TABLES)


def test_signalr_serverless_with_dashboard_cors_only(stack):
    signalr = one(stack, "azure-native:signalrservice:SignalR")
    assert {"flag": "ServiceMode", "value": "Serverless"} in signalr["features"]
    assert signalr["cors"]["allowedOrigins"] == [stack.outputs["dashboardUrl"]]


def test_observability_from_config(stack):
    workspace = one(stack, "azure-native:operationalinsights:Workspace")
    obs = stack.config.observability
    assert workspace["retentionInDays"] == obs.retention_days
    assert workspace["workspaceCapping"]["dailyQuotaGb"] == obs.daily_cap_gb
    insights = one(stack, "azure-native:applicationinsights:Component")
    assert insights["workspaceResourceId"].endswith(f"spy-{stack.stack}-logs")


def test_budget_notifications(stack):
    budget = one(stack, "azure-native:consumption:Budget")
    assert budget["amount"] == stack.config.budget.monthly_usd
    thresholds = sorted(n["threshold"] for n in budget["notifications"].values())
    assert thresholds == list(THRESHOLDS)
    for note in budget["notifications"].values():
        assert note["contactEmails"] == stack.config.budget.alert_emails


def test_backend_settings_are_the_backends_own(stack):
    """Every SPY_* app setting is a field of spy_backend's Settings, and with the Key Vault
    references resolved (to stand-ins) they configure what the cloud needs: Azure Tables,
    Azure SignalR, the dashboard as the only CORS origin. A misspelt setting would otherwise
    be ignored and the web app would quietly keep history in a container-local SQLite file."""
    from spy_backend.settings import Settings, StorageKind

    (app,) = stack.of_type("azure-native:web:WebApp")
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    ours = {k[len("SPY_") :].lower(): v for k, v in settings.items() if k.startswith("SPY_")}
    assert set(ours) <= set(Settings.model_fields)
    stand_ins = {"service_token": "t" * 40}
    resolved = {
        k: stand_ins.get(k, v) if str(v).startswith("@Microsoft.KeyVault") else v
        for k, v in ours.items()
    }
    backend = Settings(**{k: _parsed(v) for k, v in resolved.items()})
    assert backend.storage is StorageKind.AZURE_TABLES
    assert backend.azure_tables_connection_string is None  # the identity's way, no key
    (account,) = stack.of_type("azure-native:storage:StorageAccount")
    assert account.inputs["allowSharedKeyAccess"] is False
    assert backend.azure_tables_endpoint.startswith("https://")
    # SignalR through the identity too: its endpoint, no connection string, local auth off.
    assert backend.signalr_endpoint == stack.outputs["signalrEndpoint"]
    assert backend.signalr_connection_string is None
    (signalr,) = stack.of_type("azure-native:signalrservice:SignalR")
    assert signalr.inputs["disableLocalAuth"] is True
    assert backend.cors_origins == [stack.outputs["dashboardUrl"]]


def _parsed(value: str):
    """App settings are strings; a JSON list is how the backend reads a list from one."""
    import json

    return json.loads(value) if value.startswith("[") else value
