"""Shared set-up for the credentials tests: a program with one enrolled household (head Amina Rahman, in the west
district) and two program officers of the west (one requests, the other approves)."""

from __future__ import annotations

import pytest

from programs.models import Program, ProgramMembership
from tests.factories import HouseholdFactory, IndividualFactory, MembershipFactory


@pytest.fixture
def world(two_districts, client_for):
    _, west, east = two_districts
    program = Program.objects.create(name="Flood relief", currency="BDT")
    household = HouseholdFactory()
    head = IndividualFactory(given_name="Amina", family_name="Rahman", sex="F")
    MembershipFactory(household=household, individual=head, role="head")
    ProgramMembership.objects.create(program=program, household=household, state="enrolled")
    requester = client_for(roles=["program_officer"], areas=[west])
    approver = client_for(roles=["program_officer"], areas=[west])
    return program, household, head, requester, approver, west, east


def request_card(client, program, household, **extra):
    return client.post(
        "/api/v1/programs/cards/",
        {"program": program.code, "household": household.registrant_id, **extra},
        format="json",
    )
