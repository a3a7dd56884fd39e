"""The trader's durable memory (SQLite): signals and their decisions, orders by orderRef,
fills by exec id, the day's trading state and the highest IB order id ever used.

Why it exists: a decision is written (and committed) before any order leaves, so a crash
between deciding and sending is repaired at start from here and IB's own records, and a
restart neither sends a signal twice nor forgets the day's losses or the kill switch.
"""

from __future__ import annotations

import sqlite3
import threading
import weakref
from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path

from spy_core.trading import FillReport, Leg, OrderStatus, Signal, TradingState

_SCHEMA = """
CREATE TABLE IF NOT EXISTS signals (
    id TEXT PRIMARY KEY, day TEXT NOT NULL, body TEXT NOT NULL,
    taken INTEGER NOT NULL, rule TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS orders (
    ref TEXT PRIMARY KEY, signal_id TEXT NOT NULL, leg INTEGER NOT NULL, body TEXT NOT NULL,
    status TEXT NOT NULL, order_id INTEGER, filled INTEGER NOT NULL DEFAULT 0,
    avg_price REAL NOT NULL DEFAULT 0, message TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS fills (exec_id TEXT PRIMARY KEY, day TEXT NOT NULL, body TEXT NOT NULL);
CREATE TABLE IF NOT EXISTS days (
    day TEXT PRIMARY KEY, state TEXT NOT NULL, reason TEXT NOT NULL DEFAULT ''
);
CREATE TABLE IF NOT EXISTS meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"""
_OPEN_STATUSES = (OrderStatus.PENDING.value, OrderStatus.WORKING.value)
_CHECKPOINT_EVERY = 1.0  # seconds between background WAL checkpoints


@dataclass(frozen=True, slots=True)
class OrderRow:
    ref: str
    signal_id: str
    leg_index: int
    leg: Leg
    status: OrderStatus
    order_id: int | None
    filled: int
    avg_price: float

    @property
    def is_open(self) -> bool:
        return self.status in (OrderStatus.PENDING, OrderStatus.WORKING)


