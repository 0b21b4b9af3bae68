"""The reviewer's page for change requests: deaths and births listed, approved or rejected by a second person,
with the services' words on refusal."""

from __future__ import annotations

import pytest
from django.test import Client

from registry.models import ChangeRequest
from registry.services import change_request_submit
from tests.factories import IndividualFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db
PAGE = "/registry/changes/"


def _signed_in(user) -> Client:
    client = Client()
    client.force_login(user)
    return client


@pytest.fixture
def death():
    person = IndividualFactory(given_name="Karim", family_name="Uddin", birth_date="1950-01-01")
    MembershipFactory(individual=person)
    submitter = UserFactory(roles=["program_officer"])
    change = change_request_submit(
        user=submitter,
        kind="death",
        individual_id=person.pk,
        payload={"death_date": "2026-11-01", "reference": "DRN 5"},
    )
    return change, submitter, person


def test_a_second_person_approves_a_death_on_the_page(death):
    change, submitter, person = death
    own = _signed_in(submitter).get(PAGE)
    assert own.status_code == 200
    assert "a second person reviews it" in own.content.decode()
    reviewer = _signed_in(UserFactory(roles=["program_officer"]))
    page = reviewer.get(PAGE).content.decode()
    assert f'id="change-{change.pk}"' in page and "Karim" in page and "2026-11-01" in page
    done = reviewer.post(f"{PAGE}{change.pk}/approve/", {"next": PAGE}, follow=True)
    assert "is applied" in done.content.decode()
    person.refresh_from_db()
    assert person.status == "deceased"


def test_own_approval_and_empty_reason_are_refused_with_words(death):
    change, submitter, _ = death
    own = _signed_in(submitter).post(f"{PAGE}{change.pk}/approve/", follow=True)
    assert "second user" in own.content.decode()
    reviewer = _signed_in(UserFactory(roles=["program_officer"]))
    empty = reviewer.post(f"{PAGE}{change.pk}/reject/", {"reason": "", "next": "https://evil.example/"}, follow=True)
    assert "Say why" in empty.content.decode() and empty.redirect_chain[-1][0] == PAGE
    rejected = reviewer.post(f"{PAGE}{change.pk}/reject/", {"reason": "Wrong person"}, follow=True)
    assert "is rejected" in rejected.content.decode()
    assert ChangeRequest.objects.get().status == "rejected"


def test_roles_without_the_right_are_refused(death):
    change, _, _ = death
    auditor = _signed_in(UserFactory(roles=["auditor"]))
    assert auditor.get(PAGE).status_code == 200
    page = auditor.get(PAGE).content.decode()
    assert "Karim" not in page and "hidden (personal data)" in page
    assert auditor.post(f"{PAGE}{change.pk}/approve/").status_code == 403
    assert _signed_in(UserFactory(roles=["gis_analyst"])).get(PAGE).status_code == 403
    assert ChangeRequest.objects.get().status == "pending"
