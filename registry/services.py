"""Writes for the registry: import jobs, custom fields, change requests, duplicate review and merges."""

from __future__ import annotations

import tempfile
from dataclasses import asdict

from django.core.exceptions import ValidationError
from django.core.files.base import ContentFile
from django.db import transaction
from django.utils import timezone

from geo.audit import audit_context
from registry.importing import ImportOptions, registry_import_file
from registry.models import ImportMapping, RegistryImport


def import_mapping_save(*, source: str, columns: dict[str, str]) -> ImportMapping:
    """Save (create or replace) the column mapping used for files from `source`."""
    ImportOptions(source=source, mapping=columns).validate()
    if not source:
        raise ValidationError({"source": "Name the source the mapping is for."})
    mapping, _ = ImportMapping.objects.update_or_create(source=source, defaults={"columns": columns})
    return mapping


def registry_import_start(
    *, file, original_name: str, source: str = "", mapping: dict[str, str] | None = None, user, **options
) -> RegistryImport:
    """Record an import job and queue it after commit. Without an explicit mapping, the mapping saved for the
    source is used; an explicit one is saved for next time."""
    if mapping:
        if source:
            import_mapping_save(source=source, columns=mapping)
    else:
        saved = ImportMapping.objects.filter(source=source).first() if source else None
        mapping = saved.columns if saved else {}
    parameters = {"source": source, "mapping": mapping, **options}
    ImportOptions(**parameters).validate()
    with transaction.atomic(durable=True):
        job = RegistryImport.objects.create(
            file=file, original_name=original_name, source=source, parameters=parameters, created_by=user
        )
        from registry.tasks import registry_import_task

        transaction.on_commit(lambda: registry_import_task.delay(job.pk))
    return job


def _set_progress(job_id: int, percent: int, message: str) -> None:
    RegistryImport.objects.filter(pk=job_id).update(progress=percent, message=message[:255])


def registry_import_run(*, import_id: int) -> RegistryImport:
    """Run a queued import; the job row records progress, the result, the rejected-rows report or the error."""
    job = RegistryImport.objects.get(pk=import_id)
    RegistryImport.objects.filter(pk=job.pk).update(status=RegistryImport.Status.RUNNING, started_at=timezone.now())
    report_name = f"rejected-rows-{job.pk}.csv"
    try:
        with tempfile.TemporaryFile() as report, audit_context(actor=_actor(job), source="import"):
            result = registry_import_file(
                path=job.file.path,
                options=ImportOptions(**job.parameters),
                report=report,
                progress=lambda percent, message: _set_progress(job.pk, percent, message),
            )
            if result.rejected_rows:
                report.seek(0)
                job.report.save(report_name, ContentFile(report.read()), save=False)
    except ValidationError as error:
        detail = error.message_dict if hasattr(error, "error_dict") else {"file": error.messages}
        RegistryImport.objects.filter(pk=job.pk).update(
            status=RegistryImport.Status.FAILED, error=detail, finished_at=timezone.now(), message="Failed"
        )
    else:
        RegistryImport.objects.filter(pk=job.pk).update(
            status=RegistryImport.Status.SUCCEEDED,
            result=asdict(result),
            report=job.report.name or "",
            finished_at=timezone.now(),
            progress=100,
            message=f"{result.valid_rows} rows imported, {result.rejected_rows} rejected",
        )
    job.refresh_from_db()
    return job


def _actor(job) -> str:
    return job.created_by.get_username() if job.created_by else "system"
