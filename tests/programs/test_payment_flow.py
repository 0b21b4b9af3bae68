"""Payments end to end through the API, against a real bank on loopback (mock-bank): prepare, four-eyes release,
files split and valid, send, the bank's pain.002 / camt.054 / pacs.004 imported, a failure re-issued once its
account is corrected, a late return, bad reports refused; after every step planned = paid + failed + returned +
pending, to the cent."""

from __future__ import annotations

import datetime
from decimal import Decimal
from pathlib import Path

import pytest
from django.conf import settings
from django.test import TestCase
from lxml import etree

from programs.models import Program, ProgramMembership
from programs.payments.models import Payment, PaymentEvent, PaymentFile
from tests.factories import BankFactory
from tests.programs.payments_setup import approved_cycle_with_accounts, iban_number, mock_bank_world, set_account
from tests.programs.test_payment_ledger import assert_balanced

pytestmark = pytest.mark.django_db
P = "/api/v1/programs"


def on_commit(call, *args, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return call(*args, **kwargs)


@pytest.fixture
def bank_world(flood, mock_bank, settings, tmp_path):
    settings.MEDIA_ROOT = str(tmp_path / "media")
    world = mock_bank_world(flood, mock_bank)
    return world


def settle(mock_bank, days: int = 0):
    """Move bank time to the (days + 1)-th business day after today: past the batch's execution date (today, for
    spmis; mock-bank starts earlier) and `days` business days more. Counted in business days (mock-bank's weekend),
    not calendar days: on a Friday, "tomorrow" is a Saturday on which the bank settles nothing."""
    import datetime

    from django.utils import timezone
    from mockbank.clock import WEEKEND

    day = timezone.localdate()
    for _ in range(days + 1):
        day += datetime.timedelta(days=1)
        while day.weekday() in WEEKEND:
            day += datetime.timedelta(days=1)
    mock_bank.advance(to=day.isoformat())


def run_of(client, response):
    assert response.status_code == 202, response.json()
    return client.get(f"{P}/payment-batch-runs/{response.json()['id']}/").json()


def fetch_reports(client, fsp="MOCK"):
    response = on_commit(client.post, f"{P}/payment-reports/fetch/", {"fsp": fsp}, format="json")
    assert response.status_code == 202, response.json()
    return [client.get(f"{P}/payment-reports/{r['id']}/").json() for r in response.json()]


def test_prepare_release_send_reconcile_and_reissue_against_a_real_bank(bank_world, mock_bank, client_for):
    world = bank_world
    officer, finance, auditor = client_for(world.officer), client_for(world.finance), client_for(roles=["auditor"])
    # One beneficiary's account is closed at the bank: its payment will fail AC04.
    closed = world.accounts[world.households[2].pk]
    mock_bank.create_account("BEN-CLOSED", "3000000002", behaviour="closed-account", account_iban=iban_number(2))

    run = run_of(
        officer,
        on_commit(
            officer.post,
            f"{P}/payment-batches/prepare/",
            {"cycle": world.cycle.pk, "fsp": "MOCK", "max_per_file": 3},
            format="json",
        ),
    )
    assert run["status"] == "succeeded", run
    batch_url = f"{P}/payment-batches/{run['batch']}/"
    batch = officer.get(batch_url).json()
    assert batch["status"] == "prepared" and batch["payment_count"] == 8
    assert Decimal(batch["payment_sum"]) == Decimal("58000") and batch["flagged_count"] == 8
    assert Decimal(batch["balance"]["pending"]["amount"]) == Decimal("58000")

    # Four eyes: the preparer may not release (and a program officer has no release permission at all).
    refused = on_commit(officer.post, batch_url + "release/")
    assert refused.status_code == 403
    released = run_of(finance, on_commit(finance.post, batch_url + "release/"))
    assert released["status"] == "succeeded", released
    files = finance.get(batch_url + "files/").json()
    # Split into files of three: 3 + 3 + 2, each with its own NbOfTxs and CtrlSum, each valid against the XSD.
    assert [f["nb_of_txs"] for f in files] == [3, 3, 2]
    assert sum(Decimal(f["ctrl_sum"]) for f in files) == Decimal("58000")
    for file in files:
        path = Path(settings.MEDIA_ROOT) / PaymentFile.objects.get(pk=file["id"]).path
        root = etree.parse(str(path)).getroot()
        ns = {"p": "urn:iso:std:iso:20022:tech:xsd:pain.001.001.09"}
        assert root.findtext(".//p:GrpHdr/p:MsgId", namespaces=ns) == file["msg_id"]
        assert root.findtext(".//p:GrpHdr/p:NbOfTxs", namespaces=ns) == str(file["nb_of_txs"])
        assert Decimal(root.findtext(".//p:GrpHdr/p:CtrlSum", namespaces=ns)) == Decimal(file["ctrl_sum"])
        assert len(root.findall(".//p:CdtTrfTxInf", namespaces=ns)) == file["nb_of_txs"]
    download = finance.get(f"{P}/payment-files/{files[0]['id']}/download/")
    assert download.status_code == 200 and files[0]["msg_id"].encode() in b"".join(download.streaming_content)
    assert auditor.get(f"{P}/payment-files/{files[0]['id']}/download/").status_code == 403
    assert officer.get(f"{P}/payment-files/{files[0]['id']}/download/").status_code == 403

    sent = run_of(finance, on_commit(finance.post, batch_url + "send/"))
    assert sent["status"] == "succeeded" and sent["result"]["files_sent"] == 3, sent
    assert mock_bank.file_posts() == 3
    assert set(Payment.objects.values_list("status", flat=True)) == {"sent"}
    assert_balanced(batch_ids=[run["batch"]])

    settle(mock_bank)
    reports = fetch_reports(finance)
    assert reports and all(r["status"] == "succeeded" for r in reports), reports
    statuses = dict(Payment.objects.values_list("account_id", "status"))
    assert statuses.pop(closed.pk) == "failed" and set(statuses.values()) == {"paid"}
    failed = Payment.objects.get(account=closed)
    assert failed.reason_code == "AC04" and "closed" in failed.reason
    figures = assert_balanced(batch_ids=[run["batch"]])
    assert figures["paid"]["count"] == 7 and figures["failed"]["count"] == 1
    assert figures["planned"]["amount"] == Decimal("58000")
    # Nothing new at the bank: fetching again imports nothing; the same file uploaded again changes nothing.
    assert fetch_reports(finance) == []
    events = PaymentEvent.objects.count()
    report = reports[0]
    content = (Path(settings.MEDIA_ROOT) / f"payments/reports/MOCK/{report['sha256']}.report").read_bytes()
    again = on_commit(
        finance.post, f"{P}/payment-reports/", {"fsp": "MOCK", "file": _upload(content)}, format="multipart"
    )
    assert again.status_code == 200 and again.json()["id"] == report["id"]
    assert PaymentEvent.objects.count() == events

    # The failure is not re-issued while the account stays as it was...
    held = run_of(
        officer,
        on_commit(
            officer.post, f"{P}/payment-batches/prepare/", {"cycle": world.cycle.pk, "fsp": "MOCK"}, format="json"
        ),
    )
    assert held["status"] == "failed" and "account not corrected" in str(held["error"])
    # ...and is, once the account is corrected through an approved change request.
    set_account(
        world.households[2], world.fsp, world.officer, world.approver, number=iban_number(2, fix=9), kind="iban"
    )
    reissue = run_of(
        officer,
        on_commit(
            officer.post, f"{P}/payment-batches/prepare/", {"cycle": world.cycle.pk, "fsp": "MOCK"}, format="json"
        ),
    )
    assert reissue["status"] == "succeeded", reissue
    second = Payment.objects.get(batch_id=reissue["batch"])
    assert second.entitlement_id == failed.entitlement_id and second.reissue_of_id == failed.pk
    second_url = f"{P}/payment-batches/{reissue['batch']}/"
    assert run_of(finance, on_commit(finance.post, second_url + "release/"))["status"] == "succeeded"
    assert run_of(finance, on_commit(finance.post, second_url + "send/"))["status"] == "succeeded"
    settle(mock_bank, 1)
    fetch_reports(finance)
    second.refresh_from_db()
    assert second.status == "paid"
    history = officer.get(f"{P}/payments/", {"household": world.households[2].pk}).json()
    assert sorted(p["status"] for p in history["results"]) == ["failed", "paid"]
    figures = assert_balanced(cycle_id=world.cycle.pk)
    assert figures["paid"] == {"count": 8, "amount": Decimal("58000")}
    assert officer.get(batch_url).json()["status"] == "closed"
    # Every entitlement of the cycle is cash and paid: the cycle has been distributed.
    assert officer.get(f"{P}/cycles/{world.cycle.pk}/").json()["state"] == "distributed"


def _upload(content: bytes, name: str = "report.xml"):
    from django.core.files.uploadedfile import SimpleUploadedFile

    return SimpleUploadedFile(name, content, content_type="application/xml")


def test_a_late_return_after_paid_and_bad_reports_refused_with_words(bank_world, mock_bank, client_for):
    world = bank_world
    officer, finance = client_for(world.officer), client_for(world.finance)
    run = run_of(
        officer,
        on_commit(
            officer.post, f"{P}/payment-batches/prepare/", {"cycle": world.cycle.pk, "fsp": "MOCK"}, format="json"
        ),
    )
    batch_url = f"{P}/payment-batches/{run['batch']}/"
    back = Payment.objects.filter(batch_id=run["batch"]).order_by("id").first()
    mock_bank.patch_account(
        "SPMIS-PROG",
        behaviour="return-later",
        parameters={"days": 2, "reason": "MD07", "end_to_end_id": back.end_to_end_id},
    )
    run_of(finance, on_commit(finance.post, batch_url + "release/"))
    run_of(finance, on_commit(finance.post, batch_url + "send/"))
    settle(mock_bank)
    fetch_reports(finance)
    back.refresh_from_db()
    assert back.status == "paid"
    settle(mock_bank, 6)
    fetch_reports(finance)
    back.refresh_from_db()
    assert back.status == "returned" and back.reason_code == "MD07"
    figures = assert_balanced(batch_ids=[run["batch"]])
    assert figures["returned"]["count"] == 1 and figures["paid"]["count"] == 7

    # An XSD-invalid status file is refused whole, naming its line; nothing is applied.
    events = PaymentEvent.objects.count()
    broken = b"""<?xml version="1.0"?>
<Document xmlns="urn:iso:std:iso:20022:tech:xsd:pain.002.001.10">
  <CstmrPmtStsRpt><GrpHdr><MsgId>X</MsgId><Bogus/></GrpHdr></CstmrPmtStsRpt>
</Document>"""
    response = on_commit(
        finance.post, f"{P}/payment-reports/", {"fsp": "MOCK", "file": _upload(broken)}, format="multipart"
    )
    report = finance.get(f"{P}/payment-reports/{response.json()['id']}/").json()
    assert report["status"] == "failed" and "line 3" in str(report["error"]), report
    assert PaymentEvent.objects.count() == events

    # Unknown references, another amount and another currency are listed, never applied.
    paid = Payment.objects.filter(batch_id=run["batch"], status="paid").order_by("id")[:2]
    csv = (
        "reference,status,reason,amount,currency,date\r\n"
        "SPM9999999999999,paid,,100.00,BDT,2026-10-02\r\n"
        f"{paid[0].end_to_end_id},paid,,1.00,BDT,2026-10-02\r\n"
        f"{paid[1].end_to_end_id},paid,,{paid[1].amount:.2f},USD,2026-10-02\r\n"
    ).encode()
    response = on_commit(
        finance.post, f"{P}/payment-reports/", {"fsp": "MOCK", "file": _upload(csv, "s.csv")}, format="multipart"
    )
    report = finance.get(f"{P}/payment-reports/{response.json()['id']}/").json()
    assert report["status"] == "succeeded", report
    issues = finance.get(f"{P}/payment-reports/{report['id']}/issues/").json()["results"]
    problems = " | ".join(issue["problem"] for issue in issues)
    assert len(issues) == 3, problems
    assert "no payment of MOCK" in problems and "reported amount 1.00" in problems and "reported in USD" in problems
    assert PaymentEvent.objects.count() == events
    assert_balanced(batch_ids=[run["batch"]])


def test_a_mobile_money_batch_by_download_and_its_csv_status_file(flood, client_for, settings, tmp_path):
    from tests.factories import WalletProviderFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    wallet = WalletProviderFactory(code="BKASH", debtor_name="SPMIS programme")
    world = approved_cycle_with_accounts(flood, fsp=wallet, account_kind="mobile_wallet")
    officer, finance = client_for(world.officer), client_for(world.finance)
    run = run_of(
        officer,
        on_commit(
            officer.post, f"{P}/payment-batches/prepare/", {"cycle": world.cycle.pk, "fsp": "BKASH"}, format="json"
        ),
    )
    batch_url = f"{P}/payment-batches/{run['batch']}/"
    assert run_of(finance, on_commit(finance.post, batch_url + "release/"))["status"] == "succeeded"
    (file,) = finance.get(batch_url + "files/").json()
    assert file["name"].endswith(".csv") and file["nb_of_txs"] == 8
    content = b"".join(finance.get(f"{P}/payment-files/{file['id']}/download/").streaming_content).decode()
    lines = content.strip().splitlines()
    assert lines[0] == "reference,msisdn,amount,currency,name,remittance" and len(lines) == 9
    assert "+88017" in lines[1] and ",BDT," in lines[1]
    # Sent by hand: the officer says so; the send button is not for a download provider.
    assert on_commit(finance.post, batch_url + "send/").status_code == 400
    marked = finance.post(f"{P}/payment-files/{file['id']}/mark-submitted/", {"reference": "portal-77"}, format="json")
    assert marked.status_code == 200 and marked.json()["status"] == "submitted"
    payments = list(Payment.objects.filter(batch_id=run["batch"]).order_by("id"))
    rows = [f"{p.end_to_end_id},paid,,{p.amount:.2f},BDT,2026-10-02" for p in payments[1:]]
    rows.insert(0, f"{payments[0].end_to_end_id},failed,AC04,{payments[0].amount:.2f},BDT,")
    status_file = ("reference,status,reason,amount,currency,date\r\n" + "\r\n".join(rows) + "\r\n").encode()
    response = on_commit(
        finance.post,
        f"{P}/payment-reports/",
        {"fsp": "BKASH", "file": _upload(status_file, "bkash.csv")},
        format="multipart",
    )
    report = finance.get(f"{P}/payment-reports/{response.json()['id']}/").json()
    assert report["status"] == "succeeded" and report["result"]["applied"] == 8, report
    payments[0].refresh_from_db()
    assert payments[0].status == "failed" and payments[0].reason == "account closed"
    figures = assert_balanced(batch_ids=[run["batch"]])
    assert figures["paid"]["count"] == 7 and figures["failed"]["count"] == 1


def test_a_cash_agent_pays_households_without_an_account_from_a_printable_list(flood, client_for, settings, tmp_path):
    from programs.services import cycle_approve, cycle_submit
    from programs.services.topups import TopUpRequest, topup_launch
    from tests.factories import UserFactory

    settings.MEDIA_ROOT = str(tmp_path / "media")
    officer = UserFactory(username="cash.officer", roles=["program_officer"])
    approver = UserFactory(username="cash.approver", roles=["program_officer"])
    finance = client_for(UserFactory(username="cash.finance", roles=["finance_officer"]))
    program = Program.objects.create(name="Flood cash in hand", currency="BDT", budget="1000000")
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=program, household=h) for h in flood["high"] + flood["moderate"]
    )
    request = TopUpRequest(
        exposure_run=flood["run"],
        program=program,
        amounts_by_class={"high": "8000.00", "moderate": "5000.00"},
        starts_on=datetime.date(2026, 7, 10),
        ends_on=datetime.date(2026, 8, 10),
    )
    (cycle,), _ = on_commit(topup_launch, request=request, user=officer)
    cycle_submit(cycle=cycle, user=officer)
    cycle_approve(cycle=cycle, user=approver)
    agent = BankFactory(
        code="AGENT-W", name="Union parishad cash desk", kind="cash_agent", bank_code="", file_format="cash_list"
    )
    agent.areas.add(flood["west"])
    officer_client = client_for(officer)
    run = run_of(
        officer_client,
        on_commit(
            officer_client.post, f"{P}/payment-batches/prepare/", {"cycle": cycle.pk, "fsp": "AGENT-W"}, format="json"
        ),
    )
    assert run["status"] == "succeeded", run
    batch_url = f"{P}/payment-batches/{run['batch']}/"
    assert run_of(finance, on_commit(finance.post, batch_url + "release/"))["status"] == "succeeded"
    (file,) = finance.get(batch_url + "files/").json()
    assert file["name"].endswith(".html") and file["nb_of_txs"] == 8 and Decimal(file["ctrl_sum"]) == 58000
    page = b"".join(finance.get(f"{P}/payment-files/{file['id']}/download/").streaming_content).decode()
    payments = list(Payment.objects.filter(batch_id=run["batch"]).order_by("id"))
    for payment in payments:
        assert payment.end_to_end_id in page and payment.household.registrant_id in page
    assert "58,000" in page or "58000" in page
    assert finance.post(f"{P}/payment-files/{file['id']}/mark-submitted/", {}, format="json").status_code == 200
    rows = "\r\n".join(f"{p.end_to_end_id},paid,,{p.amount:.2f},BDT,2026-07-12" for p in payments)
    status_file = ("reference,status,reason,amount,currency,date\r\n" + rows + "\r\n").encode()
    response = on_commit(
        finance.post,
        f"{P}/payment-reports/",
        {"fsp": "AGENT-W", "file": _upload(status_file, "signed-list.csv")},
        format="multipart",
    )
    assert finance.get(f"{P}/payment-reports/{response.json()['id']}/").json()["result"]["applied"] == 8
    figures = assert_balanced(batch_ids=[run["batch"]])
    assert figures["paid"] == {"count": 8, "amount": Decimal("58000")}
    cycle.refresh_from_db()
    assert cycle.state == "distributed"
