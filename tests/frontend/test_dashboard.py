"""The dashboard against the running local platform, in headless Chromium."""

from __future__ import annotations

import itertools
import re
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest

from .conftest import AXE, DESKTOP, PHONE, shot, wait_live

TABS = ["desk", "smile", "gamma", "flow", "trading", "history"]

VISIBLE_TEXT = """() => {
  const out = new Set();
  const walker = document.createTreeWalker(document.body, NodeFilter.SHOW_TEXT);
  for (let n = walker.nextNode(); n; n = walker.nextNode()) {
    const text = n.textContent.trim();
    const parent = n.parentElement;
    // translate="no": the trader's raw records (ids, field names), data and not UI text
    if (!text || !parent || parent.closest('option, script, style, [translate="no"]')) continue;
    if (!parent.checkVisibility({ visibilityProperty: true })) continue;
    out.add(text);
  }
  for (const e of document.querySelectorAll('[aria-label]')) {
    if (e.checkVisibility()) out.add(e.getAttribute('aria-label').trim());
  }
  for (const s of document.querySelectorAll('select')) {
    if (s.checkVisibility()) out.add(s.selectedOptions[0]?.textContent.trim() ?? '');
  }
  out.delete('');
  return [...out];
}"""

# Tokens that are the same in both languages on purpose: tickers, zone names, option
# rights, the language names themselves, units (K, M, ms).
SAME_IN_BOTH = {"SPY", "ET", "UTC", "CET", "CEST", "GMT", "C", "P", "English", "Español"}
SAME_IN_BOTH |= {"K", "M", "ms"}


def test_page_loads_without_console_errors(platform, page_for) -> None:
    page, console = page_for(platform.url)
    wait_live(page)
    for tab in TABS:
        page.click(f"#tab-{tab}")
        page.wait_for_timeout(300)
    assert console.errors == []
    # Served by the backend with its runtime config, every asset self-hosted.
    urls = page.evaluate("performance.getEntriesByType('resource').map(e => e.name)")
    assert all(u.startswith(platform.url) for u in urls), urls


def test_live_anomalies_reach_the_ladder_and_the_feed(platform, page_for) -> None:
    page, _ = page_for(platform.url)
    wait_live(page)
    page.wait_for_selector("#feed li.ev", timeout=30_000)
    page.wait_for_function("() => window.__desk.ladderAnomalies > 0", timeout=60_000)
    keys = page.evaluate("window.__desk.state.events.map(e => `${e.id}|${e.event}|${e.at}`)")
    assert len(keys) == len(set(keys)), "an event is shown twice"
    # The ladder keeps moving: its sequence advances without reloads.
    seq = page.evaluate("window.__desk.state.ladderSeq")
    page.wait_for_function(f"() => window.__desk.state.ladderSeq > {seq}", timeout=15_000)


def test_the_smile_is_pushed_not_polled(platform, page_for) -> None:
    page, _ = page_for(f"{platform.url}#smile")
    wait_live(page)
    page.wait_for_function("() => window.__desk.state.smilePushes >= 2", timeout=20_000)
    page.wait_for_selector("#smileTable tbody tr", state="attached")  # in a closed <details>
    # Decoded from the message's columns: whole strikes, IVs as percentages, fair values.
    first = page.evaluate(
        "[...document.querySelectorAll('#smileTable tbody tr:first-child td')]"
        ".map(td => td.textContent)"
    )
    assert re.fullmatch(r"\d{3}", first[0]) and all("%" in cell for cell in first[1:4]), first
    assert "$" in first[4], first
    updated = page.inner_text("#smileUpdated")
    page.wait_for_function(
        f"() => document.querySelector('#smileUpdated').textContent !== {updated!r}",
        timeout=20_000,
    )
    ladder_reads = page.evaluate(
        "performance.getEntriesByType('resource').filter(e => e.name.includes('/api/ladder'))"
        ".length"
    )
    assert ladder_reads <= 2, "the Smile tab re-reads /api/ladder instead of listening"


