"""Reconciliation: a provider's status files (pain.002, camt.054, pacs.004, a mobile money CSV) applied to the ledger.

A report is a job. The file is read and validated whole first (programs.payments.reports: against the XSD, streamed);
an invalid file is refused with its line and nothing is applied. Its entries then go to a temporary table by COPY,
and a few set-based statements do the rest: each entry is matched by EndToEndId to a payment of this provider;
unknown references, amounts or currencies that differ, and states a payment cannot take from where it is are
listed as the report's issues, never guessed; everything else becomes an event (the ledger refuses a state a payment
has reached already, so importing the same file twice, or two overlapping files at once, adds nothing twice).
"""

from __future__ import annotations

import hashlib
import logging
import os
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction

from programs.payments.models import FinancialServiceProvider, PaymentFile, PaymentReport
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

logger = logging.getLogger(__name__)
UPLOAD_PERMISSION = "programs.add_paymentreport"
TASK = "programs.payment_report"


def _report_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "payments" / "reports"


def _store(folder: Path, content) -> tuple[Path, str]:
    """Write the upload (bytes or a file object, read in blocks) under its SHA-256."""
    folder.mkdir(parents=True, exist_ok=True)
    digest = hashlib.sha256()
    temporary = folder / f".upload-{os.getpid()}-{id(content)}.partial"
    with temporary.open("wb") as out:
        if isinstance(content, bytes | bytearray):
            digest.update(content)
            out.write(content)
        else:
            for block in iter(lambda: content.read(1 << 20), b""):
                digest.update(block)
                out.write(block)
    path = folder / f"{digest.hexdigest()}.report"
    os.replace(temporary, path)
    return path, digest.hexdigest()


def report_upload(
    *, fsp: FinancialServiceProvider, user, name: str, content, source: str = "upload"
) -> tuple[PaymentReport, bool]:
    """Store a status file (bytes or a file object) and queue its import. Returns (report, created): the same file
    a second time is the report already imported, and changes nothing."""
    if user is not None and not user.has_perm(UPLOAD_PERMISSION):
        raise PermissionDenied("Importing status reports needs the report import permission.")
    path, digest = _store(_report_root() / fsp.code, content)
    if path.stat().st_size == 0:
        path.unlink(missing_ok=True)
        raise ValidationError({"file": "The file is empty."})
    existing = PaymentReport.objects.filter(fsp=fsp, sha256=digest).first()
    if existing is not None:
        if existing.status != PaymentReport.Status.FAILED:
            return existing, False
        # A file whose import failed (the provider was fixed, a setting corrected) is imported again, as the same
        # report: the ledger adds nothing twice, so retrying is safe.
        PaymentReport.objects.filter(pk=existing.pk, status=PaymentReport.Status.FAILED).update(
            status=PaymentReport.Status.PENDING, error={}, progress=0, message="Imported again"
        )
        enqueue_on_commit(TASK, existing.pk)
        existing.refresh_from_db()
        return existing, True
    try:
        with transaction.atomic():
            report = PaymentReport.objects.create(
                fsp=fsp,
                name=(name or "report")[:255],
                sha256=digest,
                path=str(path.relative_to(settings.MEDIA_ROOT)),
                source=source,
                created_by=user,
            )
    except IntegrityError:  # the same file uploaded at the same moment by someone else
        return PaymentReport.objects.get(fsp=fsp, sha256=digest), False
    enqueue_on_commit(TASK, report.pk)
    return report, True


STAGING_SQL = """
CREATE TEMP TABLE payment_report_entries (
    line integer, end_to_end_id text, status text, reason_code text, reason text, amount numeric, currency text
) ON COMMIT DROP
"""

# Entries joined to their payment (of this provider), with what is wrong with each, if anything.
MATCHED_SQL = """
CREATE TEMP TABLE payment_report_matched ON COMMIT DROP AS
SELECT s.line, s.end_to_end_id, s.status, s.reason_code, s.reason, s.amount, s.currency,
       p.id AS payment_id, p.batch_id, p.status AS current_status, p.amount AS payment_amount,
       p.currency AS payment_currency,
       CASE
         WHEN p.id IS NULL THEN 'no payment of ' || %(fsp_code)s || ' has this EndToEndId'
         WHEN s.currency <> '' AND s.currency <> p.currency
           THEN 'reported in ' || s.currency || '; the payment is in ' || p.currency
         WHEN s.amount IS NOT NULL AND s.amount <> p.amount
           THEN 'reported amount ' || s.amount::text || ' ' || p.currency || '; the payment is '
                || p.amount::text
         WHEN p.status <> s.status AND NOT programs_payment_may_become(p.status, s.status)
              AND (programs_payment_status_rank(s.status) >= programs_payment_status_rank(p.status)
                   OR p.status IN ('failed', 'cancelled'))
           THEN 'reported ' || s.status || ', but the payment is ' || p.status
                || CASE WHEN p.status = 'failed' THEN ' (' || p.reason_code || '): check with the provider'
                        || ' before re-issuing it' WHEN p.status = 'pending' THEN ': its file was not marked as sent'
                        ELSE '' END
       END AS problem
  FROM payment_report_entries s
  LEFT JOIN (programs_payment p JOIN programs_paymentbatch b ON b.id = p.batch_id AND b.fsp_id = %(fsp)s)
         ON p.end_to_end_id = s.end_to_end_id
"""

