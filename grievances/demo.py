"""Demo grievances: teams per division and a national protection team, two grievance officers, and a few dozen
tickets across districts at every step (received, acknowledged, decided, appealed, escalated). Loaded through the
services, so history, assignment and the outbox are as in real use."""

from __future__ import annotations

import datetime
import random

from django.contrib.auth import get_user_model
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from geo.models import Area
from grievances import services
from grievances.defaults import categories_ensure
from grievances.models import Team, Ticket
from spmis.core.demo import demo_password
from spmis.core.roles import role_group_name, sync_roles

DEMO_USERS = ("grievance", "grievance2")
DESCRIPTIONS = {
    "payment-not-received": "No transfer arrived for this month's cycle.",
    "payment-wrong-amount": "Received 1,500 instead of 3,000.",
    "exclusion-error": "Our household was surveyed but is not on the list.",
    "inclusion-error": "A well-off family on our street is on the list.",
    "distribution-point": "The point closed before noon and people were sent home.",
    "goods-quality": "The rice bags were wet and mouldy.",
    "registration-data": "My name is misspelt on the card.",
    "card-credential": "The card was lost in the flood.",
    "fraud-corruption": "The agent asks for 200 taka to hand over the cash.",
    "gbv-sea": "A volunteer asked for favours in exchange for the food card.",
    "staff-conduct": "The staff shouted at elderly people in the queue.",
    "feedback": "Please open the point earlier during Ramadan.",
    "information-request": "When is the next cycle paid?",
    "other": "Other problem reported by phone.",
}


@transaction.atomic
def _users_and_teams(districts: list[Area]) -> list:
    sync_roles()
    password = demo_password()
    model = get_user_model()
    users = []
    for username in DEMO_USERS:
        user, _ = model.objects.get_or_create(username=username, defaults={"email": f"{username}@example.org"})
        user.set_password(password)
        user.save()
        user.groups.set([user.groups.model.objects.get(name=role_group_name("grievance_officer"))])
        users.append(user)
    parents = sorted({district.parent_id for district in districts if district.parent_id})
    for area in Area.objects.filter(id__in=parents):
        team, _ = Team.objects.get_or_create(name=f"{area.name} grievance team")
        team.areas.add(area)
        team.members.add(*users)
    protection, _ = Team.objects.get_or_create(name="Protection (PSEA)", defaults={"handles_sensitive": True})
    protection.handles_sensitive = True
    protection.save()
    country = Area.objects.filter(level=0).order_by("id").first()
    if country:
        protection.areas.add(country)
    protection.members.add(users[1])
    return users


def load_demo_grievances(*, tickets: int = 48, seed: int = 15) -> int:
    """Load `tickets` demo tickets (once: a second run adds nothing). Returns how many were added."""
    if Ticket.objects.filter(external_id__startswith="demo-").exists():
        return 0
    deepest = Area.objects.aggregate(level=Max("level"))["level"] or 0
    level = min(2, deepest)
    districts = list(Area.objects.filter(level=level).order_by("code"))
    if not districts:
        raise ValueError("No areas: load the boundaries first (make demo).")
    categories_ensure()
    first, second = _users_and_teams(districts)
    rng = random.Random(seed)
    codes = list(DESCRIPTIONS)
    now = timezone.now()
    for i in range(tickets):
        category = codes[i % len(codes)]
        area = rng.choice(districts)
        channel = rng.choice(["call_centre", "api", "call_centre"])
        created = services.ticket_create(
            user=first,
            channel=channel,
            category=category,
            description=DESCRIPTIONS[category],
            area_code=area.code,
            complainant_phone=f"+88017{rng.randrange(10**8):08d}" if i % 4 else "",
            anonymous=i % 4 == 0,
            language=rng.choice(["bn", "bn", "en"]),
            external_id=f"demo-{i}",
            now=now - datetime.timedelta(hours=rng.randrange(1, 24 * 40)),
        )
        ticket = created.ticket
        step = i % 6
        if ticket.sensitive:
            continue  # left to the protection team
        if step >= 1:
            services.ticket_acknowledge(user=first, ticket_id=ticket.pk)
        if step >= 2:
            services.ticket_start(user=first, ticket_id=ticket.pk)
        if step >= 3:
            outcome = rng.choice(["upheld", "partly_upheld", "rejected", "referred"])
            services.ticket_decide(user=first, ticket_id=ticket.pk, outcome=outcome, reason="Checked with the records.")
        if step >= 4:
            services.ticket_appeal(user=first, ticket_id=ticket.pk, reason="The complainant disagrees.")
        if step >= 5:
            services.ticket_decide_appeal(
                user=second, ticket_id=ticket.pk, outcome="upheld", reason="Reviewed by a second officer."
            )
    services.tickets_escalate()
    return tickets
