"""The stock ledger: an item catalogue, lots, movement documents (GRN, waybill, count ...), the append-only movement
lines that are the truth, and per-location balances that are their cache.

A movement line belongs to exactly one location (a warehouse or a distribution point), one item and at most one lot,
and carries a signed quantity in the item's base unit with an explicit kind. Balances are written only by the
ledger's statement trigger (distribution/sql/0005_stock_ledger.sql) and a CHECK keeps them at or above zero, so
negative stock is impossible whatever the caller does. Corrections are reversing lines (`reverses`), each line
reversed at most once (a partial unique index).
"""

from django.conf import settings
from django.db import models
from django.db.models import F, Q
from django.db.models.functions import Now

from distribution.models import DistributionPoint, Warehouse

QUANTITY = {"max_digits": 18, "decimal_places": 3}


class StockItem(models.Model):
    """A catalogue item; `code` is the slug entitlements use (programs.EntitlementItem.item). Quantities in the
    ledger are in `base_unit`; weight, volume and kcal are per base unit."""

    class Category(models.TextChoices):
        FOOD = "food"
        WASH = "wash", "Water, sanitation and hygiene"
        SHELTER = "shelter"
        HEALTH = "health"
        OTHER = "other"

    code = models.SlugField(max_length=64, unique=True)
    name = models.CharField(max_length=200)
    category = models.CharField(max_length=16, choices=Category.choices, default=Category.OTHER)
    base_unit = models.CharField(max_length=16)
    weight_kg = models.DecimalField(max_digits=12, decimal_places=4, null=True, blank=True)
    volume_m3 = models.DecimalField(max_digits=12, decimal_places=6, null=True, blank=True)
    kcal = models.DecimalField(max_digits=12, decimal_places=2, null=True, blank=True)
    # Alerts: below this many base units on hand at a location; lots expiring within this many days.
    minimum_stock = models.DecimalField(**QUANTITY, null=True, blank=True)
    near_expiry_days = models.PositiveIntegerField(default=30)
    tracks_lots = models.BooleanField(default=False)
    active = models.BooleanField(default=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["code"]
        constraints = [
            models.CheckConstraint(
                condition=Q(weight_kg__isnull=True) | Q(weight_kg__gte=0), name="distribution_stockitem_weight"
            ),
            models.CheckConstraint(
                condition=Q(minimum_stock__isnull=True) | Q(minimum_stock__gte=0),
                name="distribution_stockitem_minimum",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.name} ({self.code})"


class StockUnit(models.Model):
    """Another unit an item is counted in: `factor` base units make one (a 25 kg bag of rice: factor 25, a pack)."""

    item = models.ForeignKey(StockItem, on_delete=models.CASCADE, related_name="units")
    code = models.CharField(max_length=16)
    name = models.CharField(max_length=64, blank=True)
    factor = models.DecimalField(max_digits=18, decimal_places=6)
    is_pack = models.BooleanField(default=False)

    class Meta:
        ordering = ["item", "code"]
        constraints = [
            models.UniqueConstraint(fields=["item", "code"], name="distribution_stockunit_once"),
            models.CheckConstraint(condition=Q(factor__gt=0), name="distribution_stockunit_factor_positive"),
        ]

    def __str__(self) -> str:
        return f"{self.code} = {self.factor} {self.item.base_unit} of {self.item.code}"


class StockLot(models.Model):
    """A batch of an item with its expiry (for FEFO and near-expiry alerts)."""

    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="lots")
    code = models.CharField(max_length=64)
    expires_on = models.DateField(null=True, blank=True)
    created_at = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["item", "expires_on", "code"]
        constraints = [models.UniqueConstraint(fields=["item", "code"], name="distribution_stocklot_once")]

    def __str__(self) -> str:
        return f"{self.item.code} lot {self.code}"


class Kind(models.TextChoices):
    """What a movement line records. The sign each kind may carry is a CHECK (stockmovement_sign)."""

    RECEIPT = "receipt"  # +, goods in on a goods received note
    TRANSFER_OUT = "transfer_out", "Transfer out"  # -, warehouse to warehouse
    TRANSFER_IN = "transfer_in", "Transfer in"  # +
    DISPATCH_OUT = "dispatch_out", "Dispatch out"  # -, warehouse to distribution point on a waybill
    DISPATCH_IN = "dispatch_in", "Dispatch in"  # +
    DISTRIBUTION = "distribution"  # -, handed to a beneficiary at a point
    LOSS = "loss"  # -, lost, stolen, damaged, expired, with a reason
    ADJUSTMENT = "adjustment"  # ±, a physical count's difference
    RETURN = "return"  # +, goods given back to a location (a beneficiary's return, a redemption corrected)
    REVERSAL = "reversal"  # ±, the exact opposite of one earlier line


POSITIVE = [Kind.RECEIPT, Kind.TRANSFER_IN, Kind.DISPATCH_IN, Kind.RETURN]
NEGATIVE = [Kind.TRANSFER_OUT, Kind.DISPATCH_OUT, Kind.DISTRIBUTION, Kind.LOSS]


class StockDocument(models.Model):
    """One movement document: a goods received note, a transfer or dispatch waybill, a count, a loss report, a
    reversal. Its lines are the movements; its number is per kind and month without gaps."""

    class DocumentKind(models.TextChoices):
        RECEIPT = "receipt", "Goods received note"
        TRANSFER = "transfer", "Transfer waybill"
        DISPATCH = "dispatch", "Dispatch waybill"
        LOSS = "loss", "Loss or damage report"
        ADJUSTMENT = "adjustment", "Stock count adjustment"
        RETURN = "return"
        REVERSAL = "reversal"

    kind = models.CharField(max_length=16, choices=DocumentKind.choices)
    number = models.CharField(max_length=32, unique=True)
    source_warehouse = models.ForeignKey(Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    destination_warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    point = models.ForeignKey(DistributionPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    supplier = models.CharField(max_length=200, blank=True)
    reference = models.CharField(max_length=100, blank=True)
    vehicle = models.CharField(max_length=100, blank=True)
    driver = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    reverses = models.ForeignKey("self", null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    occurred_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )

    class Meta:
        ordering = ["-recorded_at", "-id"]
        default_permissions = ("view", "add")

    def __str__(self) -> str:
        return self.number


class StockDocumentLine(models.Model):
    """A document's line as written on paper: the quantity in the unit given, and on a GRN the shortage and damage
    found at receipt (received good = quantity − shortage − damaged). The ledger lines carry the base quantities."""

    document = models.ForeignKey(StockDocument, on_delete=models.PROTECT, related_name="lines")
    line = models.PositiveSmallIntegerField()
    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="+")
    lot = models.ForeignKey(StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    unit = models.CharField(max_length=16)
    quantity = models.DecimalField(**QUANTITY)
    shortage = models.DecimalField(**QUANTITY, default=0)
    damaged = models.DecimalField(**QUANTITY, default=0)
    base_quantity = models.DecimalField(**QUANTITY)

    class Meta:
        ordering = ["document", "line"]
        default_permissions = ("view",)
        constraints = [
            models.UniqueConstraint(fields=["document", "line"], name="distribution_stockdocline_once"),
            models.CheckConstraint(
                condition=Q(shortage__gte=0) & Q(damaged__gte=0) & Q(quantity__gte=F("shortage") + F("damaged")),
                name="distribution_stockdocline_received",
            ),
        ]

    def __str__(self) -> str:
        return f"line {self.line} of document {self.document_id}"


class StockMovement(models.Model):
    """One ledger line: append-only (UPDATE, DELETE and TRUNCATE refused by trigger), its insert moves the balance
    of (location, item, lot) in the same statement."""

    kind = models.CharField(max_length=16, choices=Kind.choices)
    document = models.ForeignKey(
        StockDocument, null=True, blank=True, on_delete=models.PROTECT, related_name="movements"
    )
    # The ledger is written a line at a time by the thousand, so it carries few indexes (the composite (place, item)
    # ones below cover places and items; the partial unique index covers `reverses`) and no per-row foreign-key
    # checks on the place, item and lot: the same statement's trigger writes the balance row of every line's
    # (place, item, lot), and that table's foreign keys refuse an unknown place, item or lot (and their deletion)
    # once per balance instead of three times per line.
    warehouse = models.ForeignKey(
        Warehouse,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    point = models.ForeignKey(
        DistributionPoint,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="+", db_index=False, db_constraint=False)
    lot = models.ForeignKey(
        StockLot,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        db_index=False,
        db_constraint=False,
    )
    quantity = models.DecimalField(**QUANTITY)
    reference = models.CharField(max_length=100, blank=True)
    reason = models.CharField(max_length=255, blank=True)
    reverses = models.ForeignKey(
        "self", null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    occurred_on = models.DateField()
    recorded_at = models.DateTimeField(auto_now_add=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )

    class Meta:
        ordering = ["id"]
        default_permissions = ("view", "add")
        indexes = [
            models.Index(fields=["point", "item"], name="distribution_stockmove_point"),
            models.Index(fields=["warehouse", "item"], name="distribution_stockmove_wh"),
            models.Index(fields=["reference"], name="distribution_stockmove_ref"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(warehouse__isnull=False, point__isnull=True)
                | Q(warehouse__isnull=True, point__isnull=False),
                name="distribution_stockmovement_one_location",
            ),
            models.CheckConstraint(
                condition=(Q(kind__in=POSITIVE) & Q(quantity__gt=0))
                | (Q(kind__in=NEGATIVE) & Q(quantity__lt=0))
                | (Q(kind__in=[Kind.ADJUSTMENT, Kind.REVERSAL]) & ~Q(quantity=0)),
                name="distribution_stockmovement_sign",
            ),
            models.CheckConstraint(
                condition=Q(kind=Kind.REVERSAL, reverses__isnull=False)
                | (~Q(kind=Kind.REVERSAL) & Q(reverses__isnull=True)),
                name="distribution_stockmovement_reversal_points_back",
            ),
            # Each line is reversed at most once.
            models.UniqueConstraint(
                fields=["reverses"],
                condition=Q(reverses__isnull=False),
                name="distribution_stockmovement_reversed_once",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.kind} {self.quantity} {self.item_id} at {self.warehouse_id or self.point_id}"

    @property
    def location_code(self) -> str:
        return (self.warehouse or self.point).code


class StockBalance(models.Model):
    """On hand per (location, item, lot) in base units: a cache of the ledger, written only by its trigger and
    rebuildable (distribution_stock_rebuild()). Never negative: a CHECK."""

    # Foreign keys checked by the database (they stand in for the ledger's lines, see StockMovement); the unique key
    # and the trigger's coalesce() index serve every lookup, so no index per column.
    warehouse = models.ForeignKey(
        Warehouse, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    point = models.ForeignKey(
        DistributionPoint, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False
    )
    item = models.ForeignKey(StockItem, on_delete=models.PROTECT, related_name="+", db_index=False)
    lot = models.ForeignKey(StockLot, null=True, blank=True, on_delete=models.PROTECT, related_name="+", db_index=False)
    on_hand = models.DecimalField(**QUANTITY)
    updated_at = models.DateTimeField(db_default=Now())

    class Meta:
        ordering = ["id"]
        default_permissions = ("view",)
        constraints = [
            models.CheckConstraint(condition=Q(on_hand__gte=0), name="distribution_stockbalance_non_negative"),
            models.CheckConstraint(
                condition=Q(warehouse__isnull=False, point__isnull=True)
                | Q(warehouse__isnull=True, point__isnull=False),
                name="distribution_stockbalance_one_location",
            ),
            models.UniqueConstraint(
                fields=["warehouse", "point", "item", "lot"],
                name="distribution_stockbalance_once",
                nulls_distinct=False,
            ),
        ]

    def __str__(self) -> str:
        return f"{self.on_hand} of {self.item_id} at {self.warehouse_id or self.point_id}"


class StockDocumentNumber(models.Model):
    """The last number used per document kind and month (GRN-202612-00001), taken with INSERT … ON CONFLICT so
    numbers roll back with their transaction and have no gaps."""

    prefix = models.CharField(max_length=16, primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        default_permissions = ()

    def __str__(self) -> str:
        return f"{self.prefix}: {self.last}"
