"""History: a storage account with the table the backend writes.

The backend reaches the table with its managed identity (a data role on the account, granted
by `BackendApp`), given only the table endpoint: the account refuses shared-key access, so
no account key is read into the program, its state or Key Vault, and none can leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.naming import Naming
from spy_backend.storage.azure_tables import history_table_name

BACKEND_TABLES = (history_table_name(),)
"""Tables of the backend's history store, named by the backend's own adapter."""


@dataclass(frozen=True)
class StorageArgs:
    resource_group_name: pulumi.Input[str]
    location: str
    naming: Naming
    sku: str


class Storage(pulumi.ComponentResource):
    account: storage.StorageAccount
    tables: dict[str, storage.Table]

    def __init__(self, name: str, args: StorageArgs, opts: pulumi.ResourceOptions | None = None):
        super().__init__("spy:storage:Storage", name, None, opts)
        child = pulumi.ResourceOptions(parent=self)
        self.account = storage.StorageAccount(
            args.naming.compact("st"),
            resource_group_name=args.resource_group_name,
            location=args.location,
            kind="StorageV2",
            sku=storage.SkuArgs(name=args.sku),
            minimum_tls_version="TLS1_2",
            enable_https_traffic_only=True,
            allow_blob_public_access=False,
            allow_shared_key_access=False,
            opts=child,
        )
        self.tables = {
            table: storage.Table(
                f"{args.naming.name('table')}-{table}",
                table_name=table,
                account_name=self.account.name,
                resource_group_name=args.resource_group_name,
                opts=child,
            )
            for table in BACKEND_TABLES
        }
        self.table_endpoint = self.account.primary_endpoints.apply(lambda e: e.table)
        self.register_outputs(
            {"account_id": self.account.id, "table_endpoint": self.table_endpoint}
        )
