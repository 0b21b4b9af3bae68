"""Payments API (mounted by programs/api/urls.py): providers, accounts and their changes; batches, files, payments
and status reports."""

from programs.payments.api.accounts import (
    FinancialServiceProviderViewSet,
    PaymentAccountChangeViewSet,
    PaymentAccountViewSet,
)
from programs.payments.api.batches import (
    PaymentBatchRunViewSet,
    PaymentBatchViewSet,
    PaymentFileViewSet,
    PaymentReportViewSet,
    PaymentViewSet,
)

__all__ = [
    "FinancialServiceProviderViewSet",
    "PaymentAccountChangeViewSet",
    "PaymentAccountViewSet",
    "PaymentBatchRunViewSet",
    "PaymentBatchViewSet",
    "PaymentFileViewSet",
    "PaymentReportViewSet",
    "PaymentViewSet",
]
