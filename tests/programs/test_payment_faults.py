"""The bank's failure modes through the product, and concurrent imports: a file rejected outright, a partial
acceptance with insufficient funds (AM04) and a bad bank identifier (RC01), a duplicate submission, and two
overlapping status files imported at the same moment. After each, planned = paid + failed + returned + pending."""

from __future__ import annotations

import threading
from decimal import Decimal

import pytest
from django.db import connection

from programs.payments.models import Payment, PaymentBatch, PaymentBatchRun, PaymentEvent, PaymentFile
from programs.payments.services import report_execute, report_upload
from programs.payments.services.batches import batch_run_execute
from tests.programs.payments_setup import iban_number
from tests.programs.test_payment_flow import bank_world, fetch_reports, settle  # noqa: F401  (fixture)
from tests.programs.test_payment_ledger import assert_balanced

pytestmark = pytest.mark.django_db


def _released(world, max_per_file: int = 50) -> PaymentBatch:
    batch = PaymentBatch.objects.create(
        cycle=world.cycle,
        program=world.cycle.program,
        fsp=world.fsp,
        currency="BDT",
        execution_date=world.cycle.starts_on.today(),
        max_per_file=max_per_file,
        prepared_by=world.officer,
    )
    for kind, user in (("prepare", world.officer), ("release", world.finance)):
        run = batch_run_execute(run_id=PaymentBatchRun.objects.create(batch=batch, kind=kind, created_by=user).pk)
        assert run.status == "succeeded", run.error
    return batch


def _send(world, batch) -> PaymentBatchRun:
    return batch_run_execute(
        run_id=PaymentBatchRun.objects.create(batch=batch, kind="send", created_by=world.finance).pk
    )


def test_a_file_rejected_outright_fails_every_payment_with_the_reason(bank_world, mock_bank, client_for):  # noqa: F811
    world = bank_world
    mock_bank.patch_account("SPMIS-PROG", behaviour="reject-file")
    batch = _released(world)
    run = _send(world, batch)
    assert run.status == "succeeded" and run.result["files_rejected"] == 1
    assert PaymentFile.objects.get(batch=batch).status == "rejected"
    payments = Payment.objects.filter(batch=batch)
    assert {(p.status, p.reason_code) for p in payments} == {("failed", "FF01")}
    # The bank's pain.002 saying the same is imported without changing anything.
    events = PaymentEvent.objects.count()
    reports = fetch_reports(client_for(world.finance))
    assert all(r["status"] == "succeeded" for r in reports)
    assert PaymentEvent.objects.count() == events
    figures = assert_balanced(batch_ids=[batch.pk])
    assert figures["failed"] == {"count": 8, "amount": Decimal("58000")}


def test_a_partial_acceptance_insufficient_funds_and_a_bad_bank_in_words(bank_world, mock_bank, client_for):  # noqa: F811
    world = bank_world
    # The programme account holds 20,000 BDT: payments beyond it fail AM04; one creditor's bank is unknown (RC01).
    mock_bank.patch_account("SPMIS-PROG", behaviour="insufficient-funds", balance=Decimal("20000"))
    mock_bank.create_account("BEN-BADBANK", "3000000007", behaviour="bad-bank-id", account_iban=iban_number(7))
    batch = _released(world)
    assert _send(world, batch).status == "succeeded"
    settle(mock_bank)
    fetch_reports(client_for(world.finance))
    payments = list(Payment.objects.filter(batch=batch).order_by("id"))
    reasons = {p.reason_code for p in payments if p.status == "failed"}
    assert {"AM04", "RC01"} <= reasons, [(p.status, p.reason_code) for p in payments]
    assert any(p.status == "paid" for p in payments)
    words = {p.reason_code: p.reason for p in payments if p.status == "failed"}
    assert "insufficient funds" in words["AM04"].lower() and "bank" in words["RC01"].lower()
    figures = assert_balanced(batch_ids=[batch.pk])
    assert figures["paid"]["amount"] <= Decimal("20000")


