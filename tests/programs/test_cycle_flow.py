"""The program officer's path end to end through the API: a program, enrolment by rule, a top-up launched from an
analysis (vertical and horizontal), four-eyes approval, the stale-approval refusal, and a supplementary cycle after a
new analysis that reaches the newly affected only."""

from __future__ import annotations

import re
from decimal import Decimal

import pytest
from django.db import IntegrityError, transaction
from django.test import TestCase

from programs.models import Cycle, Entitlement, Program, ProgramMembership
from tests.factories import UserFactory, square
from tests.programs.conftest import response_bytes, run_analysis
from tests.response.factories import HazardZoneFactory

pytestmark = pytest.mark.django_db

CODE = re.compile(r"^PRG-\d{6}-\d$")


def luhn_ok(digits: str) -> bool:
    total = 0
    for index, char in enumerate(reversed(digits)):
        value = int(char)
        if index % 2 == 1:
            value = value * 2 - 9 if value > 4 else value * 2
        total += value
    return total % 10 == 0


@pytest.fixture
def officers(client_for):
    first = client_for(UserFactory(username="officer.one", roles=["program_officer"]))
    second = client_for(UserFactory(username="officer.two", roles=["program_officer"]))
    return first, second


def on_commit(callable_, *args, **kwargs):
    with TestCase.captureOnCommitCallbacks(execute=True):
        return callable_(*args, **kwargs)


def test_program_code_has_a_check_digit_and_enrolment_by_rule_is_a_job(flood, officers):
    officer, _ = officers
    created = officer.post(
        "/api/v1/programs/programs/",
        {"name": "Family support", "currency": "BDT", "budget": "1000000", "eligibility_rule": "members.count >= 3"},
        format="json",
    )
    assert created.status_code == 201, created.json()
    code = created.json()["code"]
    assert CODE.match(code) and luhn_ok(code[4:10] + code[-1])

    enrolled = on_commit(
        officer.post, f"/api/v1/programs/programs/{created.json()['id']}/enrol/", {"reason": "baseline"}, format="json"
    )
    assert enrolled.status_code == 202
    run = officer.get(f"/api/v1/programs/enrolment-runs/{enrolled.json()['id']}/").json()
    assert run["status"] == "succeeded" and run["result"]["enrolled"] == 10
    members = officer.get(f"/api/v1/programs/programs/{created.json()['id']}/memberships/").json()
    assert members["count"] == 10


def _program(officers, name="Regular support", rule="") -> Program:
    officer, _ = officers
    response = officer.post(
        "/api/v1/programs/programs/",
        {"name": name, "currency": "BDT", "budget": "1000000", "eligibility_rule": rule},
        format="json",
    )
    assert response.status_code == 201, response.json()
    return Program.objects.get(pk=response.json()["id"])


def _enrol(officer, program: Program, households) -> None:
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=program, household=h, state="enrolled") for h in households
    )


def _launch(officer, run, program, **extra):
    body = {
        "exposure_run": run.pk,
        "program": program.pk,
        "vertical": True,
        "amounts_by_class": {"high": "8000.00", "moderate": "5000.00"},
        "starts_on": "2026-07-10",
        "ends_on": "2026-08-10",
        **extra,
    }
    return on_commit(officer.post, "/api/v1/programs/topups/", body, format="json")


