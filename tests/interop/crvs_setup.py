"""Fixtures of the CRVS tests: a stand-in CRVS on loopback and its source row, with our ID types."""

from __future__ import annotations

import pytest

from interop.crvs.keys import our_jwks
from interop.crvs.models import CrvsSubscription
from interop.crvs.services import crvs_source_create
from registry.models import IdDocument, IdType
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory
from tests.interop.crvs_standin import CrvsStandIn

UIN = "847951632"  # the spec's sample person (process flow 3)
PARENT2_UIN = "847941632"
BRN = "947951532"


@pytest.fixture(name="standin")
def standin_fixture():
    server = CrvsStandIn(our_jwks=our_jwks())
    yield server
    server.close()


@pytest.fixture(name="source")
def source_fixture(db, standin):
    IdType.objects.get_or_create(code="national_id", defaults={"name": "National ID"})
    IdType.objects.get_or_create(code="brn", defaults={"name": "Birth registration number"})
    return crvs_source_create(
        code="crvs",
        name="Civil registry",
        base_url=standin.url,
        our_sender_id="spmis",
        crvs_sender_id=standin.sender_id,
        jwks=standin.jwks,
        birth_id_type="brn",
    )


@pytest.fixture(name="subscribed")
def subscribed_fixture(source):
    """Active subscriptions to both events, as after on-subscribe."""
    return {
        event: CrvsSubscription.objects.create(
            source=source,
            event=event,
            status="active",
            code=f"SUB-{event}",
            transaction_id=f"t-{event}",
            reference_id=f"r-{event}",
            message_id=f"m-{event}",
        )
        for event in CrvsSubscription.Event.values
    }


@pytest.fixture(name="sample_person")
def sample_person_fixture(source):
    """The spec's sample person on our registry, with the national ID the CRVS knows her by."""
    person = IndividualFactory(given_name="Sudarat", family_name="Phumchai", birth_date="1995-09-21", sex="F")
    home = HouseholdFactory()
    MembershipFactory(household=home, individual=person, role="head")
    IdDocument.objects.create(individual=person, id_type=IdType.objects.get(code="national_id"), number=UIN)
    return person
