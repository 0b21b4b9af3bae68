"""Incidents and their analyses within a coordinator's areas: new incidents are linked to the areas, links outside
them cannot be made or removed."""

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.test import Client
from rest_framework.test import APIClient

from response.models import Incident
from tests.factories import UserFactory
from tests.response.factories import HazardZoneFactory, IncidentFactory
from tests.response.test_api import BASE

pytestmark = pytest.mark.django_db


@pytest.fixture
def west_coordinator(client_for, two_districts):
    return client_for(
        UserFactory(username="west.coordinator", roles=["emergency_coordinator"], areas=[two_districts[1]])
    )


def test_a_scoped_coordinators_new_incident_is_linked_to_their_areas_and_opens_on_the_map(west_coordinator):
    response = west_coordinator.post(
        f"{BASE}/incidents/", {"name": "Flash flood", "hazard_type": "flood", "started_on": "2026-07-01"}
    )
    assert response.status_code == 201, response.content
    assert response.json()["area_codes"] == ["C-W"]
    page = Client()
    page.force_login(west_coordinator.user)
    assert page.get(f"/map/?incident={response.json()['id']}").status_code == 200
    assert west_coordinator.get(f"{BASE}/incidents/{response.json()['id']}/").status_code == 200


def test_a_scoped_coordinator_cannot_create_an_incident_for_another_district(west_coordinator):
    response = west_coordinator.post(
        f"{BASE}/incidents/",
        {"name": "Elsewhere", "hazard_type": "flood", "started_on": "2026-07-01", "area_codes": ["C-E"]},
    )
    assert response.status_code == 400
    assert "C-E" in response.json()["area_codes"][0]
    assert not Incident.objects.filter(name="Elsewhere").exists()


def test_a_scoped_coordinator_cannot_unlink_or_link_areas_outside_their_scope(west_coordinator, two_districts):
    _, west, east = two_districts
    shared = IncidentFactory()
    shared.areas.set([west, east])
    url = f"{BASE}/incidents/{shared.pk}/"
    removed = west_coordinator.patch(url, {"area_codes": ["C-W"]})
    assert removed.status_code == 400 and "C-E" in removed.json()["area_codes"][0]
    assert sorted(shared.areas.values_list("code", flat=True)) == ["C-E", "C-W"]
    added = west_coordinator.patch(url, {"area_codes": ["C-W", "C-E", "C"]})
    assert added.status_code == 400 and added.json()["area_codes"][0].endswith(": C.")
    kept = west_coordinator.patch(url, {"area_codes": ["C-E", "C-W"], "name": "Renamed"})
    assert kept.status_code == 200, kept.content
    assert Incident.objects.get(pk=shared.pk).name == "Renamed"
    national = APIClient()
    national.force_authenticate(UserFactory(roles=["emergency_coordinator"]))
    assert national.patch(url, {"area_codes": ["C-W"]}).status_code == 200


def test_a_scoped_coordinator_works_on_the_zones_in_their_areas_only(west_coordinator, two_districts):
    from response.models import HazardZone

    shared = IncidentFactory()
    shared.areas.set(two_districts[1:])
    east_zone = HazardZoneFactory(incident=shared, geom=MultiPolygon(Polygon.from_bbox((91.2, 23.2, 91.4, 23.4))))

    def polygon(x0):
        return {
            "type": "Polygon",
            "coordinates": [[[x0, 23.2], [x0 + 0.2, 23.2], [x0 + 0.2, 23.4], [x0, 23.4], [x0, 23.2]]],
        }

    drawn = {"incident": shared.pk, "hazard_class": "high"}
    assert west_coordinator.post(f"{BASE}/hazard-zones/", {**drawn, "geometry": polygon(90.2)}).status_code == 201
    outside = west_coordinator.post(f"{BASE}/hazard-zones/", {**drawn, "geometry": polygon(91.6)})
    assert outside.status_code == 403 and "outside your areas" in outside.json()["detail"]
    url = f"{BASE}/hazard-zones/{east_zone.pk}/"
    assert west_coordinator.patch(url, {"hazard_class": "low"}).status_code == 403
    assert west_coordinator.delete(url).status_code == 403
    assert HazardZone.objects.get(pk=east_zone.pk).is_current
    national = APIClient()
    national.force_authenticate(UserFactory(roles=["emergency_coordinator"]))
    assert national.delete(url).status_code == 204
