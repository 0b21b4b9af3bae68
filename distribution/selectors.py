"""Reads for distribution, scoped to the user's areas."""

from django.db.models import QuerySet

from distribution.models import DistributionPoint, FacilityExposure, Warehouse
from geo.selectors import scope_queryset


def warehouse_list(*, user) -> QuerySet[Warehouse]:
    return scope_queryset(Warehouse.objects.select_related("area"), user)


def distribution_point_list(*, user) -> QuerySet[DistributionPoint]:
    return scope_queryset(DistributionPoint.objects.select_related("area"), user)


def facility_exposure_list(*, user, run=None) -> QuerySet[FacilityExposure]:
    """Unusable facilities (of one run, if given) inside the user's areas (by the facility's area when the run
    flagged it)."""
    queryset = FacilityExposure.objects.select_related(
        "warehouse", "distribution_point", "zone", "hazard_class", "area"
    )
    if run is not None:
        queryset = queryset.filter(run=run)
    return scope_queryset(queryset, user)
