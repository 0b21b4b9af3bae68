from django.conf import settings
from django.contrib.gis.db import models

from geo.models import Area, Job


class HazardType(models.TextChoices):
    FLOOD = "flood"
    FIRE = "fire"
    CYCLONE = "cyclone"
    EARTHQUAKE = "earthquake"
    DROUGHT = "drought"
    OTHER = "other"


class Incident(models.Model):
    """A shock being responded to: what, where (linked areas), when, and the CAP alert it came from, if any."""

    class Status(models.TextChoices):
        ALERT = "alert"
        ACTIVE = "active"
        RECOVERY = "recovery"
        CLOSED = "closed"

    name = models.CharField(max_length=200)
    hazard_type = models.CharField(max_length=16, choices=HazardType.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ALERT)
    description = models.TextField(blank=True)
    started_on = models.DateField()
    ended_on = models.DateField(null=True, blank=True)
    areas = models.ManyToManyField(Area, blank=True, related_name="+")
    # A CAP alert is imported at most once; NULLs (incidents not from CAP) do not collide.
    cap_identifier = models.CharField(max_length=255, unique=True, null=True, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-started_on", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ended_on__isnull=True) | models.Q(ended_on__gte=models.F("started_on")),
                name="response_incident_dates_ordered",
            )
        ]

    def __str__(self) -> str:
        return self.name


class HazardClass(models.Model):
    """One class of a hazard (e.g. flood depth 'moderate'). Defaults per hazard type have no incident; an incident
    with classes of its own uses only those. `rank` orders severity (higher = worse); `min_value`/`max_value` are the
    raster thresholds [min, max) in the raster's unit; `displacement_rate` (0–1) drives needs estimates."""

    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.CASCADE, related_name="classes")
    hazard_type = models.CharField(max_length=16, choices=HazardType.choices)
    key = models.SlugField(max_length=32)
    name = models.CharField(max_length=80)
    rank = models.PositiveSmallIntegerField()
    min_value = models.FloatField(null=True, blank=True)
    max_value = models.FloatField(null=True, blank=True)
    displacement_rate = models.FloatField(default=0.0)
    color = models.CharField(max_length=9, default="#d73027")

    class Meta:
        ordering = ["hazard_type", "incident_id", "rank"]
        constraints = [
            models.UniqueConstraint(
                fields=["hazard_type", "key"], condition=models.Q(incident__isnull=True), name="response_class_default"
            ),
            models.UniqueConstraint(
                fields=["incident", "key"], condition=models.Q(incident__isnull=False), name="response_class_incident"
            ),
            models.CheckConstraint(
                condition=models.Q(displacement_rate__gte=0, displacement_rate__lte=1),
                name="response_class_displacement_rate_0_1",
            ),
            models.CheckConstraint(
                condition=models.Q(min_value__isnull=True)
                | models.Q(max_value__isnull=True)
                | models.Q(max_value__gt=models.F("min_value")),
                name="response_class_thresholds_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.hazard_type}:{self.key}"


class HazardZone(models.Model):
    """One version of a hazard zone. Editing a zone writes a new row with the same `zone_key` and version + 1 and
    clears `is_current` on the old one, so analyses keep pointing at exactly the geometry they used."""

    class Source(models.TextChoices):
        DRAWN = "drawn"
        CIRCLE = "circle"
        BUFFER = "buffer"
        RASTER = "raster"
        VECTOR = "vector"
        CAP = "cap", "CAP alert"
        EMS = "ems", "Copernicus EMS"

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="zones")
    zone_key = models.UUIDField(db_index=True)
    version = models.PositiveIntegerField(default=1)
    is_current = models.BooleanField(default=True)
    name = models.CharField(max_length=200, blank=True)
    hazard_class = models.ForeignKey(HazardClass, on_delete=models.PROTECT, related_name="+")
    source_kind = models.CharField(max_length=16, choices=Source.choices)
    source = models.JSONField(default=dict, blank=True)
    geom = models.MultiPolygonField(srid=4326)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["incident_id", "zone_key", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["zone_key", "version"], name="response_zone_version_unique"),
            models.UniqueConstraint(
                fields=["zone_key"], condition=models.Q(is_current=True), name="response_zone_one_current"
            ),
        ]
        indexes = [models.Index(fields=["incident", "is_current"], name="response_zone_current_idx")]

    def __str__(self) -> str:
        return f"{self.name or 'zone'} v{self.version} ({self.hazard_class_id})"


