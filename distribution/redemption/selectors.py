"""Reads for redemption, scoped to the user's areas (by the point's area). Household names appear only for holders
of registry.view_personal_data; everyone else sees the registrant id and what is due."""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.db.models import Case, Count, Q, QuerySet, Sum, When
from django.utils import timezone

from distribution.redemption.models import (
    Device,
    Redemption,
    RedemptionBalance,
    RedemptionBatch,
    RedemptionConflict,
    RedemptionLine,
)
from distribution.redemption.services import plain
from geo.selectors import scope_queryset
from programs.models import Entitlement, EntitlementItem
from registry.models import IdDocument, Membership

PERSONAL_DATA_PERMISSION = "registry.view_personal_data"
MAX_MATCHES = 20


def redemption_list(*, user) -> QuerySet[Redemption]:
    queryset = Redemption.objects.select_related("point", "device", "operator", "entitlement", "household")
    return scope_queryset(queryset.prefetch_related("lines"), user, area_field="point__area")


def device_list(*, user) -> QuerySet[Device]:
    return scope_queryset(Device.objects.select_related("point"), user, area_field="point__area")


def batch_list(*, user) -> QuerySet[RedemptionBatch]:
    return scope_queryset(RedemptionBatch.objects.select_related("device"), user, area_field="device__point__area")


def conflict_list(*, user) -> QuerySet[RedemptionConflict]:
    queryset = RedemptionConflict.objects.select_related("device", "point", "entitlement", "first_redemption")
    return scope_queryset(queryset, user, area_field="point__area")


def balance(*, entitlement: Entitlement) -> list[dict]:
    """What an entitlement grants and what remains of it, per item (and of the cash), in the balance's units. Before
    its first redemption the grant is read from the entitlement itself."""
    rows = list(RedemptionBalance.objects.filter(entitlement=entitlement).order_by("item"))
    if rows:
        return [
            {
                "item": row.item,
                "unit": row.unit,
                "entitled": plain(row.entitled),
                "redeemed": plain(row.redeemed),
                "remaining": plain(row.entitled - row.redeemed),
            }
            for row in rows
        ]
    if entitlement.kind == Entitlement.Kind.CASH:
        amount = plain(entitlement.amount or Decimal(0))
        return [
            {"item": "cash", "unit": entitlement.currency, "entitled": amount, "redeemed": "0", "remaining": amount}
        ]
    return [
        {
            "item": row.item,
            "unit": row.unit,
            "entitled": plain(row.quantity),
            "redeemed": "0",
            "remaining": plain(row.quantity),
        }
        for row in EntitlementItem.objects.filter(entitlement=entitlement).order_by("item")
    ]


def _summary(entitlement: Entitlement, *, user, point) -> dict:
    from distribution.redemption import services

    refusal = None
    try:
        services._check_entitlement(entitlement, point, user, on=timezone.localdate(), field="entitlement")
    except services.RedemptionRefused as error:
        refusal = error.as_dict()
    rows = balance(entitlement=entitlement)
    if refusal is None and all(Decimal(row["remaining"]) <= 0 for row in rows):
        refusal = services._already_redeemed(entitlement, "entitlement").as_dict()
    summary = {
        "entitlement": entitlement.code,
        "kind": entitlement.kind,
        "program": entitlement.program.name,
        "cycle": entitlement.cycle.name,
        "household": entitlement.household.registrant_id,
        "valid_from": entitlement.valid_from.isoformat(),
        "valid_until": entitlement.valid_until.isoformat(),
        "status": entitlement.status,
        "balance": rows,
        "redeemable": refusal is None,
        "refusal": refusal,
        "previous": services._previous(entitlement.pk),
    }
    if user.has_perm(PERSONAL_DATA_PERMISSION):
        head = (
            Membership.objects.filter(household_id=entitlement.household_id, end_date__isnull=True)
            .select_related("individual")
            .order_by(Case(When(role="head", then=0), default=1), "id")
            .first()
        )
        summary["head"] = str(head.individual) if head else ""
    return summary


def redemption_lookup(
    *, user, point_id: int, voucher: str | None = None, code: str | None = None, id_number: str | None = None
) -> list[dict]:
    """What the screen shows before a redemption: the entitlements a voucher, a code or an ID document number
    finds, each with its balance and whether this point may redeem it now (and if not, why)."""
    from distribution.redemption import services, vouchers

    point = services._point_for(user, point_id)
    # Only households inside the user's areas are found at all (an entitlement elsewhere is "not found").
    entitlements = scope_queryset(
        Entitlement.objects.select_related("cycle", "program", "household__area"), user, area_field="household__area"
    )
    if voucher:
        claims = vouchers.verify(voucher)
        found = list(entitlements.filter(code=claims.entitlement_code))
    elif code:
        found = list(entitlements.filter(code=code.strip()))
    elif id_number:
        wanted = services._normalise_id_number(id_number)
        if len(wanted) < 4:
            raise ValidationError({"id_number": "Type at least 4 characters of the ID number."})
        holders = IdDocument.objects.filter(number__iexact=id_number.strip()).values("individual_id")
        households = Membership.objects.filter(individual_id__in=holders, end_date__isnull=True).values("household_id")
        found = list(
            entitlements.filter(household_id__in=households)
            .exclude(status=Entitlement.Status.CANCELLED)
            .order_by("-valid_until")[:MAX_MATCHES]
        )
    else:
        raise ValidationError({"voucher": "Scan a voucher, or give an entitlement code or an ID number."})
    return [_summary(entitlement, user=user, point=point) for entitlement in found]


def point_summary(*, user, point_id: int) -> dict:
    """What a point has handed over (aggregates, no personal data): redemptions and corrections, households served,
    and per item the quantity out net of corrections, in the balance's units; open conflicts of its devices."""
    from distribution.redemption import services

    point = services._point_for(user, point_id)
    redemptions = Redemption.objects.filter(point=point)
    standing = redemptions.filter(kind=Redemption.Kind.REDEMPTION, corrections__isnull=True)
    counts = redemptions.aggregate(
        redemptions=Count("id", filter=Q(kind=Redemption.Kind.REDEMPTION)),
        corrections=Count("id", filter=Q(kind=Redemption.Kind.CORRECTION)),
        offline=Count("id", filter=Q(method=Redemption.Method.OFFLINE)),
    )
    lines = (
        RedemptionLine.objects.filter(redemption__point=point)
        .values("item")
        .annotate(
            out=Sum("base_quantity", filter=Q(kind=Redemption.Kind.REDEMPTION), default=0),
            back=Sum("base_quantity", filter=Q(kind=Redemption.Kind.CORRECTION), default=0),
        )
        .order_by("item")
    )
    units = dict(
        RedemptionBalance.objects.filter(item__in=[row["item"] for row in lines]).values_list("item", "unit").distinct()
    )
    return {
        "point": point.pk,
        "point_code": point.code,
        **counts,
        "households": standing.values("household_id").distinct().count(),
        "items": [
            {"item": row["item"], "unit": units.get(row["item"], ""), "handed_over": plain(row["out"] - row["back"])}
            for row in lines
        ],
        "open_conflicts": RedemptionConflict.objects.filter(point=point, status=RedemptionConflict.Status.OPEN).count(),
    }
