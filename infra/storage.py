"""History: a storage account with the tables the backend writes.

Shared-key access is off: the backend reaches the tables with its managed identity (Storage
Table Data Contributor), so there is no account key to leak.
"""

from __future__ import annotations

from dataclasses import dataclass

import pulumi
from pulumi_azure_native import storage

from infra.naming import Naming

BACKEND_TABLES = ("anomalies", "orders", "fills", "positions", "events")
"""Tables of the backend's history store (one per event kind of the contracts)."""


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
