"""History behind one port (`Storage`), with a SQLite adapter (local) and an Azure Tables
adapter (cloud); `open_storage` picks one from settings."""

from .base import AnomalyQuery, Kind, Page, Storage, StoredRecord
from .factory import open_storage

__all__ = ["AnomalyQuery", "Kind", "Page", "Storage", "StoredRecord", "open_storage"]