def test_top_up_from_an_analysis_preview_equals_what_is_created_and_four_eyes_approval(flood, officers):
    officer, approver = officers
    program = _program(officers)
    # Enrolled: four of the six high households, one moderate, one outside.
    _enrol(officer, program, flood["high"][:4] + flood["moderate"][:1] + flood["outside"][:1])

    preview = _launch(
        officer, flood["run"], program, horizontal=True, new_program_name="Flood response", preview_only=True
    )
    assert preview.status_code == 200, preview.json()
    assert not Cycle.objects.exists() and not Program.objects.filter(name="Flood response").exists()
    vertical = preview.json()["preview"]["vertical"]
    horizontal = preview.json()["preview"]["horizontal"]
    assert vertical["households"] == 5 and Decimal(vertical["amount"]) == Decimal("37000")
    # Affected and not enrolled in the regular program: two high, one moderate.
    assert horizontal["households"] == 3 and Decimal(horizontal["amount"]) == Decimal("21000")

    launched = _launch(officer, flood["run"], program, horizontal=True, new_program_name="Flood response")
    assert launched.status_code == 201, launched.json()
    # The response answers before the generation jobs (queued on commit) ran; read the cycles again.
    top_up, caseload = (officer.get(f"/api/v1/programs/cycles/{c['id']}/").json() for c in launched.json()["cycles"])
    assert top_up["kind"] == "top_up" and top_up["state"] == "draft" and top_up["latest_run"]["status"] == "succeeded"
    assert top_up["planned_count"] == 5 and Decimal(top_up["planned_amount"]) == Decimal("37000")
    assert caseload["kind"] == "new_caseload" and caseload["planned_count"] == 3
    amounts = dict(Entitlement.objects.filter(cycle_id=top_up["id"]).values_list("household_id", "amount"))
    assert amounts[flood["high"][0].pk] == Decimal("8000") and amounts[flood["moderate"][0].pk] == Decimal("5000")
    assert flood["outside"][0].pk not in amounts

    cycle_url = f"/api/v1/programs/cycles/{top_up['id']}/"
    assert officer.post(cycle_url + "submit/").status_code == 200
    refused = officer.post(cycle_url + "approve/")
    assert refused.status_code == 400 and "another officer" in str(refused.json())
    assert Cycle.objects.get(pk=top_up["id"]).state == "to_approve"
    approved = approver.post(cycle_url + "approve/")
    assert approved.status_code == 200, approved.json()
    assert approved.json()["state"] == "approved" and approved.json()["approved_by"] == "officer.two"
    assert set(Entitlement.objects.filter(cycle_id=top_up["id"]).values_list("status", flat=True)) == {"approved"}

    # The newcomers join the emergency program when its cycle is approved, not before.
    emergency = Program.objects.get(name="Flood response")
    assert not emergency.memberships.exists()
    caseload_url = f"/api/v1/programs/cycles/{caseload['id']}/"
    assert approver.post(caseload_url + "submit/").status_code == 200
    assert officer.post(caseload_url + "approve/").status_code == 200
    assert emergency.memberships.filter(state="enrolled").count() == 3

    listed = officer.get(cycle_url + "entitlements/").json()
    assert listed["count"] == 5 and {row["status"] for row in listed["results"]} == {"approved"}
    export = officer.get(cycle_url + "entitlements/export/", {"file": "csv"})
    assert export.status_code == 200 and response_bytes(export).decode().count("\n") == 6
    xlsx = officer.get(cycle_url + "entitlements/export/", {"file": "xlsx"})
    assert xlsx.status_code == 200 and response_bytes(xlsx)[:2] == b"PK"

    assert officer.post(cycle_url + "advance/", {"state": "ended"}, format="json").json()["state"] == "ended"
    assert officer.post(cycle_url + "cancel/", {"reason": "late"}, format="json").status_code == 400


def test_the_database_refuses_an_approval_by_the_submitter(flood, officers):
    officer, _ = officers
    program = _program(officers)
    _enrol(officer, program, flood["high"])
    cycle = Cycle.objects.get(pk=_launch(officer, flood["run"], program).json()["cycles"][0]["id"])
    assert officer.post(f"/api/v1/programs/cycles/{cycle.pk}/submit/").status_code == 200
    with pytest.raises(IntegrityError, match="programs_cycle_four_eyes"), transaction.atomic():
        Cycle.objects.filter(pk=cycle.pk).update(state="approved", approved_by=officer.user)


def test_a_stale_cycle_is_not_approved(flood, officers):
    officer, approver = officers
    program = _program(officers)
    _enrol(officer, program, flood["high"])
    cycle_id = _launch(officer, flood["run"], program).json()["cycles"][0]["id"]
    assert officer.post(f"/api/v1/programs/cycles/{cycle_id}/submit/").status_code == 200
    paused = officer.post(
        f"/api/v1/programs/programs/{program.pk}/memberships/change/",
        {"action": "pause", "households": [flood["high"][0].pk], "reason": "moved away"},
        format="json",
    )
    assert paused.status_code == 200 and paused.json()["result"]["changed"] == 1
    refused = approver.post(f"/api/v1/programs/cycles/{cycle_id}/approve/")
    assert refused.status_code == 400 and "population changed" in str(refused.json())
    assert set(Entitlement.objects.filter(cycle_id=cycle_id).values_list("status", flat=True)) == {"draft"}


