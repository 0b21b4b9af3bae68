"""Financial service providers, payment accounts (one per household) and the change requests that set them.

Account numbers are never stored in plain text: `number_ciphertext` holds AES-GCM output (programs.payments.crypto),
`number_key_id` the key that wrote it (so rotation finds old rows with an index), `blind_index` an HMAC of the
normalised account so that one account on two households is found with one indexed query.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q

from geo.models import Area


class FinancialServiceProvider(models.Model):
    class Kind(models.TextChoices):
        BANK = "bank"
        MOBILE_MONEY = "mobile_money"
        CASH_AGENT = "cash_agent"

    class FileFormat(models.TextChoices):
        PAIN_001_001_09 = "pain.001.001.09"
        PAIN_001_001_03 = "pain.001.001.03"
        CSV = "csv"
        JSON = "json"
        CASH_LIST = "cash_list"

    class Transport(models.TextChoices):
        DOWNLOAD = "download"
        SFTP = "sftp"
        HTTPS = "https"
        API = "api"

    code = models.CharField(max_length=32, unique=True)
    name = models.CharField(max_length=200)
    kind = models.CharField(max_length=16, choices=Kind.choices)
    currency = models.CharField(max_length=3)
    # Identifiers: a bank's BIC and/or its Bangladesh bank code (the first three digits of its routing numbers);
    # a wallet provider's name (bKash, Nagad, ...).
    bic = models.CharField(max_length=11, blank=True)
    bank_code = models.CharField(max_length=3, blank=True)
    wallet_provider = models.CharField(max_length=64, blank=True)
    file_format = models.CharField(max_length=16, choices=FileFormat.choices)
    transport = models.CharField(max_length=16, choices=Transport.choices, default=Transport.DOWNLOAD)
    max_per_transaction = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    max_per_batch = models.DecimalField(max_digits=18, decimal_places=3, null=True, blank=True)
    fee_percent = models.DecimalField(max_digits=7, decimal_places=4, default=0)
    fee_fixed = models.DecimalField(max_digits=18, decimal_places=3, default=0)
    areas = models.ManyToManyField(Area, blank=True, related_name="+")
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)
    updated_at = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(condition=Q(currency__regex=r"^[A-Z]{3}$"), name="programs_fsp_currency_iso4217"),
            models.CheckConstraint(
                condition=Q(max_per_transaction__isnull=True) | Q(max_per_transaction__gt=0),
                name="programs_fsp_transaction_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(max_per_batch__isnull=True) | Q(max_per_batch__gt=0),
                name="programs_fsp_batch_limit_positive",
            ),
            models.CheckConstraint(
                condition=Q(fee_percent__gte=0, fee_percent__lte=100, fee_fixed__gte=0), name="programs_fsp_fee_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"


class AccountKind(models.TextChoices):
    BANK = "bank"  # a Bangladesh bank account: BEFTN routing number + account number
    IBAN = "iban"
    MOBILE_WALLET = "mobile_wallet"


class _AccountValues(models.Model):
    """What an account is, shared by the account and a proposed change of it."""

    fsp = models.ForeignKey(FinancialServiceProvider, on_delete=models.PROTECT, related_name="+")
    kind = models.CharField(max_length=16, choices=AccountKind.choices)
    holder_name = models.CharField(max_length=200)
    routing_number = models.CharField(max_length=9, blank=True)
    bic = models.CharField(max_length=11, blank=True)
    number_ciphertext = models.BinaryField()
    number_key_id = models.CharField(max_length=32)
    blind_index = models.CharField(max_length=64)

    class Meta:
        abstract = True


class PaymentAccount(_AccountValues):
    household = models.OneToOneField("registry.Household", on_delete=models.PROTECT, related_name="payment_account")
    created_at = models.DateTimeField(auto_now_add=True)
    # When an approved change last set this account (batches flag accounts changed shortly before them).
    changed_at = models.DateTimeField()
    last_change = models.ForeignKey(
        "programs.PaymentAccountChange", null=True, on_delete=models.SET_NULL, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["household_id"]
        indexes = [
            models.Index(fields=["blind_index"], name="programs_pa_blind_index"),
            models.Index(fields=["number_key_id", "id"], name="programs_pa_key_id"),
        ]

    def __str__(self) -> str:
        return f"{self.kind} account of household {self.household_id}"


class PaymentAccountChange(_AccountValues):
    class Status(models.TextChoices):
        PENDING = "pending"
        APPROVED = "approved"
        REJECTED = "rejected"

    household = models.ForeignKey("registry.Household", on_delete=models.PROTECT, related_name="+")
    reason = models.CharField(max_length=255, blank=True)
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PENDING)
    requested_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    requested_at = models.DateTimeField(auto_now_add=True)
    reviewed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    reviewed_at = models.DateTimeField(null=True, blank=True)
    review_note = models.CharField(max_length=255, blank=True)

    class Meta:
        ordering = ["-requested_at", "-id"]
        permissions = [("approve_paymentaccountchange", "Can approve a payment account change requested by another")]
        indexes = [models.Index(fields=["number_key_id", "id"], name="programs_pac_key_id")]
        constraints = [
            models.CheckConstraint(
                condition=Q(reviewed_by__isnull=True) | ~Q(reviewed_by=F("requested_by")),
                name="programs_pac_four_eyes",
                violation_error_message="The person who requested an account change cannot review it.",
            ),
            models.CheckConstraint(
                condition=Q(status="pending") | Q(reviewed_by__isnull=False, reviewed_at__isnull=False),
                name="programs_pac_reviewed",
            ),
            # One open request per household: two at once would race to set the account.
            models.UniqueConstraint(
                fields=["household"], condition=Q(status="pending"), name="programs_pac_one_pending"
            ),
        ]

    def __str__(self) -> str:
        return f"account change {self.pk} of household {self.household_id} ({self.status})"
