"""Backend restart: the page says it is down, greys the last data, retries with backoff,
then reconnects, resyncs over REST and shows no event twice."""

from __future__ import annotations

from .conftest import wait_live


def test_reconnects_after_a_backend_restart(platform, page_for) -> None:
    page, _ = page_for(platform.url)
    wait_live(page)
    page.wait_for_selector("#feed li.ev", timeout=30_000)
    platform.stop()
    page.wait_for_function(
        "() => ['reconnecting', 'offline'].includes(window.__desk.state.conn)", timeout=20_000
    )
    page.wait_for_selector("#banner:not([hidden])", timeout=5_000)
    assert page.evaluate("document.body.classList.contains('stale')")
    platform.start()
    wait_live(page, timeout=60_000)
    page.wait_for_selector("#banner", state="hidden", timeout=10_000)
    seq = page.evaluate("window.__desk.state.ladderSeq")
    page.wait_for_function(f"() => window.__desk.state.ladderSeq > {seq}", timeout=20_000)
    assert not page.evaluate("document.body.classList.contains('stale')")
    keys = page.evaluate("window.__desk.state.events.map(e => `${e.id}|${e.event}|${e.at}`)")
    assert len(keys) == len(set(keys)), "an event is shown twice after the resync"
