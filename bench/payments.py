"""Payments end to end through the product (issue 12): batch preparation, release (files written and validated
against the XSD), files marked submitted, and a status file of every payment reconciled.

    make bench-payments                                   # 1,000,000 payments
    make bench-payments BENCH_ARGS="--payments 20000"     # a quick run

Data, loaded in SQL by a child process (not timed): --payments households (no members, no location), one BDT
program with one approved cycle (submitted and approved by two people) holding one approved cash entitlement per
household (3,000 to 5,400 BDT with paisa), a bank (City Bank PLC, bank code 225, pain.001.001.09, download transport)
and one Bangladesh bank account per household at it: routing number 225150135, a 13-digit account number encrypted
by programs.payments.crypto.encrypt with its blind index, the holder's name one in ten in Bengali script, changed a
year ago (so nothing is flagged, and no account is shared). The rows are COPYed in.

Measured, in this process (the jobs run in-process, as Celery does in eager mode):
- batch_prepare and its job, then batch_release (by a second person) and its job, which writes the files of
  --per-file payments (default SPMIS PAYMENT_FILE_MAX_PAYMENTS) and validates each against the XSD:
  payments_per_s = payments / (prepare_s + release_s), wall time;
- inside the release, the time in programs.payments.files.pain001.write_pain001 (write_s, which includes reading
  and decrypting the rows from the database as they are consumed) and in the XSD validation of the files, by the
  process beside the writer (validate_s; wait_s is the release's wait for the last verdicts);
- the same number of files of the same sizes written by the bare lxml writer of bench/_payments_lxml.py from rows of
  the same shape generated in memory, no database (bare_lxml_s): write_ratio_vs_lxml = write_s / bare_lxml_s;
  rows_s (payment_rows read alone, database and decryption, after the release) and the generator's own time give
  write_net_ratio, the writer's share against the bare writer's;
- a ceiling for the preparation: the same payment rows by one hand-written INSERT … SELECT (same tables, indexes
  and triggers, foreign keys checked at once), rolled back and vacuumed away before the product runs;
- mark_submitted of every file (mark_sent_s: the 'sent' events), then a camt.054.001.08 of one booked debit per
  payment (EndToEndIds and amounts from the database; five amounts wrong, five unknown EndToEndIds added) uploaded
  by report_upload, whose import (report_execute) runs at commit: reconcile_per_s = entries / (upload + import).
Checked afterwards: planned = paid + failed + returned + pending (programs.payments.selectors.balances), counts
and amounts, the five wrong amounts still pending and ten issues listed. Peak memory is this process's (the load
runs in a child, its peak printed apart).

Where the time went at 1,000,000 on 2 shared cores (2026-12-02): the ceiling INSERT alone takes ~40 s, two
thirds of it the five per-row foreign-key checks of programs_payment, the rest its seven indexes; the release's XSD
validation of its files is a third of the release. Reconciliation and the 'sent' events were then 179 s and 85 s:
each ledger move was a non-HOT update of each payment (status was in two of its indexes), 45 to 85 µs a payment
with the events' per-row foreign keys, and reading a camt.054 validated each entry against an XSD fragment, ~50 µs
an entry. Since programs/0013 (2026-12-04, measured at 200,000 with nothing else running): no index names the
status and the table is half-full, so each move is a HOT update; the events' references are checked per statement;
the file is validated once, streamed, by a second process while it is read, and its entries are COPYed as they are
read. At 200,000: reconcile 11.4 s -> 6.0 s (17,586 -> 33,142 entries/s), mark_sent 4.8 s -> 2.1 s; 8-9 s when
another bench shares the two cores. Since programs/0016 and reports/cutting.py (2026-12-04, 200,000, load 0.2-0.5
as the runs started): reconcile 6.0 s -> 3.6 s (55,331 entries/s). Each entry is cut out of the file's bytes with
its true line and the common camt.054 entry read by regular expressions (libxml2 no longer builds it), ~7 µs an
entry with its COPY; the XSD process beside the reader runs at a lower priority and its verdict is waited for only
once the ledger is written (a refusal then rolls it all back); the events are INSERTed without ON CONFLICT first,
again with it only if the unique (payment, status) objects; a payment's fixed columns and forward-only status are
checked per row by a trigger's WHEN clause instead of joining transition tables. What is left of the 3.6 s:
storing the upload ~0.3 s, reading ~1.5 s, then ~1.9 s in the database (the events and the trigger's update of the
payments 1.6 s, matching 0.25 s).
Preparation and release since programs/0015 (2026-12-04, 1,000,000, load 0.5): prepare 15.3 s -> 10.4 s (the
references checked by one joined pass, no ON CONFLICT, no sort, two statements), release 35.6 s -> 11.6 s (one
streamed query for the batch, pain.001 validated in pieces by a second process while the next file is written):
19,631 -> 45,413 payments/s; write / bare lxml 2.37 -> 1.51; reconcile 38.2 s -> 20.8 s (48,028 entries/s).
--payments 20000 is a one-minute check that all of it works.
"""

