"""Headless Chromium (Debian's) driven by Playwright's sync API against pytest-django's live server."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

# Playwright's sync API runs an event loop in this thread; Django refuses ORM calls from a thread with a running
# loop unless told that this is intended.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
    "--no-first-run",
    "--disable-quic",
]
SCREENSHOTS = Path(__file__).resolve().parents[2] / "test-artifacts" / "screenshots"
TIMEOUT_MS = 60_000


@pytest.fixture
def browser():
    playwright_api = pytest.importorskip("playwright.sync_api")
    if not Path(CHROMIUM).exists():
        pytest.skip("Chromium is not installed")
    with playwright_api.sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def demo_password(settings, tmp_path) -> str:
    """The demo (real boundaries, a small registry, the demo users) in the test database; returns the password."""
    from django.core.management import call_command

    settings.BASE_DIR = tmp_path  # the demo password file goes under var/
    call_command("load_demo", households=1500, chunk=1500, verbosity=0)
    return (tmp_path / "var" / "demo-password").read_text().strip()


@pytest.fixture
def sign_in(browser, live_server, demo_password):
    """sign_in("coordinator") -> a Playwright page signed in as that demo user, with failures collected."""

    def make(username: str):
        page = browser.new_page(viewport={"width": 1366, "height": 850})
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{live_server.url}/login/")
        screenshot(page, "login")
        page.fill("#id_username", username)
        page.fill("#id_password", demo_password)
        page.click("button[type=submit]")
        page.wait_for_selector("header.topbar")
        return page

    return make


def screenshot(page, name: str) -> None:
    SCREENSHOTS.mkdir(parents=True, exist_ok=True)
    page.screenshot(path=str(SCREENSHOTS / f"{name}.png"), full_page=False)


@pytest.fixture
def payment_file_writer(settings, tmp_path):
    """Payment files under a temporary MEDIA_ROOT (the live server and the test share it)."""
    settings.MEDIA_ROOT = tmp_path / "media"
    return settings.MEDIA_ROOT
