from django.contrib.gis.db import models
from django.utils import timezone

from geo.models import Area


class Household(models.Model):
    """A registered group (a household unless `kind` says otherwise), located by a point when one is known.

    `area` is assigned by the database from `location` (see geo.sql); without a location it is set directly
    and the household counts as approximately located.
    """

    class Precision(models.TextChoices):
        GPS = "gps", "GPS"
        ADDRESS = "address", "Geocoded address"
        AREA = "area", "Area only"

    kind = models.CharField(max_length=32, default="household", db_index=True)
    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    location = models.PointField(srid=4326, null=True, blank=True)
    location_precision = models.CharField(max_length=16, choices=Precision.choices, default=Precision.GPS)
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    address = models.TextField(blank=True)
    registered_on = models.DateField(default=timezone.localdate)
    source = models.CharField(max_length=64, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return self.external_id or f"household {self.pk}"


class Individual(models.Model):
    """A person on the registry."""

    class Sex(models.TextChoices):
        FEMALE = "F", "Female"
        MALE = "M", "Male"
        OTHER = "X", "Other / not stated"

    external_id = models.CharField(max_length=64, unique=True, null=True, blank=True)
    given_name = models.CharField(max_length=120)
    family_name = models.CharField(max_length=120, blank=True)
    birth_date = models.DateField(null=True, blank=True)
    sex = models.CharField(max_length=1, choices=Sex.choices, default=Sex.OTHER)
    disability = models.BooleanField(default=False)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]

    def __str__(self) -> str:
        return f"{self.given_name} {self.family_name}".strip()


class Membership(models.Model):
    """An individual's membership of a household, with a role and dates."""

    class Role(models.TextChoices):
        HEAD = "head", "Head"
        SPOUSE = "spouse", "Spouse"
        CHILD = "child", "Child"
        OTHER_RELATIVE = "other_relative", "Other relative"
        NON_RELATIVE = "non_relative", "Non-relative"

    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="memberships")
    individual = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="memberships")
    role = models.CharField(max_length=16, choices=Role.choices)
    start_date = models.DateField(default=timezone.localdate)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        constraints = [
            models.UniqueConstraint(
                fields=["household", "individual"],
                condition=models.Q(end_date__isnull=True),
                name="registry_one_open_membership_per_household",
            ),
            models.CheckConstraint(
                condition=models.Q(end_date__isnull=True) | models.Q(end_date__gte=models.F("start_date")),
                name="registry_membership_dates_ordered",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.individual_id} in {self.household_id} as {self.role}"
