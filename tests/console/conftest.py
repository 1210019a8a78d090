"""The console in a real headless Chromium: Debian's ``chromium`` driven by Playwright for Python
(``scripts/test.sh`` installs both; ``VIDEOGEN_CHROMIUM`` names another binary).

Every test gets a fresh browser context (its own ``sessionStorage``) on the session's embedded
stack, fails on any uncaught JavaScript error, and writes screenshots of the pages it visits to
``test-artifacts/console/`` (``VIDEOGEN_TEST_ARTIFACTS_DIR``), the pictures README.md shows.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from playwright.sync_api import Browser, BrowserContext, Page, Playwright, ViewportSize, sync_playwright

from tests.stack import ServiceStack

REPOSITORY = Path(__file__).resolve().parents[2]
ARTIFACTS = Path(os.environ.get("VIDEOGEN_TEST_ARTIFACTS_DIR", REPOSITORY / "test-artifacts")) / "console"
LAPTOP: ViewportSize = {"width": 1280, "height": 800}
PHONE: ViewportSize = {"width": 390, "height": 844}
# Chromium as root in a container, with nothing of Google's reachable: the flags that keep it from
# trying (each failed look-up costs seconds at start) and that let it run without a sandbox.
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--disable-dev-shm-usage",
]


def chromium_path() -> str:
    path = os.environ.get("VIDEOGEN_CHROMIUM") or shutil.which("chromium") or shutil.which("chromium-browser")
    if not path:
        pytest.fail("Chromium is not installed: scripts/test.sh installs Debian's chromium; or set VIDEOGEN_CHROMIUM")
    return path


# Package scope, not session: Playwright's sync API runs an asyncio loop on this thread while it is
# started, and every later test that calls asyncio.run() would fail ("cannot be called from a
# running event loop"); it stops once this package's tests are done.
@pytest.fixture(scope="package")
def playwright() -> Iterator[Playwright]:
    with sync_playwright() as driver:
        yield driver


@pytest.fixture(scope="package")
def browser(playwright: Playwright) -> Iterator[Browser]:
    browser = playwright.chromium.launch(executable_path=chromium_path(), args=CHROMIUM_ARGS)
    try:
        yield browser
    finally:
        browser.close()


@dataclass
class Console:
    """A browser tab on the console of ``stack``, and what the page did wrong."""

    page: Page
    stack: ServiceStack
    errors: list[str] = field(default_factory=list)

    @property
    def url(self) -> str:
        return f"{self.stack.root_url}/console"

    def open(self, route: str = "") -> Page:
        self.page.goto(f"{self.url}{'#' + route if route else ''}")
        return self.page

    def sign_in(self, secret: str, *, operator: bool = False) -> None:
        """Sign in through the form, as a person does, and wait for the first page."""
        self.open("/sign-in")
        self.page.get_by_label("Operator (admin token)" if operator else "Customer (API key)").check()
        self.page.get_by_label("Admin token" if operator else "API key", exact=True).fill(secret)
        self.page.get_by_role("button", name="Sign in").click()
        self.page.get_by_role("button", name="Sign out").wait_for()

    def screenshot(self, name: str, *, full_page: bool = True) -> Path:
        """Write ``test-artifacts/console/NAME.png`` (the README's pictures come from these)."""
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"{name}.png"
        self.page.screenshot(path=str(path), full_page=full_page)
        return path


@pytest.fixture
def console_factory(browser: Browser, embedded_stack: ServiceStack) -> Iterator[Callable[..., Console]]:
    """Open consoles (fresh contexts: nothing shared, as separate people) at a viewport size."""
    opened: list[tuple[Console, BrowserContext]] = []

    def make(viewport: ViewportSize | None = None) -> Console:
        context = browser.new_context(viewport=viewport or LAPTOP, accept_downloads=True)
        context.set_default_timeout(30_000)
        page = context.new_page()
        console = Console(page, embedded_stack)
        # An uncaught exception in the console's scripts is a failed test, whatever the page shows.
        page.on("pageerror", lambda error: console.errors.append(str(error)))
        opened.append((console, context))
        return console

    yield make
    try:
        for console, _ in opened:
            assert not console.errors, f"the console's scripts raised: {console.errors}"
    finally:
        for _, context in opened:
            context.close()


@pytest.fixture
def console(console_factory: Callable[..., Console]) -> Console:
    return console_factory()
