"""History: a storage account with the tables the backend writes.

The backend reaches the tables with its managed identity (a data role on the account, granted
by `BackendApp`), given only the table endpoint: the account refuses shared-key access, so
no account key is read into the program, its state or Key Vault, and none can leak.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Literal

import pulumi
from pulumi_azure_native import storage

from infra.azure_args import AzureComponentArgs

StorageSku = Literal["Standard_LRS", "Standard_ZRS"]


@dataclass(frozen=True)
class StorageArgs(AzureComponentArgs):
    sku: StorageSku
    tables: tuple[str, ...]
    """Names of the tables to create (the composition takes them from the app that owns them)."""


class Storage(pulumi.ComponentResource):
    account: storage.StorageAccount
    tables: dict[str, storage.Table]
    table_endpoint: pulumi.Output[str]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = storage.StorageAccount(
            args.naming.compact("st"),
            kind=storage.Kind.STORAGE_V2,
            sku=storage.SkuArgs(name=storage.SkuName(args.sku)),
            minimum_tls_version=storage.MinimumTlsVersion.TLS1_2,
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            opts=child,
            **args.placement(),
        )
        self.tables = {
            table: storage.Table(
                f"{args.naming.name('table')}-{table}",
                table_name=table,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                opts=child,
            )
            for table in args.tables
        }
        self.table_endpoint = self.account.primary_endpoints.apply(lambda e: e.table)
        self.register_outputs(
            {"account_id": self.account.id, "table_endpoint": self.table_endpoint}
        )
