from django.conf import settings
from django.contrib.gis.db import models
from django.contrib.postgres.indexes import GinIndex
from django.db.models.functions import Now
from django.utils import timezone

from geo.models import Area
from spmis.core.models import Job


def registrant_id_default(prefix: str) -> models.Func:
    """Database default: the next registrant ID (prefix, 9 digits, Luhn check digit) from a sequence, so bulk
    loaders that COPY only the original columns still get one (see registry/sql/0003_functions.sql)."""
    return models.Func(models.Value(prefix), function="registry_next_registrant_id", output_field=models.CharField())


class Status(models.TextChoices):
    ACTIVE = "active", "Active"
    INACTIVE = "inactive", "Inactive"
    DECEASED = "deceased", "Deceased"
    MOVED = "moved", "Moved"


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
    # Indexed by (area, id) below, which serves every lookup by area too.
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    address = models.TextField(blank=True)
    registered_on = models.DateField(default=timezone.localdate)
    source = models.CharField(max_length=64, blank=True)
    registrant_id = models.CharField(max_length=16, unique=True, db_default=registrant_id_default("H"), editable=False)
    # True when the area was set directly (no point): the household is only approximately located.
    area_approximate = models.GeneratedField(
        expression=models.Q(location__isnull=True), output_field=models.BooleanField(), db_persist=True
    )
    status = models.CharField(max_length=16, choices=Status.choices, db_default=Status.ACTIVE, default=Status.ACTIVE)
    status_date = models.DateField(null=True, blank=True)
    custom = models.JSONField(db_default={}, default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        # Who may see names, birth dates, phones, ID documents, addresses, custom fields and exact locations of the
        # whole registry (households and their members); others get the reduced representation (docs/foundation.md).
        permissions = [("view_personal_data", "Can see personal data (names, birth dates, phones, documents, places)")]
        indexes = [
            GinIndex(fields=["custom"], name="registry_household_custom_gin"),
            # The few households known only by their area: exposure analyses list them without scanning the
            # registry (response.exposure).
            models.Index(
                fields=["area"],
                name="registry_household_area_only",
                condition=models.Q(status="active")
                & (models.Q(location__isnull=True) | models.Q(location_precision="area")),
            ),
            # A scoped user's households: counted from their areas' rows (area, id), and paged in id order with the
            # area read from the index (id INCLUDE area), never from the table.
            models.Index(fields=["area", "id"], name="registry_household_area_key"),
            models.Index(fields=["id"], include=["area"], name="registry_household_key_area"),
        ]

    def __str__(self) -> str:
        return self.external_id or f"household {self.pk}"


WG_DOMAINS = ("seeing", "hearing", "walking", "cognition", "self_care", "communication")
WG_CHOICES = [(1, "No difficulty"), (2, "Some difficulty"), (3, "A lot of difficulty"), (4, "Cannot do at all")]


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
    registrant_id = models.CharField(max_length=16, unique=True, db_default=registrant_id_default("I"), editable=False)
    other_names = models.CharField(max_length=200, blank=True, db_default="", default="")
    birth_date_estimated = models.BooleanField(db_default=False, default=False)
    # Washington Group short set: 1 no difficulty, 2 some, 3 a lot, 4 cannot do at all. `disability` is derived
    # from them by a database trigger whenever any is known.
    wg_seeing = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    wg_hearing = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    wg_walking = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    wg_cognition = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    wg_self_care = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    wg_communication = models.PositiveSmallIntegerField(null=True, blank=True, choices=WG_CHOICES)
    is_pregnant = models.BooleanField(db_default=False, default=False)
    is_lactating = models.BooleanField(db_default=False, default=False)
    status = models.CharField(max_length=16, choices=Status.choices, db_default=Status.ACTIVE, default=Status.ACTIVE)
    status_date = models.DateField(null=True, blank=True)
    merged_into = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="merged_duplicates"
    )
    custom = models.JSONField(db_default={}, default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["id"]
        indexes = [GinIndex(fields=["custom"], name="registry_individual_custom_gin")]

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

    # Both looked up through the covering indexes below rather than single-column foreign-key indexes.
    household = models.ForeignKey(Household, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    individual = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="memberships", db_index=False)
    role = models.CharField(max_length=16, choices=Role.choices)
    start_date = models.DateField(default=timezone.localdate)
    end_date = models.DateField(null=True, blank=True)

    class Meta:
        indexes = [
            # A scoped user's individuals in id order (keyset pages): each one's households from the index alone;
            # and counted from their households' memberships, also from the index alone.
            models.Index(fields=["individual"], include=["household", "end_date"], name="registry_membership_person"),
            models.Index(fields=["household", "individual"], name="registry_membership_household"),
        ]
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


class HouseholdMembers(models.Model):
    """How many people count in each household: open membership (no end date) of an active individual, the
    condition of the eligibility rules' members aggregate. Kept by statement-level triggers on memberships and
    individuals (registry/sql/0014_member_summary.sql), so that rules, previews and entitlements read one row per
    household instead of probing every membership. Not audited (it is derived, and bulk loads would write one
    audit row per household); a household without a row has no one counting. Rebuilt from the memberships by
    `SELECT registry_household_members_rebuild()` or `manage.py rebuild_member_summary`.
    """

    household = models.OneToOneField(
        Household, primary_key=True, on_delete=models.DO_NOTHING, db_constraint=False, related_name="+"
    )
    members = models.IntegerField(default=0)
    # The latest and the earliest birth date among them (NULL when none has one): "a member under 5 on a day" is
    # "the youngest born after the day 5 years earlier", for any day (registry/sql/0017_member_summary_ages.sql).
    youngest = models.DateField(null=True, blank=True)
    oldest = models.DateField(null=True, blank=True)

    class Meta:
        db_table = "registry_household_members"
        verbose_name = "household member count"
        verbose_name_plural = "household member counts"

    def __str__(self) -> str:
        return f"{self.household_id}: {self.members} members"


class Phone(models.Model):
    """A phone number of an individual, stored in E.164 (validated with the phonenumbers metadata)."""

    individual = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="phones")
    number = models.CharField(max_length=16, db_index=True)
    is_primary = models.BooleanField(db_default=True, default=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["individual", "number"], name="registry_phone_once")]

    def __str__(self) -> str:
        return self.number


