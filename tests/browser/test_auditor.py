"""An auditor in a real browser: filters the audit log by user and table, opens a record's history, exports the
filtered rows as CSV (and the file holds exactly them), then opens the program dashboard, whose numbers equal the
API's and whose map draws the districts."""

from __future__ import annotations

import csv
import io
import os

import pytest

from spmis.core.audit import audit_context
from spmis.core.models import AuditEvent
from tests.accountability.conftest import world  # noqa: F401  (the accountability tests' program world)
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.factories import UserFactory, WarehouseFactory

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


@pytest.fixture
def auditor_page(browser, live_server):
    context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
    page = context.new_page()
    page.set_default_timeout(TIMEOUT_MS)
    page.errors = []
    page.on("pageerror", lambda error: page.errors.append(str(error)))
    user = UserFactory(username="auditor.ayesha", roles=["auditor"])
    page.goto(f"{live_server.url}/login/")
    page.fill("#id_username", user.username)
    page.fill("#id_password", PASSWORD)
    page.click("button[type=submit]")
    page.wait_for_selector("header.topbar")
    yield page
    context.close()


def test_auditor_filters_the_log_opens_a_history_exports_and_reads_the_dashboard(auditor_page, live_server, world):  # noqa: F811
    page = auditor_page
    with audit_context(actor="user:amina", source="api"):
        warehouse = WarehouseFactory(code="WH-AUDIT", name="Audited warehouse")
        warehouse.name = "Renamed warehouse"
        warehouse.save()

    page.click("nav >> text=Audit log")
    page.wait_for_selector("#audit-filters")
    page.fill("#a-actor", "amina")
    page.select_option("#a-table", "distribution_warehouse")
    with page.expect_navigation():
        page.click("#audit-filters button[type=submit]")
    rows = page.locator("#audit-table tbody tr[data-event]")
    assert rows.count() == 2
    assert set(rows.locator("[data-field=actor]").all_inner_texts()) == {"user:amina"}
    screenshot(page, "auditor-log")

    with page.expect_download() as download_info:
        page.click("#audit-export")
    exported = download_info.value.path().read_text()
    lines = list(csv.DictReader(io.StringIO(exported)))
    expected = AuditEvent.objects.filter(actor="user:amina", table_name="distribution_warehouse").order_by("id")
    assert [int(line["id"]) for line in lines] == list(expected.values_list("id", flat=True))
    assert "Renamed warehouse" in lines[-1]["after"]

    with page.expect_navigation():
        page.locator("#audit-table a.record-link").first.click()
    page.wait_for_selector("#history")
    assert page.locator("#record-title").inner_text() == f"distribution_warehouse #{warehouse.pk}"
    assert page.locator("#history li").evaluate_all("items => items.map(i => i.dataset.action)") == [
        "insert",
        "update",
    ]
    assert "name" in page.locator("#history li[data-action=update] [data-field=changed]").inner_text()
    assert "Renamed warehouse" in page.locator("#history li[data-action=update]").inner_text()
    screenshot(page, "auditor-history")

    page.goto(f"{live_server.url}/accountability/?program={world.program.pk}&level=1")
    page.wait_for_selector("#acc-map[data-drawn='2']")
    api = page.request.get(f"{live_server.url}/api/v1/accountability/dashboard/?program={world.program.pk}&level=1")
    assert api.ok
    data = api.json()
    totals = data["totals"]
    assert page.inner_text("#total-affected") == str(totals["affected"]["households"])
    assert page.inner_text("#total-paid") == str(totals["payments"]["paid"]["count"])
    assert page.inner_text("#total-paid-amount") == totals["payments"]["paid"]["amount"]
    assert page.inner_text("#total-redeemed") == str(totals["distribution"]["redeemed"])
    for area in data["by_area"]:
        row = page.locator(f"#by-area tr[data-area='{area['code']}']")
        assert row.locator("[data-field=affected]").inner_text() == str(area["affected"]["households"])
        assert row.locator("[data-field=paid]").inner_text() == str(area["payments"]["paid"]["count"])
        assert row.locator("[data-field=approved]").inner_text() == str(area["entitlements"]["approved"]["count"])
    page.select_option("#map-measure", "paid")
    screenshot(page, "accountability-dashboard")
    assert page.errors == []