from __future__ import annotations

import argparse
import datetime
import os
import resource
import subprocess
import sys
import tempfile
import time
from decimal import Decimal
from pathlib import Path

from _harness import bench_database, peak_rss_mb, result_line, setup_django
from _payments_lxml import write_bare

ROUTING = "225150135"  # City Bank PLC, Agrabad Branch (bdbanks)
BANK_CODE = "225"
NAMES = ["Rahima Begum", "Mohammad Abdul Karim", "Nasima Akter", "Md. Rafiqul Islam Chowdhury", "Shirin Sultana"]
BENGALI = "রহিমা বেগম"
WRONG_AMOUNTS = 5
UNKNOWN_REFERENCES = 5
TARGET_PER_S = 50_000
TARGET_RSS_MB = 500
TARGET_WRITE_RATIO = 2.0
CAMT054 = "urn:iso:std:iso:20022:tech:xsd:camt.054.001.08"
PAYMENT_TABLES = (
    "programs_paymentreportissue",
    "programs_paymentevent",
    "programs_paymentfile",
    "programs_payment",
    "programs_paymentbatchrun",
    "programs_paymentbatch",
    "programs_paymentreport",
)


def holder_name(i: int) -> str:
    return BENGALI if i % 10 == 3 else f"{NAMES[i % 5]} {i % 1000}"


def account_number(i: int) -> str:
    return f"2050{i:09d}"


# Data (a child process) ----------------------------------------------------------------------------------------


