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
def payment_file_writer(monkeypatch, settings, tmp_path):
    """Payment files under a temporary MEDIA_ROOT, written by the real writer (programs.payments.files) once it is
    there. Until it is merged, a stand-in that writes a small XML file carrying the MsgId, NbOfTxs and CtrlSum of
    the part (no names, no accounts), so that the pages' release and download can be tested. Tests only: the
    product never fakes a file."""
    settings.MEDIA_ROOT = tmp_path / "media"
    try:
        from programs.payments.files import write_for_format  # noqa: F401
    except ImportError:
        import hashlib

        from programs.payments.services import files

        def write_stand_in(batch, part, msg_id: str, folder: Path) -> files.WrittenFile:
            path = folder / f"{msg_id}.xml"
            path.write_text(
                f'<?xml version="1.0" encoding="UTF-8"?>\n<Document><GrpHdr><MsgId>{msg_id}</MsgId>'
                f"<NbOfTxs>{part.count}</NbOfTxs><CtrlSum>{part.total}</CtrlSum></GrpHdr></Document>\n",
                encoding="utf-8",
            )
            digest = hashlib.sha256(path.read_bytes()).hexdigest()
            return files.WrittenFile(name=path.name, path=path, sha256=digest, size_bytes=path.stat().st_size)

        monkeypatch.setattr(files, "write_batch_file", write_stand_in)
        return "stand-in"
    return "real"
