"""Payments in a real browser: an officer prepares a batch from the cycle page (and cancels it, with a reason); a
finance officer prepares it again and may not release it (the button says why, the API refuses too); a second
finance officer releases it, downloads the file and marks it handed to the bank; the payments, the balance, the
district table and a household's history follow, each equal to the API's figures.

The second test sends a batch to a real bank on loopback (mock-bank), uploads the bank's status files on the batch
page, shows the failure in words and on the map, and re-issues it once the account is corrected."""

from __future__ import annotations

import os
from pathlib import Path

import pytest
from django.test import Client

from programs.payments.connectors import HttpApiConnector
from programs.payments.models import Payment, PaymentBatch, PaymentEvent
from programs.payments.services.ledger import record_events
from tests.browser.conftest import TIMEOUT_MS, screenshot
from tests.programs.conftest import (
    flood,  # noqa: F401  (the analysed flood fixture of the programs tests)
    mock_bank,  # noqa: F401  (mock-bank on loopback)
)
from tests.programs.payments_setup import approved_cycle_with_accounts, iban_number, mock_bank_world, set_account
from tests.programs.test_payment_flow import settle

os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]
P = "/api/v1/programs"
PASSWORD = "correct horse battery staple"  # tests.factories.UserFactory's


def shown_amount(value: str, currency: str = "") -> str:
    """An amount as the pages print it: grouped whole units, the API's decimals as they are."""
    whole, _, fraction = value.partition(".")
    return f"{int(whole):,}" + (f".{fraction}" if fraction else "") + (f" {currency}" if currency else "")


