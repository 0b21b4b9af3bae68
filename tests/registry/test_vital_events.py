"""Death and birth change requests: validated on submit, applied only by a second user, with the diff."""

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from registry.models import ChangeRequest, HouseholdMembers, IdType, Individual
from registry.services import change_request_approve, change_request_reject, change_request_submit
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def officers():
    return UserFactory(is_superuser=True), UserFactory(is_superuser=True)


def test_death_is_applied_by_a_second_user_only(officers):
    alice, bob = officers
    home = HouseholdFactory()
    person = IndividualFactory(birth_date=dt.date(1950, 1, 1))
    MembershipFactory(household=home, individual=person)
    MembershipFactory(household=home, role="spouse")
    assert HouseholdMembers.objects.get(household=home).members == 2
    change = change_request_submit(
        user=alice, kind="death", individual_id=person.pk, payload={"death_date": "2026-11-02", "reference": "DRN 7"}
    )
    with pytest.raises(PermissionDenied):
        change_request_approve(user=alice, request_id=change.pk)
    person.refresh_from_db()
    assert person.status == "active"

    applied = change_request_approve(user=bob, request_id=change.pk)
    person.refresh_from_db()
    assert (person.status, person.status_date) == ("deceased", dt.date(2026, 11, 2))
    assert applied.diff["status"] == ["active", "deceased"]
    assert applied.diff["programs"]["memberships_paused"] == []
    assert HouseholdMembers.objects.get(household=home).members == 1
    # Reported twice (a second report, or a redelivery that made a new request): refused with words.
    with pytest.raises(ValidationError, match="Already recorded as deceased"):
        change_request_submit(user=alice, kind="death", individual_id=person.pk, payload={"death_date": "2026-11-02"})


@pytest.mark.parametrize(
    ("payload", "words"),
    [
        ({}, "death_date"),
        ({"death_date": "2999-01-01"}, "in the future"),
        ({"death_date": "1940-01-01"}, "before the birth date"),
    ],
)
def test_a_bad_death_report_is_refused_with_words(officers, payload, words):
    person = IndividualFactory(birth_date=dt.date(1950, 1, 1))
    MembershipFactory(individual=person)
    with pytest.raises(ValidationError, match=words):
        change_request_submit(user=officers[0], kind="death", individual_id=person.pk, payload=payload)
    assert not ChangeRequest.objects.exists()


def test_death_outside_the_submitters_areas_is_refused(two_districts):
    _, _west, east = two_districts
    person = IndividualFactory()
    MembershipFactory(individual=person)  # the household lies in the west district
    officer = UserFactory(areas=[east])
    with pytest.raises(ValidationError, match="in your areas"):
        change_request_submit(user=officer, kind="death", individual_id=person.pk, payload={"death_date": "2026-01-01"})


def test_birth_adds_a_child_with_documents_once_approved(officers):
    alice, bob = officers
    IdType.objects.create(code="brn", name="Birth registration number", pattern=r"\d{9}")
    home = HouseholdFactory()
    MembershipFactory(household=home)
    change = change_request_submit(
        user=alice,
        kind="birth",
        household_id=home.pk,
        payload={
            "given_name": "Rina",
            "family_name": "Akter",
            "sex": "F",
            "birth_date": "2026-10-30",
            "documents": [{"id_type": "brn", "number": "947951532"}],
        },
    )
    assert change.payload["role"] == "child"
    assert Individual.objects.count() == 1
    applied = change_request_approve(user=bob, request_id=change.pk)
    child = Individual.objects.get(pk=applied.diff["individual"][1])
    assert (child.given_name, child.sex, str(child.birth_date)) == ("Rina", "F", "2026-10-30")
    assert applied.individual_id == child.pk and applied.diff["registrant_id"] == child.registrant_id
    assert list(child.documents.values_list("number", flat=True)) == ["947951532"]
    assert child.memberships.get().household_id == home.pk
    assert HouseholdMembers.objects.get(household=home).members == 2


def test_birth_needs_a_name_and_a_past_date_and_rejection_adds_no_one(officers):
    alice, bob = officers
    home = HouseholdFactory()
    with pytest.raises(ValidationError, match="given name"):
        change_request_submit(user=alice, kind="birth", household_id=home.pk, payload={"birth_date": "2026-01-01"})
    with pytest.raises(ValidationError, match="in the future"):
        change_request_submit(
            user=alice, kind="birth", household_id=home.pk, payload={"given_name": "A", "birth_date": "2999-01-01"}
        )
    with pytest.raises(ValidationError, match="household"):
        change_request_submit(user=alice, kind="birth", payload={"given_name": "A", "birth_date": "2026-01-01"})
    change = change_request_submit(
        user=alice, kind="birth", household_id=home.pk, payload={"given_name": "A", "birth_date": "2026-01-01"}
    )
    change_request_reject(user=bob, request_id=change.pk, reason="Not this household")
    assert not Individual.objects.exists()


def test_death_and_birth_through_the_api(client_for):
    person = IndividualFactory(birth_date=dt.date(1950, 1, 1))
    home = MembershipFactory(individual=person).household
    submitter = client_for(roles=["program_officer"])
    created = submitter.post(
        "/api/v1/registry/change-requests/",
        {"kind": "death", "individual": person.pk, "payload": {"death_date": "2026-03-04"}},
        format="json",
    )
    assert created.status_code == 201, created.content
    refused = submitter.post(
        "/api/v1/registry/change-requests/",
        {"kind": "birth", "household": home.pk, "payload": {"birth_date": "2026-03-04"}},
        format="json",
    )
    assert refused.status_code == 400 and "given_name" in refused.json()
    reviewer = client_for(roles=["program_officer"])
    approved = reviewer.post(f"/api/v1/registry/change-requests/{created.json()['id']}/approve/")
    assert approved.status_code == 200, approved.content
    assert approved.json()["diff"]["status"] == ["active", "deceased"]
