"""Azure Table Storage adapter (`azure-data-tables`), tested against Azurite.

One table; PartitionKey = kind and UTC day (`event-20260309`), so a day's anomalies are one
partition and retention deletes whole days; RowKey = inverted, zero-padded microsecond time
then the record's unique key, so keys never collide (the predecessor keyed by seconds and
lost all but one anomaly per scan) and a partition reads newest-first in natural order.
A record's key is unique in its kind whatever its time (an anomaly opens once), which a
time-first RowKey cannot enforce; a claim entity per key (PartitionKey `key-<kind>`, RowKey
the key, with a copy of the row) does. Writes go as transactions of at most 100 operations
per partition (the service's limit): first the claims (a transaction that meets a known key
is retried one entity at a time, so the new ones are claimed and reported and the known
ones skipped), then the rows (upserts, so a row a crash left unwritten is written from its
claim by the retry). Retention deletes claims with their rows.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from azure.core.exceptions import ResourceExistsError
from azure.data.tables import EdmType, EntityProperty, TableServiceClient, TableTransactionError

from .base import (
    MAX_MICROS,
    AnomalyQuery,
    Kind,
    Page,
    Position,
    StoredRecord,
    from_micros,
    to_micros,
)

_MAX_US = MAX_MICROS - 1
_BATCH = 100
_CHUNK = 30_000  # characters per string property (the service allows 64 KiB of UTF-16)
_DAY_US = 86_400 * 10**6


def row_key(at_us: int, key: str) -> str:
    return f"{_MAX_US - at_us:017d}-{key}"


def partition(kind: Kind, at_us: int) -> str:
    return f"{kind.value}-{from_micros(at_us):%Y%m%d}"


def history_table_name(prefix: str = "spy") -> str:
    """The one table this adapter keeps; the Pulumi program creates it under this name."""
    return f"{prefix}history"


def table_service(
    *, connection_string: str | None = None, endpoint: str | None = None
) -> TableServiceClient:
    """The Table service, by connection string (account key: Azurite, local use) or by
    endpoint with the process's Azure identity (the web app's managed identity, or a
    developer's `az login`): no key anywhere, and the account can refuse shared keys."""
    if endpoint is not None:
        from azure.identity import DefaultAzureCredential

        return TableServiceClient(endpoint, credential=DefaultAzureCredential())
    if connection_string is None:
        raise ValueError("need a connection string or an endpoint")
    return TableServiceClient.from_connection_string(connection_string)


class AzureTablesStorage:
    def __init__(
        self, service: TableServiceClient, prefix: str = "spy", lookback_days: int = 30
    ) -> None:
        """`lookback_days`: how far back an unbounded query looks (the retention period)."""
        self._service = service
        self._table = self._service.get_table_client(history_table_name(prefix))
        self._lookback = lookback_days
        self._ready = False

    def _ensure(self) -> None:
        if not self._ready:
            self._service.create_table_if_not_exists(self._table.table_name)
            self._ready = True

    def write(self, records: list[StoredRecord]) -> list[tuple[Kind, str]]:
        """Claim each record's key, then write the rows of the keys newly claimed.

        A key is unique in its kind, whatever the record's time (an anomaly opens once), but
        a row's RowKey starts with the time; so uniqueness lives in a claim entity per key
        (PartitionKey `key-<kind>`, RowKey the key) holding a copy of the row. A key already
        claimed is not new; its row is written again from the claim (same content), which
        completes a write cut short between claim and row."""
        self._ensure()
        unique = list({(r.kind, r.key): r for r in reversed(records)}.values())[::-1]
        claims: dict[str, list[dict]] = defaultdict(list)
        for record in unique:
            claims[_claim_partition(record.kind)].append(_claim(record))
        rows: list[dict] = []
        new: list[tuple[Kind, str]] = []
        for group in claims.values():
            for start in range(0, len(group), _BATCH):
                claimed, known = self._claim_batch(group[start : start + _BATCH])
                rows += [_row_of(c) for c in claimed + known]
                new += [(Kind(c["Kind"]), c["RowKey"]) for c in claimed]
        by_partition: dict[str, list[dict]] = defaultdict(list)
        for row in rows:
            by_partition[row["PartitionKey"]].append(row)
        for group in by_partition.values():
            for start in range(0, len(group), _BATCH):
                self._table.submit_transaction(
                    [("upsert", r) for r in group[start : start + _BATCH]]
                )
        return new

    def _claim_batch(self, claims: list[dict]) -> tuple[list[dict], list[dict]]:
        """(claims made now, the stored claims of keys already known)."""
        try:
            self._table.submit_transaction([("create", c) for c in claims])
            return claims, []
        except TableTransactionError:
            pass
        made, known = [], []
        for claim in claims:
            try:
                self._table.create_entity(claim)
                made.append(claim)
            except ResourceExistsError:
                known.append(self._table.get_entity(claim["PartitionKey"], claim["RowKey"]))
        return made, known

    def anomalies(self, query: AnomalyQuery) -> Page:
        self._ensure()
        now_us = to_micros(datetime.now(UTC))
        until_us = query.until_us if query.until_us is not None else now_us + _DAY_US
        since_us = query.since_us
        if since_us is None:
            since_us = until_us - (self._lookback + 1) * _DAY_US
        conditions, parameters = [], {}
        for column, value in query.equalities().items():
            name = column.capitalize()  # entity property names: Expiry, Side, Severity
            conditions.append(f"{name} eq @{name}")
            parameters[name] = value
        # RowKeys grow with age: from just before `until` to `since` ("~" sorts after every
        # key-safe character), and strictly past the cursor.
        conditions += ["RowKey ge @low", "RowKey le @high"]
        parameters |= {"low": row_key(until_us - 1, ""), "high": row_key(since_us, "~")}
        if query.after is not None:
            conditions.append("RowKey gt @after")
            parameters["after"] = row_key(query.after.at_us, query.after.key)
        found: list[dict] = []
        for day in _days_newest_first(since_us, until_us):
            flt = " and ".join([f"PartitionKey eq '{Kind.EVENT.value}-{day}'", *conditions])
            for entity in self._table.query_entities(
                flt, parameters=parameters, results_per_page=query.limit + 1
            ):
                found.append(entity)
                if len(found) > query.limit:
                    break
            if len(found) > query.limit:
                break
        more = len(found) > query.limit
        found = found[: query.limit]
        last = _position(found[-1]) if more else None
        return Page([_body(e) for e in found], last)

    def latest(self, kind: Kind) -> str | None:
        self._ensure()
        now_us = to_micros(datetime.now(UTC)) + _DAY_US
        for day in _days_newest_first(now_us - self._lookback * _DAY_US, now_us):
            flt = f"PartitionKey eq '{kind.value}-{day}'"
            for entity in self._table.query_entities(flt, results_per_page=1):
                return _body(entity)
        return None

    def series(self, kind: Kind, since_us: int, until_us: int, limit: int) -> list[str]:
        self._ensure()
        bodies: list[str] = []
        parameters = {"low": row_key(until_us - 1, ""), "high": row_key(since_us, "~")}
        for day in _days_newest_first(since_us, until_us):
            flt = f"PartitionKey eq '{kind.value}-{day}' and RowKey ge @low and RowKey le @high"
            for entity in self._table.query_entities(flt, parameters=parameters):
                bodies.append(_body(entity))
                if len(bodies) >= limit:
                    return bodies[::-1]
        return bodies[::-1]

    def purge(self, before_us: int) -> int:
        self._ensure()
        old = self._table.query_entities(
            "AtUs lt @before",
            parameters={"before": before_us},  # serialised as an Int64 literal (L)
            select=["PartitionKey", "RowKey"],
        )
        groups: dict[str, list[dict]] = defaultdict(list)
        for entity in old:
            groups[entity["PartitionKey"]].append(entity)
        removed = 0
        for key, entities in groups.items():
            for start in range(0, len(entities), _BATCH):
                chunk = entities[start : start + _BATCH]
                self._table.submit_transaction([("delete", e) for e in chunk])
                if not key.startswith("key-"):  # claims go with their rows, uncounted
                    removed += len(chunk)
        return removed

    def ping(self) -> None:
        self._ready = False
        self._ensure()
        next(iter(self._table.query_entities("PartitionKey eq 'ping'", results_per_page=1)), None)

    def close(self) -> None:
        self._table.close()
        self._service.close()


