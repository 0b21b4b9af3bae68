"""Road networks as pgRouting graphs.

A network is loaded whole from one source (an OpenStreetMap extract through osm2pgrouting, or GeoJSON lines noded
into a topology) and then only read: routing queries filter its edges per request (closures inside hazard zones),
they never edit them. Costs are travel times in seconds; a negative reverse cost marks a one-way edge, as pgRouting
expects.
"""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models import Q

from spmis.core.models import Job


class RoadNetwork(models.Model):
    class Source(models.TextChoices):
        OSM = "osm", "OpenStreetMap extract (PBF or .osm)"
        GEOJSON = "geojson", "GeoJSON lines"

    class Status(models.TextChoices):
        LOADING = "loading"
        READY = "ready"
        FAILED = "failed"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    source = models.CharField(max_length=16, choices=Source.choices)
    # Where the data came from and under what licence (ODbL for OpenStreetMap): shown wherever a route is printed.
    attribution = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.LOADING)
    edge_count = models.PositiveIntegerField(default=0)
    vertex_count = models.PositiveIntegerField(default=0)
    extent = models.PolygonField(srid=4326, null=True, blank=True)
    # The network the routing uses when a request names none (one at a time).
    is_default = models.BooleanField(default=False)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.UniqueConstraint(
                fields=["is_default"], condition=Q(is_default=True), name="distribution_one_default_network"
            )
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class RoadVertex(models.Model):
    """A graph node: where edges meet. Ids are the pgRouting vertex ids (source/target of the edges)."""

    id = models.BigAutoField(primary_key=True)
    network = models.ForeignKey(RoadNetwork, on_delete=models.CASCADE, related_name="+", db_index=False)
    osm_id = models.BigIntegerField(null=True, blank=True)
    geom = models.PointField(srid=4326)

    class Meta:
        default_permissions = ("view",)
        indexes = [models.Index(fields=["network", "id"], name="distribution_vertex_network")]


class RoadEdge(models.Model):
    """One directed-or-not road segment between two vertices; cost and reverse cost in seconds of travel."""

    id = models.BigAutoField(primary_key=True)
    network = models.ForeignKey(RoadNetwork, on_delete=models.CASCADE, related_name="+", db_index=False)
    source = models.BigIntegerField()
    target = models.BigIntegerField()
    cost = models.FloatField()
    reverse_cost = models.FloatField()
    length_m = models.FloatField()
    osm_id = models.BigIntegerField(null=True, blank=True)
    name = models.CharField(max_length=255, blank=True)
    # OSM tags kept for closures: a bridge or viaduct (layer > 0) stays open above a flood.
    highway = models.CharField(max_length=64, blank=True)
    bridge = models.BooleanField(default=False)
    layer = models.SmallIntegerField(default=0)
    maxspeed_kmh = models.FloatField(null=True, blank=True)
    geom = models.LineStringField(srid=4326)

    class Meta:
        default_permissions = ("view",)
        indexes = [
            models.Index(fields=["network", "id"], name="distribution_edge_network"),
            models.Index(fields=["network", "source"], name="distribution_edge_source"),
            models.Index(fields=["network", "target"], name="distribution_edge_target"),
        ]
        constraints = [
            models.CheckConstraint(condition=Q(length_m__gte=0), name="distribution_edge_length_positive"),
        ]


class RoadNetworkLoad(Job):
    """Loading a network from an uploaded or local file: a job row with progress; a failed load leaves no edges."""

    network = models.ForeignKey(RoadNetwork, null=True, blank=True, on_delete=models.CASCADE, related_name="loads")
    file = models.FileField(upload_to="roads/", blank=True)

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]


class Vehicle(models.Model):
    """A truck of the fleet: what it carries and where it starts and ends its day."""

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200, blank=True)
    capacity_kg = models.FloatField()
    depot = models.ForeignKey("distribution.Warehouse", on_delete=models.PROTECT, related_name="vehicles")
    # Optional working window, in seconds after the start of the day (e.g. 8:00-18:00 = 28800-64800).
    available_from_s = models.PositiveIntegerField(null=True, blank=True)
    available_until_s = models.PositiveIntegerField(null=True, blank=True)
    is_active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(capacity_kg__gt=0), name="distribution_vehicle_capacity_positive"),
            models.CheckConstraint(
                condition=Q(available_from_s__isnull=True)
                | Q(available_until_s__isnull=True)
                | Q(available_until_s__gt=models.F("available_from_s")),
                name="distribution_vehicle_window_order",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.capacity_kg:g} kg)"


class RouteRun(Job):
    """A vehicle routing request: stops (distribution points and loads) solved on a network with closures.

    parameters: {"network", "exposure_run"?, "incident"?, "stops": [{"point", "demand_kg", "window"?}],
    "vehicles": [ids], "time_limit_s"}; result: {"routes": [...], "unserved": [...], "total_s", "total_m"}.
    """

    network = models.ForeignKey(RoadNetwork, on_delete=models.PROTECT, related_name="route_runs")

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]
