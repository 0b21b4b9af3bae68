"""Sending a released batch's files to the provider, exactly once per file.

Each file is marked `sending` (committed) before it is handed to the connector, and `submitted` with its 'sent'
events (one transaction) once the provider has it. A worker that dies in between leaves the file `sending`; the next
attempt does not resend it blindly: it asks the provider for the file's MsgId first (connector.status) and only
resends when the provider has never seen it, with the same bytes and the same MsgId, which a provider refuses as a
duplicate rather than paying twice. A timeout is resolved the same way: by asking, never by resending.
"""

from __future__ import annotations

from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from programs.payments.models import FinancialServiceProvider, PaymentBatch, PaymentBatchRun, PaymentFile
from programs.payments.services.batches import RELEASE_PERMISSION, _start
from programs.payments.services.ledger import record_events
from spmis.core.jobs import JobOutcome, run_job


@transaction.atomic
def batch_send(*, batch: PaymentBatch, user) -> PaymentBatchRun:
    """Queue the sending of a released batch's files (or of those an earlier send did not get through)."""
    batch = PaymentBatch.objects.select_for_update().select_related("fsp").get(pk=batch.pk)
    if not user.has_perm(RELEASE_PERMISSION):
        raise PermissionDenied("Sending payment files needs the finance release permission.")
    if batch.status not in (PaymentBatch.Status.RELEASED, PaymentBatch.Status.SENT):
        raise ValidationError({"status": f"Only released batches are sent; {batch.code} is {batch.status}."})
    if batch.fsp.transport == FinancialServiceProvider.Transport.DOWNLOAD:
        raise ValidationError(
            {
                "transport": f"{batch.fsp.code} takes files by hand: download each file, give it to the provider, "
                "then mark it submitted."
            }
        )
    if not _unsent(batch).exists():
        raise ValidationError({"batch": f"Every file of {batch.code} is with the provider already."})
    return _start(batch, PaymentBatchRun.Kind.SEND, user)


def _unsent(batch: PaymentBatch):
    return batch.files.filter(
        attempt=batch.attempt, status__in=[PaymentFile.Status.VALIDATED, PaymentFile.Status.SENDING]
    )


def mark_submitted(*, file: PaymentFile, receipt: dict, actor: str = "") -> bool:
    """The provider has the file: store it and move its payments to 'sent', in one transaction. False when the file
    was marked already (by another worker, or by hand)."""
    with transaction.atomic():
        updated = PaymentFile.objects.filter(
            pk=file.pk, status__in=[PaymentFile.Status.VALIDATED, PaymentFile.Status.SENDING]
        ).update(status=PaymentFile.Status.SUBMITTED, submitted_at=timezone.now(), receipt=receipt)
        if not updated:
            return False
        record_events(
            batch=file.batch,
            status="sent",
            where="id BETWEEN %s AND %s AND status = 'pending'",
            params=[file.first_payment_id, file.last_payment_id],
            file_id=file.pk,
            actor=actor,
        )
        _close_sent(file.batch_id)
    return True


def mark_rejected(*, file: PaymentFile, reason_code: str, reason: str, actor: str = "") -> None:
    """The provider refused the whole file: its payments fail with the provider's reason (and may be re-issued)."""
    with transaction.atomic():
        PaymentFile.objects.filter(pk=file.pk).update(status=PaymentFile.Status.REJECTED)
        record_events(
            batch=file.batch,
            status="failed",
            where="id BETWEEN %s AND %s",
            params=[file.first_payment_id, file.last_payment_id],
            reason_code=reason_code[:8],
            reason=reason,
            file_id=file.pk,
            actor=actor,
        )
        _close_sent(file.batch_id)


def _close_sent(batch_id: int) -> None:
    batch = PaymentBatch.objects.select_for_update().get(pk=batch_id)
    if batch.status == PaymentBatch.Status.RELEASED and not _unsent(batch).exists():
        batch.status = PaymentBatch.Status.SENT
        batch.save(update_fields=["status"])


@transaction.atomic
def file_mark_submitted(*, file: PaymentFile, user, reference: str = "") -> PaymentFile:
    """A file given to the provider by hand (download transport): a finance officer says so."""
    if not user.has_perm(RELEASE_PERMISSION):
        raise PermissionDenied("Marking payment files sent needs the finance release permission.")
    file = PaymentFile.objects.select_related("batch").get(pk=file.pk)
    if file.status not in (PaymentFile.Status.VALIDATED, PaymentFile.Status.SENDING):
        raise ValidationError({"status": f"File {file.name} is {file.status}."})
    if file.attempt != file.batch.attempt:
        raise ValidationError({"file": f"File {file.name} was replaced by a later attempt; send that one."})
    mark_submitted(
        file=file, receipt={"by_hand": user.get_username(), "reference": reference[:120]}, actor=user.get_username()
    )
    file.refresh_from_db()
    return file


