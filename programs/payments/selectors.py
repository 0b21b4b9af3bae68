"""Reads for payments, scoped by the household's area (geo.selectors.scope_queryset)."""

from __future__ import annotations

import logging
from decimal import Decimal

from django.core.exceptions import PermissionDenied
from django.db import connection
from django.db.models import Count, Exists, OuterRef, QuerySet

from geo.selectors import scope_queryset, user_area_ids
from programs.payments import crypto
from programs.payments.models import (
    FinancialServiceProvider,
    Payment,
    PaymentAccount,
    PaymentAccountChange,
    PaymentBatch,
    PaymentBatchRun,
    PaymentEvent,
    PaymentFile,
    PaymentReport,
)
from registry.selectors import personal_data_allowed

logger = logging.getLogger(__name__)


def fsp_list(*, user, kind: str | None = None, active: bool | None = None) -> QuerySet[FinancialServiceProvider]:
    # Providers are reference data, not personal: every holder of the view permission sees them all.
    queryset = FinancialServiceProvider.objects.prefetch_related("areas")
    if kind:
        queryset = queryset.filter(kind=kind)
    if active is not None:
        queryset = queryset.filter(active=active)
    return queryset


def payment_account_list(*, user, shared: bool | None = None) -> QuerySet[PaymentAccount]:
    """Accounts of the households the user may see, each with `shared`: the same account (blind index) is on
    another household, wherever that one is (one indexed lookup per row)."""
    others = PaymentAccount.objects.filter(blind_index=OuterRef("blind_index")).exclude(
        household_id=OuterRef("household_id")
    )
    queryset = PaymentAccount.objects.select_related("fsp", "household").annotate(shared=Exists(others))
    if shared is not None:
        queryset = queryset.filter(shared=shared)
    return scope_queryset(queryset, user, area_field="household__area")


def shared_accounts(*, user) -> QuerySet:
    """Blind-index values used by more than one household (a fraud signal), with how many households use each,
    among the values found on at least one account the user may see. One grouped query on the index."""
    visible = scope_queryset(PaymentAccount.objects.all(), user, area_field="household__area").values("blind_index")
    return (
        PaymentAccount.objects.filter(blind_index__in=visible)
        .values("blind_index")
        .annotate(households=Count("household_id", distinct=True))
        .filter(households__gt=1)
        .order_by("-households", "blind_index")
    )


def payment_account_change_list(*, user, status: str | None = None) -> QuerySet[PaymentAccountChange]:
    queryset = PaymentAccountChange.objects.select_related("fsp", "household", "requested_by", "reviewed_by")
    if status:
        queryset = queryset.filter(status=status)
    return scope_queryset(queryset, user, area_field="household__area")


def masked_number(user, ciphertext: bytes) -> str | None:
    """The last four characters for holders of registry.view_personal_data; nothing for anyone else."""
    if not personal_data_allowed(user):
        return None
    try:
        return crypto.mask(crypto.decrypt(ciphertext))
    except crypto.AccountKeyError as error:
        # A key removed before rotation finished: the page still loads, the log says which key is missing.
        logger.error("Payment account number unreadable: %s", error)
        return None


# --------------------------------------------------------------------------------------------------------------------
# Batches, payments, reports. Batches are seen through their program (programs_in_scope); single payments, which
# name households, through the household's area as well.
# --------------------------------------------------------------------------------------------------------------------


def batch_list(*, user, cycle: int | None = None, status: str | None = None) -> QuerySet[PaymentBatch]:
    from programs.selectors import programs_in_scope

    queryset = PaymentBatch.objects.select_related("fsp", "cycle", "program", "prepared_by", "released_by").filter(
        program__in=programs_in_scope(user)
    )
    if cycle is not None:
        queryset = queryset.filter(cycle_id=cycle)
    if status:
        queryset = queryset.filter(status=status)
    return queryset


def batch_run_list(*, user) -> QuerySet[PaymentBatchRun]:
    return PaymentBatchRun.objects.select_related("batch").filter(batch__in=batch_list(user=user))


def file_list(*, user, batch: PaymentBatch) -> QuerySet[PaymentFile]:
    return PaymentFile.objects.filter(batch=batch).order_by("attempt", "sequence")


def payment_list(
    *, user, batch: int | None = None, household: int | None = None, status: str | None = None
) -> QuerySet[Payment]:
    queryset = Payment.objects.select_related("batch", "household", "entitlement").filter(
        batch__in=batch_list(user=user)
    )
    if batch is not None:
        queryset = queryset.filter(batch_id=batch)
    if household is not None:
        queryset = queryset.filter(household_id=household)
    if status:
        queryset = queryset.filter(status=status)
    return scope_queryset(queryset, user, area_field="household__area")


def payment_events(*, user, payment: Payment) -> QuerySet[PaymentEvent]:
    return PaymentEvent.objects.filter(payment=payment).order_by("id")


