"""A grievance officer logs a call-centre complaint, acknowledges and decides it; the complainant appeals, the same
officer may not decide the appeal, and a second officer does."""

import pytest

from grievances.defaults import categories_ensure
from grievances.models import Ticket
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.grievances.factories import officer, team

pytestmark = pytest.mark.django_db(transaction=True)
PASSWORD = "correct horse battery staple"


def _signed_in(browser, live_server, username: str):
    context = browser.new_context(viewport={"width": 1366, "height": 850})
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    return page


def test_call_centre_ticket_decided_and_appeal_decided_by_another_officer(browser, live_server, two_districts):
    _, west, _ = two_districts
    categories_ensure()  # an earlier transactional test may have emptied the migration's rows
    team("West grievances", west)
    first, second = officer(west, username="grm-ana"), officer(west, username="grm-bilal")

    page = _signed_in(browser, live_server, first.username)
    page.goto(f"{live_server.url}/grievances/")
    page.click("#new-ticket")
    page.select_option("#intake-channel", "call_centre")
    page.select_option("#intake-category", "payment-not-received")
    page.fill("#intake-area", west.code)
    page.fill("#intake-description", "No transfer since October.")
    page.fill("#intake-phone", "+8801711000009")
    page.click("#intake-submit")
    page.wait_for_selector("#ticket-reference")
    reference = page.inner_text("#ticket-reference")
    ticket = Ticket.objects.get(reference=reference)
    assert ticket.channel == "call_centre" and ticket.team.name == "West grievances"
    assert "Received" in page.inner_text("#ticket-status")
    screenshot(page, "grievance-ticket-received")

    page.click("#form-acknowledge button")
    page.wait_for_selector("#form-start")
    assert "Acknowledged" in page.inner_text("#ticket-status")
    page.select_option("#decide-outcome", "rejected")
    page.fill("#decide-reason", "Paid on 3 November to the registered account.")
    page.click("#decide-submit")
    page.wait_for_selector("#ticket-outcome")
    assert "Resolved" in page.inner_text("#ticket-status")

    page.fill("#appeal-reason", "The account is not mine.")
    page.click("#appeal-submit")
    page.wait_for_selector("#form-decide")
    assert "Appealed" in page.inner_text("#ticket-status")
    # The first decider may not decide the appeal: the page says so.
    page.select_option("#decide-outcome", "upheld")
    page.fill("#decide-reason", "Own appeal.")
    page.click("#decide-submit")
    page.wait_for_selector("#form-errors")
    assert "another officer" in page.inner_text("#form-errors")
    screenshot(page, "grievance-appeal-refused")

    other = _signed_in(browser, live_server, second.username)
    other.goto(f"{live_server.url}/grievances/")
    other.click(f"tr[data-reference='{reference}'] a")
    other.wait_for_selector("#form-decide")
    other.select_option("#decide-outcome", "upheld")
    other.fill("#decide-reason", "The account was changed without the household; pay again.")
    other.click("#decide-submit")
    other.wait_for_selector("#ticket-appeal-outcome")
    assert "Upheld" in other.inner_text("#ticket-appeal-outcome")
    assert "appeal_decided" in other.inner_text("#history")
    screenshot(other, "grievance-appeal-decided")
    ticket.refresh_from_db()
    assert ticket.decided_by == first and ticket.appeal_decided_by == second and ticket.appeal_outcome == "upheld"
    assert page.errors == [] and other.errors == []
