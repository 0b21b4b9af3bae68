"""Reloading a larger demo replaces the demo registry: program members and draft entitlements go with the demo
households, and the demo program is enrolled again; approved entitlements are promises the database keeps, so a
reload over them is refused in words with nothing changed."""

import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command

from distribution.demo_dhaka import DHAKA_SOURCE, dhaka_household_count
from programs.demo import DEMO_PROGRAM
from programs.models import Cycle, Entitlement, Program
from registry.models import Household

pytestmark = pytest.mark.django_db


def test_a_larger_demo_replaces_members_and_drafts_and_keeps_approved_entitlements(settings, tmp_path):
    settings.BASE_DIR = tmp_path  # the demo password file goes under var/
    call_command("load_demo", households=150, verbosity=0)
    program = Program.objects.get(name=DEMO_PROGRAM)
    first = program.memberships.filter(state="enrolled").count()
    assert first > 0
    cycle = Cycle.objects.create(
        program=program,
        sequence=1,
        name="Draft",
        starts_on=datetime.date(2026, 7, 1),
        ends_on=datetime.date(2026, 7, 31),
    )
    household = Household.objects.filter(source="demo").first()
    Entitlement.objects.create(
        cycle=cycle,
        program=program,
        household=household,
        kind="cash",
        amount=Decimal("100"),
        currency="BDT",
        valid_from=cycle.starts_on,
        valid_until=cycle.ends_on,
    )

    relief = set(Entitlement.objects.filter(status="approved").values_list("pk", flat=True))
    assert relief  # the Dhaka scenario's approved in-kind entitlements, on households of their own source
    call_command("load_demo", households=200, verbosity=0)
    assert Household.objects.filter(source="demo").count() == 200
    # The draft went with its household; the scenario's households and their promises stay.
    assert set(Entitlement.objects.values_list("pk", flat=True)) == relief
    assert Household.objects.filter(source=DHAKA_SOURCE).count() == dhaka_household_count(150)
    assert program.memberships.filter(state="enrolled").count() > first

    approved = Entitlement.objects.create(  # now on a country-wide demo household
        cycle=cycle,
        program=program,
        household=Household.objects.filter(source="demo").first(),
        kind="cash",
        amount=Decimal("100"),
        currency="BDT",
        valid_from=cycle.starts_on,
        valid_until=cycle.ends_on,
    )
    Entitlement.objects.filter(pk=approved.pk).update(status="approved")
    with pytest.raises(CommandError, match="approved entitlements"):
        call_command("load_demo", households=250, verbosity=0)
    assert Household.objects.filter(source="demo").count() == 200
    assert Entitlement.objects.filter(pk=approved.pk, status="approved").exists()
