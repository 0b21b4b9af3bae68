"""A death reported by civil registration, reviewed in a real browser: the submitter's own row says a second
person reviews it; a second officer approves it on the Changes page and the person is recorded as deceased."""

from __future__ import annotations

import os

import pytest

from registry.models import Individual
from registry.services import change_request_submit
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.factories import IndividualFactory, MembershipFactory, UserFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def _page(browser, live_server, username: str):
    page = browser.new_page(viewport={"width": 1366, "height": 850})
    page.set_default_timeout(TIMEOUT_MS)
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    return page


def test_a_second_officer_approves_a_reported_death(browser, live_server):
    person = IndividualFactory(given_name="Karim", family_name="Uddin", birth_date="1950-01-01")
    MembershipFactory(individual=person)
    submitter = UserFactory(username="registrar", roles=["program_officer"])
    change = change_request_submit(
        user=submitter,
        kind="death",
        individual_id=person.pk,
        payload={"death_date": "2026-11-01", "reference": "DRN 5"},
    )
    UserFactory(username="reviewer", roles=["program_officer"])

    own = _page(browser, live_server, "registrar")
    own.click("nav >> text=Changes")
    row = own.locator(f"#change-{change.pk}")
    assert "a second person reviews it" in row.inner_text()
    assert row.locator("button").count() == 0

    page = _page(browser, live_server, "reviewer")
    page.goto(f"{live_server.url}/registry/changes/")
    row = page.locator(f"#change-{change.pk}")
    assert "Karim" in row.inner_text() and "2026-11-01" in row.inner_text()
    screenshot(page, "change-reviewer")
    row.locator("button", has_text="Approve").click()
    page.wait_for_selector("p.notice")
    assert "is applied" in page.locator("p.notice").inner_text()
    assert page.locator("#no-changes").is_visible()
    assert Individual.objects.get(pk=person.pk).status == "deceased"
