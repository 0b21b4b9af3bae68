"""Targeting simulation side by side against an analysis, a scenario made a program in one step; in-kind baskets by
hazard class; the program budget enforced at approval."""

from decimal import Decimal

import pytest
from django.test import TestCase

from programs.models import Entitlement, EntitlementItem, Program, ProgramMembership
from tests.factories import UserFactory

pytestmark = pytest.mark.django_db


def test_scenarios_side_by_side_and_one_becomes_a_program(flood, client_for):
    officer = client_for(UserFactory(username="sim.officer", roles=["program_officer"]))
    existing = Program.objects.create(name="Old age", currency="BDT")
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=existing, household=h) for h in flood["high"][:2] + flood["outside"]
    )
    created = officer.post(
        "/api/v1/programs/simulations/",
        {
            "name": "Who to reach",
            "exposure_run": flood["run"].pk,
            "scenarios": [
                {"name": "Affected", "rule": "exposure.affected", "formula": {"cash": {"base": "5000"}}},
                {
                    "name": "High only",
                    "rule": "exposure.rank >= 3",
                    "formula": {"cash": {"base": "8000"}, "in_kind": []},
                    "budget": "40000",
                },
                {"name": "Everyone", "rule": "", "formula": {"cash": {"base": "1000"}}},
            ],
        },
        format="json",
    )
    assert created.status_code == 201, created.json()
    affected, high, everyone = (s["results"] for s in created.json()["scenarios"])
    assert affected["households"] == 8 and affected["coverage_rate"] == 1.0 and affected["inclusion_count"] == 0
    assert Decimal(affected["cost"]) == Decimal("40000")
    assert high["households"] == 6 and high["exclusion_count"] == 2 and high["exclusion_rate"] == 0.25
    assert high["over_budget"] is True  # 48,000 against a 40,000 budget
    assert everyone["households"] == 10 and everyone["inclusion_count"] == 2
    assert {row["program_code"]: row["households"] for row in everyone["overlap"]} == {existing.code: 4}

    too_many = officer.post(
        "/api/v1/programs/simulations/",
        {"name": "x", "scenarios": [{"rule": ""}] * 5},
        format="json",
    )
    assert too_many.status_code == 400
    bad = officer.post(
        "/api/v1/programs/simulations/", {"name": "x", "scenarios": [{"rule": "members.count >"}]}, format="json"
    )
    assert bad.status_code == 400 and "scenarios[0].rule" in bad.json()

    simulation = created.json()["id"]
    promoted = officer.post(
        f"/api/v1/programs/simulations/{simulation}/scenarios/2/promote/",
        {"program_name": "High-risk support", "kind": "emergency"},
        format="json",
    )
    assert promoted.status_code == 201, promoted.json()
    program = Program.objects.get(pk=promoted.json()["id"])
    assert program.eligibility_rule == "exposure.rank >= 3" and program.budget == Decimal("40000")
    assert program.incidents.filter(pk=flood["incident"].pk).exists()


def test_in_kind_baskets_by_class_and_the_budget_at_approval(flood, client_for):
    officer = client_for(UserFactory(username="kind.officer", roles=["program_officer"]))
    approver = client_for(UserFactory(username="kind.approver", roles=["program_officer"]))
    program = Program.objects.create(name="Food", currency="BDT", budget=Decimal("30000"))
    ProgramMembership.objects.bulk_create(
        ProgramMembership(program=program, household=h) for h in flood["high"] + flood["moderate"]
    )
    with TestCase.captureOnCommitCallbacks(execute=True):
        launched = officer.post(
            "/api/v1/programs/topups/",
            {
                "exposure_run": flood["run"].pk,
                "program": program.pk,
                "amounts_by_class": {"high": "5000", "moderate": "2500"},
                "in_kind": [
                    {"item": "rice", "unit": "kg", "per_household": "25", "by_class": {"high": "35"}},
                    {"item": "oral-rehydration-salts", "unit": "sachet", "per_member": "2"},
                ],
                "starts_on": "2026-07-10",
                "ends_on": "2026-08-10",
            },
            format="json",
        )
    assert launched.status_code == 201, launched.json()
    cycle_id = launched.json()["cycles"][0]["id"]
    baskets = Entitlement.objects.filter(cycle_id=cycle_id, kind="in_kind")
    assert baskets.count() == 8
    rice = dict(
        EntitlementItem.objects.filter(entitlement__in=baskets, item="rice").values_list(
            "entitlement__household_id", "quantity"
        )
    )
    assert rice[flood["high"][0].pk] == Decimal("35") and rice[flood["moderate"][0].pk] == Decimal("25")
    salts = set(
        EntitlementItem.objects.filter(entitlement__in=baskets, item="oral-rehydration-salts").values_list(
            "quantity", flat=True
        )
    )
    assert salts == {Decimal("6")}  # three members each
    # 6 × 5,000 + 2 × 2,500 = 35,000: more than the 30,000 budget.
    assert officer.post(f"/api/v1/programs/cycles/{cycle_id}/submit/").status_code == 200
    refused = approver.post(f"/api/v1/programs/cycles/{cycle_id}/approve/")
    assert refused.status_code == 400 and "budget" in str(refused.json())
    assert not Entitlement.objects.filter(cycle_id=cycle_id, status="approved").exists()
