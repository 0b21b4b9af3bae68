"""Actions from a ticket go through the owning app's services, so their approvals and rules apply."""

import pytest

from distribution.redemption.models import Redemption
from distribution.redemption.services import redemption_redeem
from grievances.models import TicketEvent
from registry.models import ChangeRequest
from tests.distribution import factories_redemption as f
from tests.factories import UserFactory
from tests.grievances.factories import officer, ticket

pytestmark = pytest.mark.django_db
TICKETS = "/api/v1/grievances/tickets/"


def test_a_ticket_opens_a_registry_change_request_that_still_needs_approval(client_for, two_districts):
    _, west, _ = two_districts
    household, _ = f.household_with_id()
    user = officer(west)
    made = ticket(user, household_id=household.pk, category="registration-data", description="We moved.")
    assert made.area_id == west.pk
    client = client_for(user)
    response = client.post(
        f"{TICKETS}{made.pk}/change-request/",
        {"kind": "location", "payload": {"longitude": 90.6, "latitude": 23.6}},
        format="json",
    )
    assert response.status_code == 201, response.json()
    change = ChangeRequest.objects.get(pk=response.json()["change_request"])
    assert change.status == "pending" and change.household_id == household.pk and change.submitted_by == user
    assert TicketEvent.objects.filter(ticket=made, kind="action", data__change_request=change.pk).exists()
    bad = client.post(f"{TICKETS}{made.pk}/change-request/", {"kind": "teleport", "payload": {}}, format="json")
    assert bad.status_code == 400 and "kind" in bad.json()


def test_a_ticket_without_household_cannot_open_a_change_request(client_for, two_districts):
    _, west, _ = two_districts
    user = officer(west)
    made = ticket(user, area=west)
    response = client_for(user).post(
        f"{TICKETS}{made.pk}/change-request/", {"kind": "location", "payload": {}}, format="json"
    )
    assert response.status_code == 400 and "household" in response.json()


def test_a_ticket_corrects_its_redemption_through_the_redemption_service(client_for, two_districts):
    _, west, _ = two_districts
    household, number = f.household_with_id()
    cash = f.entitlement(cycle=f.approved_cycle(), household=household, kind="cash", amount="3000")
    point = f.point("DP-G", location=(90.4, 23.7))
    user = UserFactory(roles=["grievance_officer", "logistics_officer"], areas=[west])
    redemption = redemption_redeem(
        user=user, point_id=point.pk, entitlement_code=cash.code, id_number=number, amount="3000"
    )
    made = ticket(user, redemption_id=redemption.pk, category="payment-wrong-amount", description="Counted twice.")
    assert made.household_id == household.pk
    client = client_for(user)
    response = client.post(f"{TICKETS}{made.pk}/correct-redemption/", {"reason": "Recorded by mistake."})
    assert response.status_code == 201, response.json()
    correction = Redemption.objects.get(pk=response.json()["correction"])
    assert correction.reverses_id == redemption.pk and made.reference in correction.reason
    again = client.post(f"{TICKETS}{made.pk}/correct-redemption/", {"reason": "Again."})
    assert again.status_code == 400 and "corrected already" in again.json()["redemption"][0]


def test_correcting_a_redemption_needs_the_distribution_permission(client_for, two_districts):
    _, west, _ = two_districts
    household, number = f.household_with_id()
    cash = f.entitlement(cycle=f.approved_cycle(), household=household, kind="cash", amount="3000")
    point = f.point("DP-H", location=(90.4, 23.7))
    logistics = UserFactory(roles=["logistics_officer"], areas=[west])
    redemption = redemption_redeem(
        user=logistics, point_id=point.pk, entitlement_code=cash.code, id_number=number, amount="3000"
    )
    user = officer(west)
    made = ticket(user, redemption_id=redemption.pk, category="payment-wrong-amount", description="Wrong.")
    response = client_for(user).post(f"{TICKETS}{made.pk}/correct-redemption/", {"reason": "x"})
    assert response.status_code == 403


def test_a_ticket_reissues_its_failed_payment_in_a_new_batch_through_the_payment_service(client_for, world):
    from django.utils import timezone

    from programs.payments.models import Payment, PaymentBatch
    from tests.programs.payments_setup import account_number, on_commit, set_account

    failed = Payment.objects.get(entitlement=world.entitlements["w1"])
    paid = Payment.objects.get(entitlement=world.entitlements["w0"])
    assert failed.status == "failed" and paid.status == "paid"
    # Its reports are in: the batch is closed, nothing waits for release.
    PaymentBatch.objects.filter(pk=failed.batch_id).update(
        status="closed", released_by=UserFactory(roles=["finance_officer"]), released_at=timezone.now()
    )
    user = UserFactory(roles=["grievance_officer", "program_officer"])
    # The beneficiary's account, approved by a second person (the payment app pays only into an approved account).
    set_account(
        failed.household, failed.batch.fsp, user, UserFactory(roles=["program_officer"]), number=account_number(1)
    )
    about_failed = ticket(user, payment_id=failed.pk, description="My money never came.")
    about_paid = ticket(user, payment_id=paid.pk, description="I was paid twice?")
    client = client_for(user)

    refused = client.post(f"{TICKETS}{about_paid.pk}/reissue-payment/")
    assert refused.status_code == 400 and "only a failed or returned payment" in refused.json()["payment"][0]
    grievance_only = client_for(UserFactory(roles=["grievance_officer"]))
    assert grievance_only.post(f"{TICKETS}{about_failed.pk}/reissue-payment/").status_code == 403

    response = on_commit(client.post, f"{TICKETS}{about_failed.pk}/reissue-payment/")
    assert response.status_code == 201, response.json()
    batch = PaymentBatch.objects.get(pk=response.json()["batch"])
    assert batch.status == "prepared", batch.cancel_reason
    assert batch.prepared_by == user  # a finance officer still has to release it
    again = Payment.objects.get(batch=batch, entitlement=world.entitlements["w1"])
    assert again.reissue_of_id == failed.pk and again.amount == failed.amount
    assert not Payment.objects.filter(batch=batch, entitlement=world.entitlements["w0"]).exists()
    action = TicketEvent.objects.get(ticket=about_failed, kind="action")
    assert action.data["action"] == "payment_reissue" and action.data["batch"] == batch.pk