def load(payments: int) -> None:
    from django.contrib.auth import get_user_model
    from django.db import connection, transaction
    from django.utils import timezone

    from programs.models import Cycle, Program
    from programs.payments import crypto
    from programs.payments.models import FinancialServiceProvider
    from programs.payments.validation import normalise_account
    from spmis.core.bulk import copy_rows

    start = time.perf_counter()
    users = get_user_model()
    preparer = users.objects.create_superuser("bench-pay-prepare", "p@example.org", "bench-pay")
    approver = users.objects.create_superuser("bench-pay-approve", "a@example.org", "bench-pay")
    users.objects.create_superuser("bench-pay-release", "r@example.org", "bench-pay")
    program = Program.objects.create(name="Bench payments", currency="BDT", budget=Decimal(payments) * 6000)
    now = timezone.now()
    cycle = Cycle.objects.create(
        program=program,
        sequence=1,
        name="Bench cycle",
        starts_on=datetime.date(2026, 12, 1),
        ends_on=datetime.date(2026, 12, 31),
        state=Cycle.State.APPROVED,
        submitted_by=preparer,
        submitted_at=now,
        approved_by=approver,
        approved_at=now,
        created_by=preparer,
    )
    fsp = FinancialServiceProvider.objects.create(
        code="CITY",
        name="City Bank PLC",
        kind="bank",
        currency="BDT",
        bank_code=BANK_CODE,
        file_format="pain.001.001.09",
        transport="download",
        debtor_name="Ministry of Disaster Management and Relief",
        debtor_account="0012345678901",
    )
    # One account through the product's own normalisation, to be sure of what the COPYed rows must look like.
    sample = normalise_account(kind="bank", fsp=fsp, number=account_number(0), routing_number=ROUTING)
    assert sample.index_input == f"bank:{BANK_CODE}:{account_number(0)}", sample
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(
            "INSERT INTO registry_household (kind, location_precision, address, registered_on, source, created_at,"
            " updated_at) SELECT 'household', 'area', '', current_date, 'bench:payments', now(), now()"
            " FROM generate_series(1, %s)",
            [payments],
        )
        cursor.execute(
            "INSERT INTO programs_entitlement (cycle_id, program_id, household_id, kind, amount, fee, currency,"
            " people, flagged, flag_reason, valid_from, valid_until, status)"
            " SELECT %s, %s, h.id, 'cash', 3000 + (h.id %% 97) * 25 + (h.id %% 100) / 100.0, 0, 'BDT', 4, false, '',"
            " %s, %s, 'approved' FROM registry_household h ORDER BY h.id",
            [cycle.pk, program.pk, cycle.starts_on, cycle.ends_on],
        )
        cursor.execute("SELECT count(*), sum(amount) FROM programs_entitlement WHERE cycle_id = %s", [cycle.pk])
        count, total = cursor.fetchone()
        Cycle.objects.filter(pk=cycle.pk).update(planned_count=count, planned_amount=total)
        cursor.execute("SELECT id FROM registry_household ORDER BY id")
        households = [row[0] for row in cursor.fetchall()]
    loaded = time.perf_counter() - start
    changed_at = now - datetime.timedelta(days=365)

    def accounts():
        for i, household in enumerate(households):
            number = account_number(i)
            ciphertext, key_id = crypto.encrypt(number)
            yield (
                household,
                fsp.pk,
                "bank",
                holder_name(i),
                ROUTING,
                "",
                ciphertext,
                key_id,
                crypto.blind_index(f"bank:{BANK_CODE}:{number}"),
                now,
                changed_at,
            )

    start_accounts = time.perf_counter()
    with transaction.atomic():
        copy_rows(
            "programs_paymentaccount",
            [
                "household_id",
                "fsp_id",
                "kind",
                "holder_name",
                "routing_number",
                "bic",
                "number_ciphertext",
                "number_key_id",
                "blind_index",
                "created_at",
                "changed_at",
            ],
            accounts(),
        )
    accounts_s = time.perf_counter() - start_accounts
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE")
    print(
        f"data: {payments:,} households, {count:,} approved cash entitlements ({total} BDT) in {loaded:.1f} s; "
        f"{payments:,} bank accounts encrypted and COPYed in {accounts_s:.1f} s",
        flush=True,
    )


def load_in_child(db_name: str, payments: int) -> float:
    env = {**os.environ, "BENCH_PAYMENTS_DB": db_name}
    subprocess.run([sys.executable, __file__, "--load-child", str(payments)], env=env, check=True)
    return resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024


def reset() -> None:
    """A reused database: the payment tables emptied (the test settings' session may TRUNCATE the ledger)."""
    from django.db import connection
    from psycopg import sql

    tables = sql.SQL(", ").join(map(sql.Identifier, PAYMENT_TABLES))
    with connection.cursor() as cursor:
        # CASCADE: tables of other apps that point at payments (a grievance about a payment) are empty here.
        cursor.execute(sql.SQL("TRUNCATE {} CASCADE").format(tables).as_string(cursor.connection))
        cursor.execute(sql.SQL("VACUUM ANALYZE {}").format(tables).as_string(cursor.connection))


# Timing hooks ----------------------------------------------------------------------------------------------------


