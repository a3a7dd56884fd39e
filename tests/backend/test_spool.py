"""The spool's compaction: the file stays bounded while records flow, unacknowledged records
are never dropped, and a process killed at any moment (compaction included) reopens with
exactly the records it had not acknowledged: none lost, none acknowledged twice."""

from __future__ import annotations

import json
import random
import signal
import subprocess
import sys
import time
from pathlib import Path

from hypothesis import given, settings
from hypothesis import strategies as st

from spy_backend.spool import Spool


def ids(spool: Spool) -> list[int]:
    return [json.loads(line)["n"] for line in spool.peek(len(spool))]


@settings(max_examples=40, deadline=None)
@given(steps=st.lists(st.tuples(st.integers(0, 30), st.integers(0, 30)), max_size=60))
def test_compaction_keeps_every_unacknowledged_record_and_bounds_the_file(
    tmp_path_factory, steps: list[tuple[int, int]]
) -> None:
    path = tmp_path_factory.mktemp("spool") / "backend.jsonl"
    spool = Spool(path, compact_bytes=512)
    appended = acked = 0
    for add, wanted in steps:
        for _ in range(add):
            spool.append({"n": appended, "pad": "x" * 20})
            appended += 1
        take = min(wanted, len(spool))
        spool.ack(take)
        acked += take
        assert ids(spool) == list(range(acked, appended))
        unacked_bytes = sum(len(line) + 1 for line in spool.peek(len(spool)))
        assert spool.bytes == unacked_bytes
        # at most: the threshold, plus the tail twice, plus one step's appends
        assert spool.size <= 512 + 2 * unacked_bytes + 31 * 40
        assert path.stat().st_size == spool.size
    spool.close()
    reopened = Spool(path, compact_bytes=512)
    assert ids(reopened) == list(range(acked, appended))
    assert reopened.bytes == sum(len(line) + 1 for line in reopened.peek(len(reopened)))


def test_a_long_run_stays_small(tmp_path: Path) -> None:
    spool = Spool(tmp_path / "s.jsonl", compact_bytes=4096)
    for n in range(20_000):
        spool.append({"n": n})
        if n % 7 == 6:
            spool.ack(len(spool) - 1)  # always one record left unacknowledged
    assert spool.size < 4096 + 200
    assert ids(spool) == [19_998, 19_999]


_CHILD = """
import json, random, sys
from pathlib import Path
from spy_backend.spool import Spool

spool = Spool(Path(sys.argv[1]), compact_bytes=2048)
n = int(sys.argv[2])
rng = random.Random(int(sys.argv[3]))
while True:
    for _ in range(rng.randint(1, 8)):
        spool.append({"n": n, "pad": "y" * rng.randint(0, 60)})
        n += 1
    take = rng.randint(0, len(spool))
    first = json.loads(spool.peek(1)[0])["n"]
    print(f"ack {first} {take}", flush=True)
    spool.ack(take)
    print("acked", flush=True)
"""


def test_killed_at_any_moment_it_loses_and_repeats_nothing(tmp_path: Path) -> None:
    path = tmp_path / "backend.jsonl"
    rng = random.Random(17)
    next_n = 0
    for round_ in range(40):
        child = subprocess.Popen(
            [sys.executable, "-c", _CHILD, str(path), str(next_n), str(round_)],
            stdout=subprocess.PIPE,
            text=True,
        )
        time.sleep(rng.uniform(0.15, 0.4))  # start-up, then a random moment of the loop
        child.send_signal(signal.SIGKILL)
        output = child.communicate()[0].splitlines()
        acks = [line for line in output if line.startswith("ack ")]
        spool = Spool(path, compact_bytes=2048)
        pending = ids(spool)
        assert spool.bytes == sum(len(x) + 1 for x in spool.peek(len(spool)))
        assert pending == list(range(pending[0], pending[-1] + 1)) if pending else True
        if acks:
            first, take = map(int, acks[-1].split()[1:])
            done = output[-1] == "acked"
            expected_heads = {first + take} if done else {first, first + take}
            head = pending[0] if pending else None
            # the head is where the last acknowledgement left it (or, killed inside ack(),
            # where it was before): nothing acknowledged comes back, nothing else is missing
            assert head in expected_heads or (head is None and first + take in expected_heads)
        next_n = (pending[-1] + 1) if pending else (first + take if acks else next_n)
        spool.close()
        assert spool.size <= 2048 + 2 * sum(len(x) + 1 for x in spool.peek(len(spool))) + 1000
    assert not path.with_suffix(".compacting").exists()
    assert next_n * 30 > 10 * path.stat().st_size  # it compacted, again and again
