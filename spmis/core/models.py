"""The kernel's models: the abstract job row every long job's table is made of, and the audit log."""

from django.conf import settings
from django.contrib.postgres.indexes import BrinIndex
from django.db import models


class Job(models.Model):
    """What every long job's row holds (area, layer and registry imports, dedup and exposure runs, and the cycle,
    payment and routing jobs to come): the API returns it for polling; spmis.core.jobs.run_job claims it, keeps
    its heartbeat, records progress (ProgressWriter) and then the result or the error."""

    class Status(models.TextChoices):
        PENDING = "pending"
        RUNNING = "running"
        SUCCEEDED = "succeeded"
        FAILED = "failed"

    parameters = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    progress = models.PositiveSmallIntegerField(default=0)
    message = models.CharField(max_length=255, blank=True)
    result = models.JSONField(default=dict, blank=True)
    error = models.JSONField(default=dict, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)
    # How many times a worker has claimed the row; the claim number also fences a finished write: a worker whose
    # claim was taken over (it was presumed dead) cannot record an outcome.
    attempts = models.PositiveSmallIntegerField(default=0, editable=False)
    # Written every few seconds by the running worker; a running job whose heartbeat stopped is stuck.
    heartbeat_at = models.DateTimeField(null=True, blank=True, editable=False)

    class Meta:
        abstract = True
        ordering = ["-created_at"]


class AuditEvent(models.Model):
    """One inserted, updated or deleted domain row, written by database triggers (installed by
    geo/sql/0002_audit.sql); spmis.core.audit attributes each write to its actor.

    Append-only: a trigger rejects UPDATE, DELETE and TRUNCATE on this table, and no API or admin edits it.
    """

    at = models.DateTimeField()
    actor = models.CharField(max_length=150)
    source = models.CharField(max_length=32)
    table_name = models.CharField(max_length=128)
    row_id = models.BigIntegerField()
    action = models.CharField(max_length=8)
    before = models.JSONField(null=True)
    after = models.JSONField(null=True)
    transaction_id = models.BigIntegerField()

    class Meta:
        # The table kept its name when the model moved from geo to the kernel: no data moved.
        db_table = "geo_auditevent"
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["table_name", "row_id"], name="geo_audit_row_idx"),
            # Rows arrive in time order, so a BRIN index serves time ranges at almost no cost to bulk writes.
            BrinIndex(fields=["at"], name="geo_audit_at_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.row_id} by {self.actor}"
