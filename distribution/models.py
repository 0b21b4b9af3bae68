from django.contrib.gis.db import models

from geo.models import Area


class Warehouse(models.Model):
    """A place where in-kind goods are stocked; its area follows its location (database trigger)."""

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    location = models.PointField(srid=4326)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    capacity_tonnes = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class DistributionPoint(models.Model):
    """A place where beneficiaries collect goods or cash; its area follows its location."""

    class Kind(models.TextChoices):
        SCHOOL = "school"
        UNION_OFFICE = "union_office", "Union office"
        MARKET = "market"
        SHELTER = "shelter", "Cyclone shelter"
        OTHER = "other"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    location = models.PointField(srid=4326)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # How many households the point can serve in a day; a plan fills it for the days of the distribution.
    daily_capacity_households = models.PositiveIntegerField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class FacilityExposure(models.Model):
    """A warehouse or distribution point inside a hazard zone of an exposure run: unusable for that response.
    Written set-based when the run is computed (distribution.exposure), derived data never edited by hand."""

    run = models.ForeignKey("response.ExposureRun", on_delete=models.CASCADE, related_name="+")
    warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.CASCADE, related_name="exposures")
    distribution_point = models.ForeignKey(
        DistributionPoint, null=True, blank=True, on_delete=models.CASCADE, related_name="exposures"
    )
    zone = models.ForeignKey("response.HazardZone", on_delete=models.PROTECT, related_name="+")
    hazard_class = models.ForeignKey("response.HazardClass", on_delete=models.PROTECT, related_name="+")
    # The facility's area when the run flagged it, so the list is area-scoped like everything else.
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    reason = models.TextField()

    class Meta:
        default_permissions = ("view",)
        ordering = ["run", "id"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(warehouse__isnull=False, distribution_point__isnull=True)
                | models.Q(warehouse__isnull=True, distribution_point__isnull=False),
                name="distribution_facilityexposure_one_facility",
            ),
            models.UniqueConstraint(fields=["run", "warehouse"], name="distribution_facilityexposure_warehouse"),
            models.UniqueConstraint(fields=["run", "distribution_point"], name="distribution_facilityexposure_point"),
        ]

    @property
    def facility(self) -> Warehouse | DistributionPoint:
        return self.warehouse or self.distribution_point

    @property
    def kind(self) -> str:
        return "warehouse" if self.warehouse_id else "distribution point"

    def __str__(self) -> str:
        return f"{self.kind} {self.facility.code} unusable in run {self.run_id}"


from distribution.plans.models import DistributionPlan, PlanAssignment, PlanItem, PlanPoint, PlanTransport  # noqa: E402, F401
from distribution.roads.models import RoadEdge, RoadNetwork, RoadNetworkLoad, RoadVertex  # noqa: E402, F401
from distribution.stock.models import (  # noqa: E402, F401
    StockBalance,
    StockDocument,
    StockDocumentLine,
    StockDocumentNumber,
    StockItem,
    StockLot,
    StockMovement,
    StockUnit,
)

# isort: split
from distribution.roads.models import RouteRun, Vehicle  # noqa: E402, F401
