"""Payment batches: prepare (one person), release (another), cancel.

A batch holds the payments of one cycle through one provider. Preparing it is a job: one INSERT … SELECT per
household range makes a pending payment for every approved cash entitlement of the cycle whose household has an
account at the provider and no live payment yet, inside the job's one transaction, so a crash or a redelivered task
leaves all of them or none, and the database's unique indexes (one payment per batch and entitlement; one live
payment per entitlement) make a second copy impossible whoever runs twice.

Releasing is a second job, started by someone other than the preparer (service, and a check constraint): it checks
the control totals and the accounts again, writes the files (programs.payments.files), validates each against the
XSD, and only then marks the batch released. A file that does not validate is never released.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from decimal import Decimal
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from programs.models import Cycle
from programs.money import minor_units
from programs.payments.models import (
    FinancialServiceProvider,
    PaymentBatch,
    PaymentBatchRun,
    PaymentFile,
    PaymentStatus,
)
from programs.services.programs import require_program_scope
from spmis.core.jobs import JobOutcome, run_job
from spmis.core.tasks import enqueue_on_commit

PREPARE_PERMISSION = "programs.add_paymentbatch"
RELEASE_PERMISSION = "programs.release_paymentbatch"
TASK = "programs.payment_batch_run"
CHUNKS = 2

# ISO 20022 reasons that say the beneficiary's account is wrong: a payment that failed (or came back) for one of them
# is re-issued only once the account was corrected (an approved change request) after the failure. Any other
# reason (the program's own account short of funds, a file problem) may be re-issued as it is.
ACCOUNT_REASONS = (
    "AC01",  # account identifier incorrect
    "AC02",  # debtor account number invalid
    "AC03",  # creditor account number invalid
    "AC04",  # account closed
    "AC06",  # account blocked
    "AC13",  # debtor account type invalid
    "AG01",  # transaction forbidden on this account
    "BE01",  # account holder does not match
    "BE04",  # creditor address missing or incorrect
    "MD07",  # account holder deceased
    "RC01",  # bank identifier incorrect
    "RR01",  # account or identification of the debtor missing
    "R02",
    "R03",
)


def _file_root() -> Path:
    return Path(settings.MEDIA_ROOT) / "payments"


def _lock(batch: PaymentBatch) -> PaymentBatch:
    return PaymentBatch.objects.select_for_update().select_related("fsp", "cycle__program").get(pk=batch.pk)


def _start(batch: PaymentBatch, kind: str, user) -> PaymentBatchRun:
    try:
        with transaction.atomic():
            run = PaymentBatchRun.objects.create(batch=batch, kind=kind, created_by=user)
    except IntegrityError:
        raise ValidationError({"batch": f"A {kind} of batch {batch.code} is running already; wait for it."}) from None
    enqueue_on_commit(TASK, run.pk)
    return run


@transaction.atomic
def batch_prepare(
    *,
    cycle: Cycle,
    fsp: FinancialServiceProvider,
    user,
    execution_date: datetime.date | None = None,
    max_per_file: int | None = None,
) -> PaymentBatchRun:
    """Open a batch for the cycle's approved cash entitlements paid through `fsp`, and queue its preparation."""
    if not user.has_perm(PREPARE_PERMISSION):
        raise PermissionDenied("Preparing payment batches needs the batch preparation permission.")
    cycle = Cycle.objects.select_for_update().select_related("program").get(pk=cycle.pk)
    require_program_scope(user, cycle.program)
    if cycle.state not in (Cycle.State.APPROVED, Cycle.State.DISTRIBUTED):
        raise ValidationError({"cycle": f"Payments are made for approved cycles; cycle {cycle.name} is {cycle.state}."})
    if not fsp.active:
        raise ValidationError({"fsp": f"Provider {fsp.code} is not active."})
    if fsp.currency != cycle.program.currency:
        raise ValidationError(
            {"fsp": f"Provider {fsp.code} pays in {fsp.currency}; the program pays in {cycle.program.currency}."}
        )
    if max_per_file is not None and not 1 <= max_per_file <= 1_000_000:
        raise ValidationError({"max_per_file": "Between 1 and 1,000,000 payments per file."})
    execution_date = execution_date or timezone.localdate()
    if execution_date < timezone.localdate():
        raise ValidationError({"execution_date": f"{execution_date} is in the past."})
    if PaymentBatch.objects.filter(cycle=cycle, fsp=fsp, status__in=["preparing", "prepared"]).exists():
        raise ValidationError({"fsp": "This cycle already has a batch for this provider waiting for release."})
    batch = PaymentBatch.objects.create(
        cycle=cycle,
        program=cycle.program,
        fsp=fsp,
        currency=cycle.program.currency,
        execution_date=execution_date,
        max_per_file=max_per_file or settings.SPMIS["PAYMENT_FILE_MAX_PAYMENTS"],
        prepared_by=user,
    )
    return _start(batch, PaymentBatchRun.Kind.PREPARE, user)