def test_malformed_and_unknown_messages_are_dropped_and_counted(platform, page_for) -> None:
    page, console = page_for(platform.url)
    wait_live(page)
    before = page.evaluate("window.__desk.state.dropped")
    # Frames through the real client's own parser, as if the hub had sent them.
    page.evaluate(
        """() => {
        const conn = window.__desk.live.conn;
        const rs = String.fromCharCode(30);
        const frames = [
          {type: 1, target: 'ladder', arguments: [{seq: 'x'}]},
          {type: 1, target: 'market', arguments: [null]},
          {type: 1, target: 'anomalies', arguments: [{events: [{id: 1}], dropped: 0}]},
          {type: 1, target: 'nonsense', arguments: [1]},
          // the smile: rows of floats (the old shape), ragged columns, a float where the
          // columns hold integers, grid indexes of the wrong length, no step, no strike
          ...[
            {smile: [[1, 2, 3, 4, 5]]},
            {k0: 1, dk: 1, b: [1, 2], a: [1]},
            {k0: 1, dk: 1, f: [0.1234]},
            {k0: 1, dk: 1, ki: [0], f: [1, 2]},
            {k0: 1, dk: 0, f: [1]},
            {},
          ].map(m => ({type: 1, target: 'smile', arguments: [{t: 'x', x: 'y', s: 1, ...m}]})),
        ];
        for (const f of frames) conn._processIncomingData(JSON.stringify(f) + rs);
      }"""
    )
    assert page.evaluate("window.__desk.state.dropped") == before + 10
    wait_live(page)
    assert page.evaluate("window.__desk.state.conn") == "live"
    assert console.errors == []


def _collect(page) -> set[str]:
    texts: set[str] = set()
    for tab in TABS:
        page.click(f"#tab-{tab}")
        page.wait_for_timeout(250)
        texts |= set(page.evaluate(VISIBLE_TEXT))
    return texts


def test_english_and_spanish_change_every_visible_string(platform, page_for) -> None:
    page, _ = page_for(platform.url)
    wait_live(page)
    page.wait_for_selector("#feed li.ev", timeout=30_000)
    english = _collect(page)
    page.select_option("#lang", "es")
    page.click("#tab-desk")
    spanish = _collect(page)
    assert page.evaluate("document.documentElement.lang") == "es"
    dictionaries = page.evaluate("window.__desk.dictionaries")
    en, es = dictionaries["en"], dictionaries["es"]
    english_only = {v for k, v in en.items() if v != es[k] and "{" not in v}
    leftovers = sorted(text for text in spanish if text in english_only)
    assert not leftovers, f"English strings on the Spanish page: {leftovers}"
    same = sorted(
        text
        for text in english & spanish
        if re.search(r"[A-Za-zÀ-ÿ]{2,}", re.sub(r"\b(" + "|".join(SAME_IN_BOTH) + r")\b", "", text))
    )
    assert not same, f"strings not translated (identical in EN and ES): {same}"
    # The choice is remembered.
    page.reload()
    wait_live(page)
    assert page.evaluate("document.documentElement.lang") == "es"


@pytest.mark.parametrize("theme", ["dark", "light"])
def test_axe_finds_no_serious_or_critical_violations(platform, page_for, theme) -> None:
    page, _ = page_for(platform.url, theme=theme)
    wait_live(page)
    page.wait_for_selector("#feed li.ev", timeout=30_000)
    page.add_script_tag(path=str(AXE))
    problems = []
    for tab in TABS if theme == "dark" else ["desk"]:
        page.click(f"#tab-{tab}")
        page.wait_for_timeout(300)
        violations = page.evaluate(
            "async () => (await axe.run(document, {resultTypes: ['violations']})).violations"
            ".filter(v => v.impact === 'serious' || v.impact === 'critical')"
            ".map(v => `${v.id}: ${v.help} (${v.nodes.slice(0, 3).map(n => n.target).join(', ')})`)"
        )
        problems += [f"{tab}: {v}" for v in violations]
    assert problems == []