class Clock:
    """Time spent in the release's file writer and validator, measured by wrapping them (once per file)."""

    def __init__(self) -> None:
        self.write_s = 0.0
        self.validate_s = 0.0  # in the validator process beside the writer, or in this one
        self.wait_s = 0.0  # waiting for the last verdicts once every file was written
        self.files = 0

    def install(self) -> None:
        from programs.payments.files import pain001
        from programs.payments.services.files import FileWriting

        write, publish = pain001.write_pain001, FileWriting.publish

        def timed_write(*args, **kwargs):
            start = time.perf_counter()
            try:
                return write(*args, **kwargs)
            finally:
                self.write_s += time.perf_counter() - start
                self.files += 1

        def timed_publish(writing, *args, **kwargs):
            start = time.perf_counter()
            try:
                return publish(writing, *args, **kwargs)
            finally:
                self.wait_s += time.perf_counter() - start
                self.validate_s += writing.validator.seconds

        pain001.write_pain001 = timed_write
        FileWriting.publish = timed_publish


# The stages ------------------------------------------------------------------------------------------------------


def ceiling(cycle, fsp, user) -> float:
    """The batch's payment rows by one hand-written INSERT … SELECT (no check for earlier payments, shared accounts
    or limits), foreign keys checked in the statement, then rolled back and vacuumed away."""
    from django.db import connection, transaction

    from programs.payments.models import PaymentBatch

    class Rollback(Exception):
        pass

    seconds = 0.0
    try:
        with transaction.atomic():
            batch = PaymentBatch.objects.create(
                cycle=cycle,
                program=cycle.program,
                fsp=fsp,
                currency="BDT",
                execution_date=datetime.date.today(),
                prepared_by=user,
            )
            with connection.cursor() as cursor:
                cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
                start = time.perf_counter()
                cursor.execute(
                    "INSERT INTO programs_payment (batch_id, entitlement_id, household_id, account_id,"
                    " account_changed_at, amount, fee, currency, status, reason_code, reason, flagged, flag_reason)"
                    " SELECT %s, e.id, e.household_id, a.id, a.changed_at, e.amount, 0, 'BDT', 'pending', '', '',"
                    " false, '' FROM programs_entitlement e JOIN programs_paymentaccount a"
                    " ON a.household_id = e.household_id AND a.fsp_id = %s"
                    " WHERE e.cycle_id = %s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0"
                    " ORDER BY e.household_id",
                    [batch.pk, fsp.pk, cycle.pk],
                )
                cursor.execute(
                    "SELECT count(*), sum(amount), sum(fee), count(*) FILTER (WHERE flagged) FROM programs_payment"
                    " WHERE batch_id = %s",
                    [batch.pk],
                )
                cursor.fetchone()
                seconds = time.perf_counter() - start
            raise Rollback
    except Rollback:
        pass
    with connection.cursor() as cursor:
        cursor.execute("VACUUM ANALYZE programs_payment, programs_paymentbatch")
    return seconds


def warm() -> None:
    """Read the tables the preparation reads once, so that neither the ceiling nor the product pays the cold cache."""
    from django.db import connection
    from psycopg import sql

    with connection.cursor() as cursor:
        for table in ("programs_entitlement", "programs_paymentaccount", "registry_household"):
            cursor.execute(
                sql.SQL("SELECT count(*) FROM {}").format(sql.Identifier(table)).as_string(cursor.connection)
            )


def prepare_and_release(cycle, fsp, preparer, releaser, per_file: int) -> tuple:
    from programs.payments.models import PaymentBatch
    from programs.payments.services import batch_prepare, batch_release

    start = time.perf_counter()
    run = batch_prepare(
        cycle=cycle, fsp=fsp, user=preparer, execution_date=datetime.date.today(), max_per_file=per_file
    )
    run.refresh_from_db()
    prepare_s = time.perf_counter() - start
    if run.status != "succeeded":
        raise SystemExit(f"preparation failed: {run.error}")
    batch = PaymentBatch.objects.get(pk=run.batch_id)
    start = time.perf_counter()
    run = batch_release(batch=batch, user=releaser)
    run.refresh_from_db()
    release_s = time.perf_counter() - start
    if run.status != "succeeded":
        raise SystemExit(f"release failed: {run.error}")
    batch.refresh_from_db()
    return batch, prepare_s, release_s


