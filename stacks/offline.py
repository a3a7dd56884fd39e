"""Evaluate the real program offline: Pulumi's mocks stand in for the engine and Azure.

Used by `spy-platform preview`, the tests and the benchmark. The stack file is read here (the
mocks do not read it), so what is evaluated is exactly what `pulumi up --stack X` would get.
Each evaluation runs in a fresh context, so runs do not share Pulumi's global state.
"""

from __future__ import annotations

import asyncio
import contextvars
import json
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pulumi
import yaml
from pulumi.runtime.stack import run_pulumi_func
from pulumi.runtime.sync_await import _sync_await

from stacks.data_plane_config import SECRETS as DATA_PLANE_SECRETS
from stacks.stack_config import PROJECT, USER_SECRETS, StackConfig, load_stack_config

PROJECT_DIR = Path(__file__).resolve().parents[1]
SECRET_PLACEHOLDER = "offline-placeholder-secret"
MOCK_TENANT = "00000000-0000-0000-0000-00000000aaaa"
MOCK_SUBSCRIPTION = "00000000-0000-0000-0000-00000000bbbb"
MOCK_GATEWAY_IP = "198.51.100.20"


@dataclass(frozen=True)
class Registered:
    """One resource as the engine would receive it (camelCase inputs, secrets as sentinels)."""

    type_token: str
    name: str
    inputs: dict[str, Any]
    custom: bool


@dataclass
class Evaluation:
    stack: str
    config: StackConfig
    resources: list[Registered]
    outputs: dict[str, Any]
    secret_outputs: set[str]
    notes: list[str] = field(default_factory=list)

    def of_type(self, type_token: str) -> list[Registered]:
        return [r for r in self.resources if r.type_token == type_token]


def _outputs(args: pulumi.runtime.MockResourceArgs) -> dict[str, Any]:
    """Plausible provider outputs for what the program reads back from each type."""
    name, inputs = args.name, args.inputs
    extra: dict[str, dict[str, Any]] = {
        "azure-native:network:PublicIPAddress": {"ipAddress": MOCK_GATEWAY_IP},
        "azure-native:containerregistry:Registry": {"loginServer": f"{name}.azurecr.io"},
        "azure-native:web:WebApp": {
            "defaultHostName": f"{name}.azurewebsites.net",
            "identity": {**inputs.get("identity", {}), "principalId": f"{name}-principal"},
        },
        "azure-native:signalrservice:SignalR": {"hostName": f"{name}.service.signalr.net"},
        "azure-native:web:StaticSite": {"defaultHostname": f"{name}.azurestaticapps.net"},
        "azure-native:keyvault:Vault": {
            "properties": {
                **inputs.get("properties", {}),
                "vaultUri": f"https://{name}.vault.azure.net/",
            }
        },
        "azure-native:keyvault:Secret": {
            "properties": {
                "secretUri": f"https://vault.vault.azure.net/secrets/{inputs.get('secretName')}"
            }
        },
        "azure-native:storage:StorageAccount": {
            "primaryEndpoints": {"table": f"https://{name}.table.core.windows.net/"}
        },
        "azure-native:applicationinsights:Component": {
            "connectionString": "InstrumentationKey=00000000-0000-0000-0000-000000000001"
        },
        "random:index/randomPassword:RandomPassword": {
            "result": "m" * int(inputs.get("length", 16))
        },
    }
    return {"name": name, **inputs, **extra.get(args.typ, {})}


# What the mocked Static Web App answers for its deployment token (a secret output).
MOCK_DEPLOYMENT_TOKEN = "mock-static-web-app-deployment-token"


class PlatformMocks(pulumi.runtime.Mocks):
    """Records every registration; answers the invokes the program makes."""

    def __init__(self) -> None:
        self.resources: list[Registered] = []

    def new_resource(self, args: pulumi.runtime.MockResourceArgs) -> tuple[str, dict]:
        self.resources.append(Registered(args.typ, args.name, args.inputs, bool(args.custom)))
        resource_id = f"/subscriptions/{MOCK_SUBSCRIPTION}/mock/{args.typ}/{args.name}"
        return resource_id, _outputs(args)

    def call(self, args: pulumi.runtime.MockCallArgs) -> tuple[dict, list]:
        if args.token == "azure-native:authorization:getClientConfig":
            return {
                "tenantId": MOCK_TENANT,
                "subscriptionId": MOCK_SUBSCRIPTION,
                "objectId": "00000000-0000-0000-0000-00000000cccc",
                "clientId": "00000000-0000-0000-0000-00000000dddd",
            }, []
        if args.token == "azure-native:web:listStaticSiteSecrets":
            return {"properties": {"apiKey": MOCK_DEPLOYMENT_TOKEN}}, []
        return {}, []


