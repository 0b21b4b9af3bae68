"""Writes for distribution. Every write checks that the record lands inside the user's areas."""

from __future__ import annotations

from decimal import Decimal

from django.contrib.gis.geos import Point
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from distribution.models import DistributionPoint, Warehouse
from geo.selectors import area_in_scope


def _ensure_in_scope(record, user) -> None:
    record.refresh_from_db(fields=["area"])
    if record.area_id is None:
        raise ValidationError({"location": "The location lies outside every known area."})
    if not area_in_scope(user, record.area_id):
        raise PermissionDenied("The location lies outside your areas.")


@transaction.atomic
def warehouse_create(
    *, user, code: str, name: str, location: Point, capacity_tonnes: Decimal | None = None
) -> Warehouse:
    warehouse = Warehouse.objects.create(code=code, name=name, location=location, capacity_tonnes=capacity_tonnes)
    _ensure_in_scope(warehouse, user)
    return warehouse


@transaction.atomic
def warehouse_update(*, user, warehouse: Warehouse, **changes) -> Warehouse:
    for field, value in changes.items():
        setattr(warehouse, field, value)
    warehouse.save()
    _ensure_in_scope(warehouse, user)
    return warehouse


@transaction.atomic
def distribution_point_create(
    *, user, code: str, name: str, location: Point, kind: str = DistributionPoint.Kind.OTHER
) -> DistributionPoint:
    point = DistributionPoint.objects.create(code=code, name=name, kind=kind, location=location)
    _ensure_in_scope(point, user)
    return point


@transaction.atomic
def distribution_point_update(*, user, point: DistributionPoint, **changes) -> DistributionPoint:
    for field, value in changes.items():
        setattr(point, field, value)
    point.save()
    _ensure_in_scope(point, user)
    return point
