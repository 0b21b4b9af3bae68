"""Two officers requesting a card for the same household at the same moment, on two real connections: exactly one
card, the other refused in words; both status indexes drawn under the list's lock are distinct."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import ValidationError
from django.db import connection

from programs.credentials import services
from programs.credentials.models import Card
from tests.programs.factories_credentials import world  # noqa: F401 (fixture)

pytestmark = pytest.mark.django_db(transaction=True)


def test_concurrent_requests_give_one_live_card(world):  # noqa: F811
    program, household, _, requester, approver, _, _ = world
    barrier = threading.Barrier(2)
    outcomes: list[object] = []

    def attempt(user) -> None:
        try:
            barrier.wait(timeout=10)
            outcomes.append(services.card_request(user=user, program=program, household=household))
        except ValidationError as exc:
            outcomes.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=attempt, args=(u,)) for u in (requester.user, approver.user)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    cards = [o for o in outcomes if isinstance(o, Card)]
    refusals = [o for o in outcomes if isinstance(o, ValidationError)]
    assert len(cards) == 1 and len(refusals) == 1, outcomes
    assert "already has a live card" in str(refusals[0])
    assert Card.objects.count() == 1
