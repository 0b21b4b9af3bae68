"""An approved death pauses the person's program memberships and unpaid entitlements (registry signal, programs
receiver), in the approval's transaction."""

import datetime as dt
from decimal import Decimal

import pytest

from programs.models import Cycle, Entitlement, Program, ProgramMembership
from registry.services import change_request_approve, change_request_submit
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def _program(name: str, target: str) -> Program:
    return Program.objects.create(name=name, target=target, currency="BDT")


def _entitle(program: Program, household, status: str, sequence: int = 1) -> Entitlement:
    """One entitlement of the program's cycle `sequence` (month `sequence` of 2026)."""
    cycle, _ = Cycle.objects.get_or_create(
        program=program,
        sequence=sequence,
        defaults={
            "name": f"c{sequence}",
            "starts_on": dt.date(2026, sequence, 1),
            "ends_on": dt.date(2026, sequence, 28),
        },
    )
    return Entitlement.objects.create(
        cycle=cycle,
        program=program,
        household=household,
        kind="cash",
        amount=Decimal("1000"),
        currency="BDT",
        valid_from=cycle.starts_on,
        valid_until=cycle.ends_on,
        status=status,
    )


def _report_death(person, death_date="2026-11-02"):
    alice, bob = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    change = change_request_submit(
        user=alice, kind="death", individual_id=person.pk, payload={"death_date": death_date, "reference": "DRN 1"}
    )
    return change_request_approve(user=bob, request_id=change.pk)


def test_death_pauses_individual_programs_and_leaves_household_programs_of_the_living():
    pension = _program("Old age pension", "individual")
    family = _program("Family support", "household")
    home = HouseholdFactory()
    elder = IndividualFactory(birth_date=dt.date(1940, 5, 5))
    MembershipFactory(household=home, individual=elder)
    MembershipFactory(household=home, role="child")
    for program in (pension, family):
        ProgramMembership.objects.create(program=program, household=home, state="enrolled")
    approved, draft, cancelled = (
        _entitle(pension, home, status, sequence)
        for sequence, status in enumerate(["approved", "draft", "cancelled"], 1)
    )
    family_entitlement = _entitle(family, home, "approved")

    applied = _report_death(elder)

    assert ProgramMembership.objects.get(program=pension).state == "paused"
    assert "death of" in ProgramMembership.objects.get(program=pension).reason
    assert ProgramMembership.objects.get(program=family).state == "enrolled"
    for entitlement in (approved, draft, cancelled, family_entitlement):
        entitlement.refresh_from_db()
    assert (approved.status, draft.status, cancelled.status) == ("paused", "paused", "cancelled")
    assert family_entitlement.status == "approved"
    report = applied.diff["programs"]
    assert report["entitlements_paused"] == sorted([approved.code, draft.code])
    assert report["memberships_paused"] == [ProgramMembership.objects.get(program=pension).pk]


def test_death_of_the_last_member_pauses_household_programs_too():
    family = _program("Family support", "household")
    home = HouseholdFactory()
    alone = IndividualFactory(birth_date=dt.date(1940, 5, 5))
    MembershipFactory(household=home, individual=alone)
    ProgramMembership.objects.create(program=family, household=home, state="enrolled")
    entitlement = _entitle(family, home, "approved")
    other_home = HouseholdFactory()
    MembershipFactory(household=other_home)
    ProgramMembership.objects.create(program=family, household=other_home, state="enrolled")
    untouched = _entitle(family, other_home, "approved")

    _report_death(alone)

    assert ProgramMembership.objects.get(household=home).state == "paused"
    assert ProgramMembership.objects.get(household=other_home).state == "enrolled"
    entitlement.refresh_from_db(), untouched.refresh_from_db()
    assert (entitlement.status, untouched.status) == ("paused", "approved")


def test_an_entitlement_already_in_a_payment_is_left_to_the_ledger_and_listed():
    from programs.payments.models import Payment, PaymentBatch
    from tests.factories import BankFactory

    pension = _program("Old age pension", "individual")
    home = HouseholdFactory()
    elder = IndividualFactory(birth_date=dt.date(1940, 5, 5))
    MembershipFactory(household=home, individual=elder)
    ProgramMembership.objects.create(program=pension, household=home, state="enrolled")
    in_payment, unpaid = _entitle(pension, home, "approved", 1), _entitle(pension, home, "approved", 2)
    batch = PaymentBatch.objects.create(
        cycle=in_payment.cycle,
        program=pension,
        fsp=BankFactory(code="CITY"),
        currency="BDT",
        execution_date=dt.date(2026, 1, 10),
        prepared_by=UserFactory(),
    )
    Payment.objects.create(
        batch=batch, entitlement=in_payment, household=home, amount=in_payment.amount, currency="BDT"
    )

    report = _report_death(elder).diff["programs"]

    in_payment.refresh_from_db(), unpaid.refresh_from_db()
    assert (in_payment.status, unpaid.status) == ("approved", "paused")
    assert report["entitlements_in_payment"] == [in_payment.code]
    assert report["entitlements_paused"] == [unpaid.code]


def test_resuming_the_membership_brings_paused_entitlements_back_as_their_cycle_allows():
    from programs.services import membership_change

    pension = _program("Old age pension", "individual")
    home = HouseholdFactory()
    elder = IndividualFactory(birth_date=dt.date(1940, 5, 5))
    MembershipFactory(household=home, individual=elder)
    ProgramMembership.objects.create(program=pension, household=home, state="enrolled")
    approved, draft = _entitle(pension, home, "approved", 1), _entitle(pension, home, "draft", 2)
    Cycle.objects.filter(pk=approved.cycle_id).update(
        state="approved", submitted_by=UserFactory(), approved_by=UserFactory()
    )
    _report_death(elder)
    assert set(Entitlement.objects.values_list("status", flat=True)) == {"paused"}

    run = membership_change(program=pension, user=UserFactory(is_superuser=True), action="resume", households=[home.pk])

    assert run.result["entitlements_resumed"] == 2
    assert ProgramMembership.objects.get().state == "enrolled"
    approved.refresh_from_db(), draft.refresh_from_db()
    assert (approved.status, draft.status) == ("approved", "draft")
