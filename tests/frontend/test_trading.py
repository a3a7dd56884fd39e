"""The Trading tab with the real trader: `spy-platform up` runs it against the gateway
simulator, and its first trades come about a minute in (after the rule that opens nothing
in the session's first five simulated minutes). Then the operator's kill switch, through
the backend's authenticated relay, with a wrong key and with the right one."""

from __future__ import annotations

import httpx

from .conftest import shot, wait_live

FILLS = "#trades table tbody tr"


def test_positions_fills_and_pnl_appear_once_the_trader_trades(platform, page_for) -> None:
    page, console = page_for(f"{platform.url}#trading")
    wait_live(page)
    # Real fills from the real trader (the simulator's session starts at the open).
    page.wait_for_selector(FILLS, timeout=240_000)
    page.wait_for_function("() => window.__desk.pnlPoints > 1", timeout=30_000)
    fill = page.locator(FILLS).first.locator("td").all_inner_texts()
    time, contract, side, qty, price, reason = fill
    assert time.endswith(" ET") and contract.split()[1] in {"C", "P"}, fill
    assert side.split()[-1] in {"buy", "sell"} and int(qty) > 0 and float(price) > 0, fill
    assert reason.strip(), "a fill shows the reason of the signal behind it"
    # The signal's words, not its order reference (`<id>:L0`, or `<id>:C` for a combo).
    assert not reason.startswith(("SPY-", "SPX")), fill
    # Every fill the backend holds reaches the page (the trader keeps trading meanwhile).
    api = httpx.get(f"{platform.url}api/trades", timeout=5).json()
    shown = min(100, len(api["fills"]))
    page.wait_for_function(
        f"() => document.querySelectorAll({FILLS!r}).length >= {shown}", timeout=15_000
    )
    # The P&L figures are the trader's latest report.
    stats = page.locator("#pnlStats .value").all_inner_texts()
    assert len(stats) == 5 and all("$" in s for s in stats), stats
    # Positions: a table once one is open (marked at mid and fair), or the empty state.
    page.wait_for_function(
        "() => document.querySelector('#positions table, #positions .empty') !== null"
    )
    if page.locator("#positions table").count():
        cells = page.locator("#positions tbody tr").first.locator("td").all_inner_texts()
        assert len(cells) == 7 and "$" in cells[5] and "$" in cells[6], cells
    # State and risk use against the limits the trader reports.
    assert "state-active" in page.get_attribute("#traderState", "class")
    risk = page.locator("#riskUse .risk-row .value").all_inner_texts()
    assert len(risk) == 4 and all(" of " in r for r in risk), risk
    shot(page, "trading-live-en-desktop")
    assert console.errors == []


def test_the_kill_switch_needs_the_operator_key_and_halts_the_trader(platform, page_for) -> None:
    page, console = page_for(f"{platform.url}#trading")
    wait_live(page)
    page.wait_for_function("() => !document.querySelector('#killSwitch').disabled", timeout=30_000)
    # A wrong key: refused, nothing changed, nothing kept.
    page.click("#killSwitch")
    page.fill("#operatorKey", "not-the-key")
    page.click("#killConfirm")
    page.wait_for_function(
        "() => document.querySelector('#killResult').textContent.includes('wrong operator key')"
    )
    assert page.evaluate("sessionStorage.getItem('operatorKey')") is None
    assert httpx.get(f"{platform.url}api/trader", timeout=5).json()["state"] == "active"
    # The right key (the platform's service token): HALTED, in the trader itself.
    key = (platform.data_dir / "service-token").read_text().strip()
    page.click("#killSwitch")
    page.fill("#operatorKey", key)
    page.click("#killConfirm")
    page.wait_for_selector("#traderState.state-halted", timeout=10_000)
    assert httpx.get(f"{platform.url}api/trader", timeout=5).json()["state"] == "halted"
    # Kept for this tab only, never in localStorage; resuming asks to confirm, key filled in.
    assert page.evaluate("sessionStorage.getItem('operatorKey')") == key
    assert key not in page.evaluate("JSON.stringify(localStorage)")
    assert page.inner_text("#killSwitch") == "Resume trading"
    page.click("#killSwitch")
    assert page.input_value("#operatorKey") == key
    page.click("#killConfirm")
    page.wait_for_selector("#traderState.state-active", timeout=10_000)
    assert httpx.get(f"{platform.url}api/trader", timeout=5).json()["state"] == "active"
    # Chromium logs the refused attempt's 401 itself; nothing else went wrong.
    assert [e for e in console.errors if "status of 401" not in e] == []
    assert len(console.errors) <= 1