def api_client(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def world(flood):  # noqa: F811
    """An approved cycle of 8 flood households with bank accounts at CITY (58,000 BDT), its four users."""
    return approved_cycle_with_accounts(flood)


@pytest.fixture
def sign_in_user(browser, live_server):
    """sign_in(user) -> a Playwright page signed in as that factory user, with script errors collected. (The demo's
    sign_in needs the whole demo loaded; these tests need only the payment world.)"""
    pages = []

    def make(user):
        context = browser.new_context(viewport={"width": 1366, "height": 900}, accept_downloads=True)
        page = context.new_page()
        page.set_default_timeout(TIMEOUT_MS)
        page.errors = []
        page.on("pageerror", lambda error: page.errors.append(str(error)))
        page.goto(f"{live_server.url}/login/")
        page.fill("#id_username", user.username)
        page.fill("#id_password", PASSWORD)
        page.click("button[type=submit]")
        page.wait_for_selector("header.topbar")
        pages.append(page)
        return page

    yield make
    for page in pages:
        page.context.close()


def open_cycle(page, live_server, cycle_id: int) -> None:
    page.goto(f"{live_server.url}/programs/cycles/{cycle_id}/")
    page.wait_for_selector("body[data-ready=true][data-payments-ready=true]")


def open_batch(page, live_server, batch_id: int) -> None:
    page.goto(f"{live_server.url}/programs/payments/batches/{batch_id}/")
    page.wait_for_selector("body[data-ready=true]")


def prepare_on_cycle_page(page, fsp_code: str) -> int:
    page.select_option("#prepare-fsp", fsp_code)
    page.click("#prepare-button")
    link = page.wait_for_selector("#prepared-link")
    assert page.inner_text("#prepare-form [data-error]") == ""
    batch_id = int(link.get_attribute("href").rstrip("/").rsplit("/", 1)[1])
    page.wait_for_selector(f"#batch-rows tr[data-batch='{batch_id}']")
    return batch_id


def assert_balance_is_the_apis(page, batch: dict) -> None:
    for line, figures in batch["balance"].items():
        row = f"#balance-rows tr[data-line={line}]"
        assert page.get_attribute(f"{row} td[data-count]", "data-count") == str(figures["count"]), line
        assert page.inner_text(f"{row} td[data-amount]") == shown_amount(figures["amount"], batch["currency"]), line


def test_officer_prepares_finance_releases_downloads_and_marks_the_file_submitted(
    sign_in_user, live_server, world, payment_file_writer, tmp_path
):
    cycle_id = world.cycle.pk
    officer = sign_in_user(world.officer)

    # The officer prepares a batch from the cycle page, with the job's progress and a link to the batch.
    open_cycle(officer, live_server, cycle_id)
    assert "No payment batches" in officer.inner_text("#batch-rows")
    first_id = prepare_on_cycle_page(officer, "CITY")
    row = f"#batch-rows tr[data-batch='{first_id}']"
    api = api_client(world.officer)
    first = api.get(f"{P}/payment-batches/{first_id}/").json()
    assert first["status"] == "prepared" and first["payment_count"] == 8 and first["prepared_by"] == "pay.officer"
    assert officer.get_attribute(f"{row} td[data-count]", "data-count") == "8"
    assert officer.inner_text(f"{row} td[data-amount]") == shown_amount(first["payment_sum"], "BDT")
    screenshot(officer, "payments-cycle-prepared")

    # The batch page: control totals and balance as the API gives them; no Release for an officer, who may cancel.
    officer.click("#prepared-link")
    officer.wait_for_url(f"**/programs/payments/batches/{first_id}/")
    officer.wait_for_selector("body[data-ready=true]")
    assert officer.get_attribute("#batch-status", "data-state") == "prepared"
    assert officer.inner_text("#batch-count") == "8"
    assert officer.inner_text("#batch-amount") == shown_amount(first["payment_sum"], "BDT")
    assert_balance_is_the_apis(officer, first)
    assert "Prepared by pay.officer" in officer.inner_text("#batch-trail")
    assert officer.locator("#batch-release").count() == 0  # programs.release_paymentbatch: the finance role's
    assert officer.get_attribute("#payment-count", "data-count") == "8"
    assert officer.get_attribute("#failed-map", "data-points") == "0"  # officers see personal data: the map is theirs
    # Cancel, with the reason in the trail; every payment cancelled through the ledger.
    officer.click("#batch-cancel")
    officer.fill("#batch-cancel-reason", "Wrong execution date")
    officer.click("#batch-cancel-form button[type=submit]")
    officer.wait_for_selector("#batch-status[data-state=cancelled]")
    assert "Cancelled: Wrong execution date" in officer.inner_text("#batch-trail")
    assert officer.get_attribute("#balance-rows tr[data-line=cancelled] td[data-count]", "data-count") == "8"
    assert officer.is_hidden("#batch-cancel")

    # A finance officer prepares the cycle's payments again: their own batch's Release is disabled, with the reason.
    finance = sign_in_user(world.finance)
    open_cycle(finance, live_server, cycle_id)
    batch_id = prepare_on_cycle_page(finance, "CITY")
    assert batch_id != first_id
    finance.click("#prepared-link")
    finance.wait_for_url(f"**/programs/payments/batches/{batch_id}/")
    finance.wait_for_selector("body[data-ready=true]")
    assert finance.is_visible("#batch-release") and finance.is_disabled("#batch-release")
    assert finance.is_visible("#own-batch")
    assert finance.inner_text("#own-batch") == "You prepared this batch: another person must release it."
    refused = api_client(world.finance).post(f"{P}/payment-batches/{batch_id}/release/", {}, "application/json")
    assert refused.status_code == 400 and "You prepared this batch" in refused.content.decode()
    assert finance.is_hidden("#batch-send")  # CITY takes its files by hand (download transport)
    screenshot(finance, "payments-batch-own")

    # The second finance officer releases it: the files are written and checked, one per part.
    second = sign_in_user(world.second_finance)
    open_batch(second, live_server, batch_id)
    assert second.is_hidden("#own-batch") and second.is_enabled("#batch-release")
    second.click("#batch-release")
    second.wait_for_selector("#batch-status[data-state=released]")
    assert second.inner_text("#batch-error") == ""
    batch = api_client(world.second_finance).get(f"{P}/payment-batches/{batch_id}/").json()
    assert batch["released_by"] == "pay.finance2" and batch["prepared_by"] == "pay.finance"
    assert "Released by pay.finance2" in second.inner_text("#batch-trail")
    files = api_client(world.second_finance).get(f"{P}/payment-batches/{batch_id}/files/").json()
    assert len(files) == 1 and files[0]["nb_of_txs"] == 8
    file_row = f"#file-rows tr[data-file='{files[0]['id']}']"
    second.wait_for_selector(file_row)
    assert second.get_attribute(f"{file_row} td[data-amount]", "data-amount") == files[0]["ctrl_sum"]
    assert second.is_hidden("#batch-release") and second.is_hidden("#batch-send")

    # Download: the file as the bank receives it, with its MsgId.
    with second.expect_download() as download_info:
        second.click(f"{file_row} [data-download]")
    download = download_info.value
    assert download.suggested_filename == files[0]["name"]
    content = Path(download.path()).read_text(encoding="utf-8")
    assert files[0]["msg_id"] in content
    screenshot(second, "payments-batch-released")

    # Handed to the bank by hand: marked submitted, the payments are sent, the balance still all pending.
    second.click(f"{file_row} [data-mark-submitted]")
    second.wait_for_selector(f"{file_row} td[data-state=submitted]")
    second.wait_for_selector("#batch-status[data-state=sent]")
    assert set(Payment.objects.filter(batch_id=batch_id).values_list("status", flat=True)) == {"sent"}
    batch = api_client(world.second_finance).get(f"{P}/payment-batches/{batch_id}/").json()
    assert batch["balance"]["pending"]["count"] == 8
    assert_balance_is_the_apis(second, batch)
    assert second.locator("#payment-rows td[data-state=sent]").count() == 8
    # The district table: all eight pending in the west district; finance sees no map (exact locations).
    areas = api_client(world.second_finance).get(f"{P}/payment-batches/{batch_id}/areas/").json()
    assert len(areas) == 1
    area_row = f"#area-rows tr[data-area='{areas[0]['area']}']"
    assert second.get_attribute(f"{area_row} td[data-group=pending][data-count]", "data-count") == "8"
    assert second.locator("#failed-map").count() == 0 and second.is_visible("#no-failed-map")
    # Filter by status: none failed.
    second.select_option("#payment-status", "failed")
    second.wait_for_selector("#payment-count[data-count='0']")
    # A file that is no status report: refused in words after its import job, and nothing applied.
    assert second.input_value("#report-fsp") == "CITY"
    not_a_report = tmp_path / "not-a-report.xml"
    not_a_report.write_text("<x/>", encoding="utf-8")
    second.set_input_files("#report-file", str(not_a_report))
    second.click("#report-button")
    refusal = second.wait_for_selector("#report-form [data-error]:not(:empty)").inner_text()
    assert refusal and "undefined" not in refusal, refusal  # the job's error (or the API's 400), in words
    assert set(Payment.objects.filter(batch_id=batch_id).values_list("status", flat=True)) == {"sent"}

    # What the bank's status report will say for one household (the report parsers come with the lead's merge):
    # written to the ledger here. The failure shows in words in the table, on the officer's map and by district.
    failing = world.households[2]
    record_events(
        batch=PaymentBatch.objects.get(pk=batch_id),
        status="failed",
        where="household_id = %s",
        params=[failing.pk],
        reason_code="AC04",
        reason="Account closed",
        actor="test",
    )
    failed = Payment.objects.get(batch_id=batch_id, household=failing)
    open_batch(officer, live_server, batch_id)
    officer.wait_for_selector("#failed-map[data-points='1']")
    assert "1 failed or returned payments on the map" in officer.inner_text("#failed-count")
    officer.select_option("#payment-status", "failed")
    officer.wait_for_selector("#payment-count[data-count='1']")
    reason = officer.inner_text(f"#payment-rows tr[data-payment='{failed.pk}'] td[data-reason]")
    assert reason == "Account closed (AC04)"
    failed_row = f"#area-rows tr[data-area='{areas[0]['area']}']"
    assert officer.get_attribute(f"{failed_row} td[data-group=failed][data-count]", "data-count") == "1"
    assert officer.get_attribute(f"{failed_row} td[data-group=pending][data-count]", "data-count") == "7"
    assert officer.get_attribute("#balance-rows tr[data-line=failed] td[data-count]", "data-count") == "1"
    officer.locator("#failed-map").scroll_into_view_if_needed()
    screenshot(officer, "payments-batch-failed-map")

    # A household's history: the cancelled payment and the sent one, each with its ledger.
    household = world.households[0]
    officer.goto(f"{live_server.url}/programs/payments/households/{household.pk}/")
    officer.wait_for_selector("body[data-ready=true]")
    payments = api_client(world.officer).get(f"{P}/payments/?household={household.pk}").json()["results"]
    assert sorted(p["status"] for p in payments) == ["cancelled", "sent"]
    cancelled = next(p for p in payments if p["status"] == "cancelled")
    sent = next(p for p in payments if p["status"] == "sent")
    # The same entitlement, paid in a new batch after the cancellation; a re-issue is only what follows a failure.
    assert sent["reissue_of"] is None and sent["entitlement"] == cancelled["entitlement"]
    assert "re-issue of" not in officer.inner_text(f"#history [data-payment='{sent['id']}']")
    for payment in payments:
        card = f"#history [data-payment='{payment['id']}']"
        assert payment["end_to_end_id"] in officer.inner_text(card)
        events = api_client(world.officer).get(f"{P}/payments/{payment['id']}/events/").json()
        assert officer.locator(f"{card} tr[data-event]").count() == len(events) >= 1
    screenshot(officer, "payments-household-history")
    assert officer.errors == [] and finance.errors == [] and second.errors == []
    assert PaymentBatch.objects.filter(cycle=world.cycle).count() == 2


@pytest.fixture
def mock_world(flood, mock_bank):  # noqa: F811
    """The same cycle paid through mock-bank on loopback (the real counterparty, its HTTP API), the households' IBAN
    accounts held there, one of them closed: its payment fails AC04, account closed."""
    world = mock_bank_world(flood, mock_bank)
    mock_bank.create_account("BEN-CLOSED", "3000000002", behaviour="closed-account", account_iban=iban_number(2))
    return world, mock_bank


def upload_report(page, path: Path) -> None:
    # The previous upload's result carries data-applied too: clear it, so that the wait is for this file's.
    page.evaluate("document.getElementById('report-result').removeAttribute('data-applied')")
    page.set_input_files("#report-file", str(path))
    page.click("#report-button")
    page.wait_for_function("() => document.getElementById('report-result').hasAttribute('data-applied')", polling=250)
    assert page.inner_text("#report-form [data-error]") == ""


def test_send_to_mock_bank_reconcile_a_failure_in_words_and_reissue_it(
    sign_in_user,
    live_server,
    mock_world,
    payment_file_writer,
    tmp_path,
):
    world, bank = mock_world
    failing = world.households[2]
    officer = sign_in_user(world.officer)
    open_cycle(officer, live_server, world.cycle.pk)
    batch_id = prepare_on_cycle_page(officer, "MOCK")
    finance = sign_in_user(world.finance)
    open_batch(finance, live_server, batch_id)
    finance.click("#batch-release")
    finance.wait_for_selector("#batch-status[data-state=released]")
    # Sent through the connector (not by hand): the Send button is there for this provider.
    assert finance.is_visible("#batch-send")
    finance.click("#batch-send")
    finance.wait_for_selector("#batch-status[data-state=sent]")
    assert finance.inner_text("#batch-error") == ""
    assert bank.file_posts() == 1

    # The bank answers (a pain.002 with the AC04, camt.054 debits for the others); the finance officer uploads what
    # the bank sent, on the batch page.
    settle(bank)
    reports = list(HttpApiConnector(bank.config()).fetch_reports())
    assert {report.kind for report in reports} >= {"pain.002", "camt.054"}
    paths = []
    for number, report in enumerate(reports):
        path = tmp_path / f"report-{number}.xml"
        path.write_bytes(report.content)
        paths.append(path)
        upload_report(finance, path)
    # The same file a second time says so and changes nothing.
    events = PaymentEvent.objects.count()
    upload_report(finance, paths[0])
    assert "imported before" in finance.inner_text("#report-result")
    assert PaymentEvent.objects.count() == events
    failed = Payment.objects.get(batch_id=batch_id, household=failing)
    assert failed.status == "failed" and failed.reason_code == "AC04"
    assert Payment.objects.filter(batch_id=batch_id, status="paid").count() == 7

    # The failure in words in the payments table, and on the officer's map with its reason.
    finance.reload()
    finance.wait_for_selector("body[data-ready=true]")
    finance.select_option("#payment-status", "failed")
    finance.wait_for_selector("#payment-count[data-count='1']")
    reason = finance.inner_text(f"#payment-rows tr[data-payment='{failed.pk}'] td[data-reason]")
    assert "account closed" in reason.lower() and "AC04" in reason
    open_batch(officer, live_server, batch_id)
    officer.wait_for_selector("#failed-map[data-points]")
    assert officer.get_attribute("#failed-map", "data-points") == "1"
    area = api_client(world.officer).get(f"{P}/payment-batches/{batch_id}/areas/").json()[0]
    assert area["failed"]["count"] == 1 and area["paid"]["count"] == 7

    # The account is corrected through a change request a second officer approves; the re-issue, prepared from
    # the cycle page, holds only that payment, linked to the same entitlement.
    set_account(failing, world.fsp, world.officer, world.approver, number=iban_number(2, fix=9), kind="iban")
    open_cycle(officer, live_server, world.cycle.pk)
    reissue_id = prepare_on_cycle_page(officer, "MOCK")
    reissued = Payment.objects.get(batch_id=reissue_id)
    assert reissued.reissue_of_id == failed.pk and reissued.entitlement_id == failed.entitlement_id
    officer.goto(f"{live_server.url}/programs/payments/households/{failing.pk}/")
    officer.wait_for_selector("body[data-ready=true]")
    assert f"re-issue of {failed.end_to_end_id}" in officer.inner_text(f"#history [data-payment='{reissued.pk}']")
    assert officer.errors == [] and finance.errors == []
