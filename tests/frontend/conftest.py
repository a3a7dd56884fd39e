"""The dashboard in real headless Chromium (Debian's /usr/bin/chromium through Playwright)
against the real local platform (`spy-platform up`: simulator, market data, backend, hub).

One browser for the whole package; one platform per test module. Screenshots go to
$SPY_TEST_ARTIFACTS (default .artifacts/frontend at the repository root)."""

from __future__ import annotations

import contextlib
import os
import shutil
import signal
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.backend.servers import free_port, stop_process
from tests.conftest import REPO_ROOT

CHROMIUM = Path(os.environ.get("SPY_CHROMIUM", "/usr/bin/chromium"))
DIST = REPO_ROOT / "frontend" / "dist"
AXE = REPO_ROOT / "frontend" / "node_modules" / "axe-core" / "axe.min.js"
ARTIFACTS = Path(os.environ.get("SPY_TEST_ARTIFACTS", REPO_ROOT / ".artifacts" / "frontend"))
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
DESKTOP = {"width": 1400, "height": 900}
PHONE = {"width": 390, "height": 844}


def _why_skip() -> str | None:
    if not CHROMIUM.exists():
        return f"no {CHROMIUM}: `make browser` installs Debian's chromium (as root)"
    if not (DIST / "index.html").is_file():
        return "frontend/dist not built: `make frontend`"
    return None


@pytest.fixture(scope="package")
def browser():
    """One browser for the whole of tests/frontend. Package scope, not session: Playwright's
    sync API keeps an event loop running in this thread while it is open, and later suites
    call asyncio.run()."""
    reason = _why_skip()
    if reason:
        pytest.skip(reason)
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        # Playwright gives the browser a fresh temporary --user-data-dir of its own.
        chromium = p.chromium.launch(
            executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS
        )
        try:
            yield chromium
        finally:
            chromium.close()


class Platform:
    """`spy-platform up` in a child process on a free port, from the repository root (so it
    serves frontend/dist), restartable on the same port and data directory."""

    def __init__(self, data_dir: Path) -> None:
        self.port = free_port()
        self.data_dir = data_dir
        self.url = f"http://127.0.0.1:{self.port}/"
        self.process: subprocess.Popen | None = None
        self.output: list[str] = []

    def start(self) -> None:
        command = shutil.which("spy-platform", path=str(Path(sys.executable).parent))
        assert command is not None
        self.process = subprocess.Popen(
            # The trader's HTTP on a free port: other platforms may run beside this one.
            [
                *(command, "up", "--port", str(self.port), "--data-dir", str(self.data_dir)),
                *("--trader-port", "0"),
            ],
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            cwd=REPO_ROOT,
            env=os.environ | {"SPY_LOG_LEVEL": "WARNING"},
        )
        threading.Thread(target=self._drain, args=(self.process,), daemon=True).start()
        deadline = time.monotonic() + 120
        while time.monotonic() < deadline:
            assert self.process.poll() is None, "\n".join(self.output)
            with contextlib.suppress(httpx.HTTPError):
                ladder = httpx.get(f"{self.url}api/ladder", timeout=2).json()
                if ladder is not None:
                    return
            time.sleep(0.3)
        log = "\n".join(self.output)
        raise AssertionError(f"platform did not publish a ladder in 120 s:\n{log}")

    def _drain(self, process: subprocess.Popen) -> None:
        assert process.stdout is not None
        for line in process.stdout:
            self.output.append(line.rstrip())

    def stop(self) -> None:
        if self.process is not None:
            stop_process(self.process, signal.SIGINT, 30)


@pytest.fixture(scope="module")
def platform(tmp_path_factory, browser) -> Iterator[Platform]:
    running = Platform(tmp_path_factory.mktemp("platform"))
    running.start()
    try:
        yield running
    finally:
        running.stop()


class Console:
    def __init__(self) -> None:
        self.errors: list[str] = []


@pytest.fixture
def page_for(browser):
    """page_for(url, viewport=DESKTOP, lang="en") -> (page, console errors)."""
    contexts = []

    def open_page(url: str, viewport: dict | None = None, lang: str = "en", theme: str = "dark"):
        context = browser.new_context(
            viewport=viewport or DESKTOP,
            locale="en-US",
            timezone_id="Europe/Madrid",
            bypass_csp=True,  # axe-core is injected as a script tag
        )
        context.add_init_script(
            "if (!sessionStorage.getItem('seeded')) {"
            f" localStorage.setItem('lang', '{lang}'); localStorage.setItem('theme', '{theme}');"
            " sessionStorage.setItem('seeded', '1'); }"
        )
        contexts.append(context)
        page = context.new_page()
        console = Console()
        page.on("console", lambda m: console.errors.append(m.text) if m.type == "error" else None)
        page.on("pageerror", lambda e: console.errors.append(f"page error: {e}"))
        page.goto(url)
        return page, console

    yield open_page
    for context in contexts:
        context.close()


def wait_live(page, timeout: float = 30_000) -> None:
    """Connected, with ladder rows on the canvas."""
    page.wait_for_function(
        "() => window.__desk && window.__desk.state.conn === 'live' && window.__desk.strikes > 0",
        timeout=timeout,
    )


def shot(page, name: str) -> Path:
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    return path