ISSUES_SQL = """
INSERT INTO programs_paymentreportissue (report_id, line, reference, payment_id, problem)
SELECT %(report)s, line, left(end_to_end_id, 64), payment_id, left(problem, 255)
  FROM payment_report_matched WHERE problem IS NOT NULL ORDER BY line
"""

EVENTS_SQL = """
INSERT INTO programs_paymentevent (payment_id, batch_id, status, reason_code, reason, amount, report_id, actor)
SELECT DISTINCT ON (payment_id, status) payment_id, batch_id, status, left(reason_code, 8), left(reason, 255),
       amount, %(report)s, %(actor)s
  FROM payment_report_matched
 WHERE problem IS NULL AND programs_payment_may_become(current_status, status)
 ORDER BY payment_id, status, line
"""
# An event the payment has already (another import of the same entries committed since the matching, or was
# running beside this one and has just committed) is not added twice: the ledger's unique (payment, status).
EVENTS_AGAIN_SQL = EVENTS_SQL + "ON CONFLICT (payment_id, status) DO NOTHING"
EVENT_ONCE = "programs_paymentevent_once"


def _rejected_file(report: PaymentReport, info) -> tuple[int, str]:
    """A whole file (or its one payment information block) refused by the provider: every payment in it fails."""
    from programs.payments.services.sending import mark_rejected

    file = (
        PaymentFile.objects.select_related("batch").filter(msg_id=info.original_msg_id, batch__fsp=report.fsp).first()
    )
    if file is None:
        report.issues.create(
            reference=(info.original_msg_id or "")[:64],
            problem=f"the report rejects a file {report.fsp.code} never received from spmis",
        )
        return 0, ""
    mark_rejected(
        file=file,
        reason_code=info.group_reason_code or "",
        reason=info.group_reason_text or "the provider rejected the file",
        actor=f"report {report.pk}",
    )
    return file.nb_of_txs, file.name


def _work(report: PaymentReport, progress) -> JobOutcome:
    from programs.payments.reports import PENDING, StatusFileError, read_status_file

    path = Path(settings.MEDIA_ROOT) / report.path
    actor = f"report {report.pk}"
    with connection.cursor() as cursor:
        # ON COMMIT DROP ends them with the job's transaction; inside a caller's transaction (two imports in one
        # test, a job run from another job) the earlier import's are dropped here.
        cursor.execute("DROP TABLE IF EXISTS payment_report_entries, payment_report_matched")
        cursor.execute(STAGING_SQL)
        with cursor.connection.cursor().copy(
            "COPY payment_report_entries (line, end_to_end_id, status, reason_code, reason, amount, currency)"
            " FROM STDIN"
        ) as copy:

            def stage(entry) -> None:
                if entry.status == PENDING:  # the provider has not decided: nothing to record
                    return
                copy.write_row(
                    (
                        entry.line,
                        entry.end_to_end_id or "",
                        entry.status,
                        entry.reason_code or "",
                        entry.reason_text or "",
                        entry.amount,
                        entry.currency or "",
                    )
                )

            # An ISO file's entries are COPYed as they are read, while the database takes them in, and a large
            # file's XSD verdict, which a second process gives meanwhile, is waited for only once the ledger is
            # written (the two cores share the work): if the file is then refused, the job's transaction is rolled
            # back, COPY, issues and events with it, so nothing of it is kept.
            try:
                status_file = read_status_file(path, name=report.name, sink=stage, verdict_later=True)
            except StatusFileError as error:
                raise ValidationError({"file": f"Refused, nothing applied: {error}"}) from None
            if not status_file.sunk:
                for entry in status_file.entries():
                    stage(entry)
        try:
            info = status_file.info
            report.kind, report.msg_id = info.kind, (info.msg_id or "")[:64]
            progress(30, "Read; matching entries")
            rejected, rejected_file = 0, ""
            if info.file_rejected or info.rejected_batches:
                rejected, rejected_file = _rejected_file(report, info)
            cursor.execute("ANALYZE payment_report_entries")
            cursor.execute(MATCHED_SQL, {"fsp": report.fsp_id, "fsp_code": report.fsp.code})
            progress(60, "Writing the ledger")
            cursor.execute(ISSUES_SQL, {"report": report.pk})
            issues = cursor.rowcount
            applied = _write_events(cursor, {"report": report.pk, "actor": actor})
            cursor.execute("SELECT count(*) FROM payment_report_matched")
            entries_count = cursor.fetchone()[0]
            cursor.execute("SELECT DISTINCT batch_id FROM payment_report_matched WHERE batch_id IS NOT NULL")
            batches = [row[0] for row in cursor.fetchall()]
            status_file.confirm()
        except StatusFileError as error:
            raise ValidationError({"file": f"Refused, nothing applied: {error}"}) from None
        finally:
            status_file.close()
    _close_batches(batches)
    report.save(update_fields=["kind", "msg_id"])
    unchanged = entries_count - applied - issues
    result = {
        "kind": info.kind,
        "entries": entries_count,
        "applied": applied,
        "unchanged": unchanged,
        "issues": report.issues.count(),
        "file_rejected": rejected_file,
        "payments_failed_with_file": rejected,
        "duplicate_refusal": info.duplicate_refusal,
    }
    return JobOutcome(result=result, message=f"{applied} applied, {unchanged} unchanged, {result['issues']} to check")


