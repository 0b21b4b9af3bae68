"""Programs, their members, cycles and entitlements: who receives what, when, and why.

Money is numeric, never float (programs.money states the rounding rule). Entitlements and memberships are written
set-based, a million at a time; each such write is one audited operation row (an EnrolmentRun or the cycle's
EntitlementRun, holding the rule, counts and totals), and every later change of a single membership or entitlement is
audited row by row by the database (programs/sql/0001_programs.sql).
"""

from django.conf import settings
from django.contrib.postgres.constraints import ExclusionConstraint
from django.contrib.postgres.fields import DateRangeField, RangeOperators
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from geo.models import Area
from response.models import ExposureRun, Incident
from spmis.core.models import Job


def _code_default(kind: str) -> models.Func:
    """Readable codes with a Luhn check digit, drawn from a sequence by the database, so bulk SQL gets them too."""
    return models.Func(models.Value(kind), function="programs_next_code", output_field=models.CharField())


class DateRange(models.Func):
    function = "daterange"
    output_field = DateRangeField()


class Program(models.Model):
    class Kind(models.TextChoices):
        REGULAR = "regular"
        EMERGENCY = "emergency"
        ANTICIPATORY = "anticipatory"

    class Target(models.TextChoices):
        HOUSEHOLD = "household"
        INDIVIDUAL = "individual"

    class Status(models.TextChoices):
        DRAFT = "draft"
        ACTIVE = "active"
        CLOSED = "closed"

    class DuplicatePolicy(models.TextChoices):
        # A household already entitled by another program for the same incident: flag it on the cycle for the
        # approver to see, or leave it out of the cycle.
        FLAG = "flag"
        REFUSE = "refuse"

    code = models.CharField(max_length=16, unique=True, db_default=_code_default("PRG"), editable=False)
    name = models.CharField(max_length=200, unique=True)
    description = models.TextField(blank=True)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    target = models.CharField(max_length=16, choices=Target.choices, default=Target.HOUSEHOLD)
    currency = models.CharField(max_length=3)
    budget = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    funding_source = models.CharField(max_length=200, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    areas = models.ManyToManyField(Area, blank=True, related_name="+")
    incidents = models.ManyToManyField(Incident, blank=True, related_name="programs")
    eligibility_rule = models.TextField(blank=True)
    duplicate_policy = models.CharField(max_length=8, choices=DuplicatePolicy.choices, default=DuplicatePolicy.FLAG)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(budget__isnull=True) | Q(budget__gte=0), name="programs_budget_positive"
            ),
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="programs_currency_iso4217"),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class EnrolmentRun(Job):
    """One set-based change of a program's membership (enrol by rule, exit, pause, resume): the audited record of
    who did it, with which rule, and how many households it touched."""

    class Action(models.TextChoices):
        ENROL = "enrol"
        PAUSE = "pause"
        RESUME = "resume"
        EXIT = "exit"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="enrolment_runs")
    action = models.CharField(max_length=8, choices=Action.choices)
    rule = models.TextField(blank=True)
    reason = models.CharField(max_length=255, blank=True)

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"{self.action} run {self.pk} of {self.program_id} ({self.status})"


class ProgramMembership(models.Model):
    class State(models.TextChoices):
        ENROLLED = "enrolled"
        PAUSED = "paused"
        EXITED = "exited"
        NOT_ELIGIBLE = "not_eligible"
        DUPLICATE = "duplicate"

    # Both references are checked by the database once per statement, not by a foreign key per row (programs/sql/
    # 0013_entitlements_faster.sql); the program's index is programs_membership_once's leading column.
    program = models.ForeignKey(
        Program, on_delete=models.CASCADE, related_name="memberships", db_index=False, db_constraint=False
    )
    household = models.ForeignKey(
        "registry.Household",
        on_delete=models.PROTECT,
        related_name="program_memberships",
        db_index=False,
        db_constraint=False,
    )
    state = models.CharField(max_length=16, choices=State.choices, default=State.ENROLLED)
    reason = models.CharField(max_length=255, blank=True)
    enrolled_on = models.DateField(null=True, blank=True)
    state_changed_at = models.DateTimeField(db_default=Now())
    # The set-based operation that last wrote this row (its audited record). No database check: a million rows of
    # one enrolment would each check the same run row at commit, doubling the enrolment's cost; runs are deleted
    # only with their program, whose memberships go with it.
    # Not indexed: an enrolment counts its rows from its own INSERT's RETURNING.
    run = models.ForeignKey(
        EnrolmentRun,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )

    class Meta:
        ordering = ["program_id", "household_id"]
        constraints = [
            models.UniqueConstraint(fields=["program", "household"], name="programs_membership_once"),
        ]
        indexes = [
            models.Index(fields=["household"], include=["program", "state"], name="programs_membership_household"),
            models.Index(fields=["program", "state", "household"], name="programs_membership_state"),
        ]

    def __str__(self) -> str:
        return f"{self.program_id}/{self.household_id}: {self.state}"


