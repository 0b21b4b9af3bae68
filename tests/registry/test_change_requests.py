import pytest
from django.contrib.gis.geos import Point

from registry.models import ChangeRequest
from spmis.core.models import AuditEvent
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory, UserFactory

pytestmark = pytest.mark.django_db


def test_location_change_needs_a_second_approver_and_reassigns_the_area(two_districts, client_for):
    _, west, east = two_districts
    household = HouseholdFactory(location=Point(90.5, 23.5, srid=4326))
    submitter = client_for(roles=["program_officer"])
    response = submitter.post(
        "/api/v1/registry/change-requests/",
        {"kind": "location", "household": household.pk, "payload": {"longitude": 91.5, "latitude": 23.4}},
        format="json",
    )
    assert response.status_code == 201, response.content
    change_id = response.json()["id"]

    own = submitter.post(f"/api/v1/registry/change-requests/{change_id}/approve/")
    assert own.status_code == 403
    household.refresh_from_db()
    assert household.area_id == west.id

    reviewer = client_for(roles=["program_officer"])
    approved = reviewer.post(f"/api/v1/registry/change-requests/{change_id}/approve/")
    assert approved.status_code == 200, approved.content
    body = approved.json()
    assert body["status"] == "applied"
    assert body["diff"]["area_id"] == [west.id, east.id]
    household.refresh_from_db()
    assert household.area_id == east.id
    assert AuditEvent.objects.filter(
        table_name="registry_household", row_id=str(household.pk), action="update"
    ).exists()
    assert reviewer.post(f"/api/v1/registry/change-requests/{change_id}/approve/").status_code == 400


def test_rejection_needs_a_reason_and_changes_nothing(client_for):
    person = IndividualFactory(birth_date="1990-01-01")
    MembershipFactory(individual=person)
    submitter = client_for(roles=["program_officer"])
    change = submitter.post(
        "/api/v1/registry/change-requests/",
        {"kind": "birth_date", "individual": person.pk, "payload": {"birth_date": "1991-02-03", "estimated": True}},
        format="json",
    ).json()
    reviewer = client_for(roles=["program_officer"])
    assert reviewer.post(f"/api/v1/registry/change-requests/{change['id']}/reject/", {}).status_code == 400
    rejected = reviewer.post(f"/api/v1/registry/change-requests/{change['id']}/reject/", {"reason": "No proof"})
    assert rejected.json()["status"] == "rejected"
    person.refresh_from_db()
    assert str(person.birth_date) == "1990-01-01"


def test_member_moves_phone_and_birth_date_are_applied_with_diffs():
    from registry.services import change_request_approve, change_request_submit

    alice, bob = UserFactory(is_superuser=True), UserFactory(is_superuser=True)
    home, other = HouseholdFactory(), HouseholdFactory()
    person = IndividualFactory(birth_date="1990-01-01")
    MembershipFactory(household=home, individual=person)
    added = change_request_submit(
        user=alice, kind="add_member", household_id=other.pk, individual_id=person.pk, payload={"role": "spouse"}
    )
    change_request_approve(user=bob, request_id=added.pk)
    assert list(person.memberships.filter(end_date__isnull=True).values_list("household_id", flat=True)) == [other.pk]
    phone = change_request_submit(user=alice, kind="phone", individual_id=person.pk, payload={"phone": "01712345678"})
    assert change_request_approve(user=bob, request_id=phone.pk).diff["phones"] == [[], ["+8801712345678"]]
    removed = change_request_submit(
        user=bob, kind="remove_member", household_id=other.pk, individual_id=person.pk, payload={"status": "moved"}
    )
    applied = change_request_approve(user=alice, request_id=removed.pk)
    assert applied.diff["status"] == ["active", "moved"]
    assert not person.memberships.filter(end_date__isnull=True).exists()
    with pytest.raises(Exception, match="phone"):
        change_request_submit(user=alice, kind="phone", individual_id=person.pk, payload={"phone": "123"})
    assert ChangeRequest.objects.filter(status="applied").count() == 3
