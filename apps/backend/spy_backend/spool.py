"""An append-only JSON-lines spool with an acknowledged offset: the on-prem side's memory of
what the backend has not confirmed yet.

Every record is appended before any send is tried, so a backend outage (or a crash of the
sender) loses nothing: at start the unacknowledged tail is read back, in order. The offset
file is replaced atomically after each acknowledged batch; a record may therefore be sent
twice after a crash between send and ack, which the backend's idempotent keys absorb. Once
everything is acknowledged the files are truncated, so the spool does not grow forever.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

_COMPACT_BYTES = 1 << 20  # truncate once all is acknowledged and the file is this big


class Spool:
    def __init__(self, path: Path) -> None:
        path.parent.mkdir(mode=0o700, parents=True, exist_ok=True)
        self.path = path
        self._offset_path = path.with_suffix(".offset")
        self._rejected_path = path.with_suffix(".rejected.jsonl")
        self._acked = self._read_offset()
        # (end offset in the file, the record's JSON line) for each unacknowledged record
        tail, complete = self._read_tail()
        self._pending: deque[tuple[int, str]] = deque(tail)
        if path.exists() and path.stat().st_size > complete:
            os.truncate(path, complete)  # drop a line cut short by a crash mid-write
        self._file = path.open("a", encoding="utf-8")
        self._end = self._file.tell()

    def _read_offset(self) -> int:
        try:
            return int(self._offset_path.read_text().strip() or 0)
        except FileNotFoundError:
            return 0

    def _read_tail(self) -> tuple[list[tuple[int, str]], int]:
        """Unacknowledged records, and where the last complete line ends."""
        if not self.path.exists():
            return [], 0
        tail = []
        with self.path.open("rb") as file:
            file.seek(self._acked)
            offset = self._acked
            for raw in file:
                if not raw.endswith(b"\n"):
                    break  # a write cut short by a crash: the record never was appended
                offset += len(raw)
                line = raw.decode("utf-8").strip()
                if line:
                    tail.append((offset, line))
        return tail, offset

    def __len__(self) -> int:
        return len(self._pending)

    def append(self, record: dict) -> None:
        line = json.dumps(record, separators=(",", ":"), allow_nan=False)
        self._file.write(line + "\n")
        self._file.flush()
        self._end = self._file.tell()
        self._pending.append((self._end, line))

    def peek(self, limit: int) -> list[str]:
        """The oldest unacknowledged records, in order."""
        return [line for _, line in list(self._pending)[:limit]]

    def ack(self, count: int) -> None:
        """The oldest `count` records are safely stored by the backend."""
        for _ in range(count):
            self._acked = self._pending.popleft()[0]
        if not self._pending and self._end >= _COMPACT_BYTES:
            self._file.truncate(0)
            self._file.seek(0)
            self._end = self._acked = 0
        self._write_offset()

    def reject(self, line: str) -> None:
        """Keep a record the backend refused as invalid (so it is not lost either) and ack it."""
        with self._rejected_path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
        self.ack(1)

    def _write_offset(self) -> None:
        temporary = self._offset_path.with_suffix(".offset.tmp")
        temporary.write_text(str(self._acked))
        temporary.replace(self._offset_path)

    def close(self) -> None:
        self._file.close()