def bare_transfers(start: int, count: int):
    """Rows of the shape the release writes (bank accounts at one branch, the same names, EndToEndIds, amounts and
    entitlement codes as the database holds), generated in memory."""
    from programs.payments.files.pain001 import Transfer

    for i in range(start, start + count):
        household = i + 1
        yield Transfer(
            end_to_end_id=f"SPM{household:013d}",
            amount=Decimal(3000 + (household % 97) * 25) + Decimal(household % 100).scaleb(-2),
            currency="BDT",
            creditor_name=holder_name(i),
            account_kind="bank",
            account_number=account_number(i),
            routing_number=ROUTING,
            bic="",
            remittance=f"ENT-{household:010d}-{household % 10}",
        )


def header_for(count: int, total: Decimal, sequence: int):
    from programs.payments.files.pain001 import FileHeader, Party

    msg_id = f"PAY-000001-8-A1-F{sequence:03d}"
    return FileHeader(
        msg_id=msg_id,
        created_at=datetime.datetime.now(datetime.UTC).replace(microsecond=0),
        initiating_party="Ministry of Disaster Management and Relief",
        debtor=Party(name="Ministry of Disaster Management and Relief", other_id="0012345678901"),
        payment_info_id=msg_id,
        execution_date=datetime.date.today(),
        nb_of_txs=count,
        ctrl_sum=total,
        currency="BDT",
    )


def bare_baseline(sizes: list[int], folder: Path) -> tuple[float, float]:
    """(seconds of the bare lxml writer over files of the same sizes on the same disk, seconds of the row generator
    alone). Totals are computed beforehand, untimed, as the release has them from SQL."""
    totals, start = [], 0
    for size in sizes:
        totals.append(sum((t.amount for t in bare_transfers(start, size)), Decimal(0)))
        start += size
    generate_s = 0.0
    start = 0
    begin = time.perf_counter()
    for size in sizes:
        for _ in bare_transfers(start, size):
            pass
        start += size
    generate_s = time.perf_counter() - begin
    start = 0
    begin = time.perf_counter()
    for sequence, (size, total) in enumerate(zip(sizes, totals, strict=True), 1):
        with open(folder / f"bare-{sequence:03d}.xml", "wb") as out:
            write_bare(out, header_for(size, total, sequence), bare_transfers(start, size))
        start += size
    bare_s = time.perf_counter() - begin
    for sequence in range(1, len(sizes) + 1):
        (folder / f"bare-{sequence:03d}.xml").unlink()
    return bare_s, generate_s


def rows_alone(batch) -> float:
    """The release's row source alone: BatchRows over every file (database, server-side cursor, decryption)."""
    from django.db import transaction

    from programs.payments.services.files import BatchRows

    files = list(batch.files.order_by("sequence"))
    start = time.perf_counter()
    with transaction.atomic(), BatchRows(batch, files[0].first_payment_id, files[-1].last_payment_id) as rows:
        for file in files:
            for _ in rows.part(file.first_payment_id, file.last_payment_id):
                pass
    return time.perf_counter() - start