class IdType(models.Model):
    """A kind of identity document (national ID, passport, birth certificate, program card …) and its format."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=120)
    pattern = models.CharField(max_length=200, blank=True, help_text="Regular expression the whole number must match")

    class Meta:
        ordering = ["code"]

    def __str__(self) -> str:
        return self.name


class IdDocument(models.Model):
    """An identity document held by an individual; a number is unique within its type."""

    individual = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="documents")
    id_type = models.ForeignKey(IdType, on_delete=models.PROTECT, related_name="documents")
    number = models.CharField(max_length=64)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [models.UniqueConstraint(fields=["id_type", "number"], name="registry_id_unique_per_type")]
        indexes = [models.Index(fields=["number"], name="registry_iddoc_number_idx")]

    def __str__(self) -> str:
        return f"{self.id_type_id}:{self.number}"


class CustomField(models.Model):
    """An extra field a deployment defines as data; values live in the `custom` JSONB of households or
    individuals and are validated against this definition."""

    class Type(models.TextChoices):
        TEXT = "text"
        INTEGER = "integer"
        DECIMAL = "decimal"
        BOOLEAN = "boolean"
        DATE = "date"
        CHOICE = "choice"
        MULTI_CHOICE = "multi_choice"

    class AppliesTo(models.TextChoices):
        HOUSEHOLD = "household"
        INDIVIDUAL = "individual"

    name = models.SlugField(max_length=64)
    label = models.CharField(max_length=120, blank=True)
    type = models.CharField(max_length=16, choices=Type.choices)
    choices = models.JSONField(default=list, blank=True)
    required = models.BooleanField(default=False)
    applies_to = models.CharField(max_length=16, choices=AppliesTo.choices)

    class Meta:
        ordering = ["applies_to", "name"]
        constraints = [models.UniqueConstraint(fields=["applies_to", "name"], name="registry_customfield_unique")]

    def __str__(self) -> str:
        return f"{self.applies_to}.{self.name}"


class CustomFilter(models.Model):
    """A saved, named filter over households or individuals: a list of conditions {field, op, value}, where
    field is a model field or `custom.<name>` (see registry.filters)."""

    name = models.CharField(max_length=120, unique=True)
    applies_to = models.CharField(max_length=16, choices=CustomField.AppliesTo.choices)
    conditions = models.JSONField(default=list)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class ImportMapping(models.Model):
    """The column mapping saved for one data source: {target field: column in the file}."""

    source = models.CharField(max_length=64, unique=True)
    columns = models.JSONField(default=dict)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["source"]

    def __str__(self) -> str:
        return self.source


class RegistryImport(Job):
    """One import of a registry file (CSV, XLSX, GeoJSON): the row a client polls for progress and outcome."""

    file = models.FileField(upload_to="registry-imports/%Y/%m/")
    original_name = models.CharField(max_length=255)
    source = models.CharField(max_length=64, blank=True)
    report = models.FileField(upload_to="registry-imports/reports/%Y/%m/", blank=True)

    class Meta(Job.Meta):
        # Without it, rows that would move existing people or households or change their phones are rejected:
        # those changes need a change request approved by a second user.
        permissions = [("import_changes", "Can move existing people and households and change phones by import")]

    def __str__(self) -> str:
        return f"registry import {self.pk} ({self.status})"


class ChangeRequest(models.Model):
    """A proposed change to the registry, applied only after a second user approves it; keeps the diff."""

    class Kind(models.TextChoices):
        LOCATION = "location", "New location"
        PHONE = "phone", "New phone"
        ADD_MEMBER = "add_member", "Add member"
        REMOVE_MEMBER = "remove_member", "Remove member"
        BIRTH_DATE = "birth_date", "Correct birth date"
        MOVE = "move", "Move household"
        # Reported by civil registration (interop.crvs) or entered by hand; applied, like every kind, only once a
        # second user approves.
        DEATH = "death", "Death"
        BIRTH = "birth", "Birth (new member)"

    class Status(models.TextChoices):
        PENDING = "pending"
        APPLIED = "applied"
        REJECTED = "rejected"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    household = models.ForeignKey(Household, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    individual = models.ForeignKey(Individual, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    payload = models.JSONField(default=dict)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    reason = models.TextField(blank=True)
    diff = models.JSONField(default=dict, blank=True)
    submitted_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    submitted_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-submitted_at"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(reviewed_by__isnull=True) | ~models.Q(reviewed_by=models.F("submitted_by")),
                name="registry_changerequest_four_eyes",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} change {self.pk} ({self.status})"


class DedupRun(Job):
    """One run of duplicate detection: the row a client polls."""

    def __str__(self) -> str:
        return f"dedup run {self.pk} ({self.status})"


class DuplicateCandidate(models.Model):
    """A pair of individuals who may be the same person (first < second), with why and how likely."""

    class Status(models.TextChoices):
        PENDING = "pending"
        CONFIRMED = "confirmed"
        DISMISSED = "dismissed"
        MERGED = "merged"

    first = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="+")
    second = models.ForeignKey(Individual, on_delete=models.CASCADE, related_name="+")
    reasons = models.JSONField(default=list)
    name_score = models.FloatField(default=0)
    distance_m = models.FloatField(null=True, blank=True)
    score = models.FloatField(default=0, db_index=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING, db_index=True)
    run = models.ForeignKey(DedupRun, null=True, blank=True, on_delete=models.SET_NULL, related_name="candidates")
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    merge_result = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-score", "id"]
        constraints = [
            models.UniqueConstraint(fields=["first", "second"], name="registry_duplicate_pair_once"),
            models.CheckConstraint(condition=models.Q(first__lt=models.F("second")), name="registry_duplicate_order"),
        ]

    def __str__(self) -> str:
        return f"{self.first_id} ~ {self.second_id} ({self.score:.2f})"
