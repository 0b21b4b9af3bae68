import pytest
from django.core.management import call_command

from grievances.models import Team, Ticket, TicketEvent

pytestmark = pytest.mark.django_db


def test_demo_grievances_load_once_through_the_services(two_districts, settings, tmp_path):
    settings.BASE_DIR = tmp_path
    call_command("load_demo_grievances", tickets=14, verbosity=0)
    assert Ticket.objects.filter(external_id__startswith="demo-").count() == 14
    assert Ticket.objects.filter(appeal_decided_by__isnull=False).exists()
    assert Team.objects.filter(handles_sensitive=True, tickets__sensitive=True).exists()
    events = TicketEvent.objects.count()
    call_command("load_demo_grievances", tickets=14, verbosity=0)
    assert Ticket.objects.count() == 14 and TicketEvent.objects.count() == events
