"""One contract, both adapters: SQLite, and Azure Tables against Azurite started here, by
account key and by bearer token (the managed-identity way, Azurite over HTTPS with OAuth)."""

from __future__ import annotations

import itertools
import json
import sqlite3
from collections.abc import Iterator
from datetime import UTC, date, datetime, timedelta

import pytest
from azure.core.exceptions import ClientAuthenticationError
from azure.data.tables import TableServiceClient

from spy_backend.ingest import stored
from spy_backend.schemas import AnalysisRecord, AnomalyEventRecord
from spy_backend.storage.azure_tables import (
    AzureTablesStorage,
    history_table_name,
    partition,
    row_key,
)
from spy_backend.storage.base import AnomalyQuery, Kind, Position, Storage, to_micros
from spy_backend.storage.sqlite import SqliteStorage
from spy_core.models import AnomalyEventType, Severity, Side

from .conftest import analysis_record, anomaly_event, auth, changed, client_for, event_record
from .servers import AppServiceIdentityEndpoint, Azurite

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)
_names = itertools.count()


@pytest.fixture(scope="module")
def azurite() -> Iterator[Azurite]:
    server = Azurite()
    yield server
    server.stop()


@pytest.fixture(scope="module")
def azurite_oauth() -> Iterator[Azurite]:
    server = Azurite(oauth=True)
    yield server
    server.stop()


@pytest.fixture(params=["sqlite", "azure-tables-key", "azure-tables-token"])
def storage(request, tmp_path, monkeypatch) -> Iterator[Storage]:
    if request.param == "sqlite":
        store: Storage = SqliteStorage(tmp_path / "db.sqlite3")
    elif request.param == "azure-tables-key":
        azurite = request.getfixturevalue("azurite")
        service = TableServiceClient.from_connection_string(azurite.connection_string)
        store = AzureTablesStorage(service, prefix=f"t{next(_names)}")
    else:
        store = AzureTablesStorage(_token_service(request, monkeypatch), prefix=f"t{next(_names)}")
    yield store
    store.close()


def _token_service(request, monkeypatch, **credential) -> TableServiceClient:
    azurite = request.getfixturevalue("azurite_oauth")
    # requests (azure-core's transport) trusts the throwaway certificate through this.
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite.certificate))
    return TableServiceClient(azurite.endpoint, credential=azurite.token_credential(**credential))


def test_a_token_for_another_audience_is_refused(request, monkeypatch) -> None:
    """The bearer path is really authenticated: Azurite checks the token's audience."""
    service = _token_service(request, monkeypatch, audience="https://vault.azure.net")
    store = AzureTablesStorage(service, prefix=f"t{next(_names)}")
    with pytest.raises(ClientAuthenticationError):
        store.write(timed(1))
    store.close()


def timed(n: int, step: timedelta = timedelta(seconds=1), **kwargs):
    return [
        stored(
            AnomalyEventRecord.model_validate(
                event_record(anomaly_event(i, at=NOW - i * step, **kwargs))
            )
        )
        for i in range(n)
    ]


def test_idempotent_write_reports_only_new(storage: Storage) -> None:
    assert len(storage.write(timed(3))) == 3
    assert len(storage.write(timed(5))) == 2
    assert storage.write(timed(5)) == []


def event_row(event):
    return stored(AnomalyEventRecord.model_validate(event_record(event)))


