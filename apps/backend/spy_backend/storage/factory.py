"""Pick the storage adapter the settings name."""

from __future__ import annotations

from ..settings import Settings, StorageKind
from .base import Storage


def open_storage(settings: Settings) -> Storage:
    if settings.storage is StorageKind.AZURE_TABLES:
        from .azure_tables import AzureTablesStorage, table_service

        secret = settings.azure_tables_connection_string
        service = table_service(
            connection_string=None if secret is None else secret.get_secret_value(),
            endpoint=settings.azure_tables_endpoint,
        )
        return AzureTablesStorage(service, settings.azure_tables_prefix, settings.retention_days)
    from .sqlite import SqliteStorage

    return SqliteStorage(settings.database_path)
