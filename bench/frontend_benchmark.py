"""The dashboard in headless Chromium (`make bench-frontend`):

1. Pipeline latency: the local platform runs; for every `ladder` hub message the page
   records producer build → browser receive → ladder repaint (the producer stamps its wall
   clock when it builds the band from a snapshot; same machine, same clock), split at the
   message's arrival in the page, and the page's long tasks (> 50 ms) meanwhile. The build
   itself (`build_ladder` on the simulator's snapshot) is timed here in Python.
2. Canvas frame time: 60 strikes all changing at 20 Hz (15 s by default); the peer is the
   same updates written into a DOM <table> (style + layout forced), in the same page. Also
   each frame's main-thread time with the page's rendering (the canvas's rasterisation too).
3. Bundle size: gzip -9 of the built JS and CSS.

Prints p50/p99 and the targets; never asserts (bench, not test).
"""

from __future__ import annotations

import argparse
import gzip
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
DIST = REPO / "frontend" / "dist"


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q * (len(ordered) - 1)))]


def bundle() -> dict:
    js = sum(len(gzip.compress(p.read_bytes(), 9)) for p in DIST.glob("assets/*.js"))
    css = sum(len(gzip.compress(p.read_bytes(), 9)) for p in DIST.glob("assets/*.css"))
    raw = sum(p.stat().st_size for p in DIST.glob("assets/*.js"))
    return {"js_gzip_bytes": js, "css_gzip_bytes": css, "js_raw_bytes": raw}


def build_cost() -> dict:
    """`build_ladder` on simulator snapshots (the producer's share of the pipeline)."""
    from spy_backend.ladder import build_ladder
    from spy_core.synthetic import sample_chain

    snapshot, _ = sample_chain(seed=7, mispricings=3)
    build_ladder(snapshot)  # compile / warm
    times = []
    for _ in range(200):
        start = time.perf_counter()
        build_ladder(snapshot)
        times.append((time.perf_counter() - start) * 1000)
    return {"build_ms_p50": pct(times, 0.5), "build_ms_p99": pct(times, 0.99)}


def browser_parts(seconds: float, canvas_seconds: float) -> dict:
    from playwright.sync_api import sync_playwright

    from tests.frontend.conftest import CHROMIUM, CHROMIUM_ARGS, Platform

    data = Path(tempfile.mkdtemp(prefix="spy-bench-"))
    platform = Platform(data)
    platform.start()
    try:
        with sync_playwright() as p:
            browser = p.chromium.launch(
                executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
            )
            page = browser.new_page(viewport={"width": 1400, "height": 900})
            page.goto(platform.url)
            page.wait_for_function(
                "() => window.__desk && window.__desk.state.conn === 'live'"
                " && window.__desk.strikes > 0",
                timeout=60_000,
            )
            page.evaluate(
                "performance.clearMeasures(); window.__desk.state.latencies.length = 0;"
                " window.__long = [];"
                " new PerformanceObserver((l) => window.__long.push("
                "...l.getEntries().map((e) => e.duration))).observe({type: 'longtask'})"
            )
            page.wait_for_timeout(seconds * 1000)
            # Both are pushed by the same paint callback: index i is one message.
            e2e = page.evaluate("window.__desk.state.latencies.slice()")
            recv = page.evaluate(
                "performance.getEntriesByName('ladder-recv-to-paint').map(e => e.duration)"
            )
            long_tasks = page.evaluate("window.__long.slice()")
            ms = round(canvas_seconds * 1000)
            frames = page.evaluate(f"window.__desk.benchLadder(60, 20, {ms})")
            table = page.evaluate(f"window.__desk.benchTable(60, 20, {ms})")
            browser.close()
    finally:
        platform.stop()
        shutil.rmtree(data, ignore_errors=True)
    draw, update, render = frames["draw"], frames["update"], frames.get("render", [])
    total = [d + u for d, u in zip(draw, update, strict=False)]
    arrive = [e - r for e, r in zip(e2e, recv, strict=False)]
    return {
        "ladder_messages": len(e2e),
        "build_to_paint_ms_p50": pct(e2e, 0.5),
        "build_to_paint_ms_p99": pct(e2e, 0.99),
        "build_to_receive_ms_p50": pct(arrive, 0.5),
        "build_to_receive_ms_p99": pct(arrive, 0.99),
        "receive_to_paint_ms_p50": pct(recv, 0.5),
        "receive_to_paint_ms_p99": pct(recv, 0.99),
        "long_tasks": len(long_tasks),
        "long_task_ms_max": max(long_tasks, default=0.0),
        "canvas_frames": len(draw),
        "canvas_draw_ms_p50": pct(draw, 0.5),
        "canvas_draw_ms_p99": pct(draw, 0.99),
        "canvas_update_ms_p50": pct(update, 0.5),
        "canvas_frame_ms_mean": statistics.fmean(total) if total else float("nan"),
        "canvas_frame_ms_p99": pct(total, 0.99),
        "canvas_render_ms_p50": pct(render, 0.5),
        "canvas_render_ms_p99": pct(render, 0.99),
        "table_frames": len(table),
        "table_frame_ms_p50": pct(table, 0.5),
        "table_frame_ms_p99": pct(table, 0.99),
    }


