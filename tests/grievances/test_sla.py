import datetime
import threading
import time

import pytest
from django.core import mail
from django.db import connection, transaction
from django.utils import timezone

from grievances.models import Message, Ticket, TicketEvent
from grievances.services import ticket_acknowledge, tickets_escalate
from grievances.sla import Clock, clock_state
from tests.grievances.factories import officer, ticket

H = datetime.timedelta(hours=1)
T0 = datetime.datetime(2026, 1, 1, tzinfo=datetime.UTC)


@pytest.mark.parametrize(
    ("now", "done", "expected"),
    [
        (T0 + 5 * H, None, Clock.ON_TRACK),
        (T0 + 7.5 * H, None, Clock.AT_RISK),
        (T0 + 9 * H, None, Clock.AT_RISK),
        (T0 + 10 * H + datetime.timedelta(seconds=1), None, Clock.BREACHED),
        (T0 + 20 * H, T0 + 9 * H, Clock.MET),
        (T0 + 20 * H, T0 + 11 * H, Clock.MISSED),
    ],
)
def test_clock_states(now, done, expected):
    assert clock_state(started=T0, due=T0 + 10 * H, done=done, now=now) == expected


def _breached(user, area, count):
    past = timezone.now() - datetime.timedelta(days=60)
    return [ticket(user, area=area, now=past) for _ in range(count)]


@pytest.mark.django_db
def test_a_breached_ticket_escalates_once_when_the_sweep_runs_twice(two_districts):
    _, west, _ = two_districts
    user = officer(west)
    breached = _breached(user, west, 3)
    fresh = ticket(user, area=west)
    assert tickets_escalate() == 3
    assert tickets_escalate() == 0
    for made in breached:
        assert TicketEvent.objects.filter(ticket=made, kind="escalated").count() == 1
    assert not TicketEvent.objects.filter(ticket=fresh, kind="escalated").exists()
    assert Ticket.objects.filter(escalated_at__isnull=False).count() == 3
    event = TicketEvent.objects.filter(ticket=breached[0], kind="escalated").get()
    assert event.data == {"clock": "acknowledgement"}


@pytest.mark.django_db
def test_an_acknowledged_ticket_escalates_on_its_resolution_clock(two_districts):
    _, west, _ = two_districts
    user = officer(west)
    made = ticket(user, area=west, now=timezone.now() - datetime.timedelta(hours=47))
    ticket_acknowledge(user=user, ticket_id=made.pk)
    assert tickets_escalate(now=timezone.now() + datetime.timedelta(days=10)) == 1
    assert TicketEvent.objects.get(ticket=made, kind="escalated").data == {"clock": "resolution"}


@pytest.mark.django_db(transaction=True)
def test_two_concurrent_sweeps_escalate_each_ticket_once(two_districts):
    _, west, _ = two_districts
    user = officer(west)
    breached = _breached(user, west, 5)
    first_done = threading.Event()
    counts: dict[str, int] = {}
    errors: list[BaseException] = []

    def first():
        try:
            with transaction.atomic():
                counts["first"] = tickets_escalate()
                first_done.set()
                time.sleep(1.0)  # hold the row locks while the second sweep runs into them
        except BaseException as error:
            errors.append(error)
            first_done.set()
        finally:
            connection.close()

    def second():
        try:
            first_done.wait(10)
            counts["second"] = tickets_escalate()
        except BaseException as error:
            errors.append(error)
        finally:
            connection.close()

    threads = [threading.Thread(target=first), threading.Thread(target=second)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(30)
    assert errors == []
    assert counts["first"] + counts["second"] == 5
    for made in breached:
        assert TicketEvent.objects.filter(ticket=made, kind="escalated").count() == 1


@pytest.mark.django_db
def test_email_messages_are_sent_through_the_email_backend(two_districts, settings, django_capture_on_commit_callbacks):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    _, west, _ = two_districts
    user = officer(west)
    made = ticket(user, area=west, complainant_email="awa@example.org", language="fr")
    with django_capture_on_commit_callbacks(execute=True):
        ticket_acknowledge(user=user, ticket_id=made.pk)
    message = Message.objects.get(ticket=made)
    assert message.status == "sent" and message.medium == "email"
    assert len(mail.outbox) == 1 and mail.outbox[0].to == ["awa@example.org"]
    assert "Nous avons bien reçu" in mail.outbox[0].body