class HazardZonePiece(models.Model):
    """A zone version cut by ST_Subdivide into small polygons, once, when the version is written (versions never
    change). Point-in-zone joins go through this table's GiST index and test a few dozen vertices per household
    instead of the zone's thousands, and every analysis of the zone reuses the cut. Maintained by trigger
    (response/sql/zones_v1.sql); never edit."""

    zone = models.ForeignKey(HazardZone, on_delete=models.CASCADE, related_name="+")
    geom = models.PolygonField(srid=4326)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"piece of zone {self.zone_id}"


class NeedsProfile(models.Model):
    """Daily needs per displaced person, e.g. Sphere: [{"item": "water", "unit": "L", "per_person_per_day": 15}]."""

    name = models.CharField(max_length=120, unique=True)
    items = models.JSONField(default=list)
    days = models.PositiveSmallIntegerField(default=7)
    is_default = models.BooleanField(default=False)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ExposureRun(Job):
    """One exposure analysis of an incident: the job row a client polls, and the record of its inputs (the zone
    versions in `zones`, the raster and classes in `parameters`), so its results can be reproduced."""

    incident = models.ForeignKey(Incident, on_delete=models.CASCADE, related_name="runs")
    zones = models.ManyToManyField(HazardZone, blank=True, related_name="+")
    parameters = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"exposure run {self.pk} ({self.status})"


class ExposureResult(models.Model):
    """One affected household in one run. Derived data, written by COPY and never edited: not audited (the run row
    and its zone versions are, and reproduce it). The foreign keys carry no database constraint so a million rows
    load without a per-row check; runs delete their results in SQL (response.services.exposure_run_delete). The
    primary key is (household, run): no id sequence, and its one index serves both joins within a run (each run is
    its own partition) and a household's history across runs."""

    pk = models.CompositePrimaryKey("household", "run")
    run = models.ForeignKey(
        ExposureRun, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    zone = models.ForeignKey(
        HazardZone, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    hazard_class = models.ForeignKey(
        HazardClass, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    class_rank = models.PositiveSmallIntegerField()
    area = models.ForeignKey(
        Area, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    raster_value = models.FloatField(null=True)
    distance_m = models.FloatField(null=True)
    approximate = models.BooleanField(default=False)
    reason = models.TextField()

    class Meta:
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"run {self.run_id} household {self.household_id}: rank {self.class_rank}"


# The facility tables an analysis flags, and what a user calls each (never the table's name).
FACILITY_TABLES = {"distribution_warehouse": "warehouse", "distribution_distributionpoint": "distribution point"}


class ExposedFacility(models.Model):
    """A warehouse or distribution point inside a hazard zone of a run: flagged unusable for that analysis.
    Keyed by (table, id) so response does not depend on the distribution app."""

    run = models.ForeignKey(ExposureRun, on_delete=models.CASCADE, related_name="facilities")
    table_name = models.CharField(max_length=64)
    object_id = models.BigIntegerField()
    code = models.CharField(max_length=64)
    name = models.CharField(max_length=200)
    zone = models.ForeignKey(HazardZone, on_delete=models.PROTECT, related_name="+")
    hazard_class = models.ForeignKey(HazardClass, on_delete=models.PROTECT, related_name="+")
    # The facility's area when the run flagged it, so the list is area-scoped like everything else.
    area = models.ForeignKey(
        Area, null=True, on_delete=models.DO_NOTHING, db_constraint=False, db_index=False, related_name="+"
    )
    reason = models.TextField()

    class Meta:
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["run", "table_name", "object_id"], name="response_facility_unique")
        ]

    def __str__(self) -> str:
        return f"{self.table_name}#{self.object_id} unusable in run {self.run_id}"

    @property
    def kind(self) -> str:
        return FACILITY_TABLES.get(self.table_name, "facility")
