"""Secrets stay secret: generated and user-supplied values never appear in plain text."""

from __future__ import annotations

import json

from stacks.offline import MOCK_DEPLOYMENT_TOKEN, SECRET_PLACEHOLDER
from tests.infra.conftest import plain_strings

SECRET_SETTING_WORDS = ("TOKEN", "PASSWORD", "SECRET", "KEY", "CONNECTION_STRING")


def secret_values(stack) -> set[str]:
    """The mock's generated passwords (`m` * length) and the user-secret placeholder."""
    lengths = {
        int(r.inputs["length"]) for r in stack.of_type("random:index/randomPassword:RandomPassword")
    }
    return {"m" * n for n in lengths} | {SECRET_PLACEHOLDER}


def test_no_secret_in_plain_resource_inputs(stack):
    secrets = secret_values(stack)
    for resource in stack.resources:
        leaked = [s for s in plain_strings(resource.inputs) if any(v in s for v in secrets)]
        assert not leaked, f"{resource.type_token} {resource.name} holds a secret in plain text"


def test_only_the_vpn_config_and_the_dashboard_token_are_secret_outputs_and_marked(stack):
    assert {"onPremVpnConfig", "dashboardDeploymentToken"} <= set(stack.secret_outputs)
    assert stack.outputs["dashboardDeploymentToken"] == MOCK_DEPLOYMENT_TOKEN
    secrets = secret_values(stack) | {MOCK_DEPLOYMENT_TOKEN}
    for name, value in stack.outputs.items():
        if name in stack.secret_outputs:
            continue
        assert not any(s in str(value) for s in secrets), name


def test_secret_app_settings_are_key_vault_references(stack):
    (app,) = stack.of_type("azure-native:web:WebApp")
    settings = {s["name"]: s["value"] for s in app.inputs["siteConfig"]["appSettings"]}
    secret_named = {k for k in settings if any(w in k for w in SECRET_SETTING_WORDS)}
    assert secret_named == {
        "SPY_SERVICE_TOKEN",
        "APPLICATIONINSIGHTS_CONNECTION_STRING",
    }
    for key in secret_named:
        assert settings[key].startswith("@Microsoft.KeyVault(SecretUri=https://"), key


def test_generated_and_user_secrets_are_stored_in_key_vault(stack):
    names = {s.inputs["secretName"] for s in stack.of_type("azure-native:keyvault:Secret")}
    assert names == {
        "vpn-psk",
        "backend-service-token",
        "appinsights-connection-string",
        "ib-gateway-password",
    }
    for secret in stack.of_type("azure-native:keyvault:Secret"):
        assert not list(plain_strings(secret.inputs["properties"]))


def test_the_dashboard_config_names_the_stacks_backend_and_no_secret(stack):
    """frontend/dist/config.json as the deploy workflow writes it from the stack output."""
    backend = stack.outputs["backendUrl"]
    assert json.loads(stack.outputs["dashboardConfig"]) == {
        "apiBase": backend,
        "hubUrl": f"{backend}/hub",
    }
    assert "dashboardConfig" not in stack.secret_outputs