def test_a_new_analysis_yields_a_supplementary_cycle_for_the_newly_affected_only(flood, officers):
    officer, _ = officers
    program = _program(officers)
    _enrol(officer, program, flood["high"] + flood["moderate"] + flood["outside"])
    first = _launch(officer, flood["run"], program).json()["cycles"][0]
    first = officer.get(f"/api/v1/programs/cycles/{first['id']}/").json()
    assert first["planned_count"] == 8
    # The flood spreads north-east over the two households that were outside.
    HazardZoneFactory(incident=flood["incident"], geom=square(90.7, 23.7, 0.3))
    later = run_analysis(flood["incident"])
    second = _launch(officer, later, program)
    assert second.status_code == 201, second.json()
    supplementary = officer.get(f"/api/v1/programs/cycles/{second.json()['cycles'][0]['id']}/").json()
    assert supplementary["supplements"] == first["id"] and supplementary["planned_count"] == 2
    entitled = Entitlement.objects.filter(program=program, incident=flood["incident"]).exclude(status="cancelled")
    assert entitled.count() == 10 and entitled.values("household").distinct().count() == 10
    # Even bypassing the population rule, the database refuses a second entitlement for the same incident.
    again = Entitlement.objects.filter(cycle_id=first["id"]).first()
    with pytest.raises(IntegrityError), transaction.atomic():
        Entitlement.objects.create(
            cycle_id=supplementary["id"],
            program=program,
            household_id=again.household_id,
            kind="cash",
            amount=Decimal("1"),
            currency="BDT",
            incident=flood["incident"],
            valid_from=again.valid_from,
            valid_until=again.valid_until,
        )


def test_generation_redelivered_or_repeated_creates_nothing_twice(flood, officers):
    from programs.models import EntitlementRun
    from programs.services import cycle_generate_execute

    officer, _ = officers
    program = _program(officers)
    _enrol(officer, program, flood["high"])
    cycle_id = _launch(officer, flood["run"], program).json()["cycles"][0]["id"]
    run = EntitlementRun.objects.filter(cycle_id=cycle_id).get()
    cycle_generate_execute(run_id=run.pk)  # a redelivered task finds the row finished
    assert Entitlement.objects.filter(cycle_id=cycle_id).count() == 6
    regenerated = on_commit(officer.post, f"/api/v1/programs/cycles/{cycle_id}/generate/")
    assert regenerated.status_code == 202
    assert officer.get(f"/api/v1/programs/entitlement-runs/{regenerated.json()['id']}/").json()["status"] == "succeeded"
    assert Entitlement.objects.filter(cycle_id=cycle_id).count() == 6
    with pytest.raises(IntegrityError, match="programs_entitlement_once"), transaction.atomic():
        entitlement = Entitlement.objects.filter(cycle_id=cycle_id).first()
        entitlement.pk = None
        entitlement.code = "ENT-duplicate"
        entitlement.incident = None
        entitlement.save()


def test_a_household_in_two_programs_for_the_same_incident_is_flagged_or_refused(flood, officers):
    officer, _ = officers
    first = _program(officers, "First")
    second = _program(officers, "Second")
    _enrol(officer, first, flood["high"])
    _enrol(officer, second, flood["high"][:2])
    _launch(officer, flood["run"], first)
    flagged = _launch(officer, flood["run"], second).json()["cycles"][0]
    flagged = officer.get(f"/api/v1/programs/cycles/{flagged['id']}/").json()
    assert flagged["planned_count"] == 2 and flagged["flagged_count"] == 2
    second.duplicate_policy = "refuse"
    second.save()
    Cycle.objects.filter(pk=flagged["id"]).update(state="cancelled")
    Entitlement.objects.filter(cycle_id=flagged["id"]).update(status="cancelled")
    refused = _launch(officer, flood["run"], second)
    assert refused.status_code == 201 and refused.json()["preview"]["vertical"]["households"] == 0