def test_an_anomaly_opens_once_and_clears_once(storage: Storage) -> None:
    """A second `opened` (or `cleared`) for one anomaly id is a repeat whatever its time;
    escalations at different times are all kept."""
    opened = anomaly_event(7, at=NOW - timedelta(minutes=5))
    assert len(storage.write([event_row(opened)])) == 1
    reopened = opened.model_copy(update={"at": NOW - timedelta(minutes=1)})
    assert storage.write([event_row(reopened)]) == []
    assert storage.write([event_row(reopened), event_row(opened)]) == []
    escalations = [
        opened.model_copy(
            update={"event": AnomalyEventType.ESCALATED, "at": NOW - timedelta(minutes=m)}
        )
        for m in (4, 3)
    ]
    cleared = [
        opened.model_copy(
            update={"event": AnomalyEventType.CLEARED, "at": NOW - timedelta(minutes=m)}
        )
        for m in (2, 1)
    ]
    assert len(storage.write([event_row(e) for e in escalations + cleared])) == 3
    events = [
        AnomalyEventRecord.model_validate_json(b)
        for b in storage.anomalies(AnomalyQuery(limit=100)).bodies
    ]
    assert [(e.event.value, e.at) for e in events] == [
        ("cleared", NOW - timedelta(minutes=2)),
        ("escalated", NOW - timedelta(minutes=3)),
        ("escalated", NOW - timedelta(minutes=4)),
        ("opened", NOW - timedelta(minutes=5)),
    ]


def test_a_claim_whose_row_was_not_written_is_completed_by_the_retry(azurite) -> None:
    """Azure Tables: a crash between claiming a key and writing its row leaves a claim; the
    retried write finds it, reports the record as known, and writes the row from it."""
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    store = AzureTablesStorage(service, prefix=f"t{next(_names)}")
    row = event_row(anomaly_event(3, at=NOW))
    store.write([row])
    table = service.get_table_client(history_table_name(store_prefix(store)))
    table.delete_entity(partition(row.kind, row.at_us), row_key(row.at_us, row.key))
    assert store.anomalies(AnomalyQuery()).bodies == []  # the state a crash leaves
    assert store.write([row]) == []
    assert store.anomalies(AnomalyQuery()).bodies == [row.body]
    store.close()


def store_prefix(store: AzureTablesStorage) -> str:
    return store._table.table_name.removesuffix("history")


def test_more_than_one_transaction_in_one_partition(storage: Storage) -> None:
    rows = timed(230, step=timedelta(milliseconds=10))
    assert len(storage.write(rows)) == 230
    page = storage.anomalies(AnomalyQuery(limit=500))
    assert len(page.bodies) == 230 and page.next is None


def test_same_instant_events_are_all_kept(storage: Storage) -> None:
    rows = [
        stored(AnomalyEventRecord.model_validate(event_record(anomaly_event(i, at=NOW))))
        for i in range(20)
    ]
    storage.write(rows)
    assert len(storage.anomalies(AnomalyQuery(limit=100)).bodies) == 20


def test_newest_first_and_cursor_pages_across_days(storage: Storage) -> None:
    rows = timed(30, step=timedelta(hours=3))  # spans four days (partitions)
    storage.write(rows)
    seen, after = [], None
    while True:
        page = storage.anomalies(AnomalyQuery(limit=7, after=after))
        seen += page.bodies
        if (after := page.next) is None:
            break
    times = [AnomalyEventRecord.model_validate_json(b).at for b in seen]
    assert len(seen) == len(set(seen)) == 30
    assert times == sorted(times, reverse=True)


def test_filters_and_time_range(storage: Storage) -> None:
    storage.write(timed(4, side=Side.SELL, severity=Severity.LOW))
    storage.write(
        [
            stored(
                AnomalyEventRecord.model_validate(
                    event_record(
                        anomaly_event(
                            100 + i, at=NOW - timedelta(minutes=10 + i), expiry=date(2030, 1, 2)
                        )
                    )
                )
            )
            for i in range(3)
        ]
    )
    assert len(storage.anomalies(AnomalyQuery(side=Side.SELL)).bodies) == 4
    assert len(storage.anomalies(AnomalyQuery(severity=Severity.HIGH)).bodies) == 3
    assert len(storage.anomalies(AnomalyQuery(expiry=date(2030, 1, 2))).bodies) == 3
    window = AnomalyQuery(since_us=to_micros(NOW - timedelta(seconds=2)), until_us=to_micros(NOW))
    assert len(storage.anomalies(window).bodies) == 2  # at NOW-1 s and NOW-2 s


