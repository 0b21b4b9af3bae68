from __future__ import annotations

import datetime
import uuid

import factory

from response.models import ExposureResult, ExposureRun, HazardClass, HazardZone, Incident
from tests.factories import square


class IncidentFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Incident

    name = factory.Sequence(lambda n: f"Flood {n}")
    hazard_type = "flood"
    status = "active"
    started_on = factory.LazyFunction(lambda: datetime.date(2026, 7, 1))


def default_class(hazard_type: str, key: str) -> HazardClass:
    return HazardClass.objects.get(incident=None, hazard_type=hazard_type, key=key)


class HazardZoneFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = HazardZone

    incident = factory.SubFactory(IncidentFactory)
    zone_key = factory.LazyFunction(uuid.uuid4)
    name = factory.Sequence(lambda n: f"Zone {n}")
    hazard_class = factory.LazyAttribute(lambda zone: default_class(zone.incident.hazard_type, "high"))
    source_kind = "drawn"
    geom = factory.LazyFunction(lambda: square(90.2, 23.2, 0.2))


class ExposureRunFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = ExposureRun

    incident = factory.SubFactory(IncidentFactory)
    status = ExposureRun.Status.SUCCEEDED


def exposure_results(run: ExposureRun, rows: list[dict]) -> None:
    """Write a run's per-household results directly (rows of ExposureResult fields), in the run's own partition as
    the engine does, without running an analysis."""
    from django.db import connection

    from response.exposure import partition_attach, partition_create

    with connection.cursor() as cursor:
        partition_create(cursor, run.pk)
        partition_attach(cursor, run.pk)
    ExposureResult.objects.bulk_create(
        [ExposureResult(run=run, reason=row.pop("reason", "test"), **row) for row in rows]
    )
