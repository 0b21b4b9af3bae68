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
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"
