"""Where the backend's memory goes under the outside probe's traffic, by tracemalloc.

`python -m bench.memory_probe [--backend-src DIR] [--json]`

The backend runs in this process under tracemalloc (uvicorn on a free port); the probe runs
in a child process, in phases: (1) hub frames as big as the server takes (up to 16 MiB:
uvicorn's default `ws_max_size`) and 10,000-deep nesting, (2) bad HTTP bodies (non-finite
numbers, deep nesting, truncated JSON), (3) load: 50 viewers and 325 events/s for 10 s.
After each phase (and a `gc.collect()`): RSS, the bytes tracemalloc still traces, the peak,
and the top allocation sites that grew. RSS that stays up while traced memory is back down
is the allocator keeping freed arenas (a high-water mark), not a leak; traced memory that
stays up is something holding references. `--backend-src` runs another checkout's
apps/backend (the code before the frame cap) for comparison.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import multiprocessing
import os
import subprocess
import sys
import tempfile
import threading
import tracemalloc
from pathlib import Path

import httpx
import websockets

from bench.hub_load import rss_mb
from tests.backend.servers import TOKEN, free_port

RS = "\x1e"
BIG = 16 * 1024 * 1024 - 64


async def _hub_send(base: str, frames: list[str]) -> None:
    async with httpx.AsyncClient(timeout=120) as http:
        answer = (await http.post(f"{base}/hub/negotiate?negotiateVersion=1")).json()
    url = base.replace("http", "ws", 1) + f"/hub?id={answer['connectionToken']}"
    try:
        async with websockets.connect(url, max_size=None, close_timeout=2) as ws:
            for frame in frames:
                await ws.send(frame)
            async with asyncio.timeout(120):
                async for _ in ws:
                    pass
    except (websockets.ConnectionClosed, TimeoutError, OSError):
        pass


async def _big_frames(base: str) -> None:
    handshake = json.dumps({"protocol": "json", "version": 1}) + RS
    numbers = "[" + ",".join(["1"] * (BIG // 2 - 2)) + "]" + RS  # millions of list items
    deep = "[" * 10_000 + RS
    for _ in range(2):
        await _hub_send(base, [numbers])
        await _hub_send(base, [handshake, numbers])
        await _hub_send(base, [deep])
        await _hub_send(base, [handshake, '{"type":6,"x":"' + "a" * BIG + '"}' + RS])


async def _bad_bodies(base: str) -> None:
    headers = {"Authorization": f"Bearer {TOKEN}", "content-type": "application/json"}
    bodies = [
        b'{"records": [' + b"[" * 10_000 + b"]" * 10_000 + b"]}",
        b'{"records": [{"type": "snapshot", "spot": NaN}]}',
        b'{"records": [{"type": "snapshot", "spot": 1e999',
        b'{"records": [' + b"1," * 400_000 + b"1]}",
    ]
    async with httpx.AsyncClient(base_url=base, headers=headers, timeout=120) as http:
        for _ in range(2):
            for body in bodies:
                with contextlib.suppress(httpx.HTTPError):
                    await http.post("/api/events", content=body)


def _probe(base: str, phases: multiprocessing.connection.Connection) -> None:
    asyncio.run(_big_frames(base))
    phases.send("hub frames")
    phases.recv()
    asyncio.run(_bad_bodies(base))
    phases.send("bad bodies")
    phases.recv()
    # The load phase reuses the hub benchmark's posters and viewers, as its own process.
    subprocess.run(
        [sys.executable, "-m", "bench.hub_load", "--attach", base, "--rates", "325"],
        check=False,  # a failed load run still lets the memory be read
        stdout=subprocess.DEVNULL,
    )
    phases.send("load 325/s")
    phases.recv()
    phases.send("done")


def _serve(port: int, ready: threading.Event, stop: threading.Event, folder: str) -> None:
    from spy_backend.app import create_app
    from spy_backend.serve import BackendServer
    from spy_backend.settings import Settings

    settings = Settings(data_dir=Path(folder), service_token=TOKEN, log_level="ERROR")
    server = BackendServer(create_app(settings), "127.0.0.1", port, "error", own_signals=False)

    async def main() -> None:
        task = asyncio.create_task(server.serve())
        await server.wait_started()
        ready.set()
        await asyncio.to_thread(stop.wait)
        server.should_exit = True
        await task

    asyncio.run(main())


def measure(trace: bool = True) -> list[dict]:
    if trace:
        tracemalloc.start(1)
    port = free_port()
    ready, stop = threading.Event(), threading.Event()
    rows = []
    with tempfile.TemporaryDirectory() as folder:
        thread = threading.Thread(target=_serve, args=(port, ready, stop, folder), daemon=True)
        thread.start()
        ready.wait(30)
        gc.collect()
        baseline = _snapshot()
        rows.append(_row("started", baseline, baseline))
        tracemalloc.reset_peak()
        here, there = multiprocessing.Pipe()
        child = multiprocessing.Process(target=_probe, args=(f"http://127.0.0.1:{port}", there))
        child.start()
        while here.poll(900) and (phase := here.recv()) != "done":
            gc.collect()
            rows.append(_row(phase, baseline, _snapshot()))
            tracemalloc.reset_peak()
            here.send("next")
        child.join()
        stop.set()
        thread.join(10)
    return rows


def _snapshot() -> tracemalloc.Snapshot:
    return tracemalloc.take_snapshot() if tracemalloc.is_tracing() else tracemalloc.Snapshot([], 1)


def _row(phase: str, baseline: tracemalloc.Snapshot, snapshot: tracemalloc.Snapshot) -> dict:
    current, peak = tracemalloc.get_traced_memory()  # (0, 0) untraced
    grown = snapshot.compare_to(baseline, "lineno")[:5] if current else []
    return {
        "phase": phase,
        "rss_mb": rss_mb(os.getpid()),
        "traced_mb": current / 2**20,
        "peak_traced_mb": peak / 2**20,
        "top_growth": [
            f"{s.size_diff / 2**20:+.1f} MB {s.traceback[0].filename.rsplit('/', 2)[-1]}:"
            f"{s.traceback[0].lineno}"
            for s in grown
        ],
    }


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--backend-src", type=Path, default=None)
    parser.add_argument(
        "--no-trace", action="store_true", help="RSS only (tracemalloc slows big parses ~10x)"
    )
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if args.backend_src is not None:  # run again with the other checkout first on the path
        env = os.environ | {"PYTHONPATH": str(args.backend_src / "apps" / "backend")}
        argv_rest = [a for a in (argv or sys.argv[1:]) if a != str(args.backend_src)]
        argv_rest = [a for a in argv_rest if a != "--backend-src"]
        return subprocess.call([sys.executable, "-m", "bench.memory_probe", *argv_rest], env=env)
    rows = measure(trace=not args.no_trace)
    if args.json:
        print(json.dumps(rows, indent=2))
        return 0
    import spy_backend

    print(f"backend: {Path(spy_backend.__file__).parent}")
    for row in rows:
        print(
            f"{row['phase']:>12}: RSS {row['rss_mb']:6.0f} MB  traced {row['traced_mb']:6.1f} MB"
            f"  peak traced {row['peak_traced_mb']:7.1f} MB"
        )
        for line in row["top_growth"][:3]:
            print(f"{'':16}{line}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