def test_a_duplicate_submission_is_taken_as_sent_never_as_a_second_payment(bank_world, mock_bank, monkeypatch):  # noqa: F811
    world = bank_world
    batch = _released(world)
    assert _send(world, batch).status == "succeeded"
    assert mock_bank.file_posts() == 1
    # Pretend the answer was lost and the bank could not be asked: the file goes again with the same MsgId.
    file = PaymentFile.objects.get(batch=batch)
    with connection.cursor() as cursor:
        cursor.execute("UPDATE programs_paymentfile SET status = 'sending' WHERE id = %s", [file.pk])
    from programs.payments.connectors.http_api import HttpApiConnector

    monkeypatch.setattr(HttpApiConnector, "status", lambda self, msg_id: None)
    assert _send(world, batch).status == "succeeded"
    assert mock_bank.file_posts() == 2  # sent again with the same MsgId...
    file.refresh_from_db()
    assert file.status == "submitted" and "duplicate" in str(file.receipt)  # ...and refused by the bank as such
    assert PaymentEvent.objects.filter(status="sent").count() == 8
    assert_balanced(batch_ids=[batch.pk])


@pytest.mark.django_db(transaction=True)
def test_overlapping_status_files_imported_at_once_apply_each_state_once(bank_world, mock_bank):  # noqa: F811
    world = bank_world
    batch = _released(world)
    assert _send(world, batch).status == "succeeded"
    payments = list(Payment.objects.filter(batch=batch).order_by("id"))
    rows = [f"{p.end_to_end_id},paid,,{p.amount:.2f},BDT,2026-10-02" for p in payments]
    header = "reference,status,reason,amount,currency,date"
    first = "\r\n".join([header, *rows[:6]]).encode() + b"\r\n"
    second = "\r\n".join([header, *rows[2:]]).encode() + b"\r\n"  # rows 3 to 6 in both
    reports = [
        report_upload(fsp=world.fsp, user=None, name=name, content=content)[0]
        for name, content in (("a.csv", first), ("b.csv", second))
    ]
    start = threading.Barrier(2)
    errors = []

    def import_one(report_id: int) -> None:
        try:
            start.wait(10)
            report_execute(report_id=report_id)
        except Exception as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=import_one, args=(report.pk,)) for report in reports]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(60)
    assert not errors
    for report in reports:
        report.refresh_from_db()
        assert report.status == "succeeded", report.error
    assert sum(r.result["applied"] for r in reports) == 8
    assert PaymentEvent.objects.filter(status="paid").count() == 8
    assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"paid"}
    figures = assert_balanced(batch_ids=[batch.pk])
    assert figures["paid"] == {"count": 8, "amount": Decimal("58000")}


def test_an_event_already_in_the_ledger_is_not_written_twice_and_the_rest_still_applies(bank_world, mock_bank):  # noqa: F811
    """Reconciliation first writes its events without ON CONFLICT (the costly part of the INSERT); an event the
    ledger has already (here one the trigger could not apply: `paid` while the payment was still pending) makes that
    attempt fail on the unique (payment, status), and the entries are written again skipping it: nothing twice,
    nothing else lost, no error."""
    world = bank_world
    batch = _released(world)
    payments = list(Payment.objects.filter(batch=batch).order_by("id"))
    PaymentEvent.objects.create(payment=payments[3], batch=batch, status="paid", actor="test")
    assert Payment.objects.get(pk=payments[3].pk).status == "pending"
    assert _send(world, batch).status == "succeeded"
    report, _ = report_upload(fsp=world.fsp, user=None, name="all.xml", content=_camt054(payments))
    report = report_execute(report_id=report.pk)
    assert report.status == "succeeded", report.error
    assert report.result["applied"] == 7 and report.result["issues"] == 0
    assert PaymentEvent.objects.filter(status="paid").count() == 8
    statuses = dict(Payment.objects.filter(batch=batch).values_list("id", "status"))
    # (assert_balanced would rightly object to the event planted above, which the payment never took.)
    assert statuses.pop(payments[3].pk) == "sent" and set(statuses.values()) == {"paid"}


