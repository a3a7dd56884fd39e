"""Pick the storage adapter the settings name."""

from __future__ import annotations

from ..settings import Settings, StorageKind
from .base import Storage


def open_storage(settings: Settings) -> Storage:
    if settings.storage is StorageKind.AZURE_TABLES:
        from .azure_tables import AzureTablesStorage

        assert settings.azure_tables_connection_string is not None  # settings validate this
        return AzureTablesStorage(
            settings.azure_tables_connection_string.get_secret_value(),
            settings.azure_tables_prefix,
            settings.retention_days,
        )
    from .sqlite import SqliteStorage

    return SqliteStorage(settings.database_path)
