"""Grievance redress: categories, teams, tickets, their append-only history and the complainant's outbox.

A ticket's status, due times and decision are a cache of its history: every change writes a TicketEvent in the same
transaction, and events refuse UPDATE, DELETE and TRUNCATE (grievances/sql/0002_history.sql)."""

from django.conf import settings
from django.contrib.gis.db import models
from django.db.models.functions import Now

from geo.models import Area


class Severity(models.TextChoices):
    LOW = "low", "Low"
    MEDIUM = "medium", "Medium"
    HIGH = "high", "High"
    CRITICAL = "critical", "Critical"


class Category(models.Model):
    """What a complaint is about. A subcategory names its parent; SLA hours and default severity come from here
    when the ticket is made. A sensitive category (fraud, sexual exploitation and abuse) makes its tickets visible
    only to the team they are assigned to."""

    code = models.SlugField(max_length=40, unique=True)
    name = models.CharField(max_length=200)
    parent = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="children")
    default_severity = models.CharField(max_length=8, choices=Severity.choices, default=Severity.MEDIUM)
    ack_sla_hours = models.PositiveIntegerField(default=48)
    resolve_sla_hours = models.PositiveIntegerField(default=30 * 24)
    sensitive = models.BooleanField(default=False)
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["code"]
        verbose_name_plural = "categories"
        constraints = [
            models.CheckConstraint(
                condition=models.Q(ack_sla_hours__gt=0, resolve_sla_hours__gte=models.F("ack_sla_hours")),
                name="grievances_category_sla_order",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Team(models.Model):
    """A grievance team: the areas it serves (and everything inside them) and its members. A ticket goes to the team
    serving the nearest ancestor of its area; a sensitive ticket only to a team that handles sensitive cases."""

    name = models.CharField(max_length=200, unique=True)
    areas = models.ManyToManyField(Area, related_name="+", blank=True)
    handles_sensitive = models.BooleanField(default=False)
    members = models.ManyToManyField(settings.AUTH_USER_MODEL, related_name="grievance_teams", blank=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


def reference_default() -> models.Func:
    """Database default: GRV-XXXX-XXXX from a sequence, with a check character (grievances/sql/0001_reference.sql),
    so rows written by SQL get one too."""
    return models.Func(function="grievances_next_reference", output_field=models.CharField())


class Ticket(models.Model):
    """One complaint, from any channel. Complainant contact (name, phone, email) is personal data; an anonymous
    complaint has none and is followed up with a code of which only a keyed hash is stored."""

    class Channel(models.TextChoices):
        WEB = "web", "Web form"
        API = "api", "API"
        CALL_CENTRE = "call_centre", "Call centre"
        SMS = "sms", "SMS"
        WALK_IN = "walk_in", "Walk-in"

    class Status(models.TextChoices):
        RECEIVED = "received", "Received"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        IN_PROGRESS = "in_progress", "In progress"
        RESOLVED = "resolved", "Resolved"
        APPEALED = "appealed", "Appealed"
        CLOSED = "closed", "Closed"

    class Outcome(models.TextChoices):
        UPHELD = "upheld", "Upheld"
        PARTLY_UPHELD = "partly_upheld", "Partly upheld"
        REJECTED = "rejected", "Rejected"
        WITHDRAWN = "withdrawn", "Withdrawn"
        REFERRED = "referred", "Referred"

    class Language(models.TextChoices):
        EN = "en", "English"
        FR = "fr", "Français"
        BN = "bn", "বাংলা"

    reference = models.CharField(max_length=16, unique=True, db_default=reference_default(), editable=False)
    channel = models.CharField(max_length=16, choices=Channel.choices)
    external_id = models.CharField(max_length=100, blank=True, default="")
    category = models.ForeignKey(Category, on_delete=models.PROTECT, related_name="+")
    severity = models.CharField(max_length=8, choices=Severity.choices)
    sensitive = models.BooleanField(default=False)
    description = models.TextField()
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    distribution_point = models.ForeignKey(
        "distribution.DistributionPoint", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="tickets")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.RECEIVED)

    anonymous = models.BooleanField(default=False)
    complainant_name = models.CharField(max_length=200, blank=True, default="")
    complainant_phone = models.CharField(max_length=32, blank=True, default="")
    complainant_email = models.EmailField(blank=True, default="")
    language = models.CharField(max_length=2, choices=Language.choices, default=Language.EN)
    followup_hash = models.CharField(max_length=64, blank=True, default="", editable=False)

    household = models.ForeignKey(
        "registry.Household", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    entitlement = models.ForeignKey(
        "programs.Entitlement", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    payment = models.ForeignKey("programs.Payment", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    redemption = models.ForeignKey(
        "distribution.Redemption", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField()
    ack_due_at = models.DateTimeField()
    resolve_due_at = models.DateTimeField()
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    resolved_at = models.DateTimeField(null=True, blank=True)
    closed_at = models.DateTimeField(null=True, blank=True)
    escalated_at = models.DateTimeField(null=True, blank=True)

    outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    decision_reason = models.TextField(blank=True, default="")
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField(null=True, blank=True)
    appeal_reason = models.TextField(blank=True, default="")
    appealed_at = models.DateTimeField(null=True, blank=True)
    appeal_outcome = models.CharField(max_length=16, choices=Outcome.choices, blank=True, default="")
    appeal_decision_reason = models.TextField(blank=True, default="")
    appeal_decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    appeal_decided_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        indexes = [
            models.Index(fields=["area", "status"], name="grievances_ticket_area_status"),
            # The escalation sweep reads only tickets not yet escalated.
            models.Index(
                fields=["ack_due_at"],
                condition=models.Q(escalated_at__isnull=True),
                name="grievances_ticket_to_escalate",
            ),
        ]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(
                    status__in=["received", "acknowledged", "in_progress", "resolved", "appealed", "closed"]
                ),
                name="grievances_ticket_status_valid",
            ),
            models.CheckConstraint(
                condition=models.Q(channel__in=["web", "api", "call_centre", "sms", "walk_in"]),
                name="grievances_ticket_channel_valid",
            ),
            # The database's half of "an appeal is decided by someone else than the first decider".
            models.CheckConstraint(
                condition=models.Q(appeal_decided_by__isnull=True)
                | (models.Q(decided_by__isnull=False) & ~models.Q(appeal_decided_by=models.F("decided_by"))),
                name="grievances_ticket_appeal_other_decider",
            ),
            models.CheckConstraint(
                condition=~models.Q(anonymous=True)
                | models.Q(complainant_name="", complainant_phone="", complainant_email=""),
                name="grievances_ticket_anonymous_no_contact",
            ),
            models.UniqueConstraint(
                fields=["channel", "external_id"],
                condition=~models.Q(external_id=""),
                name="grievances_ticket_external_once",
            ),
        ]
        # Partners read only the published statistics, never tickets.
        permissions = [("view_statistics", "Can read published grievance statistics")]

    def __str__(self) -> str:
        return self.reference


class TicketEvent(models.Model):
    """One change of a ticket (created, assigned, acknowledged, decided, escalated, an action taken). Append-only:
    the database refuses UPDATE, DELETE and TRUNCATE."""

    class Kind(models.TextChoices):
        CREATED = "created"
        ASSIGNED = "assigned"
        ACKNOWLEDGED = "acknowledged"
        STARTED = "started"
        NOTE = "note"
        DECIDED = "decided"
        APPEALED = "appealed"
        APPEAL_DECIDED = "appeal_decided"
        CLOSED = "closed"
        ESCALATED = "escalated"
        ACTION = "action"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="events", db_index=False)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    from_status = models.CharField(max_length=16, blank=True, default="")
    to_status = models.CharField(max_length=16, blank=True, default="")
    actor = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    note = models.TextField(blank=True, default="")
    data = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["ticket", "id"]
        indexes = [models.Index(fields=["ticket", "id"], name="grievances_event_ticket")]

    def __str__(self) -> str:
        return f"{self.ticket_id} {self.kind}"


class Message(models.Model):
    """A message to the complainant (acknowledgement, decision) in their language. Email rows are sent by the
    outbox task through Django's email backend; SMS rows wait for the SMS gateway to pull them through the API."""

    class Medium(models.TextChoices):
        SMS = "sms", "SMS"
        EMAIL = "email", "Email"

    class Kind(models.TextChoices):
        ACKNOWLEDGED = "acknowledged"
        DECIDED = "decided"
        APPEAL_DECIDED = "appeal_decided"

    class Status(models.TextChoices):
        PENDING = "pending"
        SENT = "sent"
        FAILED = "failed"

    ticket = models.ForeignKey(Ticket, on_delete=models.PROTECT, related_name="messages")
    kind = models.CharField(max_length=16, choices=Kind.choices)
    medium = models.CharField(max_length=8, choices=Medium.choices)
    recipient = models.CharField(max_length=254)
    language = models.CharField(max_length=2)
    subject = models.CharField(max_length=200, blank=True, default="")
    body = models.TextField()
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.PENDING)
    error = models.TextField(blank=True, default="")
    created_at = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["id"]
        constraints = [
            # A retried acknowledgement or decision never sends twice.
            models.UniqueConstraint(fields=["ticket", "kind", "medium"], name="grievances_message_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=["pending", "sent", "failed"]), name="grievances_message_status"
            ),
        ]
        indexes = [models.Index(fields=["medium", "status"], name="grievances_message_pending")]

    def __str__(self) -> str:
        return f"{self.kind} {self.medium} for {self.ticket_id}"
