"""Financial service providers, payment accounts (one per household) and the change requests that set them.

Account numbers are never stored in plain text: `number_ciphertext` holds AES-GCM output (programs.payments.crypto),
`number_key_id` the key that wrote it (so rotation finds old rows with an index), `blind_index` an HMAC of the
normalised account so that one account on two households is found with one indexed query.
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from geo.models import Area
from spmis.core.models import Job


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
    # The program's own account at this provider, which the files debit.
    debtor_name = models.CharField(max_length=140, blank=True)
    debtor_account = models.CharField(max_length=34, blank=True)  # an IBAN, or the provider's own account id
    debtor_bic = models.CharField(max_length=11, blank=True)
    # How the connector reaches the provider (programs.payments.connectors): a base URL and timeout for an API,
    # the outbox and inbox folders of a drop. No secrets here: credentials come from the environment.
    connection = models.JSONField(default=dict, blank=True)
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


# --------------------------------------------------------------------------------------------------------------------
# Batches, payments, the payment ledger, files and status reports.
#
# A payment is one transfer of one approved cash entitlement through one provider. Its row never changes except its
# `status` (and the reason with it), which only the ledger moves: every state change is a PaymentEvent row, the
# database refuses UPDATE and DELETE on events, and a trigger on the events table sets the payment's status along the
# allowed transitions (programs/sql/0008_payment_ledger.sql). Batch, cycle and program balances are sums over
# payments by status: planned = paid + failed + returned + pending, to the cent.
# --------------------------------------------------------------------------------------------------------------------


class PaymentStatus(models.TextChoices):
    PENDING = "pending"  # in a batch, not yet in a file the provider has
    SENT = "sent"  # in a file the provider received
    ACCEPTED = "accepted"  # the provider accepted it (pain.002 ACCP/ACSP), not yet booked
    PAID = "paid"  # booked (camt.054 debit, a mobile money success, a signed cash list)
    FAILED = "failed"  # rejected, with the reason; may be re-issued once the cause is fixed
    RETURNED = "returned"  # paid, then sent back by the beneficiary's bank (pacs.004); may be re-issued
    CANCELLED = "cancelled"  # its batch was cancelled before release


# Statuses that leave the entitlement free for a new payment.
CLOSED_WITHOUT_PAYING = (PaymentStatus.FAILED, PaymentStatus.RETURNED, PaymentStatus.CANCELLED)


class PaymentBatch(models.Model):
    """The payments of one cycle through one provider, prepared by one person and released by another."""

    class Status(models.TextChoices):
        PREPARING = "preparing"
        PREPARED = "prepared"  # payments made, control totals stand; waiting for a second person to release
        RELEASED = "released"  # files written and valid against the XSD; may be sent
        SENT = "sent"  # every file is with the provider
        CLOSED = "closed"  # every payment is paid, failed, returned or cancelled
        CANCELLED = "cancelled"

    code = models.CharField(
        max_length=20,
        unique=True,
        db_default=models.Func(models.Value("PAY"), function="programs_next_code", output_field=models.CharField()),
        editable=False,
    )
    cycle = models.ForeignKey("programs.Cycle", on_delete=models.PROTECT, related_name="payment_batches")
    program = models.ForeignKey("programs.Program", on_delete=models.PROTECT, related_name="+", db_index=False)
    fsp = models.ForeignKey(FinancialServiceProvider, on_delete=models.PROTECT, related_name="batches")
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.PREPARING)
    currency = models.CharField(max_length=3)
    execution_date = models.DateField()
    # Control totals, from the payments the batch holds (set by the prepare job, checked again at release).
    payment_count = models.PositiveIntegerField(default=0)
    payment_sum = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    fee_sum = models.DecimalField(max_digits=20, decimal_places=3, default=0)
    flagged_count = models.PositiveIntegerField(default=0)
    # Entitlements the batch left out, by reason ({"no_account": n, "account_not_corrected": n, ...}).
    held = models.JSONField(default=dict, blank=True)
    max_per_file = models.PositiveIntegerField(default=50_000)
    # Each writing of the batch's files is an attempt; MsgId = <code>-A<attempt>-F<file>, so a retry of the same
    # attempt writes the same file with the same MsgId, and a provider refuses it as a duplicate.
    attempt = models.PositiveSmallIntegerField(default=0)
    prepared_by = models.ForeignKey(settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+")
    prepared_at = models.DateTimeField(null=True, blank=True)
    released_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    released_at = models.DateTimeField(null=True, blank=True)
    cancel_reason = models.CharField(max_length=255, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created_at", "-id"]
        permissions = [("release_paymentbatch", "Can release a payment batch prepared by someone else")]
        constraints = [
            # Four eyes, in the database: whoever prepared a batch cannot release it.
            models.CheckConstraint(
                condition=Q(released_by__isnull=True) | ~Q(released_by=F("prepared_by")),
                name="programs_batch_four_eyes",
                violation_error_message="The person who prepared a batch cannot release it.",
            ),
            models.CheckConstraint(
                condition=~Q(status__in=["released", "sent", "closed"])
                | Q(released_by__isnull=False, released_at__isnull=False),
                name="programs_batch_released_has_releaser",
            ),
            models.CheckConstraint(condition=Q(payment_sum__gte=0, fee_sum__gte=0), name="programs_batch_sums"),
            models.CheckConstraint(condition=Q(max_per_file__gte=1), name="programs_batch_file_size"),
            # One batch in preparation per cycle and provider: two at once would race for the same entitlements.
            models.UniqueConstraint(
                fields=["cycle", "fsp"],
                condition=Q(status__in=["preparing", "prepared"]),
                name="programs_batch_one_open",
                violation_error_message="This cycle already has a batch for this provider waiting for release.",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} ({self.status})"


class PaymentBatchRun(Job):
    """A batch's long steps, each a job row: prepare (make the payments), release (write and validate the files),
    send (hand the files to the provider)."""

    class Kind(models.TextChoices):
        PREPARE = "prepare"
        RELEASE = "release"
        SEND = "send"

    batch = models.ForeignKey(PaymentBatch, on_delete=models.CASCADE, related_name="runs")
    kind = models.CharField(max_length=16, choices=Kind.choices)

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            # Two releases (or sends) of one batch at once: the second is refused by the database.
            models.UniqueConstraint(
                fields=["batch", "kind"],
                condition=Q(status__in=["pending", "running"]),
                name="programs_batchrun_one_active",
                violation_error_message="This step is already running for the batch.",
            )
        ]

    def __str__(self) -> str:
        return f"{self.kind} run {self.pk} of batch {self.batch_id} ({self.status})"


class _EndToEndId(models.Func):
    # Stored, generated by the database from the id: no sequence to draw, unique with the id, 16 characters.
    template = "('SPM' || lpad(%(expressions)s::text, 13, '0'))"
    output_field = models.CharField()


class _Live(models.Func):
    # Not failed, returned or cancelled: the payments of which an entitlement may have one. A column of its own so
    # that the index that says so (programs_payment_one_live) names no status: a move between live states (sent,
    # accepted, paid) then changes no indexed value, and PostgreSQL writes it as a HOT update.
    template = "(%(expressions)s NOT IN ('failed', 'returned', 'cancelled'))"
    output_field = models.BooleanField()


class Payment(models.Model):
    """One transfer of one entitlement. Immutable but for its status, which only the ledger (PaymentEvent) moves."""

    # batch, entitlement, household, account and reissue_of are checked by the database once per statement, not by
    # a foreign key per row (programs/sql/0014_payment_references.sql): five checks per payment at the commit of a
    # million-payment batch.
    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.PROTECT, related_name="payments", db_index=False, db_constraint=False
    )
    entitlement = models.ForeignKey(
        "programs.Entitlement", on_delete=models.PROTECT, related_name="payments", db_index=False, db_constraint=False
    )
    household = models.ForeignKey(
        "registry.Household", on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    # The account as the batch was prepared: release refuses a batch whose accounts changed since. None for a cash
    # agent's payment, which the household collects in person.
    account = models.ForeignKey(
        PaymentAccount,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    account_changed_at = models.DateTimeField(null=True, blank=True)
    end_to_end_id = models.GeneratedField(
        expression=_EndToEndId("id"), output_field=models.CharField(max_length=35), db_persist=True
    )
    amount = models.DecimalField(max_digits=14, decimal_places=3)
    fee = models.DecimalField(max_digits=14, decimal_places=3, default=0)
    currency = models.CharField(max_length=3)
    status = models.CharField(max_length=16, choices=PaymentStatus.choices, default=PaymentStatus.PENDING)
    live = models.GeneratedField(expression=_Live("status"), output_field=models.BooleanField(), db_persist=True)
    status_at = models.DateTimeField(db_default=Now())
    reason_code = models.CharField(max_length=8, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    # The account changed within SPMIS_PAYMENT_ACCOUNT_CHANGE_DAYS before the batch, or is shared with another
    # household: a second look before release.
    flagged = models.BooleanField(default=False)
    flag_reason = models.CharField(max_length=255, blank=True)
    reissue_of = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False
    )
    created_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["batch_id", "id"]
        constraints = [
            models.UniqueConstraint(fields=["end_to_end_id"], name="programs_payment_end_to_end_id"),
            models.UniqueConstraint(fields=["batch", "entitlement"], name="programs_payment_once_per_batch"),
            # Never two live payments of one entitlement: a new one is possible only once the last failed, came
            # back or was cancelled. This is what makes paying twice impossible, whoever writes.
            models.UniqueConstraint(
                fields=["entitlement"],
                condition=Q(live=True),
                name="programs_payment_one_live",
                violation_error_message="This entitlement already has a payment that has not failed.",
            ),
            models.CheckConstraint(condition=Q(amount__gt=0, fee__gte=0), name="programs_payment_amount_positive"),
        ]
        # No index holds the status (programs/sql/0013_payments_reconcile_faster.sql): a batch's payments are found
        # by programs_payment_once_per_batch, and the status is read from the rows.
        indexes = [
            models.Index(fields=["household"], name="programs_payment_household"),
            # Also what the database's foreign-key check reads when draft entitlements are deleted (regeneration).
            models.Index(fields=["entitlement"], name="programs_payment_entitlement"),
        ]

    def __str__(self) -> str:
        return f"payment {self.end_to_end_id} ({self.status})"


class PaymentFile(models.Model):
    """One file of a batch: pain.001 (or a mobile money payout file, a cash agent list), written and validated at
    release, then handed to the provider."""

    class Status(models.TextChoices):
        VALIDATED = "validated"  # written, valid against the XSD; not sent
        SENDING = "sending"  # handed to the connector; whether the provider has it is not known yet
        SUBMITTED = "submitted"  # the provider has it
        REJECTED = "rejected"  # the provider refused the whole file
        SUPERSEDED = "superseded"  # replaced by a later attempt's file (never sent)

    batch = models.ForeignKey(PaymentBatch, on_delete=models.PROTECT, related_name="files")
    attempt = models.PositiveSmallIntegerField()
    sequence = models.PositiveSmallIntegerField()
    msg_id = models.CharField(max_length=35, unique=True)
    file_format = models.CharField(max_length=16)
    name = models.CharField(max_length=120)
    path = models.CharField(max_length=255)  # under MEDIA_ROOT
    first_payment_id = models.BigIntegerField()
    last_payment_id = models.BigIntegerField()
    nb_of_txs = models.PositiveIntegerField()
    ctrl_sum = models.DecimalField(max_digits=20, decimal_places=3)
    sha256 = models.CharField(max_length=64)
    size_bytes = models.BigIntegerField()
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.VALIDATED)
    submitted_at = models.DateTimeField(null=True, blank=True)
    receipt = models.JSONField(default=dict, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["batch_id", "attempt", "sequence"]
        # The files hold names and account numbers: downloading them is its own permission (the finance role).
        permissions = [("download_paymentfile", "Can download payment files (names and account numbers)")]
        constraints = [
            models.UniqueConstraint(fields=["batch", "attempt", "sequence"], name="programs_paymentfile_once"),
            models.CheckConstraint(
                condition=Q(last_payment_id__gte=F("first_payment_id")), name="programs_paymentfile_range"
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.status})"


class PaymentReport(Job):
    """A status file from a provider (pain.002, camt.054, pacs.004, a mobile money CSV), imported as a job:
    each entry matched by EndToEndId and written to the ledger; what cannot be matched is listed, never guessed."""

    fsp = models.ForeignKey(FinancialServiceProvider, on_delete=models.PROTECT, related_name="reports")
    name = models.CharField(max_length=255)
    kind = models.CharField(max_length=32, blank=True)  # read from the file
    msg_id = models.CharField(max_length=64, blank=True)
    sha256 = models.CharField(max_length=64)
    path = models.CharField(max_length=255)  # under MEDIA_ROOT
    source = models.CharField(max_length=16, default="upload")  # upload, connector

    class Meta(Job.Meta):
        ordering = ["-created_at", "-id"]
        constraints = [
            # The same file twice is the same report: the second import changes nothing.
            models.UniqueConstraint(fields=["fsp", "sha256"], name="programs_paymentreport_once"),
        ]

    def __str__(self) -> str:
        return f"report {self.name} ({self.status})"


class PaymentEvent(models.Model):
    """The payment ledger: one row per state a payment reached. Append-only (the database refuses UPDATE, DELETE
    and TRUNCATE); a payment reaches each state at most once, so importing a report twice adds nothing."""

    # payment, file and report are checked by the database once per statement, not row by row as a foreign key
    # would (programs/sql/0013_payments_reconcile_faster.sql): an event naming a payment, file or report that does
    # not exist is refused, and so is deleting a file or report an event names.
    payment = models.ForeignKey(
        Payment, on_delete=models.PROTECT, related_name="events", db_index=False, db_constraint=False
    )
    batch = models.ForeignKey(
        PaymentBatch, on_delete=models.DO_NOTHING, related_name="+", db_constraint=False, db_index=False
    )
    status = models.CharField(max_length=16, choices=PaymentStatus.choices)
    reason_code = models.CharField(max_length=8, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    # The amount the provider reported for this state (paid, returned), when it said one.
    amount = models.DecimalField(max_digits=14, decimal_places=3, null=True, blank=True)
    file = models.ForeignKey(
        PaymentFile,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    report = models.ForeignKey(
        PaymentReport,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    actor = models.CharField(max_length=150, blank=True)
    at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["payment_id", "id"]
        default_permissions = ("view",)
        constraints = [models.UniqueConstraint(fields=["payment", "status"], name="programs_paymentevent_once")]
        indexes = [
            models.Index(fields=["report"], name="programs_paymentevent_report"),
            # What refusing to delete a file that events name reads (most events name none).
            models.Index(fields=["file"], name="programs_paymentevent_file", condition=Q(file__isnull=False)),
        ]

    def __str__(self) -> str:
        return f"{self.status} of payment {self.payment_id}"


class PaymentReportIssue(models.Model):
    """An entry of a status report that was not applied, and why: an unknown reference, an amount or currency that
    does not match, a state the payment cannot take from where it is."""

    report = models.ForeignKey(PaymentReport, on_delete=models.CASCADE, related_name="issues")
    line = models.PositiveIntegerField(null=True, blank=True)
    reference = models.CharField(max_length=64, blank=True)
    payment = models.ForeignKey(
        Payment,
        null=True,
        blank=True,
        on_delete=models.DO_NOTHING,
        related_name="+",
        db_constraint=False,
        db_index=False,
    )
    problem = models.CharField(max_length=255)

    class Meta:
        ordering = ["report_id", "id"]
        default_permissions = ("view",)

    def __str__(self) -> str:
        return f"{self.reference}: {self.problem}"