def report_list(*, user, fsp: int | None = None) -> QuerySet[PaymentReport]:
    # Reports name payments by reference only; their issues are listed per payment through payment_list's scope.
    queryset = PaymentReport.objects.select_related("fsp")
    if fsp is not None:
        queryset = queryset.filter(fsp_id=fsp)
    return queryset


STATUS_GROUPS = ("paid", "failed", "returned", "pending", "cancelled")


def _empty_balance() -> dict:
    return {group: {"count": 0, "amount": Decimal(0)} for group in ("planned", *STATUS_GROUPS)}


def balances(*, batch_ids: list[int] | None = None, cycle_id: int | None = None, program_id: int | None = None) -> dict:
    """Counts and sums by status, from the payments (whose status only the ledger moves): planned = paid + failed +
    returned + pending to the cent, where pending is pending, sent or accepted. Cancelled payments are outside
    the plan. One grouped query."""
    where, params = [], []
    if batch_ids is not None:
        where.append("p.batch_id = ANY(%s)")
        params.append(batch_ids)
    if cycle_id is not None:
        where.append("b.cycle_id = %s")
        params.append(cycle_id)
    if program_id is not None:
        where.append("b.program_id = %s")
        params.append(program_id)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT CASE WHEN p.status IN ('sent', 'accepted') THEN 'pending' ELSE p.status END, count(*),
                      sum(p.amount)
                 FROM programs_payment p JOIN programs_paymentbatch b ON b.id = p.batch_id
                WHERE """
            + (" AND ".join(where) or "true")
            + " GROUP BY 1",
            params,
        )
        result = _empty_balance()
        for group, count, amount in cursor.fetchall():
            result[group] = {"count": count, "amount": amount}
    for group in ("paid", "failed", "returned", "pending"):
        result["planned"]["count"] += result[group]["count"]
        result["planned"]["amount"] += result[group]["amount"]
    return result


_AREA_GROUPS = {
    "planned": "p.status <> 'cancelled'",
    "paid": "p.status = 'paid'",
    "failed": "p.status = 'failed'",
    "returned": "p.status = 'returned'",
    "pending": "p.status IN ('pending', 'sent', 'accepted')",
}
AREA_SUMS = ", ".join(
    f"count(*) FILTER (WHERE {condition}), coalesce(sum(p.amount) FILTER (WHERE {condition}), 0)"
    for condition in _AREA_GROUPS.values()
)


def balance_by_area(*, user, batch_ids: list[int], level: int = 2) -> list[dict]:
    """Planned, paid, failed, returned and pending per area (at `level`, districts by default), for the
    reconciliation view; only households in the user's areas are counted."""
    ids = user_area_ids(user)
    with connection.cursor() as cursor:
        cursor.execute(
            """SELECT a.code, a.name, """
            + AREA_SUMS
            + """
                 FROM programs_payment p
                 JOIN registry_household h ON h.id = p.household_id
                 JOIN geo_area ha ON ha.id = h.area_id
                 JOIN geo_area a ON a.id = ha.lineage[least(%s, array_length(ha.lineage, 1))]
                WHERE p.batch_id = ANY(%s) AND (%s::bigint[] IS NULL OR ha.lineage && %s::bigint[])
                GROUP BY a.code, a.name ORDER BY a.code""",
            [level, batch_ids, ids, ids],
        )
        keys = tuple(_AREA_GROUPS)
        return [
            {
                "area": code,
                "name": name,
                **{key: {"count": values[2 * i], "amount": values[2 * i + 1]} for i, key in enumerate(keys)},
            }
            for code, name, *values in cursor.fetchall()
        ]


FAILED_MAP_LIMIT = 5000


def failed_payment_points(*, user, batch: PaymentBatch, limit: int = FAILED_MAP_LIMIT) -> dict:
    """Failed and returned payments of the batch for located households in the user's areas, as GeoJSON points with
    the reason, for the reconciliation map. Exact locations are personal data: only for holders of
    registry.view_personal_data (others read the table by district, balance_by_area). At most `limit` points;
    `count` says how many there are in all."""
    if not personal_data_allowed(user):
        raise PermissionDenied(
            "Where households live is personal data: your role sees the failed payments by district only."
        )
    queryset = payment_list(user=user, batch=batch.pk).filter(
        status__in=["failed", "returned"], household__location__isnull=False
    )
    rows = queryset.order_by("id").values_list(
        "id", "end_to_end_id", "household_id", "status", "reason_code", "reason", "amount", "household__location"
    )[:limit]
    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [round(location.x, 6), round(location.y, 6)]},
            "properties": {
                "payment": pk,
                "end_to_end_id": end_to_end_id,
                "household": household,
                "status": status,
                "reason_code": reason_code,
                "reason": reason,
                "amount": str(amount),
            },
        }
        for pk, end_to_end_id, household, status, reason_code, reason, amount, location in rows
    ]
    count = len(features) if len(features) < limit else queryset.count()
    return {"type": "FeatureCollection", "count": count, "limit": limit, "features": features}
