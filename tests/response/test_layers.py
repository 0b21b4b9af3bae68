"""Zones from the layers app: an uploaded polygon layer picked by attribute, a CAP alert, an EMS product."""

import datetime

import pytest
from django.contrib.gis.geos import MultiPolygon, Polygon
from django.utils import timezone

from layers.models import CapAlert, VectorFeature, VectorLayer
from response.models import HazardZone, Incident

pytestmark = pytest.mark.django_db
BASE = "/api/v1/response"


def polygon_layer(name, features, **extra):
    layer = VectorLayer.objects.create(name=name, kind="hazard", geometry_type="polygon", **extra)
    for fid, (bbox, properties) in enumerate(features, start=1):
        VectorFeature.objects.create(layer=layer, fid=fid, geom=Polygon.from_bbox(bbox), properties=properties)
    return layer


def test_zones_from_a_vector_layer_by_attribute(client_for, two_districts):
    coordinator = client_for(roles=["emergency_coordinator"])
    incident = Incident.objects.create(name="Flood", hazard_type="flood", started_on=datetime.date(2026, 7, 1))
    layer = polygon_layer(
        "Observed flood",
        [
            ((90.0, 23.0, 90.1, 23.1), {"depth_class": "3", "status": "observed"}),
            ((90.1, 23.0, 90.2, 23.1), {"depth_class": "3", "status": "observed"}),
            ((90.2, 23.0, 90.3, 23.1), {"depth_class": "1", "status": "observed"}),
            ((90.3, 23.0, 90.4, 23.1), {"depth_class": "3", "status": "forecast"}),
        ],
    )
    response = coordinator.post(
        f"{BASE}/hazard-zones/from-layer/",
        {
            "incident": incident.pk,
            "vector_layer": layer.pk,
            "where": {"status": "observed"},
            "class_attribute": "depth_class",
            "class_map": {"1": "low", "3": "high"},
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    zones = {z.hazard_class.key: z for z in HazardZone.objects.filter(incident=incident)}
    assert set(zones) == {"low", "high"}
    assert zones["high"].source_kind == "vector"
    assert zones["high"].geom.area == pytest.approx(0.02)  # the two observed class-3 squares, merged
    assert zones["high"].source["features"] == 2

    response = coordinator.post(
        f"{BASE}/hazard-zones/from-layer/",
        {"incident": incident.pk, "vector_layer": layer.pk, "class_attribute": "depth_class"},
        format="json",
    )
    assert response.status_code == 400
    assert "class_attribute" in response.json()


def test_incident_from_cap_alert_once(client_for, two_districts):
    coordinator = client_for(roles=["emergency_coordinator"])
    layer = polygon_layer("CAP areas", [((90.0, 23.0, 90.5, 23.5), {"areaDesc": "Coast"})], source_type="cap")
    alert = CapAlert.objects.create(
        identifier="BMD-2026-0042",
        sender="bmd@example.org",
        sent=timezone.now(),
        cap_status="Actual",
        msg_type="Alert",
        headline="Cyclone warning",
        layer=layer,
        xml="<alert/>",
    )
    payload = {"alert": alert.pk, "hazard_type": "cyclone", "hazard_class": "severe"}
    response = coordinator.post(f"{BASE}/incidents/from-cap/", payload, format="json")
    assert response.status_code == 201, response.content
    incident = Incident.objects.get(pk=response.json()["id"])
    assert incident.cap_identifier == "BMD-2026-0042"
    zone = HazardZone.objects.get(incident=incident)
    assert zone.source_kind == "cap" and zone.hazard_class.key == "severe"
    assert zone.geom.equals(MultiPolygon(Polygon.from_bbox((90.0, 23.0, 90.5, 23.5))))

    again = coordinator.post(f"{BASE}/incidents/from-cap/", payload, format="json")
    assert again.status_code == 400
    assert "alert" in again.json()


def test_zone_from_a_copernicus_ems_layer(client_for, two_districts):
    coordinator = client_for(roles=["emergency_coordinator"])
    incident = Incident.objects.create(name="Flood", hazard_type="flood", started_on=datetime.date(2026, 7, 1))
    layer = polygon_layer(
        "EMSR692 observed event",
        [((90.0, 23.0, 90.2, 23.2), {"notation": "Flooded area"}), ((90.5, 23.5, 90.6, 23.6), {"notation": "Dry"})],
        source_type="ems",
        activation_code="EMSR692",
    )
    response = coordinator.post(
        f"{BASE}/hazard-zones/from-layer/",
        {
            "incident": incident.pk,
            "vector_layer": layer.pk,
            "where": {"notation": "Flooded area"},
            "hazard_class": "high",
        },
        format="json",
    )
    assert response.status_code == 201, response.content
    zone = HazardZone.objects.get(incident=incident)
    assert zone.source_kind == "ems"
    assert zone.geom.extent == pytest.approx((90.0, 23.0, 90.2, 23.2))