def _write_events(cursor, params: dict) -> int:
    """The events of the matched entries; how many were written. Tried first without ON CONFLICT, whose check of each
    row against the unique index (speculative insertion) is a third of the INSERT's time: an event already in the
    ledger then raises, the attempt is rolled back to its savepoint, and the entries are written again skipping
    those, which is what ON CONFLICT DO NOTHING does at once."""
    try:
        with transaction.atomic():
            cursor.execute(EVENTS_SQL, params)
            return cursor.rowcount
    except IntegrityError as error:
        if getattr(getattr(error.__cause__, "diag", None), "constraint_name", None) != EVENT_ONCE:
            raise
    cursor.execute(EVENTS_AGAIN_SQL, params)
    return cursor.rowcount


def _close_batches(batch_ids: list[int]) -> None:
    """Batches whose every payment reached its end (paid, failed, returned or cancelled) are closed, and a cycle all
    of whose entitlements are cash and paid becomes distributed."""
    if not batch_ids:
        return
    with connection.cursor() as cursor:
        cursor.execute(
            """UPDATE programs_paymentbatch b SET status = 'closed'
                WHERE b.id = ANY(%s) AND b.status IN ('released', 'sent')
                  AND NOT EXISTS (SELECT 1 FROM programs_payment p WHERE p.batch_id = b.id
                                  AND p.status IN ('pending', 'sent', 'accepted'))""",
            [batch_ids],
        )
        # A cycle whose every approved entitlement is cash and paid has been distributed.
        cursor.execute(
            """UPDATE programs_cycle c SET state = 'distributed', updated_at = now()
                WHERE c.id IN (SELECT cycle_id FROM programs_paymentbatch WHERE id = ANY(%s))
                  AND c.state = 'approved'
                  AND NOT EXISTS (SELECT 1 FROM programs_entitlement e WHERE e.cycle_id = c.id AND e.status = 'approved'
                                  AND (e.kind <> 'cash' OR NOT EXISTS (
                                      SELECT 1 FROM programs_payment p WHERE p.entitlement_id = e.id
                                         AND p.status = 'paid')))""",
            [batch_ids],
        )


def report_execute(*, report_id: int) -> PaymentReport:
    return run_job(PaymentReport, report_id, _work, error_field="file", progress_every=0.5)


def reports_fetch(*, fsp: FinancialServiceProvider, user) -> list[PaymentReport]:
    """Collect the provider's new status files through its connector and queue each one's import."""
    from programs.payments.services.sending import connector_of

    if not user.has_perm(UPLOAD_PERMISSION):
        raise PermissionDenied("Importing status reports needs the report import permission.")
    from programs.payments.connectors import ConnectorError

    connector = connector_of(fsp)
    try:
        waiting = list(connector.fetch_reports())
    except ConnectorError as error:
        raise ValidationError({"fsp": f"{fsp.code} could not be reached for its status files: {error}"}) from None
    reports, taken = [], []
    for incoming in waiting:
        content = incoming.content if incoming.content is not None else incoming.path.open("rb")
        try:
            report, created = report_upload(fsp=fsp, user=user, name=incoming.name, content=content, source="connector")
        finally:
            if incoming.content is None:
                content.close()
        taken.append(incoming.id)
        if created:
            reports.append(report)
    # Stored (and queued) before the provider may forget them: a crash in between offers them again, and the same
    # file is the same report.
    transaction.on_commit(lambda: _acknowledge(connector, taken, fsp))
    return reports


def _acknowledge(connector, report_ids: list[str], fsp: FinancialServiceProvider) -> None:
    """Tell the provider it may forget the reports; if that fails they are offered again next time, and importing
    the same file again changes nothing."""
    from programs.payments.connectors import ConnectorError

    try:
        connector.acknowledge(report_ids)
    except ConnectorError:
        logger.warning(
            "%s: acknowledging %d status files failed; they will be offered again", fsp.code, len(report_ids)
        )
