from __future__ import annotations

import datetime
import uuid

import factory

from response.models import HazardClass, HazardZone, Incident
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
