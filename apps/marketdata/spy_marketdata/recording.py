"""Record the snapshots the service assembles, and replay them through the same pipeline.

File format (`.jsonl.gz`): gzip'd JSON lines. The first line is a header
    {"format": "spy-marketdata-recording", "version": 1, "underlying": "SPY",
     "started": "<ISO time, UTC>"}
then one line per snapshot, in the order the pipeline processed them:
    {"t": <wall seconds since the recording started>, "snapshot": <chain snapshot JSON>}
where the snapshot is the platform's chain JSON form (`spy_core.chain_json`, unset optional
fields omitted), written compactly. JSON floats round-trip exactly, so a replayed snapshot
equals the recorded one and the detector gives the same events with the same ids. gzip takes
the repeated keys: a 28-contract snapshot takes about 0.5 kB on disk.

A recording cut short (the process killed mid-write) is read up to its last whole line.
"""

from __future__ import annotations

import asyncio
import gzip
import json
import logging
import time
import zlib
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

from spy_core.models import AnomalyEvent, ChainSnapshot
from spy_detector import ChainAnalysis, DetectorConfig, StreamSettings
from spy_detector.flow import FlowUpdate

from .pipeline import Pipeline, PipelineCounts
from .sinks import Sink

_log = logging.getLogger(__name__)
FORMAT = "spy-marketdata-recording"
VERSION = 1
_FLUSH_SECONDS = 5.0  # wall seconds between flushes, so a killed process loses little


class RecordingError(ValueError):
    """A file that is not a recording this version can read."""


@dataclass(frozen=True)
class Recorded:
    t: float  # wall seconds since the recording started
    snapshot: ChainSnapshot


class SnapshotRecorder:
    """A sink that writes every snapshot it is given (analysis and events are derived, so a
    replay recomputes them)."""

    def __init__(
        self, path: str | Path, underlying: str, monotonic: Callable[[], float] = time.monotonic
    ) -> None:
        self._monotonic = monotonic
        self._start = monotonic()
        self._last_flush = self._start
        self._file = gzip.open(Path(path), "wt", encoding="utf-8")  # noqa: SIM115
        header = {
            "format": FORMAT,
            "version": VERSION,
            "underlying": underlying,
            "started": datetime.now(UTC).isoformat(),
        }
        self._write(header)
        self.count = 0

    def publish_snapshot(self, snapshot: ChainSnapshot) -> None:
        now = self._monotonic()
        data = snapshot.model_dump(mode="json", exclude_none=True)
        self._write({"t": round(now - self._start, 3), "snapshot": data})
        self.count += 1
        if now - self._last_flush >= _FLUSH_SECONDS:
            self._file.flush()
            self._last_flush = now

    def publish_analysis(
        self, snapshot: ChainSnapshot, analysis: ChainAnalysis, flow: FlowUpdate
    ) -> None:
        """Not recorded: a replay recomputes it."""

    def publish_events(self, events: Sequence[AnomalyEvent]) -> None:
        """Not recorded: a replay recomputes them."""

    def close(self) -> None:
        if not self._file.closed:
            self._file.close()

    def _write(self, record: dict) -> None:
        self._file.write(json.dumps(record, separators=(",", ":"), allow_nan=False) + "\n")


def read_recording(path: str | Path) -> Iterator[Recorded]:
    """The snapshots of a recording, in order; RecordingError if it is not one."""
    with gzip.open(Path(path), "rt", encoding="utf-8") as lines:
        try:
            header = json.loads(next(lines, "null"))
        except (OSError, json.JSONDecodeError) as problem:
            raise RecordingError(f"{path}: not a recording ({problem})") from None
        if not isinstance(header, dict) or header.get("format") != FORMAT:
            raise RecordingError(f"{path}: not a {FORMAT} file")
        if header.get("version") != VERSION:
            raise RecordingError(f"{path}: version {header.get('version')}, can read {VERSION}")
        number = 1
        try:
            for number, line in enumerate(lines, start=2):  # noqa: B007
                record = json.loads(line)
                yield Recorded(float(record["t"]), ChainSnapshot.model_validate(record["snapshot"]))
        except (EOFError, zlib.error, json.JSONDecodeError) as problem:
            _log.warning("%s: recording ends early at line %d (%s)", path, number, problem)


async def replay(
    path: str | Path,
    sink: Sink,
    speed: float = 0.0,
    config: DetectorConfig | None = None,
    settings: StreamSettings | None = None,
) -> PipelineCounts:
    """Run a recording through a fresh pipeline into `sink`, at the recorded wall pace ×
    `speed` (0: as fast as possible)."""
    pipeline = Pipeline(sink, config, settings)
    loop = asyncio.get_running_loop()
    origin, first = loop.time(), None
    for recorded in read_recording(path):
        if speed > 0:
            first = recorded.t if first is None else first
            delay = origin + (recorded.t - first) / speed - loop.time()
            if delay > 0:
                await asyncio.sleep(delay)
        pipeline.process(recorded.snapshot)
    return pipeline.counts
