"""Programs are scoped by the officer's areas, personal data reaches only holders of the permission, and every
change of a cycle, membership or entitlement is in the audit log."""

import pytest
from django.test import TestCase

from programs.models import Program, ProgramMembership
from spmis.core.models import AuditEvent
from tests.factories import UserFactory
from tests.programs.conftest import response_bytes

pytestmark = pytest.mark.django_db


def test_an_officer_bound_to_one_district_works_inside_it_only(flood, two_districts, client_for):
    _, _, east = two_districts
    national = client_for(UserFactory(username="national.officer", roles=["program_officer"]))
    eastern = client_for(UserFactory(username="east.officer", roles=["program_officer"], areas=[east]))
    west_program = national.post(
        "/api/v1/programs/programs/", {"name": "West support", "currency": "BDT", "areas": ["C-W"]}, format="json"
    ).json()
    refused = eastern.post(
        "/api/v1/programs/programs/", {"name": "Grab", "currency": "BDT", "areas": ["C-W"]}, format="json"
    )
    assert refused.status_code == 400 and "Outside your areas" in str(refused.json())
    assert eastern.get(f"/api/v1/programs/programs/{west_program['id']}/").status_code == 404
    assert west_program["id"] not in [p["id"] for p in eastern.get("/api/v1/programs/programs/").json()["results"]]
    preview = eastern.post("/api/v1/programs/rules/preview/", {"rule": "members.count > 0"}, format="json").json()
    assert preview["households"] == 0  # all ten households are in the west
    assert (
        national.post("/api/v1/programs/rules/preview/", {"rule": "members.count > 0"}, format="json").json()[
            "households"
        ]
        == 10
    )


def test_entitlement_exports_name_heads_only_for_personal_data_holders(flood, client_for):
    officer = client_for(UserFactory(username="pd.officer", roles=["program_officer"]))
    approver = client_for(UserFactory(username="pd.approver", roles=["program_officer"]))
    auditor = client_for(roles=["auditor"])
    program = Program.objects.create(name="Support", currency="BDT")
    ProgramMembership.objects.bulk_create(ProgramMembership(program=program, household=h) for h in flood["high"])
    with TestCase.captureOnCommitCallbacks(execute=True):
        launched = officer.post(
            "/api/v1/programs/topups/",
            {
                "exposure_run": flood["run"].pk,
                "program": program.pk,
                "amounts_by_class": {"high": "8000"},
                "starts_on": "2026-07-10",
                "ends_on": "2026-08-10",
            },
            format="json",
        )
    cycle_id = launched.json()["cycles"][0]["id"]
    officer_csv = officer.get(f"/api/v1/programs/cycles/{cycle_id}/entitlements/export/", {"file": "csv"})
    auditor_csv = auditor.get(f"/api/v1/programs/cycles/{cycle_id}/entitlements/export/", {"file": "csv"})
    assert officer_csv.status_code == auditor_csv.status_code == 200
    officer_text, auditor_text = response_bytes(officer_csv).decode(), response_bytes(auditor_csv).decode()
    assert "head_name" in officer_text.splitlines()[0]
    assert "head_name" not in auditor_text.splitlines()[0]
    assert len(auditor_text.splitlines()) == 7
    # Auditors read, never write.
    assert auditor.post(f"/api/v1/programs/cycles/{cycle_id}/submit/").status_code == 403

    before = AuditEvent.objects.count()
    assert officer.post(f"/api/v1/programs/cycles/{cycle_id}/submit/").status_code == 200
    assert approver.post(f"/api/v1/programs/cycles/{cycle_id}/approve/").status_code == 200
    events = AuditEvent.objects.filter(pk__gt=0).order_by("-id")[: AuditEvent.objects.count() - before]
    tables = {event.table_name for event in events}
    assert {"programs_cycle", "programs_entitlement"} <= tables
    approval = next(e for e in events if e.table_name == "programs_cycle" and e.after.get("state") == "approved")
    assert approval.actor == "user:pd.approver"
    assert sum(1 for e in events if e.table_name == "programs_entitlement") == 6