def test_latest_series_and_purge(storage: Storage) -> None:
    analyses = [
        stored(AnalysisRecord.model_validate(analysis_record(NOW - timedelta(minutes=m))))
        for m in range(5)
    ]
    storage.write(analyses)
    latest = AnalysisRecord.model_validate_json(storage.latest(Kind.ANALYSIS) or "")
    assert latest.timestamp == NOW
    assert storage.latest(Kind.SNAPSHOT) is None
    series = storage.series(
        Kind.ANALYSIS, to_micros(NOW - timedelta(hours=1)), to_micros(NOW + timedelta(1)), 3
    )
    stamps = [AnalysisRecord.model_validate_json(b).timestamp for b in series]
    assert stamps == [NOW - timedelta(minutes=m) for m in (2, 1, 0)]
    storage.write(timed(3))
    assert storage.purge(to_micros(NOW - timedelta(minutes=2, seconds=30))) == 2
    assert len(storage.anomalies(AnomalyQuery()).bodies) == 3


def test_cursor_is_opaque_and_round_trips() -> None:
    position = Position(123, "a:b")
    assert Position.decode(position.encode()) == position
    with pytest.raises(ValueError):
        Position.decode("nope")


def test_ping(storage: Storage) -> None:
    storage.ping()


@pytest.mark.anyio
async def test_app_on_azure_tables(settings, azurite: Azurite) -> None:
    cloud = changed(
        settings,
        storage="azure-tables",
        azure_tables_connection_string=azurite.connection_string,
        azure_tables_prefix="app",
    )
    await _store_and_read_back(cloud)


async def _store_and_read_back(cloud) -> None:
    """Three events in through the API, the same three out, and the app ready."""
    async with client_for(cloud) as client:
        body = {"records": [event_record(anomaly_event(i, at=NOW)) for i in range(3)]}
        response = await client.post("/api/events", json=body, headers=auth(client))
        assert response.json() == {"accepted": 3, "stored": 3}
        assert len((await client.get("/api/anomalies")).json()["items"]) == 3
        assert (await client.get("/ready")).json()["ready"] is True


@pytest.mark.anyio
async def test_app_on_azure_tables_with_its_managed_identity(
    settings, azurite_oauth: Azurite, monkeypatch
) -> None:
    """The cloud's way, end to end: only the table endpoint is configured; the app gets a
    token for Storage from App Service's identity endpoint (azure-identity, as on App
    Service) and Azurite accepts it. No account key anywhere."""
    identity = AppServiceIdentityEndpoint()
    monkeypatch.setenv("IDENTITY_ENDPOINT", identity.url)
    monkeypatch.setenv("IDENTITY_HEADER", identity.secret)
    monkeypatch.setenv("REQUESTS_CA_BUNDLE", str(azurite_oauth.certificate))
    for name in ("AZURE_CLIENT_ID", "AZURE_TENANT_ID", "AZURE_CLIENT_SECRET"):
        monkeypatch.delenv(name, raising=False)
    cloud = changed(
        settings,
        storage="azure-tables",
        azure_tables_endpoint=azurite_oauth.endpoint,
        azure_tables_prefix="mi",
    )
    try:
        await _store_and_read_back(cloud)
    finally:
        identity.stop()
    assert identity.requests and set(identity.requests) == {"https://storage.azure.com"}


def test_azure_tables_settings_need_exactly_one_way_in(settings) -> None:
    from pydantic import ValidationError

    with pytest.raises(ValidationError, match="one of SPY_AZURE_TABLES_ENDPOINT"):
        changed(settings, storage="azure-tables")
    with pytest.raises(ValidationError, match="one of SPY_AZURE_TABLES_ENDPOINT"):
        changed(
            settings,
            storage="azure-tables",
            azure_tables_endpoint="https://x.table.core.windows.net/",
            azure_tables_connection_string="UseDevelopmentStorage=true",
        )
    with pytest.raises(ValidationError, match="azure_tables_endpoint"):
        changed(settings, storage="azure-tables", azure_tables_endpoint="http://plain:10002")