def write_camt054(path: Path, batch) -> int:
    """One booked debit per payment of the batch, in the shape mock-bank writes (bench/payment_reports.py), with the
    EndToEndIds and amounts from the database; the first WRONG_AMOUNTS amounts one taka too high, and
    UNKNOWN_REFERENCES entries for payments that do not exist. Returns the number of entries."""
    from django.db import connection

    entries = 0

    def entry(reference: str, amount: str) -> str:
        return (
            f'<Ntry><Amt Ccy="BDT">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd><Sts><Cd>BOOK</Cd></Sts><BookgDt>'
            f"<Dt>2026-12-03</Dt></BookgDt><ValDt><Dt>2026-12-03</Dt></ValDt><AcctSvcrRef>MB-{reference}"
            "</AcctSvcrRef><BkTxCd><Domn><Cd>PMNT</Cd><Fmly><Cd>ICDT</Cd><SubFmlyCd>ESCT</SubFmlyCd></Fmly></Domn>"
            f"</BkTxCd><NtryDtls><TxDtls><Refs><EndToEndId>{reference}</EndToEndId></Refs>"
            f'<Amt Ccy="BDT">{amount}</Amt><CdtDbtInd>DBIT</CdtDbtInd></TxDtls></NtryDtls></Ntry>\n'
        )

    with open(path, "w", encoding="utf-8") as out:
        out.write(
            f"<?xml version='1.0' encoding='utf-8'?>\n<Document xmlns=\"{CAMT054}\"><BkToCstmrDbtCdtNtfctn><GrpHdr>"
            f"<MsgId>MB-C054-{batch.code}</MsgId><CreDtTm>2026-12-03T09:00:12+00:00</CreDtTm></GrpHdr><Ntfctn>"
            f"<Id>MB-C054-{batch.code}</Id><CreDtTm>2026-12-03T09:00:12+00:00</CreDtTm><Acct><Id><Othr>"
            "<Id>0012345678901</Id></Othr></Id><Ccy>BDT</Ccy></Acct>\n"
        )
        with connection.chunked_cursor() as cursor:
            cursor.execute(
                "SELECT end_to_end_id, amount FROM programs_payment WHERE batch_id = %s ORDER BY id", [batch.pk]
            )
            while rows := cursor.fetchmany(5000):
                for reference, amount in rows:
                    if entries < WRONG_AMOUNTS:
                        amount += 1
                    out.write(entry(reference, f"{amount:.2f}"))
                    entries += 1
        for number in range(UNKNOWN_REFERENCES):
            out.write(entry(f"SPMX{number:012d}", "1500.00"))
            entries += 1
        out.write("</Ntfctn></BkToCstmrDbtCdtNtfctn></Document>\n")
    return entries


def reconcile(batch, fsp, user, folder: Path) -> dict:
    from programs.payments.models import PaymentReport
    from programs.payments.selectors import balances
    from programs.payments.services.reconciliation import report_upload
    from programs.payments.services.sending import mark_submitted

    start = time.perf_counter()
    files = list(batch.files.select_related("batch").order_by("sequence"))
    for file in files:
        if not mark_submitted(file=file, receipt={"bench": "given by hand"}, actor=user.get_username()):
            raise SystemExit(f"{file.name} was marked already")
    mark_sent_s = time.perf_counter() - start
    path = folder / "camt054.xml"
    start = time.perf_counter()
    entries = write_camt054(path, batch)
    camt_s = time.perf_counter() - start
    start = time.perf_counter()
    with path.open("rb") as content:
        report, created = report_upload(fsp=fsp, user=user, name="camt054.xml", content=content)
    report.refresh_from_db()
    reconcile_s = time.perf_counter() - start
    if not created or report.status != PaymentReport.Status.SUCCEEDED:
        raise SystemExit(f"the report import failed: {report.error}")
    import_s = (report.finished_at - report.started_at).total_seconds()
    size_mb = path.stat().st_size / 2**20
    path.unlink()
    figures = balances(batch_ids=[batch.pk])
    return {
        "mark_sent_s": mark_sent_s,
        "camt_s": camt_s,
        "reconcile_s": reconcile_s,
        "import_s": import_s,
        "entries": entries,
        "camt_mb": size_mb,
        "result": report.result,
        "issues": report.issues.count(),
        "balances": figures,
    }