def read_stack_file(stack: str, project_dir: Path = PROJECT_DIR) -> dict[str, Any]:
    """`Pulumi.<stack>.yaml`'s `config:` map, as written."""
    path = project_dir / f"Pulumi.{stack}.yaml"
    if not path.is_file():
        raise FileNotFoundError(f"no stack file {path.name} in {project_dir}")
    return (yaml.safe_load(path.read_text()) or {}).get("config") or {}


def engine_config(
    settings: dict[str, Any], fill_missing_secrets: bool
) -> tuple[dict[str, str], list[str], list[str]]:
    """The config map the engine would pass: values as text (objects as JSON), encrypted
    `secure:` values replaced by a placeholder (only the CLI can decrypt them)."""
    config: dict[str, str] = {}
    secret_keys: list[str] = []
    notes: list[str] = []
    for key, value in settings.items():
        if isinstance(value, dict) and set(value) == {"secure"}:
            config[key], secret_keys = SECRET_PLACEHOLDER, [*secret_keys, key]
            notes.append(
                f"{key} is encrypted in the stack file: offline preview uses a placeholder"
            )
        else:
            config[key] = value if isinstance(value, str) else json.dumps(value)
    if fill_missing_secrets:
        for secret in {**USER_SECRETS, **DATA_PLANE_SECRETS}:
            key = f"{PROJECT}:{secret}"
            if key not in config:
                config[key], secret_keys = SECRET_PLACEHOLDER, [*secret_keys, key]
                notes.append(
                    f"{key} is not set (pulumi config set --secret {secret}); `pulumi up` will "
                    "stop until it is. Offline preview uses a placeholder"
                )
    return config, secret_keys, notes


def read_stack_config(stack: str, project_dir: Path = PROJECT_DIR) -> StackConfig:
    """The validated config of `Pulumi.<stack>.yaml` without running the program (for
    `spy-platform vpn-config`): the same text values the engine would pass, the same loader."""
    config, _, _ = engine_config(read_stack_file(stack, project_dir), fill_missing_secrets=False)
    return load_stack_config(lambda key: config.get(f"{PROJECT}:{key}"), f"Pulumi.{stack}.yaml")


def evaluate(
    stack: str,
    settings: dict[str, Any] | None = None,
    *,
    project_dir: Path = PROJECT_DIR,
    fill_missing_secrets: bool = True,
    mocks: PlatformMocks | None = None,
) -> Evaluation:
    """Run the program for `stack` under mocks; `settings` replaces the stack file's map.
    Pass `mocks` to inspect what was registered even when the program raises."""
    raw = read_stack_file(stack, project_dir) if settings is None else settings
    config, secret_keys, notes = engine_config(raw, fill_missing_secrets)
    # A loop of its own: callers (tests, asyncio.run before) may have left none or a closed one.
    loop = asyncio.new_event_loop()
    asyncio.set_event_loop(loop)
    try:
        return contextvars.Context().run(
            _run, stack, config, secret_keys, notes, mocks or PlatformMocks()
        )
    finally:
        loop.close()
        asyncio.set_event_loop(None)


def _run(
    stack: str,
    config: dict[str, str],
    secret_keys: list[str],
    notes: list[str],
    mocks: PlatformMocks,
) -> Evaluation:
    from stacks.program import main

    pulumi.runtime.set_mocks(mocks, project=PROJECT, stack=stack, preview=False)
    pulumi.runtime.set_all_config(config, secret_keys)
    holder: dict[str, Any] = {}

    async def collect(exports: dict[str, pulumi.Output]) -> None:
        values, secrets = {}, set()
        for name, output in exports.items():
            out = pulumi.Output.from_input(output)
            values[name] = await out.future()
            if await out.is_secret():
                secrets.add(name)
        holder["outputs"], holder["secrets"] = values, secrets

    def body():
        platform = main()
        holder["config"] = platform.config
        return collect(platform.exports)

    _sync_await(run_pulumi_func(body))
    return Evaluation(
        stack, holder["config"], mocks.resources, holder["outputs"], holder["secrets"], notes
    )
