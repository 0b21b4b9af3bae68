import pytest
from django.db import IntegrityError, connection, transaction
from django.db.utils import InternalError, ProgrammingError

from grievances.models import Category, Ticket, TicketEvent
from grievances.references import luhn32, reference_for, reference_normalise
from grievances.services import team_for
from tests.factories import AreaFactory, square
from tests.grievances.factories import officer, team, ticket

pytestmark = pytest.mark.django_db


def test_the_categories_ship_with_the_product():
    codes = set(Category.objects.values_list("code", flat=True))
    assert {"payment-not-received", "exclusion-error", "gbv-sea", "fraud-corruption", "other"} <= codes
    assert len(codes) >= 14
    assert set(Category.objects.filter(sensitive=True).values_list("code", flat=True)) == {
        "gbv-sea",
        "fraud-corruption",
    }
    assert Category.objects.get(code="payment-wrong-amount").parent.code == "payment"


def test_references_are_made_by_the_database_with_a_check_character(two_districts):
    _, west, _ = two_districts
    first = ticket(officer(west), area=west)
    second = ticket(officer(west), area=west)
    for made in (first, second):
        assert made.reference.startswith("GRV-") and len(made.reference) == 13
        body = made.reference[4:8] + made.reference[9:12]
        assert luhn32(body) == made.reference[-1]
        assert reference_normalise(made.reference.lower().replace("-", " ")) == made.reference
    assert first.reference != second.reference
    with connection.cursor() as cursor:
        cursor.execute("SELECT last_value FROM grievances_ticket_reference_seq")
        (last,) = cursor.fetchone()
    assert second.reference == reference_for(last)


def test_a_mistyped_reference_is_refused_before_lookup():
    good = reference_for(12345)
    wrong_check = good[:-1] + ("0" if good[-1] != "0" else "1")
    assert reference_normalise(good) == good
    assert reference_normalise(wrong_check) is None
    assert reference_normalise("GRV-12") is None
    swapped = good[:4] + good[5] + good[4] + good[6:]
    assert swapped == good or reference_normalise(swapped) is None


def test_ticket_history_is_append_only(two_districts):
    _, west, _ = two_districts
    made = ticket(officer(west), area=west)
    event = TicketEvent.objects.filter(ticket=made).first()
    for statement in (
        "UPDATE grievances_ticketevent SET note = 'x' WHERE id = %s",
        "DELETE FROM grievances_ticketevent WHERE id = %s",
    ):
        refused = pytest.raises((InternalError, ProgrammingError, IntegrityError))
        with refused, transaction.atomic(), connection.cursor() as cursor:
            cursor.execute(statement, [event.pk])
    assert TicketEvent.objects.filter(pk=event.pk, note="").exists()


def test_tickets_go_to_the_team_of_the_nearest_ancestor_area(two_districts):
    country, west, east = two_districts
    village = AreaFactory(code="C-W-1", name="Village", parent=west, geom=square(90.0, 23.0, 0.5))
    national = team("National", country)
    western = team("West team", west)
    protection = team("Protection", country, sensitive=True)
    assert team_for(area_id=village.pk, sensitive=False) == western
    assert team_for(area_id=east.pk, sensitive=False) == national
    assert team_for(area_id=village.pk, sensitive=True) == protection
    made = ticket(officer(west), area=village, category="gbv-sea")
    assert made.team == protection and made.sensitive
    assert made.severity == "critical"
    assert TicketEvent.objects.filter(ticket=made, kind="assigned", data__team=protection.pk).exists()


def test_the_database_refuses_an_appeal_decided_by_the_first_decider(two_districts):
    _, west, _ = two_districts
    user = officer(west)
    made = ticket(user, area=west)
    Ticket.objects.filter(pk=made.pk).update(decided_by=user, outcome="rejected", status="appealed")
    with pytest.raises(IntegrityError), transaction.atomic():
        Ticket.objects.filter(pk=made.pk).update(appeal_decided_by=user, appeal_outcome="upheld")