# Rows no current version writes, as a bug, a hand edit or an older, laxer version left them.
POISON = [
    "NaN",
    "not json",
    "",
    "[" * 5000,
    '{"id": "x"}',
    json.dumps(event_record(anomaly_event(90))).replace('"fair": 1.35', '"fair": NaN'),
    json.dumps(event_record(anomaly_event(91))).replace('"fair": 1.35', '"fair": null'),
    json.dumps(event_record(anomaly_event(92))).replace('"SPY"', '"\\ud800"'),
]


def _poison_sqlite(settings) -> int:
    db = sqlite3.connect(settings.database_path)
    at_us = to_micros(NOW)
    rows = [
        ("event", f"poison-{n}", at_us - n, None, None, None, body) for n, body in enumerate(POISON)
    ]
    rows.append(("event", "poison-bytes", at_us, None, None, None, b"\xff\xfe{"))
    db.execute("BEGIN")
    db.executemany("INSERT INTO records VALUES (?, ?, ?, ?, ?, ?, ?)", rows)
    db.execute("UPDATE records SET body = CAST(body AS TEXT) WHERE key = 'poison-bytes'")
    db.execute(
        "INSERT INTO records VALUES ('analysis', 'poison', ?, NULL, NULL, NULL, 'NaN')",
        (at_us + 10**9,),
    )
    db.execute("COMMIT")
    db.close()
    return len(rows)


def _poison_azure(settings, azurite) -> int:
    service = TableServiceClient.from_connection_string(azurite.connection_string)
    table = service.get_table_client(history_table_name(settings.azure_tables_prefix))
    at_us = to_micros(NOW)
    for n, body in enumerate(POISON):
        table.create_entity(
            {
                "PartitionKey": partition(Kind.EVENT, at_us - n),
                "RowKey": row_key(at_us - n, f"poison-{n}"),
                "Body0": body,
            }
        )
    table.create_entity(
        {
            "PartitionKey": partition(Kind.ANALYSIS, at_us + 10**9),
            "RowKey": row_key(at_us + 10**9, "poison"),
            "Body0": "NaN",
        }
    )
    service.close()
    return len(POISON)


@pytest.mark.anyio
@pytest.mark.parametrize("where", ["sqlite", "azure-tables"])
async def test_a_poisoned_row_cannot_break_a_read(settings, where, request) -> None:
    """Rows inserted behind the API's back (into the SQLite file, into Azurite) that no
    longer validate are skipped and counted by every read, never a 500."""
    if where == "azure-tables":
        azurite = request.getfixturevalue("azurite")
        settings = changed(
            settings,
            storage="azure-tables",
            azure_tables_connection_string=azurite.connection_string,
            azure_tables_prefix=f"p{next(_names)}",
        )
    async with client_for(settings) as client:
        good = [event_record(anomaly_event(i, at=NOW - timedelta(minutes=i + 1))) for i in range(2)]
        good.append(analysis_record(NOW))
        response = await client.post("/api/events", json={"records": good}, headers=auth(client))
        assert response.json()["stored"] == 3
        poisoned = (
            _poison_sqlite(settings) if where == "sqlite" else _poison_azure(settings, azurite)
        )
        ids, cursor = [], None
        while True:
            params = {"limit": 2} | ({"cursor": cursor} if cursor else {})
            page = await client.get("/api/anomalies", params=params)
            assert page.status_code == 200, page.text
            ids += [e["id"] for e in page.json()["items"]]
            if (cursor := page.json()["next_cursor"]) is None:
                break
        assert ids == [anomaly_event(i).id for i in range(2)]
        for path in ("/api/market", "/api/gex", "/api/flow"):
            assert (await client.get(path)).status_code == 200, path
        assert (await client.get("/api/market")).json()["analysis"] is None  # newest is poison
        metrics = (await client.get("/metrics")).text
    assert f'spy_stored_rows_skipped_total{{kind="event"}} {poisoned}.0' in metrics