def check(batch, payments: int, outcome: dict) -> list[str]:
    """planned = paid + failed + returned + pending to the cent, and the counts this run must give."""
    figures = outcome["balances"]
    parts = ("paid", "failed", "returned", "pending")
    problems = []
    if figures["planned"]["count"] != sum(figures[p]["count"] for p in parts):
        problems.append("planned count is not paid + failed + returned + pending")
    if figures["planned"]["amount"] != sum(figures[p]["amount"] for p in parts):
        problems.append("planned amount is not paid + failed + returned + pending")
    expected = {
        "planned": payments,
        "paid": payments - WRONG_AMOUNTS,
        "pending": WRONG_AMOUNTS,
        "failed": 0,
        "returned": 0,
    }
    for part, count in expected.items():
        if figures[part]["count"] != count:
            problems.append(f"{part}: {figures[part]['count']} payments, expected {count}")
    if figures["planned"]["amount"] != batch.payment_sum:
        problems.append(f"planned {figures['planned']['amount']} BDT, the batch's control sum {batch.payment_sum}")
    if outcome["issues"] != WRONG_AMOUNTS + UNKNOWN_REFERENCES:
        problems.append(f"{outcome['issues']} issues listed, expected {WRONG_AMOUNTS + UNKNOWN_REFERENCES}")
    if outcome["result"].get("applied") != payments - WRONG_AMOUNTS:
        problems.append(f"{outcome['result'].get('applied')} entries applied, expected {payments - WRONG_AMOUNTS}")
    return problems


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--payments", type=int, default=1_000_000)
    parser.add_argument("--per-file", type=int, help="payments per file (default: SPMIS PAYMENT_FILE_MAX_PAYMENTS)")
    parser.add_argument("--no-ceiling", action="store_true", help="skip the hand-written INSERT … SELECT")
    parser.add_argument("--keep", action="store_true", help="keep the bench database (with --reuse: skip the load)")
    parser.add_argument("--reuse", action="store_true", help="reuse a kept bench database and its data")
    parser.add_argument("--load-child", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.load_child:
        setup_django()
        from django.db import connection

        connection.settings_dict["NAME"] = os.environ["BENCH_PAYMENTS_DB"]
        load(args.load_child)
        return

    load_peak = 0.0
    with bench_database("payments", keep=args.keep, reuse=args.reuse) as db_name:
        from django.conf import settings
        from django.contrib.auth import get_user_model

        from programs.models import Cycle
        from programs.payments.files.pain001 import split_sizes
        from programs.payments.models import FinancialServiceProvider
        from spmis.celery import app

        app.conf.task_always_eager = True  # the jobs run in this process, at commit, as without a broker
        users = get_user_model()
        if args.reuse and users.objects.filter(username="bench-pay-prepare").exists():
            reset()
        else:
            load_peak = load_in_child(db_name, args.payments)
        preparer = users.objects.get(username="bench-pay-prepare")
        releaser = users.objects.get(username="bench-pay-release")
        cycle = Cycle.objects.select_related("program").get(name="Bench cycle")
        fsp = FinancialServiceProvider.objects.get(code="CITY")
        payments = cycle.entitlements.count()
        per_file = args.per_file or settings.SPMIS["PAYMENT_FILE_MAX_PAYMENTS"]
        sizes = split_sizes(payments, per_file)
        print(
            f"data: {payments:,} approved cash entitlements with bank accounts; files of {per_file:,} payments "
            f"({len(sizes)} files); load average {os.getloadavg()[0]:.2f} on {os.cpu_count()} cores",
            flush=True,
        )
        with tempfile.TemporaryDirectory(prefix="bench-payments-") as media:
            settings.MEDIA_ROOT = media
            folder = Path(media)
            warm()
            ceiling_s = 0.0 if args.no_ceiling else ceiling(cycle, fsp, preparer)
            clock = Clock()
            clock.install()
            batch, prepare_s, release_s = prepare_and_release(cycle, fsp, preparer, releaser, per_file)
            if batch.payment_count != payments or clock.files != len(sizes):
                raise SystemExit(f"{batch.payment_count} payments in {clock.files} files, expected {payments}")
            total_mb = sum(f.size_bytes for f in batch.files.all()) / 2**20
            per_s = payments / (prepare_s + release_s)
            print(
                f"prepare {prepare_s:.2f} s"
                + (
                    f" (hand-written INSERT … SELECT {ceiling_s:.2f} s, ratio {prepare_s / ceiling_s:.2f})"
                    if ceiling_s
                    else ""
                )
                + f"; release {release_s:.2f} s: {clock.files} files, {total_mb:.0f} MiB, write {clock.write_s:.2f} s"
                f" (rows read from the database and decrypted as they are written), validate {clock.validate_s:.2f} s"
                f" (beside the writing; {clock.wait_s:.2f} s waited for once all were written);"
                f" {per_s:,.0f} payments/s (target ≥ {TARGET_PER_S:,})",
                flush=True,
            )
            rows_s = rows_alone(batch)
            bare_s, generate_s = bare_baseline(sizes, folder)
            ratio = clock.write_s / bare_s
            net_ratio = (clock.write_s - rows_s) / (bare_s - generate_s)
            print(
                f"bare lxml writer, same files from rows generated in memory: {bare_s:.2f} s (generator alone "
                f"{generate_s:.2f} s); release write / bare = {ratio:.2f} (target ≤ {TARGET_WRITE_RATIO}); the "
                f"database rows alone {rows_s:.2f} s, so net of the row sources {net_ratio:.2f}",
                flush=True,
            )
            outcome = reconcile(batch, fsp, releaser, folder)
        reconcile_per_s = outcome["entries"] / outcome["reconcile_s"]
        figures = outcome["balances"]
        print(
            f"files marked submitted in {outcome['mark_sent_s']:.2f} s; camt.054 of {outcome['entries']:,} entries "
            f"({outcome['camt_mb']:.0f} MiB, written in {outcome['camt_s']:.1f} s, not timed) uploaded and imported in "
            f"{outcome['reconcile_s']:.2f} s (the import job {outcome['import_s']:.2f} s): {reconcile_per_s:,.0f} "
            f"entries/s (target ≥ {TARGET_PER_S:,}); result {outcome['result']}",
            flush=True,
        )
        print(
            "balances: "
            + ", ".join(f"{part} {figures[part]['count']:,} ({figures[part]['amount']} BDT)" for part in figures),
            flush=True,
        )
        problems = check(batch, payments, outcome)
        if problems:
            raise SystemExit("check failed: " + "; ".join(problems))
        print("check: planned = paid + failed + returned + pending, counts and issues as expected", flush=True)
        peak = peak_rss_mb()
        loaded = f"the load, in a child process: {load_peak:.0f} MB" if load_peak else "data reused, not loaded"
        print(f"peak RSS: {peak:.0f} MB (target < {TARGET_RSS_MB}; {loaded})", flush=True)
        misses = [
            f"{name}={value:.3g}"
            for name, value, ok in (
                ("payments_per_s", per_s, per_s >= TARGET_PER_S),
                ("write_ratio_vs_lxml", ratio, ratio <= TARGET_WRITE_RATIO),
                ("reconcile_per_s", reconcile_per_s, reconcile_per_s >= TARGET_PER_S),
                ("peak_rss_mb", peak, peak < TARGET_RSS_MB),
            )
            if not ok
        ]
        print("targets: " + ("all met" if not misses else "MISSED " + ", ".join(misses)), flush=True)
        # The last line printed, for scripts: RESULT payments key=value ...
        result_line(
            "payments",
            payments=payments,
            payments_per_s=per_s,
            write_ratio_vs_lxml=ratio,
            reconcile_per_s=reconcile_per_s,
            peak_rss_mb=peak,
            prepare_s=prepare_s,
            release_s=release_s,
            write_s=clock.write_s,
            validate_s=clock.validate_s,
            files=clock.files,
            per_file=per_file,
            bare_lxml_s=bare_s,
            write_net_ratio=net_ratio,
            rows_s=rows_s,
            prepare_ceiling_s=ceiling_s,
            mark_sent_s=outcome["mark_sent_s"],
            reconcile_s=outcome["reconcile_s"],
            entries=outcome["entries"],
            load=round(os.getloadavg()[0], 2),
        )


if __name__ == "__main__":
    main()
