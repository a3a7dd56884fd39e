"""The trader's record kinds on both storage adapters (SQLite; Azure Tables on Azurite)."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from spy_backend.routes.trading import stored
from spy_backend.storage.base import Kind, to_micros

from .test_storage_contract import azurite, azurite_oauth, storage  # noqa: F401  (fixtures)
from .trading_records import day_of_trading

NOW = datetime.now(UTC).replace(microsecond=0) - timedelta(hours=1)


def test_trading_kinds_are_written_once_and_read_by_time(storage) -> None:  # noqa: F811
    rows = [stored(r) for r in day_of_trading(NOW)]
    new = storage.write(rows)
    assert len(new) == len(rows)
    assert storage.write(rows) == []
    start, end = to_micros(NOW - timedelta(minutes=1)), to_micros(NOW + timedelta(minutes=1))
    orders = storage.series(Kind.ORDER, start, end, 100)
    assert len(orders) == 2 and '"filled"' in orders[-1] and '"status":"filled"' in orders[-1]
    assert len(storage.series(Kind.FILL, start, end, 100)) == 2
    assert len(storage.series(Kind.SIGNAL, start, end, 100)) == 2
    assert len(storage.series(Kind.DECISION, start, end, 100)) == 2
    assert '"unrealized_fair":50.0' in storage.latest(Kind.PNL)
    assert storage.latest(Kind.POSITION) is not None