def connector_of(fsp: FinancialServiceProvider):
    """The provider's connector, from its transport and `connection` settings (a bad setting names its field)."""
    from programs.payments.connectors import ConnectorConfigError, connector_for

    try:
        return connector_for({**(fsp.connection or {}), "transport": fsp.transport})
    except ConnectorConfigError as error:
        raise ValidationError({f"connection.{error.field}": f"{fsp.code}: {error.problem}"}) from None


def _send(run: PaymentBatchRun, progress) -> JobOutcome:
    from programs.payments.connectors import ConnectorError, DuplicateSubmission, SubmitUnknown

    batch = PaymentBatch.objects.select_related("fsp").get(pk=run.batch_id)
    if batch.status not in (PaymentBatch.Status.RELEASED, PaymentBatch.Status.SENT):
        return JobOutcome(result={}, message=f"Batch {batch.code} is {batch.status}")
    connector = connector_of(batch.fsp)
    files = list(_unsent(batch).order_by("sequence"))
    actor = run.created_by.get_username() if run.created_by else ""
    sent, rejected, unknown = 0, 0, []
    for number, file in enumerate(files, 1):
        if file.status == PaymentFile.Status.SENDING:
            # An earlier attempt handed this file over and stopped before storing the answer: ask first.
            answer = _ask(connector, file)
            if answer is not None:
                sent += mark_submitted(file=file, receipt={"found_by_status": _plain(answer)}, actor=actor)
                continue
        elif not PaymentFile.objects.filter(pk=file.pk, status=PaymentFile.Status.VALIDATED).update(
            status=PaymentFile.Status.SENDING
        ):
            continue  # another worker took it
        try:
            receipt = connector.submit(file.name, Path(settings.MEDIA_ROOT) / file.path, file.msg_id)
        except DuplicateSubmission as error:
            # The provider has this MsgId already: the file is there, and it is not paid twice.
            receipt = {"duplicate": str(error)}
        except SubmitUnknown:
            answer = _ask(connector, file)
            if answer is None:
                unknown.append(file.name)
                continue
            receipt = {"found_by_status": _plain(answer)}
        except ConnectorError as error:
            # Nothing says the provider has it: the file stays 'sending', and the next send asks before sending.
            unknown.append(f"{file.name} ({error})")
            continue
        if getattr(receipt, "accepted", None) is False:
            mark_rejected(
                file=file,
                reason_code=receipt.reason_code or "",
                reason=receipt.reason_text or "the provider refused the file",
                actor=actor,
            )
            rejected += 1
            continue
        sent += store_receipt(file, receipt, actor)
        progress(100 * number // len(files), f"File {number} of {len(files)} with the provider")
    if unknown:
        raise ValidationError(
            {
                "batch": f"The provider did not take {', '.join(unknown)}: it stays 'sending'. Send again later: "
                "spmis asks the provider before sending anything twice."
            }
        )
    return JobOutcome(
        result={"files_sent": sent, "files_rejected": rejected},
        message=f"{sent} file(s) with the provider" + (f", {rejected} refused" if rejected else ""),
    )


def _ask(connector, file: PaymentFile):
    from programs.payments.connectors import ConnectorError

    try:
        return connector.status(file.msg_id)
    except ConnectorError as error:
        raise ValidationError(
            {"batch": f"The provider could not be asked about {file.name} ({error}); nothing was sent again."}
        ) from None


def store_receipt(file: PaymentFile, receipt, actor: str) -> bool:
    """Store the provider's receipt (a seam the fault tests pause in, between "file sent" and "status stored")."""
    return mark_submitted(file=file, receipt=_plain(receipt), actor=actor)


def _plain(value) -> dict:
    if isinstance(value, dict):
        return value
    if hasattr(value, "__dataclass_fields__"):
        from dataclasses import asdict

        return {
            key: str(item) if not isinstance(item, int | float | bool | type(None)) else item
            for key, item in asdict(value).items()
        }
    return {"answer": str(value)}


def send_execute(*, run_id: int) -> PaymentBatchRun:
    # Not atomic: each file's hand-over and its answer are committed on their own, so that a crash in between is
    # found (the file stays 'sending') and resolved by asking the provider.
    return run_job(PaymentBatchRun, run_id, _send, error_field="batch", atomic=False)
