"""Reads of the CRVS client: events as staff review them. Scoping as the registry's: an event matched to a person
or household is visible inside that place's areas; an unmatched event has no place and is visible to national
users only. The person record (personal data) is shaped out by the serializer without the permission."""

from __future__ import annotations

from django.db.models import Q, QuerySet

from geo.selectors import user_area_ids
from interop.crvs.models import CrvsEvent
from registry.selectors import scoped_households, scoped_individuals


def crvs_event_list(*, user, outcome: str | None = None, event: str | None = None) -> QuerySet[CrvsEvent]:
    queryset = CrvsEvent.objects.select_related("source", "change_request")
    if user_area_ids(user) is not None:
        queryset = queryset.filter(
            Q(household__in=scoped_households(user).values("pk"))
            | Q(individual__in=scoped_individuals(user).values("pk"))
        )
    if outcome:
        queryset = queryset.filter(outcome=outcome)
    if event:
        queryset = queryset.filter(event=event)
    return queryset