def test_bad_input_is_refused_with_words_and_nothing_stored(flood, officers):
    officer, _ = officers
    program = _program(officers)
    bad_rule = officer.post(
        "/api/v1/programs/cycles/",
        {
            "program": program.pk,
            "name": "x",
            "starts_on": "2026-07-01",
            "ends_on": "2026-07-31",
            "rule": "members.count >= ",
            "formula": {"cash": {"base": "100"}},
        },
        format="json",
    )
    assert bad_rule.status_code == 400 and "line" in str(bad_rule.json()) and "column" in str(bad_rule.json())
    negative = _launch(officer, flood["run"], program, amounts_by_class={"high": "-5"})
    assert negative.status_code == 400 and "amounts_by_class" in negative.json()
    too_precise = _launch(officer, flood["run"], program, amounts_by_class={"high": "10.001"})
    assert too_precise.status_code == 400 and "decimals" in str(too_precise.json())
    backwards = _launch(officer, flood["run"], program, starts_on="2026-09-01", ends_on="2026-08-01")
    assert backwards.status_code == 400 and "ends_on" in backwards.json()
    regular = {
        "program": program.pk,
        "starts_on": "2026-07-01",
        "ends_on": "2026-07-31",
        "formula": {"cash": {"base": "100"}},
    }
    assert officer.post("/api/v1/programs/cycles/", regular, format="json").status_code == 201
    overlap = officer.post(
        "/api/v1/programs/cycles/", {**regular, "starts_on": "2026-07-15", "ends_on": "2026-08-15"}, format="json"
    )
    assert overlap.status_code == 400 and "overlaps" in str(overlap.json())
    assert Cycle.objects.count() == 1
    check = officer.post("/api/v1/programs/rules/check/", {"rule": "members.cout > 1"}, format="json")
    error = check.json()["rule"][0]
    assert check.status_code == 400 and error["line"] == 1 and error["column"] == 9 and "cout" in error["message"]


def test_rule_preview_counts_by_area_and_class(flood, officers):
    officer, _ = officers
    preview = officer.post(
        "/api/v1/programs/rules/preview/",
        {"rule": "exposure.affected && members.count >= 3", "exposure_run": flood["run"].pk},
        format="json",
    )
    assert preview.status_code == 200, preview.json()
    body = preview.json()
    assert body["households"] == 8 and body["people"] == 24
    assert {row["key"]: row["households"] for row in body["by_class"]} == {"high": 6, "moderate": 2}
    assert body["by_area"][0]["households"] == 8 and len(body["sample"]) == 8
    assert body["map"]["features"][0]["properties"]["households"] == 8


def test_a_rule_whose_arithmetic_overflows_is_a_400(flood, officers):
    officer, _ = officers
    response = officer.post(
        "/api/v1/programs/rules/preview/",
        {"rule": "members.count * 9223372036854775807 > 1"},
        format="json",
    )
    assert response.status_code == 400 and "out of range" in str(response.json())


def test_why_a_household_is_or_is_not_selected(flood, officers):
    officer, _ = officers
    rule = "exposure.rank >= 3 && members.count >= 3"
    inside = officer.post(
        "/api/v1/programs/rules/explain/",
        {"rule": rule, "household": flood["high"][0].pk, "exposure_run": flood["run"].pk},
        format="json",
    ).json()
    assert inside == {
        "household": flood["high"][0].pk,
        "selected": True,
        "values": {"exposure.rank": 3, "members.count": 3},
    }
    moderate = officer.post(
        "/api/v1/programs/rules/explain/",
        {"rule": rule, "household": flood["moderate"][0].pk, "exposure_run": flood["run"].pk},
        format="json",
    ).json()
    assert moderate["selected"] is False and moderate["values"]["exposure.rank"] == 2
    unknown = officer.post("/api/v1/programs/rules/explain/", {"rule": rule, "household": 10**9}, format="json")
    assert unknown.status_code == 400 and "household" in unknown.json()


def test_an_in_kind_only_cycle_is_generated_submitted_and_approved(flood, officers):
    """A cycle that gives goods and no cash: the approval recomputes its population digest like any other."""
    officer, approver = officers
    program = _program(officers, name="Flood rations")
    created = officer.post(
        "/api/v1/programs/cycles/",
        {
            "program": program.pk,
            "name": "Rations",
            "kind": "new_caseload",
            "population": "new",
            "starts_on": "2026-07-10",
            "ends_on": "2026-07-24",
            "rule": "exposure.affected",
            "formula": {"in_kind": [{"item": "rice", "unit": "kg", "per_household": "10", "per_member": "2"}]},
            "incident": flood["incident"].pk,
            "exposure_run": flood["run"].pk,
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    url = f"/api/v1/programs/cycles/{created.json()['id']}/"
    assert on_commit(officer.post, url + "generate/").status_code in (200, 202)
    assert officer.post(url + "submit/").status_code == 200
    approved = approver.post(url + "approve/")
    assert approved.status_code == 200, approved.json()
    entitlements = Entitlement.objects.filter(cycle_id=created.json()["id"])
    assert entitlements.count() == 8 and set(entitlements.values_list("kind", "status")) == {("in_kind", "approved")}