class Journal:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            Path(path).parent.mkdir(parents=True, exist_ok=True)
        self._db = sqlite3.connect(str(path), isolation_level=None, check_same_thread=False)
        self._db.execute("PRAGMA journal_mode=WAL")
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.executescript(_SCHEMA)
        self._checkpoints: _Checkpoints | None = None
        if str(path) != ":memory:":
            self._db.execute("PRAGMA wal_autocheckpoint=0")
            self._checkpoints = _Checkpoints(str(path))
            weakref.finalize(self, self._checkpoints.stopping.set)

    def close(self) -> None:
        if self._checkpoints is not None:
            self._checkpoints.stop()
            self._db.execute("PRAGMA wal_checkpoint(TRUNCATE)")
        self._db.close()

    # -- signals and orders -------------------------------------------------------------
    def known(self, signal_id: str) -> bool:
        return (
            self._db.execute("SELECT 1 FROM signals WHERE id = ?", (signal_id,)).fetchone()
            is not None
        )

    def record_decision(
        self, signal: Signal, taken: bool, rule: str, refs: list[str] | None = None
    ) -> None:
        """The signal, its verdict and (when taken) one PENDING order per leg, atomically."""
        with self._tx():
            self._db.execute(
                "INSERT INTO signals (id, day, body, taken, rule) VALUES (?, ?, ?, ?, ?)",
                (signal.id, _day(signal.at), signal.model_dump_json(), int(taken), rule),
            )
            for index, (ref, leg) in enumerate(zip(refs or [], signal.legs, strict=False)):
                self._db.execute(
                    "INSERT INTO orders (ref, signal_id, leg, body, status) VALUES (?, ?, ?, ?, ?)",
                    (ref, signal.id, index, leg.model_dump_json(), OrderStatus.PENDING.value),
                )

    def signal(self, signal_id: str) -> Signal | None:
        row = self._db.execute("SELECT body FROM signals WHERE id = ?", (signal_id,)).fetchone()
        return None if row is None else Signal.model_validate_json(row[0])

    def taken_signals(self, day: date) -> list[Signal]:
        return self.signals(day, taken_only=True)

    def signals(self, day: date, taken_only: bool = False) -> list[Signal]:
        rows = self._db.execute(
            "SELECT body FROM signals WHERE day = ? AND taken >= ? ORDER BY rowid",
            (day.isoformat(), int(taken_only)),
        )
        return [Signal.model_validate_json(body) for (body,) in rows]

    def update_order(
        self,
        ref: str,
        status: OrderStatus,
        order_id: int | None = None,
        filled: int | None = None,
        avg_price: float | None = None,
        message: str = "",
    ) -> None:
        """One transaction with the order id's high-water mark (a commit is the cost here)."""
        with self._tx():
            self._db.execute(
                "UPDATE orders SET status = ?, order_id = COALESCE(?, order_id), "
                "filled = COALESCE(?, filled), avg_price = COALESCE(?, avg_price), message = ? "
                "WHERE ref = ?",
                (status.value, order_id, filled, avg_price, message, ref),
            )
            if order_id is not None:
                self.note_order_id(order_id)

    def order(self, ref: str) -> OrderRow | None:
        row = self._db.execute(_ORDER_SELECT + " WHERE ref = ?", (ref,)).fetchone()
        return None if row is None else _order_row(row)

    def orders_of(self, signal_id: str) -> list[OrderRow]:
        rows = self._db.execute(_ORDER_SELECT + " WHERE signal_id = ? ORDER BY leg", (signal_id,))
        return [_order_row(r) for r in rows]

    def orders_of_all(self) -> list[OrderRow]:
        return [_order_row(r) for r in self._db.execute(_ORDER_SELECT + " ORDER BY rowid")]

    def open_orders(self) -> list[OrderRow]:
        rows = self._db.execute(
            _ORDER_SELECT + " WHERE status IN (?, ?) ORDER BY rowid", _OPEN_STATUSES
        )
        return [_order_row(r) for r in rows]

    def count_orders(self) -> int:
        """Orders that may have reached IB (every row but the never-sent)."""
        return self._db.execute("SELECT COUNT(*) FROM orders").fetchone()[0]

    # -- fills --------------------------------------------------------------------------
    def record_fill(self, fill: FillReport) -> bool:
        cursor = self._db.execute(
            "INSERT OR IGNORE INTO fills (exec_id, day, body) VALUES (?, ?, ?)",
            (fill.exec_id, _day(fill.at), fill.model_dump_json()),
        )
        return cursor.rowcount == 1

    def fills(self, day: date) -> list[FillReport]:
        rows = self._db.execute(
            "SELECT body FROM fills WHERE day = ? ORDER BY rowid", (day.isoformat(),)
        )
        return [FillReport.model_validate_json(body) for (body,) in rows]

    # -- the day's state ----------------------------------------------------------------
    def state(self, day: date) -> tuple[TradingState, str]:
        row = self._db.execute(
            "SELECT state, reason FROM days WHERE day = ?", (day.isoformat(),)
        ).fetchone()
        return (TradingState.ACTIVE, "") if row is None else (TradingState(row[0]), row[1])

    def set_state(self, day: date, state: TradingState, reason: str) -> None:
        self._db.execute(
            "INSERT INTO days (day, state, reason) VALUES (?, ?, ?) "
            "ON CONFLICT(day) DO UPDATE SET state = excluded.state, reason = excluded.reason",
            (day.isoformat(), state.value, reason),
        )

    # -- order ids ----------------------------------------------------------------------
    def note_order_id(self, order_id: int) -> None:
        self._db.execute(
            "INSERT INTO meta (key, value) VALUES ('max_order_id', ?) ON CONFLICT(key) DO "
            "UPDATE SET value = MAX(CAST(value AS INTEGER), CAST(excluded.value AS INTEGER))",
            (str(order_id),),
        )

    def max_order_id(self) -> int:
        row = self._db.execute("SELECT value FROM meta WHERE key = 'max_order_id'").fetchone()
        return 0 if row is None else int(row[0])

    def _tx(self):
        return _Transaction(self._db)


class _Checkpoints:
    """WAL checkpoints from a thread with its own connection. SQLite's automatic checkpoint
    runs inside whichever commit crosses 1,000 WAL pages — on the trader, a decision's
    commit, which then took milliseconds instead of tens of microseconds (the decision
    p99). A PASSIVE checkpoint never blocks the writer; the GIL is released while it runs."""

    def __init__(self, path: str) -> None:
        self.stopping = threading.Event()
        self._thread = threading.Thread(
            target=_checkpoint_loop, args=(path, self.stopping), name="journal-wal", daemon=True
        )
        self._thread.start()

    def stop(self) -> None:
        self.stopping.set()
        self._thread.join()


def _checkpoint_loop(path: str, stopping: threading.Event) -> None:
    db = sqlite3.connect(path, isolation_level=None, check_same_thread=False)
    try:
        while not stopping.wait(_CHECKPOINT_EVERY):
            try:
                db.execute("PRAGMA wal_checkpoint(PASSIVE)")
            except sqlite3.OperationalError:
                continue  # busy now: the next round copies what this one could not
    finally:
        db.close()


class _Transaction:
    def __init__(self, db: sqlite3.Connection) -> None:
        self._db = db

    def __enter__(self) -> None:
        self._db.execute("BEGIN IMMEDIATE")

    def __exit__(self, kind, error, tb) -> None:
        self._db.execute("COMMIT" if kind is None else "ROLLBACK")


_ORDER_SELECT = "SELECT ref, signal_id, leg, body, status, order_id, filled, avg_price FROM orders"


def _order_row(row: tuple) -> OrderRow:
    ref, signal_id, leg, body, status, order_id, filled, avg_price = row
    return OrderRow(
        ref,
        signal_id,
        leg,
        Leg.model_validate_json(body),
        OrderStatus(status),
        order_id,
        filled,
        avg_price,
    )


def _day(moment: datetime) -> str:
    from spy_core.market_hours import NEW_YORK

    return moment.astimezone(NEW_YORK).date().isoformat()
