"""The on-prem apps report to the cloud backend: market data and the trader post to the stack's
App Service URL (through the VPN) with the service token from the Kubernetes Secret that Pulumi
makes from the same generated token it stores in Key Vault for the backend; the token is never
an argument; market data spools on its PVC. The manifests' arguments are read by the real
`spy-platform` parser, so they are what the commands accept."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.infra.k3s_objects import named, plain, pod_template

# The image's ENTRYPOINT where the manifest gives no command (apps/Dockerfile).
ENTRYPOINTS = {"marketdata": ["spy-platform", "marketdata"], "trader": ["spy-platform", "trade"]}
SECRET_REF = {"secretKeyRef": {"name": "backend-service-token", "key": "token"}}


def _container(stack, app: str) -> dict:
    (container,) = pod_template(named(stack, "Deployment", app))["spec"]["containers"]
    return container


def _parsed(container: dict, app: str):
    from spy_platform.cli import _build_parser

    command = container.get("command", ENTRYPOINTS[app])
    return _build_parser().parse_args([*command[1:], *container["args"]])


@pytest.mark.parametrize("app", ["marketdata", "trader"])
def test_the_app_posts_to_the_stacks_backend_with_the_secret_token(stack, app):
    container = _container(stack, app)
    args = _parsed(container, app)
    url = args.backend_url if app == "marketdata" else args.backend
    assert url == stack.outputs["backendUrl"]
    env = {variable["name"]: variable for variable in container["env"]}
    assert env["SPY_SERVICE_TOKEN"]["valueFrom"] == SECRET_REF
    token = named(stack, "Secret", "backend-service-token")["stringData"]["token"]
    assert not any(token in argument for argument in container["args"])
    (stored,) = [
        secret
        for secret in stack.of_type("azure-native:keyvault:Secret")
        if secret.inputs["secretName"] == "backend-service-token"
    ]
    assert plain(stored.inputs["properties"])["value"] == token


def test_market_datas_backend_spool_is_on_its_volume(stack):
    spec = pod_template(named(stack, "Deployment", "marketdata"))["spec"]
    container = _container(stack, "marketdata")
    folder = _parsed(container, "marketdata").data_dir
    (mount,) = [m for m in container["volumeMounts"] if Path(m["mountPath"]) == folder]
    (volume,) = [v for v in spec["volumes"] if v["name"] == mount["name"]]
    assert volume["persistentVolumeClaim"]["claimName"] == "marketdata-data"
    assert named(stack, "PersistentVolumeClaim", "marketdata-data")