class Cycle(models.Model):
    """One round of a program. Submit and approve are four-eyes: the database refuses an approval by the person who
    submitted. `planned_*` and `population_digest` are the numbers the submitter saw; approval recomputes them and
    refuses when the population changed since."""

    class Kind(models.TextChoices):
        REGULAR = "regular"
        TOP_UP = "top_up", "top-up (vertical expansion)"
        NEW_CASELOAD = "new_caseload", "new caseload (horizontal expansion)"
        ANTICIPATORY = "anticipatory"

    class Population(models.TextChoices):
        # enrolled: the program's enrolled members matching the cycle rule; new: households matching the cycle
        # rule not enrolled yet (they are enrolled when the cycle is approved); both.
        ENROLLED = "enrolled"
        NEW = "new"
        BOTH = "both"

    class State(models.TextChoices):
        DRAFT = "draft"
        TO_APPROVE = "to_approve", "to approve"
        APPROVED = "approved"
        DISTRIBUTED = "distributed"
        ENDED = "ended"
        CANCELLED = "cancelled"

    program = models.ForeignKey(Program, on_delete=models.PROTECT, related_name="cycles")
    sequence = models.PositiveIntegerField()
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.REGULAR)
    population = models.CharField(max_length=8, choices=Population.choices, default=Population.ENROLLED)
    starts_on = models.DateField()
    ends_on = models.DateField()
    state = models.CharField(max_length=16, choices=State.choices, default=State.DRAFT)
    incident = models.ForeignKey(Incident, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    exposure_run = models.ForeignKey(ExposureRun, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    # A supplementary cycle covers only those a later analysis newly found affected.
    supplements = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="supplementary_cycles"
    )
    rule = models.TextField(blank=True)
    formula = models.JSONField(default=dict)
    planned_count = models.PositiveIntegerField(default=0)
    planned_amount = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    planned_people = models.PositiveIntegerField(default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    population_digest = models.CharField(max_length=128, blank=True)
    generated_at = models.DateTimeField(null=True, blank=True)
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    submitted_at = models.DateTimeField(null=True, blank=True)
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["program_id", "-sequence"]
        permissions = [("approve_cycle", "Can approve a cycle submitted by someone else")]
        constraints = [
            models.UniqueConstraint(fields=["program", "sequence"], name="programs_cycle_sequence"),
            models.CheckConstraint(condition=Q(ends_on__gte=F("starts_on")), name="programs_cycle_dates_ordered"),
            # Four eyes, in the database: whoever submitted cannot approve.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("submitted_by")),
                name="programs_cycle_four_eyes",
            ),
            models.CheckConstraint(
                condition=~Q(state__in=["approved", "distributed", "ended"])
                | Q(approved_by__isnull=False, submitted_by__isnull=False),
                name="programs_cycle_approved_has_approver",
            ),
            # Regular cycles of a program do not overlap (top-ups and new caseloads may run beside them).
            ExclusionConstraint(
                name="programs_cycle_regular_no_overlap",
                expressions=[
                    (F("program"), RangeOperators.EQUAL),
                    (DateRange("starts_on", "ends_on", models.Value("[]")), RangeOperators.OVERLAPS),
                ],
                condition=Q(kind="regular") & ~Q(state="cancelled"),
            ),
        ]

    def __str__(self) -> str:
        return f"{self.program_id} cycle {self.sequence} ({self.state})"


class EntitlementRun(Job):
    """Generating (or regenerating) a cycle's entitlements: chunked, idempotent, with progress."""

    cycle = models.ForeignKey(Cycle, on_delete=models.CASCADE, related_name="runs")

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return f"entitlement run {self.pk} of cycle {self.cycle_id} ({self.status})"


class Entitlement(models.Model):
    class Kind(models.TextChoices):
        CASH = "cash"
        IN_KIND = "in_kind", "in kind"

    class Status(models.TextChoices):
        DRAFT = "draft"
        APPROVED = "approved"
        CANCELLED = "cancelled"
        # Held back (the beneficiary's death was recorded): not paid or redeemed until resumed.
        PAUSED = "paused"

    # Unique through a constraint, not unique=True: that would add a second (pattern-matching) index on the code,
    # maintained for every one of a million inserted rows and used by no query.
    code = models.CharField(max_length=20, db_default=_code_default("ENT"), editable=False)
    # cycle and household are checked by the database once per statement, not by a foreign key per row (programs/
    # sql/0013_entitlements_faster.sql: two million checks at the commit of a million-household cycle).
    cycle = models.ForeignKey(
        Cycle, on_delete=models.PROTECT, related_name="entitlements", db_index=False, db_constraint=False
    )
    # program and incident are copies of the cycle's (which the database keeps real): no foreign-key check per row,
    # every row of a cycle would check the same parent at commit (bench/programs.py: seconds per million).
    program = models.ForeignKey(
        Program, on_delete=models.DO_NOTHING, related_name="+", db_index=False, db_constraint=False
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    kind = models.CharField(max_length=8, choices=Kind.choices)
    amount = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    fee = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    currency = models.CharField(max_length=3, blank=True)
    # The incident this entitlement answers (copied from its cycle) and the hazard class it was computed from.
    # Not indexed on its own: the entitlements of an incident are read through programs_entitlement_once_per_incident
    # (program, incident, …), for the programs whose cycles answer it.
    incident = models.ForeignKey(
        Incident,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    hazard_rank = models.PositiveSmallIntegerField(null=True, blank=True)
    people = models.PositiveSmallIntegerField(default=0)
    # Another program entitles the same household for the same incident (program duplicate_policy = flag).
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=255, blank=True)
    valid_from = models.DateField()
    valid_until = models.DateField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.DRAFT)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["cycle_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["code"], name="programs_entitlement_code_unique"),
            models.UniqueConstraint(fields=["cycle", "household", "kind"], name="programs_entitlement_once"),
            # Nobody is entitled twice by one program for the same incident, whatever cycle asks.
            models.UniqueConstraint(
                fields=["program", "incident", "household", "kind"],
                condition=Q(incident__isnull=False) & ~Q(status="cancelled"),
                name="programs_entitlement_once_per_incident",
            ),
            models.CheckConstraint(
                condition=(Q(kind="cash") & Q(amount__isnull=False) & Q(amount__gte=0))
                | (Q(kind="in_kind") & Q(amount__isnull=True)),
                name="programs_entitlement_amount_by_kind",
            ),
            models.CheckConstraint(condition=Q(fee__gte=0), name="programs_entitlement_fee_positive"),
            models.CheckConstraint(
                condition=Q(valid_until__gte=F("valid_from")), name="programs_entitlement_dates_ordered"
            ),
        ]
        indexes = [
            models.Index(fields=["household"], include=["program", "incident"], name="programs_entitlement_household"),
            models.Index(fields=["cycle", "status", "id"], name="programs_entitlement_cycle"),
        ]

    def __str__(self) -> str:
        return self.code


class EntitlementItem(models.Model):
    """One line of an in-kind entitlement: so much of an item (by its catalogue code) in a unit."""

    entitlement = models.ForeignKey(Entitlement, on_delete=models.CASCADE, related_name="items", db_index=False)
    item = models.SlugField(max_length=64)
    quantity = models.DecimalField(max_digits=12, decimal_places=3)
    unit = models.CharField(max_length=16)

    class Meta:
        constraints = [
            models.UniqueConstraint(fields=["entitlement", "item"], name="programs_entitlement_item_once"),
            models.CheckConstraint(condition=Q(quantity__gt=0), name="programs_entitlement_item_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.quantity} {self.unit} {self.item}"


class Simulation(models.Model):
    """Up to four targeting scenarios compared side by side against one exposure analysis."""

    name = models.CharField(max_length=200)
    exposure_run = models.ForeignKey(ExposureRun, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    currency = models.CharField(max_length=3)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.name


class Scenario(models.Model):
    simulation = models.ForeignKey(Simulation, on_delete=models.CASCADE, related_name="scenarios")
    position = models.PositiveSmallIntegerField()
    name = models.CharField(max_length=200)
    rule = models.TextField()
    formula = models.JSONField(default=dict)
    budget = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    program = models.ForeignKey(Program, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")

    class Meta:
        ordering = ["simulation_id", "position"]
        constraints = [
            models.UniqueConstraint(fields=["simulation", "position"], name="programs_scenario_position"),
            # Four scenarios at most, side by side: positions 1 to 4, each once.
            models.CheckConstraint(condition=Q(position__gte=1, position__lte=4), name="programs_scenario_1_to_4"),
        ]

    def __str__(self) -> str:
        return f"{self.simulation_id}/{self.position} {self.name}"


class Trigger(models.Model):
    """Anticipatory action: when a CAP alert (severity, certainty, urgency, in given areas) or a forecast raster
    (a value crossing a threshold) matches, draft the pre-agreed cycle and tell the approvers."""

    class Kind(models.TextChoices):
        CAP = "cap", "CAP alert"
        RASTER = "raster", "forecast raster"

    program = models.ForeignKey(Program, on_delete=models.CASCADE, related_name="triggers")
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=8, choices=Kind.choices)
    conditions = models.JSONField(default=dict)
    rule = models.TextField(blank=True)
    formula = models.JSONField(default=dict)
    valid_days = models.PositiveSmallIntegerField(default=30)
    is_active = models.BooleanField(default=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, on_delete=models.SET_NULL, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["program_id", "name"]

    def __str__(self) -> str:
        return self.name


class TriggerFiring(models.Model):
    """A trigger fired once for one source (a CAP identifier, a layer): the cycle it drafted."""

    trigger = models.ForeignKey(Trigger, on_delete=models.CASCADE, related_name="firings")
    source_key = models.CharField(max_length=255)
    incident = models.ForeignKey(Incident, null=True, on_delete=models.SET_NULL, related_name="+")
    cycle = models.ForeignKey(Cycle, null=True, on_delete=models.SET_NULL, related_name="+")
    fired_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-fired_at"]
        constraints = [models.UniqueConstraint(fields=["trigger", "source_key"], name="programs_trigger_fires_once")]

    def __str__(self) -> str:
        return f"{self.trigger_id} fired for {self.source_key}"


class Notice(models.Model):
    """A message to a user in the app (e.g. 'a cycle awaits your approval'), shown until read."""

    user = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.CASCADE, related_name="+")
    subject = models.CharField(max_length=255)
    body = models.TextField(blank=True)
    cycle = models.ForeignKey(Cycle, null=True, blank=True, on_delete=models.CASCADE, related_name="+")
    created_at = models.DateTimeField(auto_now_add=True)
    read_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]

    def __str__(self) -> str:
        return self.subject


# Payments are their own module set; imported here so that the app registry sees their models.
from programs.credentials.models import (  # noqa: E402, F401
    Card,
    CardPrint,
    CardPrintBatch,
    CredentialEvent,
    CredentialOffer,
    StatusList,
)
from programs.payments.models import (  # noqa: E402, F401
    FinancialServiceProvider,
    Payment,
    PaymentAccount,
    PaymentAccountChange,
    PaymentBatch,
    PaymentBatchRun,
    PaymentEvent,
    PaymentFile,
    PaymentReport,
    PaymentReportIssue,
)