def test_screenshots_of_every_view_in_both_languages_and_sizes(platform, page_for) -> None:
    saved = []
    for lang in ("en", "es"):
        for size, viewport in (("desktop", DESKTOP), ("phone", PHONE)):
            page, _ = page_for(platform.url, viewport=viewport, lang=lang)
            wait_live(page)
            for tab in TABS:
                page.click(f"#tab-{tab}")
                page.wait_for_timeout(400)
                saved.append(shot(page, f"{tab}-{lang}-{size}"))
            # Nothing wider than the viewport on a phone.
            if size == "phone":
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"] + 1, f"{lang} phone page is {width}px wide"
            page.context.close()
    assert all(p.stat().st_size > 10_000 for p in saved)


CLOCK_LABELS = {
    "en": {"open": "Market open", "closes": "Close in", "sim": "SIM"},
    "es": {"open": "Mercado abierto", "closes": "Cierre en", "sim": "SIMULADO"},
}


def _seconds(et: str) -> int:
    hours, minutes, seconds = (int(x) for x in et.removesuffix(" ET").split(":"))
    return hours * 3600 + minutes * 60 + seconds


@pytest.mark.parametrize("lang", ["en", "es"])
def test_the_header_follows_the_simulated_market_clock(platform, page_for, lang) -> None:
    """The simulator plays its own session (today's or the latest, 10 market seconds a
    second): whatever the real day and hour, the header says the market is open, on the
    simulator's ET time, labelled as simulated, counting down to that session's close."""
    labels = CLOCK_LABELS[lang]
    page, console = page_for(platform.url, lang=lang)
    wait_live(page)
    page.wait_for_function(
        "() => window.__desk.state.session?.clock === 'simulated' && window.__desk.state.marketTime"
    )
    page.wait_for_function(  # the header's next tick (once a second)
        f"() => document.querySelector('#status').textContent === {labels['open']!r}",
        timeout=5_000,
    )
    assert page.is_visible("#clockKind") and page.inner_text("#clockKind") == labels["sim"]
    header = page.evaluate(
        """() => ({
          clock: document.querySelector('#etclock').textContent,
          data: document.querySelector('#mtime').textContent,
          countdownLabel: document.querySelector('#countdown').previousElementSibling.textContent,
          countdown: document.querySelector('#countdown').textContent,
          local: document.querySelector('#localclock').textContent,
          close: window.__desk.state.session.session.close,
          now: window.__desk.clock.now().getTime(),
        })"""
    )
    assert header["countdownLabel"] == labels["closes"]
    # The ET clock is the data's market time (snapshots every 10 market seconds or so), not
    # the real time.
    assert abs(_seconds(header["clock"]) - _seconds(header["data"])) <= 30, header
    close_ms = datetime.fromisoformat(header["close"]).timestamp() * 1000
    hours, minutes, seconds = (int(x) for x in header["countdown"].split(":"))
    left = hours * 3600 + minutes * 60 + seconds
    assert abs(left - (close_ms - header["now"]) / 1000) <= 15, header
    # "Your time" is the real time where the browser is (Europe/Madrid in these tests).
    madrid = datetime.now(ZoneInfo("Europe/Madrid"))
    local = [int(x) for x in re.findall(r"\d+", header["local"])[:2]]
    assert local[0] == madrid.hour and abs(local[1] - madrid.minute) <= 1, header
    # The clock runs on at the simulator's pace and never goes back.
    readings = []
    for _ in range(6):
        readings.append(page.evaluate("window.__desk.clock.now().getTime()"))
        page.wait_for_timeout(500)
    steps = [b - a for a, b in itertools.pairwise(readings)]
    assert all(step >= 0 for step in steps), steps
    assert 10_000 <= readings[-1] - readings[0] <= 60_000, steps  # ~25 market s in 2.5 s
    shot(page, f"header-clock-{lang}")
    assert console.errors == []
