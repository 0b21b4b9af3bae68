from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField
from django.contrib.postgres.indexes import GinIndex

from spmis.core.models import Job


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


class AreaImport(Job):
    """One import of an administrative boundary file: the row a client polls for progress and outcome."""

    file = models.FileField(upload_to="area-imports/%Y/%m/")
    original_name = models.CharField(max_length=255)

    def __str__(self) -> str:
        return f"area import {self.pk} ({self.status})"
