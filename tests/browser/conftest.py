"""Browser tests: Debian's Chromium driven by Playwright (no downloaded browser).

Each test gets ``open_as(user)``: a fresh browser page whose session cookie logs in as
``user`` against pytest-django's live server. ``shot(page, name)`` writes a full-page
screenshot to the folder printed at the end of the run (``SCREENSHOT_DIR``, by default
``artifacts/screenshots`` at the repository root).

Without Chromium the tests are skipped, except under CI (``CI`` set), where a missing
browser fails the run: ``scripts/test.sh`` installs it.
"""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest
from django.conf import settings
from django.test import Client

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser")
SCREENSHOT_DIR = Path(
    os.environ.get(
        "SCREENSHOT_DIR",
        Path(__file__).resolve().parents[2] / "artifacts" / "screenshots",
    )
)
ARGS = ["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"]


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    for item in items:
        if "tests/browser/" in str(item.fspath).replace(os.sep, "/"):
            item.add_marker(pytest.mark.browser)


# Package scope: Playwright's event loop stops with the last browser test, so the
# asyncio tests that run later in the same session can start their own loops.
@pytest.fixture(scope="package")
def browser() -> Iterator[Any]:
    if CHROMIUM is None:
        if os.environ.get("CI"):
            pytest.fail(
                "Chromium is missing: scripts/test.sh installs Debian's chromium"
            )
        pytest.skip("Chromium is not installed (apt-get install chromium)")
    from playwright.sync_api import sync_playwright

    # Playwright's sync API runs an event loop in this thread; Django's ORM refuses
    # to run while one is running unless told the caller knows it is synchronous.
    previous = os.environ.get("DJANGO_ALLOW_ASYNC_UNSAFE")
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    try:
        with sync_playwright() as playwright:
            chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=ARGS)
            yield chromium
            chromium.close()
    finally:
        if previous is None:
            os.environ.pop("DJANGO_ALLOW_ASYNC_UNSAFE", None)
        else:
            os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = previous


@pytest.fixture
def open_as(browser: Any, live_server: Any) -> Iterator[Callable[..., Any]]:
    """Return ``open_as(user, path, color_scheme="light")`` -> a Playwright page.

    ``bypass_csp=True`` lets a test inject scripts (axe-core) into pages whose
    Content-Security-Policy would refuse them; off by default.
    """
    contexts: list[Any] = []

    def open_page(
        user: Any, path: str, color_scheme: str = "light", *, bypass_csp: bool = False
    ) -> Any:
        context = browser.new_context(
            bypass_csp=bypass_csp,
            viewport={"width": 1280, "height": 900},
            color_scheme=color_scheme,
            timezone_id="Europe/Paris",
            locale="en-GB",
        )
        contexts.append(context)
        if user is not None:
            client = Client()
            client.force_login(user)
            cookie = client.cookies[settings.SESSION_COOKIE_NAME]
            context.add_cookies(
                [{"name": cookie.key, "value": cookie.value, "url": live_server.url}]
            )
        page = context.new_page()
        page.set_default_timeout(15_000)
        errors: list[str] = []
        page.on("pageerror", lambda error: errors.append(str(error)))
        page.js_errors = errors  # type: ignore[attr-defined]
        page.goto(live_server.url + path)
        return page

    yield open_page
    for context in contexts:
        context.close()


@pytest.fixture
def shot(request: pytest.FixtureRequest) -> Callable[[Any, str], Path]:
    """Return ``shot(page, name)``: save a full-page screenshot, return its path."""
    test = re.sub(r"[^A-Za-z0-9_.-]+", "_", request.node.name)

    def take(page: Any, name: str) -> Path:
        SCREENSHOT_DIR.mkdir(parents=True, exist_ok=True)
        path = SCREENSHOT_DIR / f"{test}--{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take


def pytest_terminal_summary(terminalreporter: Any) -> None:
    if SCREENSHOT_DIR.is_dir() and any(SCREENSHOT_DIR.glob("*.png")):
        count = len(list(SCREENSHOT_DIR.glob("*.png")))
        terminalreporter.write_line(f"browser screenshots ({count}): {SCREENSHOT_DIR}")
