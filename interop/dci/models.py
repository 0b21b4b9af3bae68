"""Who may ask the registry through DCI, and every request they made."""

from __future__ import annotations

from django.conf import settings
from django.contrib.postgres.fields import ArrayField
from django.db import models

__all__ = ["DCISender", "DCITransaction"]


class DCISender(models.Model):
    """A system registered to send signed DCI requests (a social protection MIS, a programme's platform). Its
    `sender_id` is the header's `sender_id` and the first part of the signature's kidId; its public keys (a JWKS of
    Ed25519 keys, each with a `kid`) verify what it signs; its callbacks go only to `callback_hosts`. What it may
    read is what its service user may read: that user's permissions (personal data or not) and areas."""

    sender_id = models.CharField(max_length=128, unique=True)
    name = models.CharField(max_length=200)
    jwks = models.JSONField(default=dict, help_text="Public JSON Web Key Set: Ed25519 (OKP) keys, each with a kid")
    callback_hosts = ArrayField(
        models.CharField(max_length=255),
        default=list,
        blank=True,
        help_text="Hosts (host or host:port) callbacks may go to",
    )
    callback_url = models.URLField(
        max_length=500, blank=True, help_text="Where callbacks go when a request names no sender_uri"
    )
    service_user = models.OneToOneField(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="dci_sender")
    consent_required = models.BooleanField(default=False, help_text="Refuse a search request that carries no consent")
    is_active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["sender_id"]
        verbose_name = "DCI sender"
        permissions = [("search_dcisender", "Can search the registry through DCI as a registered sender")]

    def __str__(self) -> str:
        return self.sender_id


class DCITransaction(models.Model):
    """One signed DCI request that passed the envelope checks (signature, sender, key, shape), with what was asked
    (header and message), the consent it carried, how each of its requests ended and, for asynchronous requests,
    the callback's delivery. `message_id` is unique per sender, so a replayed message is refused. Requests refused
    before this point (unsigned, unknown sender, bad signature) leave no row."""

    class Status(models.TextChoices):
        RECEIVED = "rcvd", "Received"
        PENDING = "pdng", "Pending"
        SUCCESS = "succ", "Success"
        REJECTED = "rjct", "Rejected"

    class Mode(models.TextChoices):
        SYNC = "sync", "Synchronous"
        ASYNC = "async", "Asynchronous"

    class Delivery(models.TextChoices):
        NONE = "", "No callback"
        PENDING = "pending", "Pending"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"

    sender = models.ForeignKey(DCISender, on_delete=models.PROTECT, related_name="transactions")
    message_id = models.CharField(max_length=128)
    action = models.CharField(max_length=32)
    mode = models.CharField(max_length=8, choices=Mode.choices)
    transaction_id = models.CharField(max_length=99, blank=True)
    correlation_id = models.CharField(max_length=99, unique=True)
    header = models.JSONField(default=dict)
    message = models.JSONField(default=dict)
    consents = models.JSONField(default=list, blank=True, help_text="The consent each request carried, by reference_id")
    status = models.CharField(max_length=4, choices=Status.choices, default=Status.RECEIVED)
    outcome = models.JSONField(default=list, blank=True, help_text="Per request: reference_id, status, reason, count")
    callback_url = models.URLField(max_length=500, blank=True)
    delivery = models.CharField(max_length=16, choices=Delivery.choices, default=Delivery.NONE, blank=True)
    delivery_attempts = models.PositiveIntegerField(default=0)
    delivery_error = models.TextField(blank=True)
    received_at = models.DateTimeField(auto_now_add=True)
    completed_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-id"]
        verbose_name = "DCI transaction"
        constraints = [
            models.UniqueConstraint(fields=["sender", "message_id"], name="interop_dci_message_once"),
            models.CheckConstraint(
                condition=models.Q(status__in=["rcvd", "pdng", "succ", "rjct"]), name="interop_dci_status_valid"
            ),
        ]
        indexes = [models.Index(fields=["sender", "transaction_id"], name="interop_dci_sender_txn")]

    def __str__(self) -> str:
        return f"{self.sender_id}:{self.message_id}"
