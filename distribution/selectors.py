"""Reads for distribution, scoped to the user's areas."""

from django.db.models import QuerySet

from distribution.models import DistributionPoint, Warehouse
from geo.selectors import scope_queryset


def warehouse_list(*, user) -> QuerySet[Warehouse]:
    return scope_queryset(Warehouse.objects.select_related("area"), user)


def distribution_point_list(*, user) -> QuerySet[DistributionPoint]:
    return scope_queryset(DistributionPoint.objects.select_related("area"), user)
