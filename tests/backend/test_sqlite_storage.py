"""The SQLite adapter: WAL, migrations recorded, idempotent writes, retention."""

from __future__ import annotations

import sqlite3
from datetime import timedelta

import pytest

from spy_backend.ingest import stored
from spy_backend.retention import purge_once
from spy_backend.schemas import AnomalyEventRecord
from spy_backend.storage.base import AnomalyQuery, Kind, to_micros
from spy_backend.storage.sqlite import SqliteStorage

from .conftest import T0, anomaly_event, client_for, event_record


def rows(n: int, start: int = 0):
    return [
        stored(AnomalyEventRecord.model_validate(event_record(anomaly_event(i))))
        for i in range(start, start + n)
    ]


def test_wal_and_schema_version(tmp_path) -> None:
    path = tmp_path / "db.sqlite3"
    store = SqliteStorage(path)
    assert store.schema_version == 1
    store.close()
    mode = sqlite3.connect(path).execute("PRAGMA journal_mode").fetchone()[0]
    assert mode == "wal"
    assert SqliteStorage(path).schema_version == 1  # reopening applies nothing twice


def test_write_is_idempotent_and_reports_new_keys(tmp_path) -> None:
    store = SqliteStorage(tmp_path / "db.sqlite3")
    assert len(store.write(rows(3))) == 3
    assert store.write(rows(4)) == [(Kind.EVENT, rows(1, 3)[0].key)]
    assert len(store.anomalies(AnomalyQuery(limit=10)).bodies) == 4


def test_purge_removes_only_old_records(tmp_path) -> None:
    store = SqliteStorage(tmp_path / "db.sqlite3")
    store.write(rows(10))
    assert store.purge(to_micros(T0 + timedelta(seconds=4))) == 4
    assert len(store.anomalies(AnomalyQuery(limit=100)).bodies) == 6


@pytest.mark.anyio
async def test_retention_job_uses_configured_days(settings) -> None:
    async with client_for(settings) as client:
        services = client.app.state.services  # type: ignore[attr-defined]
        services.storage.write(rows(3))
        assert await purge_once(services, now=T0 + timedelta(days=29)) == 0
        assert await purge_once(services, now=T0 + timedelta(days=31)) == 3
