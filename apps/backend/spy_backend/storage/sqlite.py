"""SQLite adapter: the local default. WAL so readers never wait for the writer; one
connection behind a lock (calls come from worker threads); schema versions applied in order
from `_MIGRATIONS` and recorded in `schema_version`, so an old file upgrades in place."""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

from ..files import private_file
from .base import AnomalyQuery, Kind, Page, Position, StoredRecord

_MIGRATIONS: tuple[str, ...] = (
    """
    CREATE TABLE records (
        kind TEXT NOT NULL,
        key TEXT NOT NULL,
        at_us INTEGER NOT NULL,
        expiry TEXT,
        side TEXT,
        severity TEXT,
        body TEXT NOT NULL,
        PRIMARY KEY (kind, key)
    ) WITHOUT ROWID;
    CREATE INDEX records_newest ON records (kind, at_us DESC, key DESC);
    """,
)


class SqliteStorage:
    def __init__(self, path: Path | str) -> None:
        if str(path) != ":memory:":
            # 0600 before SQLite opens it: its -wal and -shm files copy the database's mode.
            private_file(Path(path))
            for journal in (Path(f"{path}-wal"), Path(f"{path}-shm")):
                if journal.exists():
                    private_file(journal)
        self._lock = threading.Lock()
        self._db = sqlite3.connect(str(path), check_same_thread=False, isolation_level=None)
        # Text that is not UTF-8 (only a hand edit can store it) comes back with its bad
        # bytes as lone surrogates, which the reader refuses and skips, instead of failing
        # the whole query.
        self._db.text_factory = _text
        self._db.execute("PRAGMA journal_mode=WAL")
        # NORMAL under WAL: a power cut may lose the last commits, never corrupt the file;
        # the on-prem spool re-sends what was not acknowledged.
        self._db.execute("PRAGMA synchronous=NORMAL")
        self._db.execute("PRAGMA busy_timeout=5000")
        self._migrate()

    @property
    def schema_version(self) -> int:
        with self._lock:
            return self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]

    def _migrate(self) -> None:
        with self._lock:
            self._db.execute(
                "CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY)"
            )
            current = self._db.execute("SELECT MAX(version) FROM schema_version").fetchone()[0]
            for version, script in enumerate(_MIGRATIONS, start=1):
                if current is not None and version <= current:
                    continue
                self._db.executescript(
                    f"BEGIN; {script}; INSERT INTO schema_version VALUES ({version}); COMMIT;"
                )

    def write(self, records: list[StoredRecord]) -> list[tuple[Kind, str]]:
        with self._lock:
            self._db.execute("BEGIN")
            try:
                new = [
                    (r.kind, r.key)
                    for r in records
                    if self._db.execute(
                        "INSERT OR IGNORE INTO records VALUES (?, ?, ?, ?, ?, ?, ?)",
                        (
                            r.kind.value,
                            r.key,
                            r.at_us,
                            None if r.expiry is None else r.expiry.isoformat(),
                            None if r.side is None else r.side.value,
                            None if r.severity is None else r.severity.value,
                            r.body,
                        ),
                    ).rowcount
                ]
            except BaseException:
                self._db.execute("ROLLBACK")
                raise
            self._db.execute("COMMIT")
            return new

    def anomalies(self, query: AnomalyQuery) -> Page:
        where = ["kind = ?"]
        params: list[object] = [Kind.EVENT.value]
        for column, value in query.equalities().items():
            where.append(f"{column} = ?")
            params.append(value)
        if query.since_us is not None:
            where.append("at_us >= ?")
            params.append(query.since_us)
        if query.until_us is not None:
            where.append("at_us < ?")
            params.append(query.until_us)
        if query.after is not None:
            where.append("(at_us < ? OR (at_us = ? AND key < ?))")
            params += [query.after.at_us, query.after.at_us, query.after.key]
        sql = (
            f"SELECT at_us, key, body FROM records WHERE {' AND '.join(where)} "
            "ORDER BY at_us DESC, key DESC LIMIT ?"
        )
        with self._lock:
            rows = self._db.execute(sql, [*params, query.limit + 1]).fetchall()
        more = len(rows) > query.limit
        rows = rows[: query.limit]
        last = Position(rows[-1][0], rows[-1][1]) if more else None
        return Page([row[2] for row in rows], last)

    def latest(self, kind: Kind) -> str | None:
        with self._lock:
            row = self._db.execute(
                "SELECT body FROM records WHERE kind = ? ORDER BY at_us DESC, key DESC LIMIT 1",
                (kind.value,),
            ).fetchone()
        return None if row is None else row[0]

    def series(self, kind: Kind, since_us: int, until_us: int, limit: int) -> list[str]:
        with self._lock:
            rows = self._db.execute(
                "SELECT body FROM records WHERE kind = ? AND at_us >= ? AND at_us < ? "
                "ORDER BY at_us DESC, key DESC LIMIT ?",
                (kind.value, since_us, until_us, limit),
            ).fetchall()
        return [row[0] for row in reversed(rows)]

    def purge(self, before_us: int) -> int:
        with self._lock:
            return self._db.execute("DELETE FROM records WHERE at_us < ?", (before_us,)).rowcount

    def ping(self) -> None:
        with self._lock:
            self._db.execute("SELECT 1").fetchone()

    def close(self) -> None:
        with self._lock:
            self._db.close()


def _text(raw: bytes) -> str:
    return raw.decode("utf-8", "surrogateescape")
