from pathlib import Path

from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.fields import ArrayField

from spmis.core.models import Job


class LayerKind(models.TextChoices):
    CONTEXT = "context", "Context"
    HAZARD = "hazard", "Hazard"


class LayerSource(models.TextChoices):
    UPLOAD = "upload", "Uploaded file"
    CAP = "cap", "CAP alert"
    EMS = "ems", "Copernicus EMS"


class VectorLayer(models.Model):
    """A vector data set brought in by an analyst (or built from a CAP alert / EMS package). Its features are
    rows of VectorFeature in EPSG:4326; `fields` keeps the attribute names with their original types."""

    class GeometryType(models.TextChoices):
        POINT = "point", "Points"
        LINE = "line", "Lines"
        POLYGON = "polygon", "Polygons"

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=LayerKind.choices, default=LayerKind.CONTEXT, db_index=True)
    source_type = models.CharField(max_length=16, choices=LayerSource.choices, default=LayerSource.UPLOAD)
    source = models.CharField(max_length=255, blank=True, help_text="Who produced the data.")
    licence = models.CharField(max_length=255, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    source_crs = models.CharField(max_length=255, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    source_layer = models.CharField(max_length=255, blank=True)
    feature_count = models.PositiveIntegerField(default=0)
    bbox = ArrayField(models.FloatField(), size=4, null=True, blank=True)
    geometry_type = models.CharField(max_length=16, choices=GeometryType.choices)
    fields = models.JSONField(default=dict, blank=True)
    style = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    activation_code = models.CharField(max_length=32, blank=True, help_text="Copernicus EMS activation, e.g. EMSR692.")
    product_version = models.CharField(max_length=64, blank=True, help_text="EMS product / version.")
    metadata = models.JSONField(default=dict, blank=True)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name


class VectorFeature(models.Model):
    """One feature of a VectorLayer: a valid EPSG:4326 geometry and its attributes as JSON."""

    # The (layer, fid) index serves lookups by layer; a separate FK index would only slow bulk inserts.
    layer = models.ForeignKey(VectorLayer, on_delete=models.CASCADE, related_name="features", db_index=False)
    fid = models.BigIntegerField(help_text="Position of the feature in the source file, from 1.")
    geom = models.GeometryField(srid=4326)
    properties = models.JSONField(default=dict)

    class Meta:
        ordering = ["layer", "fid"]
        indexes = [models.Index(fields=["layer", "fid"], name="layers_feature_layer_fid")]

    def __str__(self) -> str:
        return f"{self.layer_id}#{self.fid}"


class RasterLayer(models.Model):
    """A gridded data set (e.g. flood depth) kept on disk as a Cloud-Optimized GeoTIFF in its source CRS.

    `bounds` is in EPSG:4326; `bands` lists per-band metadata; `statistics` and `histogram` describe band 1 (and
    are computed block by block at import). `style` holds the colour ramp and class breaks.
    """

    class Status(models.TextChoices):
        READY = "ready", "Ready"
        ARCHIVED = "archived", "Archived"

    name = models.CharField(max_length=200)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=LayerKind.choices, default=LayerKind.CONTEXT, db_index=True)
    source = models.CharField(max_length=255, blank=True)
    licence = models.CharField(max_length=255, blank=True)
    observed_at = models.DateTimeField(null=True, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    file = models.FileField(upload_to="rasters/%Y/%m/", max_length=255)
    crs = models.CharField(max_length=255, help_text="CRS of the stored COG (the source CRS), e.g. EPSG:32646.")
    width = models.PositiveIntegerField()
    height = models.PositiveIntegerField()
    bounds = ArrayField(models.FloatField(), size=4, help_text="min_lon, min_lat, max_lon, max_lat")
    band_count = models.PositiveSmallIntegerField()
    dtype = models.CharField(max_length=16)
    nodata = models.FloatField(null=True, blank=True)
    unit = models.CharField(max_length=64, blank=True, help_text="e.g. m (flood depth)")
    resolution = ArrayField(models.FloatField(), size=2, help_text="pixel size in CRS units (x, y)")
    bands = models.JSONField(default=list, blank=True)
    statistics = models.JSONField(default=dict, blank=True)
    histogram = models.JSONField(default=dict, blank=True)
    style = models.JSONField(default=dict, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.READY)
    uploaded_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at"]

    def __str__(self) -> str:
        return self.name

    def local_path(self) -> Path:
        """Filesystem path of the COG (media storage on local disk)."""
        return Path(self.file.path)


class LayerImport(Job):
    """One upload (vector, raster, CAP alert or EMS package): the row a client polls for progress and outcome."""

    class Kind(models.TextChoices):
        VECTOR = "vector", "Vector file"
        RASTER = "raster", "GeoTIFF"
        CAP = "cap", "CAP alert"
        EMS = "ems", "Copernicus EMS package"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    file = models.FileField(upload_to="layer-imports/%Y/%m/", max_length=255, blank=True)
    original_name = models.CharField(max_length=255, blank=True)
    vector_layer = models.ForeignKey(VectorLayer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    raster_layer = models.ForeignKey(RasterLayer, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    def __str__(self) -> str:
        return f"{self.kind} import {self.pk} ({self.status})"


class CapAlert(models.Model):
    """One CAP 1.2 message. An Alert opens a chain; an Update is a new version that closes the one it references;
    a Cancel closes the referenced alert. The areas of an Alert/Update form a hazard VectorLayer."""

    class MsgType(models.TextChoices):
        ALERT = "Alert"
        UPDATE = "Update"
        CANCEL = "Cancel"
        ACK = "Ack"
        ERROR = "Error"

    class Status(models.TextChoices):
        OPEN = "open", "Open"
        CLOSED = "closed", "Closed"

    identifier = models.CharField(max_length=255, unique=True)
    sender = models.CharField(max_length=255)
    sent = models.DateTimeField()
    cap_status = models.CharField(max_length=16, help_text="CAP <status>: Actual, Exercise, System, Test, Draft")
    msg_type = models.CharField(max_length=16, choices=MsgType.choices)
    scope = models.CharField(max_length=16, blank=True)
    references = models.TextField(blank=True, help_text="CAP <references> as received")
    event = models.CharField(max_length=255, blank=True)
    headline = models.CharField(max_length=500, blank=True)
    description = models.TextField(blank=True)
    severity = models.CharField(max_length=16, blank=True)
    urgency = models.CharField(max_length=16, blank=True)
    certainty = models.CharField(max_length=16, blank=True)
    onset = models.DateTimeField(null=True, blank=True)
    expires = models.DateTimeField(null=True, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.OPEN, db_index=True)
    closed_reason = models.CharField(max_length=64, blank=True)
    version = models.PositiveIntegerField(default=1)
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    layer = models.OneToOneField(
        VectorLayer, null=True, blank=True, on_delete=models.SET_NULL, related_name="cap_alert"
    )
    xml = models.TextField()
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-sent"]

    def __str__(self) -> str:
        return f"{self.msg_type} {self.identifier} v{self.version}"
