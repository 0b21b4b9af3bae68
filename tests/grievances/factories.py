"""Grievance fixtures: teams over areas, officers in them, and tickets made through the service."""

from __future__ import annotations

from grievances.models import Team
from grievances.services import ticket_create
from tests.factories import UserFactory


def team(name: str, *areas, sensitive: bool = False, members=()) -> Team:
    made = Team.objects.create(name=name, handles_sensitive=sensitive)
    made.areas.set(areas)
    made.members.set(members)
    return made


def officer(*areas, **kwargs):
    return UserFactory(roles=["grievance_officer"], areas=list(areas) or None, **kwargs)


def ticket(user=None, *, area=None, category: str = "payment-not-received", channel: str | None = None, **kwargs):
    """A ticket through ticket_create; `area` an Area (its code is passed)."""
    if channel is None:
        channel = "api" if user is not None else "web"
    created = ticket_create(
        user=user,
        channel=channel,
        category=category,
        description=kwargs.pop("description", "I was not paid this month."),
        area_code=area.code if area is not None else None,
        **kwargs,
    )
    return created.ticket