def _camt054(payments, *, bad_at: int | None = None, lines_before: int = 0) -> bytes:
    """A camt.054 with one booked debit per payment, one entry per line; entry `bad_at` with an amount the XSD
    refuses (a comma); `lines_before` blank lines before the first entry."""
    ns = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
    entries = []
    for n, payment in enumerate(payments):
        amount = f"{payment.amount:.2f}".replace(".", "," if n == bad_at else ".")
        entries.append(
            f'<Ntry><Amt Ccy="BDT">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt><Dt>'
            "2026-10-02</Dt></BookgDt><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd>"
            f"</Fmly></Domn></BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>{payment.end_to_end_id}</EndToEndId>"
            "</Refs></TxDtls></NtryDtls></Ntry>\n"
        )
    return (
        f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{ns}\"><BkToCstmrDbtCdtNtfctn><GrpHdr><MsgId>"
        f"MB-C-{bad_at}</MsgId><CreDtTm>2026-10-02T09:00:00+00:00</CreDtTm></GrpHdr><Ntfctn><Id>N1</Id><CreDtTm>"
        "2026-10-02T09:00:00+00:00</CreDtTm><Acct><Id><Othr><Id>1</Id></Othr></Id></Acct>\n"
        + "\n" * lines_before
        + "".join(entries)
        + "</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n"
    ).encode()


def _sent(world, monkeypatch, beside: bool) -> tuple[PaymentBatch, list[Payment]]:
    """A batch released and sent, its payments; with `beside`, even a small status file is validated by the XSD
    process beside its reader (iso._Beside)."""
    from programs.payments.reports import iso

    if beside:
        monkeypatch.setattr(iso, "BESIDE_MIN_BYTES", 0)
    batch = _released(world)
    assert _send(world, batch).status == "succeeded"
    return batch, list(Payment.objects.filter(batch=batch).order_by("id"))


@pytest.mark.parametrize("beside", [False, True])
def test_issues_past_line_65535_name_their_true_line(bank_world, mock_bank, monkeypatch, beside):  # noqa: F811
    """libxml2 counts lines in 16 bits; the reader counts its own: an unknown reference and a wrong amount deep in an
    indented file are listed on the lines they are on."""
    world = bank_world
    batch, payments = _sent(world, monkeypatch, beside)
    content = _camt054(payments, lines_before=70_000).decode()
    content = content.replace(payments[2].end_to_end_id, "SPMX000000000009")
    lines = content.replace("<NtryDtls>", "\n    <NtryDtls>").split("\n")  # indented: each entry on two lines
    unknown = next(n for n, text in enumerate(lines) if "SPMX000000000009" in text)  # its second line
    wrong = next(n for n, text in enumerate(lines) if payments[5].end_to_end_id in text) - 1
    lines[wrong] = lines[wrong].replace(f">{payments[5].amount:.2f}<", f">{payments[5].amount + 1:.2f}<")
    content = "\n".join(lines)
    expected = {"SPMX000000000009": unknown, payments[5].end_to_end_id: wrong + 1}  # lines count from 1
    report, _ = report_upload(fsp=world.fsp, user=None, name="deep.xml", content=content.encode())
    report = report_execute(report_id=report.pk)
    assert report.status == "succeeded" and report.result["applied"] == 6, report.error
    assert dict(report.issues.values_list("reference", "line")) == expected
    assert min(expected.values()) > 70_000
    assert_balanced(batch_ids=[batch.pk])


@pytest.mark.parametrize("beside", [False, True])
def test_a_refused_notification_applies_nothing_whoever_validates_it(
    bank_world,  # noqa: F811
    mock_bank,
    monkeypatch,
    beside,
):
    """The entries of an ISO file are COPYed as they are read; the XSD's refusal of a later entry (found in the
    reader's own pass, or by the process beside it) abandons the COPY and the job's transaction: the report fails
    naming the line, no event or issue is written, and a correct file is imported next."""
    world = bank_world
    batch, payments = _sent(world, monkeypatch, beside)
    events = PaymentEvent.objects.count()
    refused, _ = report_upload(fsp=world.fsp, user=None, name="bad.xml", content=_camt054(payments, bad_at=6))
    refused = report_execute(report_id=refused.pk)
    assert refused.status == "failed" and "line 9" in str(refused.error) and "Amt" in str(refused.error)
    assert "nothing applied" in str(refused.error)
    assert PaymentEvent.objects.count() == events and not refused.issues.exists()
    assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"sent"}
    good, _ = report_upload(fsp=world.fsp, user=None, name="good.xml", content=_camt054(payments))
    good = report_execute(report_id=good.pk)
    assert good.status == "succeeded" and good.result["applied"] == 8, good.error
    assert set(Payment.objects.filter(batch=batch).values_list("status", flat=True)) == {"paid"}
    assert_balanced(batch_ids=[batch.pk])
