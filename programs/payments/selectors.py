"""Reads for payments, scoped by the household's area (geo.selectors.scope_queryset)."""

from __future__ import annotations

import logging

from django.db.models import Count, Exists, OuterRef, QuerySet

from geo.selectors import scope_queryset
from programs.payments import crypto
from programs.payments.models import FinancialServiceProvider, PaymentAccount, PaymentAccountChange
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
