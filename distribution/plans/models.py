"""Distribution plans: which usable point serves each entitled household, what each point needs, and which
warehouse sends it.

A plan is a job row built set-based from a cycle's approved in-kind entitlements (distribution.plans.services).
Its rows are derived once and never edited: a new analysis means a new plan, and the diff between two plans says what
changed (households that moved, joined or left; quantity deltas).
"""

from django.db import models
from django.db.models import Q

from spmis.core.models import Job


class DistributionPlan(Job):
    """Planning a cycle's in-kind distribution over a road network, with the closures of an exposure run."""

    cycle = models.ForeignKey("programs.Cycle", on_delete=models.PROTECT, related_name="+")
    exposure_run = models.ForeignKey(
        "response.ExposureRun", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    network = models.ForeignKey("distribution.RoadNetwork", on_delete=models.PROTECT, related_name="+")
    # The plan this one re-plans (the previous plan of the same cycle): its diff is stored in result["changes"].
    previous = models.ForeignKey("self", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    # A point serves daily_capacity_households × days households in the plan.
    days = models.PositiveSmallIntegerField(default=1)
    truck_capacity_kg = models.DecimalField(max_digits=10, decimal_places=1, default=10000)
    # A household farther than this from any open road is listed as unreachable ("no road within N m").
    max_snap_m = models.PositiveIntegerField(default=1000)

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(condition=Q(days__gte=1), name="distribution_plan_days_positive"),
            models.CheckConstraint(condition=Q(truck_capacity_kg__gt=0), name="distribution_plan_truck_positive"),
        ]

    def __str__(self) -> str:
        return f"plan {self.pk} of cycle {self.cycle_id}"


class PlanPoint(models.Model):
    """A distribution point as the plan saw it: usable or not (and why), its capacity and the households it serves."""

    plan = models.ForeignKey(DistributionPlan, on_delete=models.CASCADE, related_name="points")
    point = models.ForeignKey("distribution.DistributionPoint", on_delete=models.PROTECT, related_name="+")
    area = models.ForeignKey("geo.Area", null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    usable = models.BooleanField()
    reason = models.CharField(max_length=255, blank=True)
    vertex = models.BigIntegerField(null=True, blank=True)
    # Households it can serve in the plan (daily capacity × days); null when the point states no capacity.
    capacity = models.PositiveIntegerField(null=True, blank=True)
    households = models.PositiveIntegerField(default=0)
    people = models.PositiveIntegerField(default=0)
    mean_travel_s = models.FloatField(null=True, blank=True)
    max_travel_s = models.FloatField(null=True, blank=True)

    class Meta:
        default_permissions = ("view",)
        ordering = ["plan", "point"]
        constraints = [models.UniqueConstraint(fields=["plan", "point"], name="distribution_planpoint_once")]

    def __str__(self) -> str:
        return f"point {self.point_id} in plan {self.plan_id}"


class PlanAssignment(models.Model):
    """One entitled household in a plan: the point that serves it and the road travel time, or why none can."""

    plan = models.ForeignKey(DistributionPlan, on_delete=models.CASCADE, related_name="+", db_index=False)
    household = models.ForeignKey(
        "registry.Household", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    entitlement = models.ForeignKey(
        "programs.Entitlement", on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    # The household's area when planned: the list is area-scoped like the registry.
    area = models.ForeignKey(
        "geo.Area", null=True, blank=True, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False
    )
    point = models.ForeignKey(
        "distribution.DistributionPoint",
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
    )
    vertex = models.BigIntegerField(null=True, blank=True)
    snap_m = models.FloatField(null=True, blank=True)
    travel_s = models.FloatField(null=True, blank=True)
    # Why no point serves the household (empty when one does).
    reason = models.CharField(max_length=255, blank=True)

    class Meta:
        default_permissions = ("view",)
        ordering = ["plan", "household"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "household"], name="distribution_planassignment_once"),
            models.CheckConstraint(
                condition=Q(point__isnull=False, reason="") | Q(point__isnull=True) & ~Q(reason=""),
                name="distribution_planassignment_point_or_reason",
            ),
        ]
        indexes = [models.Index(fields=["plan", "point"], name="distribution_planassign_point")]

    def __str__(self) -> str:
        return f"household {self.household_id} in plan {self.plan_id}: point {self.point_id or self.reason}"


class PlanItem(models.Model):
    """What one point needs of one item for the plan (in the item's base unit), what it holds, what comes from the
    warehouses and what is missing."""

    plan = models.ForeignKey(DistributionPlan, on_delete=models.CASCADE, related_name="items")
    point = models.ForeignKey("distribution.DistributionPoint", on_delete=models.PROTECT, related_name="+")
    item = models.SlugField(max_length=64)
    unit = models.CharField(max_length=16)
    quantity = models.DecimalField(max_digits=16, decimal_places=3)
    on_hand = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    from_warehouses = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    shortfall = models.DecimalField(max_digits=16, decimal_places=3, default=0)
    weight_kg = models.DecimalField(max_digits=16, decimal_places=3, null=True, blank=True)

    class Meta:
        default_permissions = ("view",)
        ordering = ["plan", "point", "item"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "point", "item"], name="distribution_planitem_once"),
            models.CheckConstraint(
                condition=Q(quantity__gte=0, on_hand__gte=0, from_warehouses__gte=0, shortfall__gte=0),
                name="distribution_planitem_non_negative",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.unit} {self.item} at point {self.point_id}"


class PlanTransport(models.Model):
    """A warehouse-to-point shipment of the plan: the min-cost transport solution, in truck loads."""

    plan = models.ForeignKey(DistributionPlan, on_delete=models.CASCADE, related_name="transports")
    warehouse = models.ForeignKey("distribution.Warehouse", on_delete=models.PROTECT, related_name="+")
    point = models.ForeignKey("distribution.DistributionPoint", on_delete=models.PROTECT, related_name="+")
    travel_s = models.FloatField()
    weight_kg = models.DecimalField(max_digits=16, decimal_places=3)
    trucks = models.PositiveIntegerField()
    # [{"item": "rice", "quantity": "250.000", "unit": "kg"}, ...]
    items = models.JSONField(default=list)

    class Meta:
        default_permissions = ("view",)
        ordering = ["plan", "warehouse", "point"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "warehouse", "point"], name="distribution_plantransport_once"),
            models.CheckConstraint(condition=Q(trucks__gte=1), name="distribution_plantransport_trucks"),
        ]

    def __str__(self) -> str:
        return f"{self.trucks} trucks from warehouse {self.warehouse_id} to point {self.point_id}"
