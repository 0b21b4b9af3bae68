"""Anticipatory action, in the shape of WFP Bangladesh's 2020 forecast-based transfer (4,500 BDT to households
pre-enrolled in the forecast zone): a trigger on a CAP alert's severity, certainty and urgency in given areas drafts
the pre-agreed cycle when the alert's analysis finishes, tells the approvers, and fires once per alert."""

from decimal import Decimal

import pytest
from django.contrib.gis.geos import Point, Polygon
from django.test import TestCase
from django.utils import timezone

from layers.models import CapAlert, VectorFeature, VectorLayer
from programs.models import Cycle, Entitlement, Notice, Program, ProgramMembership, TriggerFiring
from response.models import Incident
from tests.factories import UserFactory
from tests.programs.conftest import household_with_members, run_analysis

pytestmark = pytest.mark.django_db


def cap_alert(identifier: str, severity: str, bbox=(90.0, 23.0, 90.5, 23.5)) -> CapAlert:
    layer = VectorLayer.objects.create(name=identifier, kind="hazard", geometry_type="polygon", source_type="cap")
    VectorFeature.objects.create(layer=layer, fid=1, geom=Polygon.from_bbox(bbox), properties={"areaDesc": "Coast"})
    return CapAlert.objects.create(
        identifier=identifier,
        sender="bmd@example.org",
        sent=timezone.now(),
        cap_status="Actual",
        msg_type="Alert",
        headline=f"Flood forecast {identifier}",
        severity=severity,
        certainty="Likely",
        urgency="Expected",
        layer=layer,
        xml="<alert/>",
    )


def test_a_matching_alert_drafts_the_pre_agreed_cycle_once_and_notifies_approvers(two_districts, client_for):
    _, west, _ = two_districts
    officer = client_for(UserFactory(username="aa.officer", roles=["program_officer"]))
    approver = UserFactory(username="aa.approver", roles=["program_officer"])
    inside = [household_with_members(Point(90.1 + i * 0.05, 23.2, srid=4326), west) for i in range(4)]
    outside = household_with_members(Point(90.8, 23.8, srid=4326), west)
    program = Program.objects.create(name="Forecast-based cash", kind="anticipatory", currency="BDT")
    ProgramMembership.objects.bulk_create(ProgramMembership(program=program, household=h) for h in [*inside, outside])
    created = officer.post(
        "/api/v1/programs/triggers/",
        {
            "program": program.pk,
            "name": "Jamuna flood forecast",
            "kind": "cap",
            "conditions": {
                "severity": ["Severe", "Extreme"],
                "certainty": ["Likely", "Observed"],
                "urgency": ["Immediate", "Expected"],
                "areas": ["C-W"],
            },
            "formula": {"cash": {"base": "4500"}},
            "valid_days": 30,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()

    coordinator = client_for(roles=["emergency_coordinator"])
    minor = cap_alert("BMD-MINOR", "Minor")
    response = coordinator.post(
        "/api/v1/response/incidents/from-cap/", {"alert": minor.pk, "hazard_type": "flood"}, format="json"
    )
    run_analysis(Incident.objects.get(pk=response.json()["id"]))
    assert not Cycle.objects.exists()

    severe = cap_alert("BMD-SEVERE", "Severe")
    response = coordinator.post(
        "/api/v1/response/incidents/from-cap/", {"alert": severe.pk, "hazard_type": "flood"}, format="json"
    )
    incident = Incident.objects.get(pk=response.json()["id"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        run = run_analysis(incident)
    assert run.result.get("anticipatory_cycles")
    cycle = Cycle.objects.get()
    assert cycle.kind == "anticipatory" and cycle.state == "draft" and cycle.incident_id == incident.pk
    entitlements = Entitlement.objects.filter(cycle=cycle)
    assert set(entitlements.values_list("household_id", flat=True)) == {h.pk for h in inside}
    assert set(entitlements.values_list("amount", flat=True)) == {Decimal("4500")}
    assert Notice.objects.filter(user=approver, cycle=cycle).exists()

    run_analysis(incident)  # a second analysis of the same alert fires nothing more
    assert Cycle.objects.count() == 1 and TriggerFiring.objects.count() == 1
