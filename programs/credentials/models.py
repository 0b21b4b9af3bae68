"""ID cards (a print queue with four-eyes approval), their print batches, the issuer's status lists and the
OpenID4VCI offers. Every row is audited by the database triggers; `CredentialEvent` records what the triggers cannot
see (a verification lookup, a PDF download)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from geo.models import Area

LIVE_STATES = ("requested", "approved", "printed", "distributed")


class Card(models.Model):
    """A card request for an individual or a household in a program, and the card it becomes:
    requested → approved (by someone other than the requester) → printed → distributed, then lost, revoked or
    replaced. Its `status_index` is its bit in the issuer's status list; revoking flips that bit."""

    class Status(models.TextChoices):
        REQUESTED = "requested"
        APPROVED = "approved"
        PRINTED = "printed"
        DISTRIBUTED = "distributed"
        LOST = "lost"
        REVOKED = "revoked"
        REPLACED = "replaced"

    # Allowed moves, kept in pure code; the service updates with `status__in=sources`.
    TRANSITIONS = {
        "approved": ("requested",),
        "printed": ("approved", "printed"),  # a reprint stays printed (and is recorded as a reprint)
        "distributed": ("printed",),
        "lost": ("printed", "distributed"),
        "revoked": ("requested", "approved", "printed", "distributed", "lost"),
        "replaced": ("printed", "distributed", "lost"),
    }

    code = models.CharField(max_length=20, unique=True)
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="cards")
    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    individual = models.ForeignKey(
        "registry.Individual", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    # The household's area when requested: scoping reads it without joining memberships.
    area = models.ForeignKey(Area, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.REQUESTED)
    status_list = models.ForeignKey("programs.StatusList", on_delete=models.PROTECT, related_name="cards")
    status_index = models.IntegerField()
    expires_on = models.DateField()
    replaces = models.OneToOneField("self", null=True, blank=True, on_delete=models.PROTECT, related_name="replaced_by")
    reason = models.CharField(max_length=255, blank=True)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(db_default=Now())
    approved_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    approved_at = models.DateTimeField(null=True, blank=True)
    prints = models.PositiveIntegerField(default=0)
    status_changed_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]
        permissions = [
            ("approve_card", "Can approve a card requested by someone else"),
            ("print_card", "Can print approved cards"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(
                    status__in=["requested", "approved", "printed", "distributed", "lost", "revoked", "replaced"]
                ),
                name="programs_card_status_known",
            ),
            # Four eyes, the database's half: nobody approves their own request.
            models.CheckConstraint(
                condition=Q(approved_by__isnull=True) | ~Q(approved_by=F("requested_by")),
                name="programs_card_four_eyes",
            ),
            # Beyond "requested" (and except a revoked request) a card has been approved.
            models.CheckConstraint(
                condition=Q(status="requested")
                | Q(status="revoked", approved_by__isnull=True)
                | Q(approved_by__isnull=False, approved_at__isnull=False),
                name="programs_card_approved",
            ),
            # One live card per person (or per household card) per program.
            models.UniqueConstraint(
                fields=["program", "household"],
                condition=Q(status__in=LIVE_STATES, individual__isnull=True),
                name="programs_card_one_live_household",
            ),
            models.UniqueConstraint(
                fields=["program", "individual"],
                condition=Q(status__in=LIVE_STATES, individual__isnull=False),
                name="programs_card_one_live_individual",
            ),
            models.UniqueConstraint(fields=["status_list", "status_index"], name="programs_card_status_bit_once"),
        ]
        indexes = [models.Index(fields=["status", "program"], name="programs_card_status")]

    def __str__(self) -> str:
        return self.code


class CardPrintBatch(models.Model):
    """One PDF of ID-1 card sheets. The file is regenerated from the cards on download, so no personal data is
    kept at rest beyond the registry's own."""

    code = models.CharField(max_length=20, unique=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    cards = models.ManyToManyField(Card, through="CardPrint", related_name="print_batches")

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return self.code


class CardPrint(models.Model):
    """A card printed in a batch; `reprint` when it had been printed before (each print is a row, never a count
    overwritten)."""

    batch = models.ForeignKey(CardPrintBatch, on_delete=models.PROTECT, related_name="prints")
    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="print_rows")
    reprint = models.BooleanField(default=False)
    key_id = models.CharField(max_length=64)
    printed_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["batch_id", "id"]
        constraints = [models.UniqueConstraint(fields=["batch", "card"], name="programs_cardprint_once")]

    def __str__(self) -> str:
        return f"{self.batch_id}/{self.card_id}"


class StatusList(models.Model):
    """A W3C Bitstring Status List (purpose revocation) of one issuer. Bit i set = credential i revoked. At least
    131,072 bits so that one bit says little about whom it belongs to (herd privacy)."""

    purpose = models.CharField(max_length=16, default="revocation")
    size = models.IntegerField(default=131072)
    bits = models.BinaryField()
    # Indexes are handed out as (allocated × STRIDE) mod size, a permutation (STRIDE is odd, size a power of two),
    # so neighbouring cards do not hold neighbouring bits.
    allocated = models.IntegerField(default=0)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        constraints = [
            models.CheckConstraint(condition=Q(allocated__lte=F("size")), name="programs_statuslist_not_full"),
            models.CheckConstraint(condition=Q(purpose__in=["revocation"]), name="programs_statuslist_purpose"),
        ]

    def __str__(self) -> str:
        return f"status list {self.pk}"


class CredentialOffer(models.Model):
    """An OpenID4VCI pre-authorized code offer for a card's SD-JWT VC. Codes and tokens are stored hashed; the code
    is used once (a replay is refused), the access token lives minutes."""

    card = models.ForeignKey(Card, on_delete=models.PROTECT, related_name="offers")
    code_hash = models.CharField(max_length=64, unique=True)
    tx_code_hash = models.CharField(max_length=64, blank=True)
    created_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    created_at = models.DateTimeField(db_default=Now())
    expires_at = models.DateTimeField()
    redeemed_at = models.DateTimeField(null=True, blank=True)
    token_hash = models.CharField(max_length=64, blank=True)
    token_expires_at = models.DateTimeField(null=True, blank=True)
    c_nonce = models.CharField(max_length=64, blank=True)
    issued_at = models.DateTimeField(null=True, blank=True)
    failed_tx_attempts = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["-id"]
        constraints = [
            models.UniqueConstraint(
                fields=["token_hash"], condition=~Q(token_hash=""), name="programs_credentialoffer_token_once"
            ),
        ]

    def __str__(self) -> str:
        return f"offer {self.pk} for card {self.card_id}"


class CredentialEvent(models.Model):
    """What happened to a card that no row change shows: a PDF downloaded, a verification looked up, a credential
    issued to a wallet. Append-only (audited like every domain table)."""

    class Kind(models.TextChoices):
        ISSUED = "issued"
        PRINTED = "printed"
        DOWNLOADED = "downloaded"
        REVOKED = "revoked"
        VERIFIED = "verified"
        OFFERED = "offered"

    kind = models.CharField(max_length=16, choices=Kind.choices)
    card = models.ForeignKey(Card, null=True, blank=True, on_delete=models.PROTECT, related_name="events")
    actor = models.CharField(max_length=150, blank=True)
    detail = models.JSONField(default=dict, blank=True)
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["-id"]

    def __str__(self) -> str:
        return f"{self.kind} {self.at}"
