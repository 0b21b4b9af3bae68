from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import BrinIndex, GinIndex
from django.utils import timezone


class Area(models.Model):
    """An administrative area (country = level 0, then 1, 2, …) with its boundary in EPSG:4326.

    `lineage` (ids from the root down to this area), `area_km2` (geodesic) and the subdivided copy in
    AreaPiece are maintained by database triggers, so bulk SQL keeps them right too.
    """

    code = models.CharField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    level = models.PositiveSmallIntegerField(db_index=True)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    lineage = ArrayField(models.BigIntegerField(), default=list, editable=False)
    geom = models.MultiPolygonField(srid=4326)
    area_km2 = models.FloatField(null=True, editable=False)
    population = models.PositiveBigIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["level", "code"]
        indexes = [GinIndex(fields=["lineage"], name="geo_area_lineage_gin")]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(level=0, parent__isnull=True) | models.Q(level__gt=0, parent__isnull=False),
                name="geo_area_root_has_no_parent",
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class AreaPiece(models.Model):
    """Area boundaries cut by ST_Subdivide into small polygons: point-in-area joins go through this table's
    GiST index and test a few dozen vertices instead of thousands. Maintained by trigger; never edit."""

    area = models.ForeignKey(Area, on_delete=models.CASCADE, related_name="+")
    level = models.PositiveSmallIntegerField()
    geom = models.PolygonField(srid=4326)

    class Meta:
        default_permissions = ()


class AreaScope(models.Model):
    """The areas a user works in. A user without a scope (or a superuser) is national; a scope without areas sees
    nothing."""

    user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="area_scope")
    areas = models.ManyToManyField(Area, related_name="scopes")

    def __str__(self) -> str:
        return f"scope of {self.user}"


class Job(models.Model):
    """What every long job's row holds (area, layer and registry imports, dedup and exposure runs): the API returns
    it for polling; the job's service records progress (geo.jobs.ProgressWriter), then the result or the error."""

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

    class Meta:
        abstract = True
        ordering = ["-created_at"]

    # Each transition is one UPDATE of the row (not save()): pollers may read it meanwhile, and progress is being
    # written on another connection. The instance is left as it was; callers refresh when they need the row.
    def mark_running(self) -> None:
        self._record(status=self.Status.RUNNING, started_at=timezone.now())

    def mark_succeeded(self, *, result: dict, message: str = "Done", **fields) -> None:
        self._record(
            status=self.Status.SUCCEEDED,
            result=result,
            progress=100,
            message=message[:255],
            finished_at=timezone.now(),
            **fields,
        )

    def mark_failed(self, *, error: dict, **fields) -> None:
        self._record(status=self.Status.FAILED, error=error, message="Failed", finished_at=timezone.now(), **fields)

    def _record(self, **fields) -> None:
        type(self).objects.filter(pk=self.pk).update(**fields)


class AreaImport(Job):
    """One import of an administrative boundary file: the row a client polls for progress and outcome."""

    file = models.FileField(upload_to="area-imports/%Y/%m/")
    original_name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return f"area import {self.pk} ({self.status})"


class AuditEvent(models.Model):
    """One inserted, updated or deleted domain row, written by database triggers (see geo/sql/audit.sql).

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
        ordering = ["-id"]
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["table_name", "row_id"], name="geo_audit_row_idx"),
            # Rows arrive in time order, so a BRIN index serves time ranges at almost no cost to bulk writes.
            BrinIndex(fields=["at"], name="geo_audit_at_brin"),
        ]

    def __str__(self) -> str:
        return f"{self.action} {self.table_name}#{self.row_id} by {self.actor}"