def _entity(partition_key: str, record: StoredRecord) -> dict:
    entity: dict = {
        "PartitionKey": partition_key,
        "RowKey": row_key(record.at_us, record.key),
        "Key": record.key,
        "AtUs": EntityProperty(record.at_us, EdmType.INT64),
        "Expiry": None if record.expiry is None else record.expiry.isoformat(),
        "Side": None if record.side is None else record.side.value,
        "Severity": None if record.severity is None else record.severity.value,
    }
    for index in range(0, max(1, len(record.body)), _CHUNK):
        entity[f"Body{index // _CHUNK}"] = record.body[index : index + _CHUNK]
    return {name: value for name, value in entity.items() if value is not None}


def _claim_partition(kind: Kind) -> str:
    return f"key-{kind.value}"


def _claim(record: StoredRecord) -> dict:
    row = _entity(partition(record.kind, record.at_us), record)
    return row | {
        "PartitionKey": _claim_partition(record.kind),
        "RowKey": record.key,
        "Kind": record.kind.value,
        "RowPartition": row["PartitionKey"],
        "Row": row["RowKey"],
    }


def _row_of(claim: dict) -> dict:
    """The indexed row a claim stands for (its copy of the row's properties)."""
    row = {
        name: value
        for name, value in claim.items()
        if name not in ("PartitionKey", "RowKey", "Kind", "RowPartition", "Row")
        and not name.startswith("odata")
    }
    if not isinstance(row.get("AtUs"), EntityProperty):
        row["AtUs"] = EntityProperty(_at(claim), EdmType.INT64)
    return row | {"PartitionKey": claim["RowPartition"], "RowKey": claim["Row"]}


def _position(entity: dict) -> Position:
    """Where a page stopped, from the RowKey itself (inverted time, then the key), so a row
    missing its other properties cannot break paging."""
    row_key_value = entity["RowKey"]
    return Position(_MAX_US - int(row_key_value[:17]), row_key_value[18:])


def _body(entity: dict) -> str:
    parts = []
    index = 0
    while f"Body{index}" in entity:
        parts.append(entity[f"Body{index}"])
        index += 1
    return "".join(parts)


def _at(entity: dict) -> int:
    value = entity["AtUs"]
    return int(value.value if isinstance(value, EntityProperty) else value)


def _days_newest_first(since_us: int, until_us: int) -> Iterator[str]:
    day = from_micros(max(until_us - 1, since_us)).date()
    first = from_micros(since_us).date()
    while day >= first:
        yield f"{day:%Y%m%d}"
        day -= timedelta(days=1)