def _household_ranges(cursor, cycle_id: int) -> list[tuple[int, int]]:
    cursor.execute(
        "SELECT min(household_id), max(household_id) FROM programs_entitlement WHERE cycle_id = %s", [cycle_id]
    )
    low, high = cursor.fetchone()
    if low is None:
        return []
    step = max(1, (high - low + CHUNKS) // CHUNKS)
    return [(start, min(start + step, high + 1)) for start in range(low, high + 1, step)]


# Computed once per preparation (not once per household range): the last payment of each entitlement of the cycle
# before this batch, which decides whether it may be paid again, and the blind index values on two households.
BEFORE_PREPARE_SQL = (
    "DROP TABLE IF EXISTS payment_prepare_earlier, payment_prepare_shared",
    """CREATE TEMP TABLE payment_prepare_earlier ON COMMIT DROP AS
       SELECT DISTINCT ON (p.entitlement_id) p.entitlement_id, p.id, p.batch_id, p.status, p.reason_code, p.status_at
         FROM programs_payment p JOIN programs_paymentbatch b ON b.id = p.batch_id
        WHERE b.cycle_id = %(cycle)s
        ORDER BY p.entitlement_id, p.id DESC""",
    """CREATE TEMP TABLE payment_prepare_shared ON COMMIT DROP AS
       SELECT blind_index FROM programs_paymentaccount GROUP BY blind_index HAVING count(*) > 1""",
    "ANALYZE payment_prepare_earlier",
    "ANALYZE payment_prepare_shared",
)

# One statement per household range, joined (by hash) to the two tables above. No ON CONFLICT: a household has one
# account, so two providers' batches never hold the same entitlement, and one provider's next batch of the cycle is
# refused while one waits for release; a conflict is an error (_prepare says so), and ON CONFLICT's check of every
# unique index before each row cost a third of a million-payment preparation. No ORDER BY either: the entitlements
# come in household order from their household index (the hash joins keep the order they are probed in), and a
# sort of half a million rows went to disk.
PREPARE_SQL = """
WITH candidates AS (
    SELECT e.id AS entitlement_id, e.household_id, e.amount, a.id AS account_id, a.changed_at,
           s.blind_index IS NOT NULL AS shared, last.id AS last_id, last.status AS last_status,
           last.reason_code AS last_reason, last.status_at AS last_at
      FROM programs_entitlement e
      JOIN programs_paymentaccount a ON a.household_id = e.household_id AND a.fsp_id = %(fsp)s
      LEFT JOIN payment_prepare_shared s ON s.blind_index = a.blind_index
      LEFT JOIN payment_prepare_earlier last ON last.entitlement_id = e.id
     WHERE e.cycle_id = %(cycle)s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0
       AND e.household_id >= %(low)s AND e.household_id < %(high)s
)
INSERT INTO programs_payment (batch_id, entitlement_id, household_id, account_id, account_changed_at, amount, fee,
                              currency, status, reason_code, reason, flagged, flag_reason, reissue_of_id)
SELECT %(batch)s, c.entitlement_id, c.household_id, c.account_id, c.changed_at, c.amount,
       round(c.amount * %(fee_percent)s / 100 + %(fee_fixed)s, %(decimals)s), %(currency)s, 'pending', '', '',
       c.changed_at >= %(changed_since)s OR c.shared,
       concat_ws('; ',
                 CASE WHEN c.changed_at >= %(changed_since)s
                      THEN 'account changed on ' || to_char(c.changed_at, 'YYYY-MM-DD') END,
                 CASE WHEN c.shared THEN 'the same account is on another household' END),
       CASE WHEN c.last_status IN ('failed', 'returned') THEN c.last_id END
  FROM candidates c
 WHERE (c.last_id IS NULL OR c.last_status IN ('failed', 'returned', 'cancelled'))
   AND NOT coalesce(c.last_status IN ('failed', 'returned') AND c.last_reason = ANY(%(account_reasons)s)
                    AND c.changed_at <= c.last_at, false)
   AND (%(limit)s::numeric IS NULL OR c.amount <= %(limit)s::numeric)
"""

# A cash agent pays households in person: every approved cash entitlement of a household with no payment account
# (those are paid through their provider) inside the agent's areas (all areas when it names none). Two agents may
# serve the same area: ON CONFLICT leaves a household the other agent's batch took meanwhile to that batch.
CASH_PREPARE_SQL = """
WITH candidates AS (
    SELECT e.id AS entitlement_id, e.household_id, e.amount, last.id AS last_id, last.status AS last_status
      FROM programs_entitlement e
      JOIN registry_household h ON h.id = e.household_id
      LEFT JOIN payment_prepare_earlier last ON last.entitlement_id = e.id
     WHERE e.cycle_id = %(cycle)s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0
       AND e.household_id >= %(low)s AND e.household_id < %(high)s
       AND NOT EXISTS (SELECT 1 FROM programs_paymentaccount a WHERE a.household_id = e.household_id)
       AND (cardinality(%(areas)s::bigint[]) = 0
            OR EXISTS (SELECT 1 FROM geo_area ha WHERE ha.id = h.area_id AND ha.lineage && %(areas)s::bigint[]))
)
INSERT INTO programs_payment (batch_id, entitlement_id, household_id, account_id, account_changed_at, amount, fee,
                              currency, status, reason_code, reason, flagged, flag_reason, reissue_of_id)
SELECT %(batch)s, c.entitlement_id, c.household_id, NULL, NULL, c.amount,
       round(c.amount * %(fee_percent)s / 100 + %(fee_fixed)s, %(decimals)s), %(currency)s, 'pending', '', '',
       false, '', CASE WHEN c.last_status IN ('failed', 'returned') THEN c.last_id END
  FROM candidates c
 WHERE (c.last_id IS NULL OR c.last_status IN ('failed', 'returned', 'cancelled'))
   AND (%(limit)s::numeric IS NULL OR c.amount <= %(limit)s::numeric)
 ORDER BY c.household_id
ON CONFLICT DO NOTHING
"""

CASH_HELD_SQL = """
SELECT count(*) FILTER (WHERE EXISTS (SELECT 1 FROM programs_paymentaccount a WHERE a.household_id = e.household_id))
           AS paid_through_an_account,
       count(*) FILTER (WHERE cardinality(%(areas)s::bigint[]) > 0 AND NOT EXISTS (
           SELECT 1 FROM registry_household h JOIN geo_area ha ON ha.id = h.area_id
            WHERE h.id = e.household_id AND ha.lineage && %(areas)s::bigint[])) AS outside_the_agents_areas,
       count(*) FILTER (WHERE %(limit)s::numeric IS NOT NULL AND e.amount > %(limit)s::numeric)
           AS over_transaction_limit
  FROM programs_entitlement e
 WHERE e.cycle_id = %(cycle)s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0
"""

ELIGIBLE_SQL = """
SELECT count(*) FROM programs_entitlement e
 WHERE e.cycle_id = %(cycle)s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0
"""

# What the batch left out, and why (after the insert: "already paid" counts the payments just made elsewhere too).
HELD_SQL = """
SELECT count(*) FILTER (WHERE a.id IS NULL AND o.id IS NULL) AS no_account,
       count(*) FILTER (WHERE a.id IS NOT NULL AND last.status IN ('failed', 'returned')
                          AND last.reason_code = ANY(%(account_reasons)s) AND a.changed_at <= last.status_at)
           AS account_not_corrected,
       count(*) FILTER (WHERE a.id IS NOT NULL AND %(limit)s::numeric IS NOT NULL AND e.amount > %(limit)s::numeric)
           AS over_transaction_limit,
       count(*) FILTER (WHERE last.batch_id <> %(batch)s
                          AND last.status NOT IN ('failed', 'returned', 'cancelled')) AS paid_or_in_another_batch
  FROM programs_entitlement e
  LEFT JOIN programs_paymentaccount a ON a.household_id = e.household_id AND a.fsp_id = %(fsp)s
  LEFT JOIN programs_paymentaccount o ON o.household_id = e.household_id AND o.fsp_id <> %(fsp)s
  LEFT JOIN payment_prepare_earlier last ON last.entitlement_id = e.id
 WHERE e.cycle_id = %(cycle)s AND e.kind = 'cash' AND e.status = 'approved' AND e.amount > 0
"""


def _prepare(run: PaymentBatchRun, progress) -> JobOutcome:
    batch = _lock(run.batch)
    if batch.status != PaymentBatch.Status.PREPARING:
        return JobOutcome(result={"payments": batch.payment_count}, message=f"Batch {batch.code} is {batch.status}")
    fsp = batch.fsp
    params = {
        "batch": batch.pk,
        "cycle": batch.cycle_id,
        "fsp": fsp.pk,
        "fee_percent": fsp.fee_percent,
        "fee_fixed": fsp.fee_fixed,
        "decimals": minor_units(batch.currency),
        "currency": batch.currency,
        "changed_since": timezone.now() - datetime.timedelta(days=settings.SPMIS["PAYMENT_ACCOUNT_CHANGE_DAYS"]),
        "account_reasons": list(ACCOUNT_REASONS),
        "limit": fsp.max_per_transaction,
    }
    cash = fsp.kind == FinancialServiceProvider.Kind.CASH_AGENT
    if cash:
        params["areas"] = list(fsp.areas.values_list("id", flat=True))
    with connection.cursor() as cursor:
        for statement in BEFORE_PREPARE_SQL:
            cursor.execute(statement, params if "%(" in statement else None)
        ranges = _household_ranges(cursor, batch.cycle_id)
        for number, (low, high) in enumerate(ranges, 1):
            try:
                cursor.execute(CASH_PREPARE_SQL if cash else PREPARE_SQL, {**params, "low": low, "high": high})
            except IntegrityError as error:  # the unique indexes: one live payment per entitlement
                raise ValidationError(
                    {
                        "batch": "Another batch took some of these entitlements while this one was prepared "
                        f"({error.__cause__ or error}); prepare the batch again."
                    }
                ) from None
            progress(5 + 80 * number // len(ranges), f"Payments: part {number} of {len(ranges)}")
        cursor.execute(
            "SELECT count(*), coalesce(sum(amount), 0), coalesce(sum(fee), 0), count(*) FILTER (WHERE flagged)"
            " FROM programs_payment WHERE batch_id = %s",
            [batch.pk],
        )
        count, total, fees, flagged = cursor.fetchone()
        cursor.execute(ELIGIBLE_SQL, params)
        held = {}
        if count < cursor.fetchone()[0]:  # some were left out: say why (a pass over the cycle's entitlements)
            cursor.execute(CASH_HELD_SQL if cash else HELD_SQL, params)
            held = dict(zip([column.name for column in cursor.description], cursor.fetchone(), strict=True))
    if count == 0:
        reasons = ", ".join(f"{n} {reason.replace('_', ' ')}" for reason, n in held.items() if n) or "none approved"
        raise ValidationError({"batch": f"Nothing to pay through {fsp.code} in this cycle ({reasons})."})
    if fsp.max_per_batch is not None and total > fsp.max_per_batch:
        raise ValidationError(
            {
                "batch": f"The batch would total {total} {batch.currency}; {fsp.code} takes at most "
                f"{fsp.max_per_batch} per batch. Lower the limit's use by splitting the cycle's payments "
                "between providers, or raise the provider's limit."
            }
        )
    batch.payment_count, batch.payment_sum, batch.fee_sum, batch.flagged_count = count, total, fees, flagged
    batch.held = {reason: n for reason, n in held.items() if n}
    batch.status = PaymentBatch.Status.PREPARED
    batch.prepared_at = timezone.now()
    batch.save()
    return JobOutcome(
        result={"payments": count, "amount": str(total), "fees": str(fees), "flagged": flagged, "held": batch.held},
        message=f"{count} payments, {total} {batch.currency}",
    )


@transaction.atomic
def batch_release(*, batch: PaymentBatch, user) -> PaymentBatchRun:
    """Queue the release of a prepared batch: by someone holding the release permission who did not prepare it."""
    batch = _lock(batch)
    if not user.has_perm(RELEASE_PERMISSION):
        raise PermissionDenied("Releasing payment batches needs the finance release permission.")
    if batch.prepared_by_id == user.pk:
        raise ValidationError({"released_by": "You prepared this batch: another person must release it (four eyes)."})
    if batch.status != PaymentBatch.Status.PREPARED:
        raise ValidationError({"status": f"Only prepared batches are released; {batch.code} is {batch.status}."})
    return _start(batch, PaymentBatchRun.Kind.RELEASE, user)


@dataclass(frozen=True)
class FileSlice:
    """One file's share of a batch: its payments by id range, with their own count and sum."""

    sequence: int
    first_id: int
    last_id: int
    count: int
    total: Decimal


def file_slices(batch: PaymentBatch) -> list[FileSlice]:
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT f, min(id), max(id), count(*), sum(amount) FROM (
                   SELECT id, amount, (row_number() OVER (ORDER BY id) - 1) / %s AS f
                     FROM programs_payment WHERE batch_id = %s AND status <> 'cancelled') numbered
               GROUP BY f ORDER BY f""",
            [batch.max_per_file, batch.pk],
        )
        return [FileSlice(int(f) + 1, low, high, count, total) for f, low, high, count, total in cursor.fetchall()]


def msg_id(batch: PaymentBatch, attempt: int, sequence: int) -> str:
    """Deterministic per batch, attempt and file: writing the same attempt again gives the same MsgId, which a
    provider refuses as a duplicate rather than paying twice."""
    return f"{batch.code}-A{attempt}-F{sequence:03d}"


def _check_totals(batch: PaymentBatch, slices: list[FileSlice]) -> None:
    count, total = sum(part.count for part in slices), sum((part.total for part in slices), Decimal(0))
    if (count, total) != (batch.payment_count, batch.payment_sum):
        raise ValidationError(
            {
                "batch": f"The control totals no longer hold: {count} payments of {total} {batch.currency} now, "
                f"{batch.payment_count} of {batch.payment_sum} when prepared. Cancel the batch and prepare it "
                "again."
            }
        )


def _accounts_changed(batch: PaymentBatch) -> ValidationError:
    """The refusal of a release that met an account changed since the batch was prepared, naming households."""
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT p.household_id FROM programs_payment p JOIN programs_paymentaccount a ON a.id = p.account_id
                WHERE p.batch_id = %s AND (a.changed_at <> p.account_changed_at OR a.fsp_id <> %s)
                ORDER BY p.household_id LIMIT 6""",
            [batch.pk, batch.fsp_id],
        )
        changed = [row[0] for row in cursor.fetchall()]
    listed = ", ".join(str(household) for household in changed[:5]) + (" and more" if len(changed) > 5 else "")
    return ValidationError(
        {
            "batch": f"Accounts changed after the batch was prepared (households {listed}): the batch pays the "
            "accounts that were reviewed. Cancel it and prepare it again."
        }
    )


def _record_file(batch: PaymentBatch, part: FileSlice, identifier: str, written) -> PaymentFile:
    return PaymentFile.objects.create(
        batch=batch,
        attempt=batch.attempt,
        sequence=part.sequence,
        msg_id=identifier,
        file_format=batch.fsp.file_format,
        name=written.name,
        path=str(written.path.relative_to(settings.MEDIA_ROOT)),
        first_payment_id=part.first_id,
        last_payment_id=part.last_id,
        nb_of_txs=part.count,
        ctrl_sum=part.total,
        sha256=written.sha256,
        size_bytes=written.size_bytes,
    )


def _release(run: PaymentBatchRun, progress) -> JobOutcome:
    from programs.payments.services.files import AccountsChanged, BatchRows, FileWriting

    batch = _lock(run.batch)
    if batch.status != PaymentBatch.Status.PREPARED:
        return JobOutcome(result={"files": batch.files.count()}, message=f"Batch {batch.code} is {batch.status}")
    if run.created_by_id == batch.prepared_by_id:  # the database refuses it too (programs_batch_four_eyes)
        raise ValidationError({"released_by": "The person who prepared a batch cannot release it."})
    slices = file_slices(batch)
    _check_totals(batch, slices)
    batch.attempt += 1
    folder = _file_root() / batch.code
    folder.mkdir(parents=True, exist_ok=True)
    # The accounts are checked against those the batch was prepared with as the rows are read: a changed one stops
    # the release before any file has its name.
    try:
        with (
            BatchRows(batch, slices[0].first_id, slices[-1].last_id) as rows,
            FileWriting(batch, folder, files=len(slices)) as files,
        ):
            for number, part in enumerate(slices, 1):
                files.write(part, msg_id(batch, batch.attempt, part.sequence), rows.part(part.first_id, part.last_id))
                progress(5 + 85 * number // len(slices), f"File {number} of {len(slices)} written")
            published = files.publish()
    except AccountsChanged:
        raise _accounts_changed(batch) from None
    for part, written in zip(slices, published, strict=True):
        _record_file(batch, part, msg_id(batch, batch.attempt, part.sequence), written)
    progress(95, f"{len(slices)} files valid")
    batch.status = PaymentBatch.Status.RELEASED
    batch.released_by_id = run.created_by_id
    batch.released_at = timezone.now()
    batch.save()
    return JobOutcome(
        result={"files": len(slices), "attempt": batch.attempt},
        message=f"{len(slices)} file(s) written and valid; ready to send",
    )


@transaction.atomic
def batch_cancel(*, batch: PaymentBatch, user, reason: str) -> PaymentBatch:
    """Cancel a batch not yet released: its payments are cancelled through the ledger, freeing the entitlements."""
    batch = _lock(batch)
    require_program_scope(user, batch.program)
    if not reason.strip():
        raise ValidationError({"reason": "Say why the batch is cancelled."})
    if batch.status not in (PaymentBatch.Status.PREPARED, PaymentBatch.Status.PREPARING):
        raise ValidationError(
            {"status": f"Only batches not yet released are cancelled; {batch.code} is {batch.status}."}
        )
    if batch.runs.filter(status__in=["pending", "running"]).exists():
        raise ValidationError({"batch": "A step of this batch is running; wait for it to end."})
    from programs.payments.services.ledger import record_events

    record_events(
        batch=batch,
        status=PaymentStatus.CANCELLED,
        where="status = 'pending'",
        reason=reason[:255],
        actor=user.get_username(),
    )
    batch.status = PaymentBatch.Status.CANCELLED
    batch.cancel_reason = reason[:255]
    batch.save()
    return batch


def batch_run_execute(*, run_id: int) -> PaymentBatchRun:
    """Run one step of a batch (the Celery task's body)."""
    run = PaymentBatchRun.objects.get(pk=run_id)
    if run.kind == PaymentBatchRun.Kind.SEND:
        from programs.payments.services.sending import send_execute

        return send_execute(run_id=run_id)
    work = _prepare if run.kind == PaymentBatchRun.Kind.PREPARE else _release
    run = run_job(PaymentBatchRun, run_id, work, error_field="batch", progress_every=0.5)
    if run.kind == PaymentBatchRun.Kind.PREPARE and run.status == PaymentBatchRun.Status.FAILED:
        # A batch whose preparation failed holds nothing: close it so that a new one can be prepared.
        PaymentBatch.objects.filter(pk=run.batch_id, status=PaymentBatch.Status.PREPARING).update(
            status=PaymentBatch.Status.CANCELLED, cancel_reason="Preparation failed: " + _first_error(run)
        )
    return run


def _first_error(run: PaymentBatchRun) -> str:
    for messages in (run.error or {}).values():
        if messages:
            return str(messages[0])[:200]
    return "see the run"


__all__ = [
    "ACCOUNT_REASONS",
    "batch_cancel",
    "batch_prepare",
    "batch_release",
    "batch_run_execute",
    "file_slices",
    "msg_id",
]
