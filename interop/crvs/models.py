from django.conf import settings
from django.db import models
from django.db.models import Q
from django.db.models.functions import Now

__all__ = ["CrvsEvent", "CrvsSource", "CrvsSubscription", "IdVerification"]


class CrvsSource(models.Model):
    """A civil registry we subscribe to: where to send (base URL), who we are to it (our sender id) and who it is
    to us (its sender id and the public keys, a JWKS, that its signatures verify with). Change requests made from
    its events are submitted by its service user, so that any staff member can be the second person."""

    code = models.SlugField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    base_url = models.URLField(help_text="Root of the CRVS DCI API; /registry/subscribe is appended")
    our_sender_id = models.CharField(max_length=99, help_text="sender_id we put in our headers")
    crvs_sender_id = models.CharField(max_length=99, unique=True, help_text="sender_id the CRVS puts in its headers")
    jwks = models.JSONField(default=dict, blank=True, help_text="The CRVS's public signing keys (JWKS, Ed25519)")
    national_id_type = models.CharField(
        max_length=32, default="national_id", help_text="Our ID type (registry IdType code) that its UIN is"
    )
    birth_id_type = models.CharField(
        max_length=32, blank=True, help_text="Our ID type for its birth registration numbers (BRN), if any"
    )
    service_user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["code"]
        # Held by each source's service user (and nobody else): the right to deliver signed notify and
        # on-subscribe messages, checked after the signature has named the source.
        permissions = [("deliver_crvssource", "Can deliver signed CRVS messages (a source's service user)")]

    def __str__(self) -> str:
        return self.name


class CrvsSubscription(models.Model):
    """Our subscription to one kind of event at one source. `code` is the subscription code the CRVS gave us in
    its on-subscribe answer; notify messages name it."""

    class Event(models.TextChoices):
        BIRTH = "live_birth", "Live birth"
        DEATH = "death", "Death"

    class Status(models.TextChoices):
        REQUESTED = "requested"  # sent, acknowledged, waiting for on-subscribe
        ACTIVE = "active"
        REJECTED = "rejected"
        FAILED = "failed"  # not delivered (the CRVS did not answer, or refused the message)

    source = models.ForeignKey(CrvsSource, on_delete=models.CASCADE, related_name="subscriptions")
    event = models.CharField(max_length=16, choices=Event.choices)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    code = models.CharField(max_length=99, null=True, blank=True)
    transaction_id = models.CharField(max_length=99, unique=True)
    reference_id = models.CharField(max_length=99)
    message_id = models.CharField(max_length=99)
    error = models.TextField(blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    requested_at = models.DateTimeField(db_default=Now())
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["source_id", "event", "-requested_at"]
        constraints = [
            models.UniqueConstraint(fields=["source", "code"], name="interop_crvssubscription_code_once"),
            models.CheckConstraint(
                condition=Q(status__in=["requested", "active", "rejected", "failed"]),
                name="interop_crvssubscription_status_known",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.source_id} {self.event} ({self.status})"


class CrvsEvent(models.Model):
    """One vital event notified by a CRVS, stored once (its event id is unique per source, so a redelivery changes
    nothing), with what came of it: a change request for the matched person or household, or the reason it could
    not be matched (never a guess). `record` is the CRVS's person record, personal data."""

    class Outcome(models.TextChoices):
        PROPOSED = "proposed"  # a change request waits for a second person
        UNMATCHED = "unmatched"  # nobody (or more than one) on the registry carries the identifiers
        REFUSED = "refused"  # matched, but the change was refused (already deceased, child already registered …)

    source = models.ForeignKey(CrvsSource, on_delete=models.PROTECT, related_name="events")
    subscription = models.ForeignKey(CrvsSubscription, on_delete=models.PROTECT, related_name="events")
    event_id = models.CharField(max_length=99)
    event = models.CharField(max_length=16, choices=CrvsSubscription.Event.choices)
    message_id = models.CharField(max_length=99)
    occurred_on = models.DateField(null=True, blank=True)
    record = models.JSONField(default=dict)
    outcome = models.CharField(max_length=16, choices=Outcome.choices)
    reason = models.TextField(blank=True)
    individual = models.ForeignKey(
        "registry.Individual", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    household = models.ForeignKey(
        "registry.Household", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    change_request = models.ForeignKey(
        "registry.ChangeRequest", null=True, blank=True, on_delete=models.SET_NULL, related_name="+"
    )
    received_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-received_at", "-id"]
        constraints = [
            models.UniqueConstraint(fields=["source", "event_id"], name="interop_crvsevent_once"),
            models.CheckConstraint(
                condition=Q(outcome__in=["proposed", "unmatched", "refused"]), name="interop_crvsevent_outcome_known"
            ),
            models.CheckConstraint(
                condition=~Q(outcome="proposed") | Q(change_request__isnull=False),
                name="interop_crvsevent_proposed_has_request",
            ),
        ]
        indexes = [models.Index(fields=["outcome", "received_at"], name="interop_crvsevent_outcome")]

    def __str__(self) -> str:
        return f"{self.event} {self.event_id} ({self.outcome})"


class IdVerification(models.Model):
    """One check of an individual's ID document against the national ID system (interop.national_id): who asked,
    when, through which adapter, and what came back, with the reason in words. Written pending before the call
    leaves and completed after, so a call that never returns is still on record."""

    class Result(models.TextChoices):
        PENDING = "pending"
        MATCH = "match"
        NO_MATCH = "no_match"
        UNAVAILABLE = "unavailable"  # the ID system did not answer in time, or failed
        ERROR = "error"  # the ID system refused the question (its words in `reason`)

    individual = models.ForeignKey("registry.Individual", on_delete=models.CASCADE, related_name="+")
    document = models.ForeignKey("registry.IdDocument", null=True, on_delete=models.SET_NULL, related_name="+")
    id_type = models.CharField(max_length=32)
    adapter = models.CharField(max_length=200)
    result = models.CharField(max_length=16, choices=Result.choices, default=Result.PENDING)
    reason = models.TextField(blank=True)
    reference = models.CharField(max_length=120, blank=True, help_text="The ID system's reference for the check")
    duration_ms = models.PositiveIntegerField(null=True, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(db_default=Now())
    answered_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        constraints = [
            models.CheckConstraint(
                condition=Q(result__in=["pending", "match", "no_match", "unavailable", "error"]),
                name="interop_idverification_result_known",
            ),
        ]
        indexes = [models.Index(fields=["individual", "requested_at"], name="interop_idverification_person")]

    def __str__(self) -> str:
        return f"ID check {self.pk} of {self.individual_id}: {self.result}"