def main(argv: list[str] | None = None) -> None:
    parser = argparse.ArgumentParser(prog="python -m bench.frontend_benchmark")
    parser.add_argument("--seconds", type=float, default=30, help="live pipeline sample")
    parser.add_argument("--canvas-seconds", type=float, default=15, help="canvas sample")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    if not (DIST / "index.html").is_file():
        sys.exit("frontend/dist not built: make frontend")
    result = {**bundle(), **build_cost(), **browser_parts(args.seconds, args.canvas_seconds)}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    r = result
    ratio = r["table_frame_ms_p50"] / max(r["canvas_draw_ms_p50"] + r["canvas_update_ms_p50"], 1e-9)
    print(
        f"bundle: JS {r['js_gzip_bytes'] / 1024:.1f} KB gzip "
        f"({r['js_raw_bytes'] / 1024:.1f} KB raw),"
        f" CSS {r['css_gzip_bytes'] / 1024:.1f} KB gzip (target JS < 250 KB gzip)\n"
        f"producer build_ladder: p50 {r['build_ms_p50']:.2f} ms, p99 {r['build_ms_p99']:.2f} ms\n"
        f"pipeline ({r['ladder_messages']} ladder messages): build -> paint p50 "
        f"{r['build_to_paint_ms_p50']:.1f} ms, p99 {r['build_to_paint_ms_p99']:.1f} ms"
        f" (target p99 < 50 ms); of which build -> received p50"
        f" {r['build_to_receive_ms_p50']:.1f} ms, p99 {r['build_to_receive_ms_p99']:.1f} ms;"
        f" received -> paint p50 {r['receive_to_paint_ms_p50']:.1f} ms,"
        f" p99 {r['receive_to_paint_ms_p99']:.1f} ms; page long tasks {r['long_tasks']}"
        f" (longest {r['long_task_ms_max']:.0f} ms)\n"
        f"canvas, 60 strikes at 20 Hz ({r['canvas_frames']} frames): draw p50 "
        f"{r['canvas_draw_ms_p50']:.2f} ms, p99 {r['canvas_draw_ms_p99']:.2f} ms; row update p50 "
        f"{r['canvas_update_ms_p50']:.2f} ms; frame mean {r['canvas_frame_ms_mean']:.2f} ms,"
        f" p99 {r['canvas_frame_ms_p99']:.2f} ms (target < 4 ms); with the page's rendering p50"
        f" {r['canvas_render_ms_p50']:.2f} ms, p99 {r['canvas_render_ms_p99']:.2f} ms\n"
        f"peer DOM table, same updates ({r['table_frames']} frames): p50 "
        f"{r['table_frame_ms_p50']:.2f} ms, p99 {r['table_frame_ms_p99']:.2f} ms"
        f" -> canvas {ratio:.1f}x faster at p50"
    )


if __name__ == "__main__":
    main()
