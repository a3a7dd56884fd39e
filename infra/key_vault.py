"""Secrets: a Key Vault in RBAC mode holding every secret the platform uses.

Soft delete is always on; purge protection comes from the stack (on in prod: a deleted vault
cannot be purged for its retention period, so dev keeps it off to allow clean teardown).
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import authorization, keyvault

from infra import roles
from infra.azure_args import AzureComponentArgs


@dataclass(frozen=True)
class KeyVaultArgs(AzureComponentArgs):
    tenant_id: pulumi.Input[str]
    subscription_id: pulumi.Input[str]
    deployer_object_id: pulumi.Input[str]
    purge_protection: bool
    soft_delete_retention_days: int


class KeyVault(pulumi.ComponentResource):
    vault: keyvault.Vault

    def __init__(self, name: str, args: KeyVaultArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:secrets:KeyVault", name, None, opts)
        self._args = args
        self.vault = keyvault.Vault(
            args.naming.name("kv"),
            properties=keyvault.VaultPropertiesArgs(
                tenant_id=args.tenant_id,
                sku=keyvault.SkuArgs(family=keyvault.SkuFamily.A, name=keyvault.SkuName.STANDARD),
                enable_rbac_authorization=True,
                enable_soft_delete=True,
                soft_delete_retention_in_days=args.soft_delete_retention_days,
                # Azure rejects `false` once set; `None` leaves it off.
                enable_purge_protection=True if args.purge_protection else None,
                public_network_access="Enabled",
            ),
            opts=pulumi.ResourceOptions(parent=self),
            **args.placement(),
        )
        self.vault_uri = self.vault.properties.apply(lambda p: p.vault_uri)
        # The deployer reads secrets back (e.g. the VPN key for the on-prem end).
        roles.grant(
            f"{name}-deployer-secrets-officer",
            role=roles.KEY_VAULT_SECRETS_OFFICER,
            scope=self.vault.id,
            principal_id=args.deployer_object_id,
            subscription_id=args.subscription_id,
            principal_type=None,  # a user or a CI service principal
            parent=self,
        )
        self.register_outputs({"vault_id": self.vault.id, "vault_uri": self.vault_uri})

    def store(self, key: str, value: pulumi.Input[str]) -> keyvault.Secret:
        """Store a secret; the value stays a Pulumi secret in state and outputs."""
        return keyvault.Secret(
            f"{self._args.naming.name('kv')}-{key}",
            secret_name=key,
            vault_name=self.vault.name,
            resource_group_name=self._args.resource_group_name,
            properties=keyvault.SecretPropertiesArgs(value=pulumi.Output.secret(value)),
            opts=pulumi.ResourceOptions(parent=self),
        )

    def grant_reader(self, name: str, principal_id: pulumi.Input[str]) -> None:
        """Let a managed identity resolve Key Vault references."""
        roles.grant(
            name,
            role=roles.KEY_VAULT_SECRETS_USER,
            scope=self.vault.id,
            principal_id=principal_id,
            subscription_id=self._args.subscription_id,
            principal_type=authorization.PrincipalType.SERVICE_PRINCIPAL,
            parent=self,
        )


def key_vault_reference(secret: keyvault.Secret) -> pulumi.Output[str]:
    """App Service setting value that App Service resolves from Key Vault at start-up; the
    unversioned URI follows rotation."""
    return secret.properties.apply(lambda p: f"@Microsoft.KeyVault(SecretUri={p.secret_uri}/)")
