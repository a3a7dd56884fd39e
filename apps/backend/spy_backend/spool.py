"""An append-only JSON-lines spool with an acknowledged offset: the on-prem side's memory of
what the backend has not confirmed yet.

Every record is appended before any send is tried, so a backend outage (or a crash of the
sender) loses nothing: at start the unacknowledged tail is read back, in order. The offset
file is replaced atomically after each acknowledged batch; a record may therefore be sent
twice after a crash between send and ack, which the backend's idempotent keys absorb.

Compaction bounds the file: once the acknowledged head is at least `compact_bytes` and at
least as big as the unacknowledged tail, the tail is copied to a new file that replaces the
spool by an atomic rename. So the file stays under about twice the unacknowledged records
plus `compact_bytes`, each compaction copies no more than it frees, and unacknowledged
records are never dropped (an outage grows the spool by exactly what it holds back).

Crash safety: the offset file names the spool file it belongs to (its inode). A crash before
the rename leaves the old file and its offset (the half-written copy is deleted at start);
a crash after the rename but before the new offset is written leaves an offset naming the
old inode, which means "the file is the copied tail: start at 0". Either way nothing is
lost and nothing acknowledged is sent again.
"""

from __future__ import annotations

import json
import os
from collections import deque
from pathlib import Path

from .files import private_dir, private_file

COMPACT_BYTES = 1 << 20


class Spool:
    def __init__(self, path: Path, compact_bytes: int = COMPACT_BYTES) -> None:
        private_dir(path.parent)
        self.path = path
        self.compact_bytes = compact_bytes
        self._offset_path = path.with_suffix(".offset")
        self._rejected_path = path.with_suffix(".rejected.jsonl")
        self._copy_path = path.with_suffix(".compacting")
        self._copy_path.unlink(missing_ok=True)  # a compaction cut short: the old file stands
        private_file(path)
        self._acked = self._read_offset()
        # (end offset in the file, the record's JSON line) for each unacknowledged record
        tail, complete = self._read_tail()
        self._pending: deque[tuple[int, str]] = deque(tail)
        self._pending_bytes = complete - self._acked
        if path.stat().st_size > complete:
            os.truncate(path, complete)  # drop a line cut short by a crash mid-write
        self._file = path.open("a", encoding="utf-8")
        self._end = self._file.tell()

    @property
    def size(self) -> int:
        """Bytes in the spool file."""
        return self._end

    @property
    def bytes(self) -> int:
        """Bytes of the unacknowledged records: a running total (no file scan), so a metric
        can read it at every scrape."""
        return self._pending_bytes

    def _read_offset(self) -> int:
        """The acknowledged offset, if it belongs to the current file (else 0: see above)."""
        try:
            fields = self._offset_path.read_text().split()
        except FileNotFoundError:
            return 0
        if len(fields) == 2 and int(fields[0]) != self.path.stat().st_ino:
            return 0
        return int(fields[-1]) if fields else 0

    def _read_tail(self) -> tuple[list[tuple[int, str]], int]:
        """Unacknowledged records, and where the last complete line ends."""
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
        self._pending_bytes += len(line) + 1
        self._pending.append((self._end, line))

    def peek(self, limit: int) -> list[str]:
        """The oldest unacknowledged records, in order."""
        return [line for _, line in list(self._pending)[:limit]]

    def ack(self, count: int) -> None:
        """The oldest `count` records are safely stored by the backend."""
        for _ in range(count):
            end, line = self._pending.popleft()
            self._acked = end
            self._pending_bytes -= len(line) + 1  # lines are ASCII (json.dumps' default)
        if self._acked >= self.compact_bytes and self._acked >= self._pending_bytes:
            self._compact()
        else:
            self._write_offset()

    def reject(self, line: str) -> None:
        """Keep a record the backend refused as invalid (so it is not lost either) and ack it."""
        with self._rejected_path.open("a", encoding="utf-8") as file:
            file.write(line + "\n")
        self.ack(1)

    def _compact(self) -> None:
        """Replace the file by its unacknowledged tail (see the module docstring)."""
        self._file.flush()
        with self.path.open("rb") as source, private_file(self._copy_path).open("wb") as copy:
            source.seek(self._acked)
            while chunk := source.read(1 << 16):
                copy.write(chunk)
            copy.flush()
            os.fsync(copy.fileno())
        self._file.close()
        self._copy_path.replace(self.path)
        _fsync_dir(self.path.parent)
        base = self._acked
        self._pending = deque((end - base, line) for end, line in self._pending)
        self._file = self.path.open("a", encoding="utf-8")
        self._end = self._file.tell()
        self._acked = 0
        self._write_offset()

    def _write_offset(self) -> None:
        temporary = self._offset_path.with_suffix(".offset.tmp")
        temporary.write_text(f"{os.fstat(self._file.fileno()).st_ino} {self._acked}")
        temporary.replace(self._offset_path)

    def close(self) -> None:
        self._file.close()


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
